// What the channel does for each action of the bulk machine (src/sync/bulk.ts): log it, count it,
// put a request into our dataplane's `in` ring, send the peer a BulkRequest, tell the sender core,
// tell the agent. The machine decides; this carries out, in the order it decided.
import { monotonicMs } from '../clock.js';
import type { Logger } from '../log.js';
import type { Ha2Body } from '../wire/ha2-codec.js';
import { emptyRecord, REC_CLEAR, REC_DUMP_REQUEST, type SessionRecord } from '../wire/session-record.js';
import type { BulkAction } from './bulk.js';
import type { Inbound } from './inbound.js';
import type { ReliableSender } from './reliable.js';
import type { SyncView } from './status.js';

/** What the actions act on: the channel's parts. */
export interface BulkHands {
  log: Logger;
  view: SyncView;
  reliable: ReliableSender;
  inbound: Inbound;
  /** Seals and sends one message on the current connection (false when it could not). */
  send(body: Ha2Body): boolean;
  /** The agent's callback: a full dump from the peer is in our `in` ring. */
  onBulkComplete?: (sessions: number) => void;
  /** The agent's callback: what we hold stopped being a complete copy (a gap, an overflow, a new connection, a dump begins). */
  onBulkIncomplete?: (reason: string) => void;
}

/** Carries out one action; true when it queued a record for `in` (to be pushed at once). */
export function carryOut(a: BulkAction, x: BulkHands): boolean {
  switch (a.type) {
    case 'push-clear':
      x.inbound.control(controlRecord(REC_CLEAR));
      return true;
    case 'send-bulk-request':
      x.view.resync(a.reason, 'rx');
      x.log.info({ reason: a.reason }, 'asking the peer for a full session dump');
      x.send({ kind: 'bulkRequest', bulkRequest: { reason: a.reason, beginsSeen: x.inbound.beginsSeen } });
      return false;
    case 'request-dump':
      x.view.resync(a.reason, 'tx');
      x.log.info({ reason: a.reason, why: a.why }, 'asking the dataplane for a full session dump');
      x.inbound.control(controlRecord(REC_DUMP_REQUEST));
      return true;
    case 'resync-started':
      x.reliable.resyncStarted();
      return false;
    case 'drop-queued-clears':
      x.inbound.dropQueuedClears();
      return false;
    case 'sender-reset':
      x.reliable.reset();
      x.view.backlog(0);
      return false;
    case 'connection-lost':
      if (a.sender) senderConnectionLost(x);
      else x.reliable.streamEnded();
      return false;
    case 'bulk-complete':
      x.log.info({ sessions: a.sessions, received: a.received }, 'bulk sync from the peer complete');
      tellAgent(x, 'onBulkComplete', () => x.onBulkComplete?.(a.sessions));
      return false;
    case 'bulk-incomplete':
      x.log.warn({ reason: a.reason }, 'our copy of the peer sessions is no longer complete (until the next dump completes)');
      tellAgent(x, 'onBulkIncomplete', () => x.onBulkIncomplete?.(a.reason));
      return false;
    case 'rx-transition':
    case 'tx-transition':
    case 'dump-coalesced':
    case 'dump-deferred':
    case 'stale-end':
    case 'invalid-transition':
      logAction(a, x.log);
      return false;
    default: {
      const never: never = a;
      return never;
    }
  }
}

/** The actions that only say what the machine did. */
type LogAction = Extract<BulkAction, { type: 'rx-transition' | 'tx-transition' | 'dump-coalesced' | 'dump-deferred' | 'stale-end' | 'invalid-transition' }>;

function logAction(a: LogAction, log: Logger): void {
  switch (a.type) {
    case 'rx-transition':
      return log.info({ from: a.from, to: a.to, reason: a.reason }, `bulk sync from the peer: ${a.from} -> ${a.to}`);
    case 'tx-transition':
      return log.info({ from: a.from, to: a.to, reason: a.reason }, `bulk dump of our table: ${a.from} -> ${a.to}`);
    case 'dump-coalesced':
      return log.debug({ reason: a.reason, why: a.why, onto: a.onto }, 'dump already requested: coalesced');
    case 'dump-deferred':
      return log.info({ reason: a.reason }, 'peer asked for a dump; not the sender now, kept for later');
    case 'stale-end':
      return log.info({ sessions: a.sessions }, 'end of a dump begun before our last request or loss: not complete');
    case 'invalid-transition':
      return log.error({ event: a.event, role: a.role, rx: a.rx, tx: a.tx }, 'bulk sync: unexpected event in this state (ignored)');
    default: {
      const never: never = a;
      return never;
    }
  }
}

/** What was queued or in flight is dropped (counted); the sender core then asks for a resync. */
function senderConnectionLost(x: BulkHands): void {
  x.view.discarded('disconnected', x.reliable.backlog);
  x.reliable.connectionLost();
  x.view.backlog(0);
}

/** A callback's failure is the agent's bug: logged, never the pump's. */
function tellAgent(x: BulkHands, what: string, call: () => void): void {
  try {
    call();
  } catch (err) {
    x.log.error({ err }, `${what} failed`);
  }
}

/** One of our in-band requests to our own dataplane (REC_CLEAR, REC_DUMP_REQUEST). */
function controlRecord(op: number): SessionRecord {
  const r = emptyRecord();
  r.op = op;
  r.eventMs = monotonicMs();
  return r;
}
