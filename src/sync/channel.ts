// The HA2 session sync channel of the control worker: a driver. It owns our dataplane's two rings
// (src/wire/record-ring.ts), the pump timer and the link to the peer; every decision is taken by a
// pure core, and this file carries it out.
//
//   active box                                       passive box
//   dataplane --out--> [pump] reliable --batch-->  [link] inbound --in--> dataplane
//                             lag <-----------ack--  (ack once pushed into the ring)
//
// In active/active (role 'both') each box is both at once, on the one connection: its reliable
// core sends its own changes and takes the peer's acks of them, its inbound core takes the
// peer's batches and acks them. A batch's seq numbers the stream of the box that sends it, an
// ack's seq the stream it acknowledges, so the two directions never share a number.
//
//   bulk.ts       roles and connections; dumps asked and served; when a copy is complete; what
//                 becomes of our own changes (bulk-actions.ts carries its actions out)
//   reliable.ts   the sender core: batches, acks, the window, the backlog bound, the resync need
//   inbound.ts    the receive path: the sequence check, the order into `in`, its bound, the acks
//   link.ts       messages sealed and opened on the stream (stream.ts), and the keepalive
//   status.ts     what `tandem status` shows of HA2, what is counted, what is logged
//
// Roles (set by the agent on each HA transition): 'sender' (active) sends what its dataplane
// changes; 'receiver' (passive) applies what the peer sends and asks for a full dump on every
// connect and whenever it becomes receiver; 'idle' applies what arrives but asks for nothing;
// 'both' (active/active, an active box) sends and applies (src/sync/bulk.ts says how its
// receiving half differs from the receiver's).
// Control is in-band (the REC_* records of src/wire/session-record.ts), so order is kept end to end.
import { monotonicMs } from '../clock.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import type { HaEncryption } from '../wire/crypto.js';
import type { RecordRing } from '../wire/record-ring.js';
import type { SessionRecord } from '../wire/session-record.js';
import { initialBulkState, outEvent, outFate, sends, step as stepBulk, type BulkEvent, type BulkState, type SyncRole } from './bulk.js';
import { carryOut, type BulkHands } from './bulk-actions.js';
import { DEFAULT_PENDING_IN_MAX, Inbound } from './inbound.js';
import { Ha2Link } from './link.js';
import { ReliableSender } from './reliable.js';
import { SyncView, type SyncStatus } from './status.js';

export type { SyncResyncReason, SyncRole } from './bulk.js';
export type { SyncDiscardReason, SyncStatus } from './status.js';

/** Pump period (ms): the out ring is drained, batches flushed and the in ring fed this often. */
export const SYNC_PUMP_INTERVAL_MS = 1;
/** Records drained from `out` per pump tick at most (in batchMax units): bounds the time one tick
 * holds the control thread, which also keeps the heartbeats. */
const DRAIN_BATCHES_PER_TICK = 4;
/**
 * Longest one pump tick spends encoding and sending batches (ms). A bulk dump queues hundreds of
 * batches at once; sending them all in one tick held the control thread past the 20 ms dead
 * interval in the lab. The pump runs every millisecond, so the dump still goes at full speed.
 */
const FLUSH_BUDGET_MS = 3;
/**
 * How long a request for the peer's dump may go unanswered (no BULK_BEGIN in `in`) before it is
 * asked again (ms). A BULK_BEGIN leaves the peer behind the changes already queued there, which
 * takes milliseconds, seconds under a deep backlog; a request that rode on a dump that never left
 * the peer is never answered at all (the box stayed tentative for good).
 */
export const BULK_ANSWER_WAIT_MS = 5000;

export interface SyncChannelOptions {
  deviceId: number;
  groupId: number;
  key: Buffer;
  link: { local: string; peer: string; port: number };
  out: RecordRing; // dataplane -> worker (our changes, when active)
  in: RecordRing; // worker -> dataplane (peer's changes, and our in-band requests)
  metrics: Metrics;
  log: Logger;
  flushIntervalMs?: number;
  batchMax?: number;
  backlogMax?: number;
  /** Called when a bulk dump from the peer has been fully received (BULK_END). */
  onBulkComplete?: (sessions: number) => void;
  /** Called when what we hold stops being a complete copy of the peer's table (a gap, an overflow, a new connection, a dump begins). */
  onBulkIncomplete?: (reason: string) => void;
  /** Batches in flight before the sender waits for acks (default 256). */
  unackedMax?: number;
  /** Redial interval (ms, default 200). */
  reconnectMs?: number;
  /** Pump period (ms, default 1). */
  pumpIntervalMs?: number;
  /** A request for the peer's dump unanswered this long is asked again (ms, default BULK_ANSWER_WAIT_MS). */
  bulkAnswerWaitMs?: number;
  /** Format of what we send (shared.ha.encryption, default 'none'); the opener takes both. */
  encryption?: HaEncryption;
  /** The pair runs active/active (shared.ha.mode): the status shows each direction on its own,
   * whatever the role (it does in the role 'both' anyway). */
  activeActive?: boolean;
}

export class SyncChannel {
  private readonly opts: SyncChannelOptions;
  private readonly log: Logger;
  private readonly link: Ha2Link;
  private readonly reliable: ReliableSender;
  private readonly inbound: Inbound;
  private readonly view: SyncView;
  private readonly hands: BulkHands;
  /** Role, connection and both halves of the bulk sync (src/sync/bulk.ts): changed only by feed(). */
  private bulk: BulkState = initialBulkState();
  /** When we last asked the peer for a dump (monotonic ms): the request-timeout's start. */
  private askedAtMs = 0;
  private pump: NodeJS.Timeout | null = null;
  private started = false;

  constructor(opts: SyncChannelOptions) {
    const { deviceId } = opts;
    if (deviceId !== 0 && deviceId !== 1) throw new RangeError(`SyncChannel: deviceId must be 0 or 1 (got ${deviceId})`);
    this.opts = opts;
    this.log = opts.log;
    this.reliable = new ReliableSender(opts);
    this.inbound = new Inbound(Math.max(DEFAULT_PENDING_IN_MAX, this.reliable.unackedMax * this.reliable.batchMax));
    this.view = new SyncView(opts.metrics, opts.log);
    this.link = new Ha2Link({
      ...opts,
      deviceId,
      view: this.view,
      onBatch: (seq, records, sentMs) => this.onBatch(seq, records, sentMs),
      onAck: (seq, echoSentMs) => this.onAck(seq, echoSentMs),
      onBulkRequest: (reason, beginsSeen) => this.feed({ type: 'peer-request', reason, beginsSeen }),
      onUp: () => this.onUp(),
      onDown: (byPeer, why) => this.onDown(byPeer, why),
    });
    const { log, view, reliable, inbound } = this;
    const { onBulkComplete, onBulkIncomplete } = opts;
    this.hands = { log, view, reliable, inbound, send: (body) => this.link.send(body), onBulkComplete, onBulkIncomplete };
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.view.connected(false);
    this.view.backlog(0);
    await this.link.start();
    this.pump = setInterval(() => this.tick(), this.opts.pumpIntervalMs ?? SYNC_PUMP_INTERVAL_MS);
    this.log.info({ link: this.opts.link, dial: this.opts.deviceId === 0 }, 'HA2 sync channel started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.pump) clearInterval(this.pump);
    this.pump = null;
    await this.link.stop();
    // the stream reports no down for a connection it closes itself on stop
    this.onDown(false, 'channel stopped');
    this.log.info('HA2 sync channel stopped');
  }

  /**
   * The agent sets this on every HA transition. Active/passive: active -> 'sender'; passive and
   * tentative -> 'receiver'; other -> 'idle'. Active/active: active-primary and active-secondary ->
   * 'both'; tentative -> 'receiver'; other -> 'idle'.
   */
  setRole(role: SyncRole): void {
    if (role === this.bulk.role) return;
    this.log.info({ from: this.bulk.role, to: role }, `sync role ${this.bulk.role} -> ${role}`);
    this.feed({ type: 'role', to: role });
  }

  /** What we send from now on; the seq (and so the GCM nonce) goes on unbroken. */
  setEncryption(mode: HaEncryption): void {
    this.link.setEncryption(mode);
  }

  status(): SyncStatus {
    const parts = { bulk: this.bulk, reliable: this.reliable, inbound: this.inbound };
    return this.view.status(parts, monotonicMs(), this.opts.activeActive === true || this.bulk.role === 'both');
  }

  // ---- the pump ----

  private tick(): void {
    try {
      const now = monotonicMs();
      this.feedIn();
      // the machine takes it only as a connected sender; until then the need stays in the core
      const reason = this.reliable.resyncReason;
      if (reason !== null) this.feed({ type: 'resync-needed', reason });
      if (this.unanswered(now)) this.feed({ type: 'request-timeout' });
      this.drainOut(now);
      this.flush(now);
      if (this.bulk.connected) this.link.keepalive(now);
      this.view.backlog(this.reliable.backlog);
    } catch (err) {
      // A bug here must not take the control thread (and the heartbeats) down with it.
      this.view.warn('pump-error', { err }, 'HA2 sync pump failed', 'error');
    }
  }

  /** Our request for the peer's dump has waited past its bound (the machine asks again). */
  private unanswered(now: number): boolean {
    const b = this.bulk;
    return b.rx.phase === 'requested' && b.connected && now - this.askedAtMs >= (this.opts.bulkAnswerWaitMs ?? BULK_ANSWER_WAIT_MS);
  }

  /** Drains our dataplane's changes: into the sender core, or discarded (outFate says which). */
  private drainOut(now: number): void {
    const fate = outFate(this.bulk);
    const dropsBefore = this.reliable.counters.recordsDropped;
    let drained = 0;
    this.opts.out.drain(this.reliable.batchMax * DRAIN_BATCHES_PER_TICK, (r) => {
      // the machine follows our dataplane's dumps and losses whether or not they leave this box
      const e = outEvent(r);
      if (e !== null) this.feed(e);
      // a REC_LOST is ours alone: counted, never sent on
      if (e?.type === 'out-lost') return this.view.lostOut(e.count);
      drained += 1;
      // the ring reuses the object it hands us: the sender core keeps a copy
      if (fate === 'send') this.reliable.enqueue({ ...r }, now);
    });
    if (fate !== 'send') this.view.discarded(fate, drained);
    const dropped = this.reliable.counters.recordsDropped - dropsBefore;
    if (dropped > 0) this.view.backlogDropped(dropped, this.reliable.backlogMax);
  }

  /** Sends due batches while the stream takes more, for at most FLUSH_BUDGET_MS (the next tick goes on). */
  private flush(now: number): void {
    if (outFate(this.bulk) !== 'send') return;
    const start = performance.now();
    while (this.link.canSend() && performance.now() - start < FLUSH_BUDGET_MS) {
      const batch = this.reliable.poll(now);
      if (!batch) return;
      // uint64 on the wire: whole ms (the RTT is therefore good to a millisecond); a send refused
      // although canSend() said yes means the stream just died: onDown follows and resyncs
      if (!this.link.send({ kind: 'batch', batch: { ...batch, sentMs: Math.floor(monotonicMs()) } })) return;
      this.view.carried('tx', batch.records.length);
    }
  }

  /** Pushes what waits into our `in` ring; tells the machine what went in; acks what is all in. */
  private feedIn(): void {
    const received = this.inbound.counters.records;
    const r = this.inbound.push(this.opts.in, this.bulk, Date.now()); // wall clock: lastCompleteAt
    for (const bad of r.invalid) this.view.invalid(bad);
    this.view.staleClears(r.staleClears);
    for (const e of r.events) this.feed(e);
    if (this.inbound.counters.records !== received) this.view.synced(this.inbound.counters.records);
    if (r.stallStarted) this.view.stall();
    if (r.ack !== null) this.link.send({ kind: 'ack', ack: r.ack });
  }

  // ---- connection events ----

  private onUp(): void {
    this.inbound.connected();
    this.view.connected(true);
    this.log.info({ conn: this.bulk.conn + 1, role: this.bulk.role }, 'HA2 connection up');
    // a receiver's request goes out from here: the stream is up before onUp
    this.feed({ type: 'connected' });
  }

  private onDown(closedByPeer: boolean, why: string): void {
    if (!this.bulk.connected) return;
    this.inbound.disconnected();
    this.feed({ type: 'disconnected' });
    this.view.connected(false);
    this.log.warn({ closedByPeer, why, role: this.bulk.role }, 'HA2 connection down');
  }

  // ---- receive ----

  private onBatch(seq: number, records: SessionRecord[], sentMs: number): void {
    this.view.carried('rx', records.length);
    const arrival = this.inbound.arrived(seq, sentMs, this.bulk, records);
    if (arrival.kind === 'not-ours') {
      this.view.discarded('sender', records.length);
      this.link.send({ kind: 'ack', ack: arrival.ack });
      return;
    }
    if (arrival.gap !== null) {
      this.view.gap(arrival.gap);
      this.feed({ type: 'gap', ...arrival.gap });
    }
    const dropped = this.inbound.queue(seq, records, sentMs, this.bulk);
    if (dropped > 0) {
      this.view.overflow(dropped);
      this.feed({ type: 'overflow', dropped });
    }
    this.feedIn();
  }

  private onAck(seq: number, echoSentMs: number): void {
    // acks of our stream: only a sending role has one (a keepalive repeats the last ack anyway)
    if (!sends(this.bulk.role)) return;
    const now = monotonicMs();
    const lags = this.reliable.ack(seq, now).flatMap((b) => (b.lagMs === null ? [] : [b.lagMs]));
    this.view.acked(echoSentMs > 0 ? now - echoSentMs : null, lags, now);
    this.view.backlog(this.reliable.backlog);
  }

  // ---- the bulk machine ----

  /** Steps the bulk machine and carries out what it decided, in order. */
  private feed(event: BulkEvent): void {
    const r = stepBulk(this.bulk, event);
    this.bulk = r.state;
    let forIn = false;
    for (const a of r.actions) {
      forIn = carryOut(a, this.hands) || forIn;
      if (a.type === 'send-bulk-request') this.askedAtMs = monotonicMs();
    }
    // what the machine put into `in` goes now, not at the next tick: a dump request is on the
    // critical path of a (re)joining peer
    if (forIn) this.feedIn();
  }
}
