// The HA2 session sync channel of the control worker: the driver around the pure sender core
// (src/sync/reliable.ts), the TCP stream (src/sync/stream.ts), the authenticated codec
// (src/wire/auth.ts Ha2Sealer/Ha2Opener) and the two shared-memory rings of the dataplane
// (src/wire/record-ring.ts).
//
//   active box                                         passive box
//   dataplane --out ring--> [pump] reliable --batch-->  [onFrame] toIn --in ring--> dataplane
//                           lag <----------------ack--  (ack once pushed into the ring)
//
// Roles (set by the agent on each HA transition): 'sender' (active) sends what its dataplane
// changes; 'receiver' (passive) applies what the peer sends and asks for a full dump on every
// connect and whenever it becomes receiver; 'idle' applies what arrives but asks for nothing.
// Whoever is not the sender drains its own `out` ring and discards it: its table is not
// authoritative.
//
// Control is in-band, so order is kept end to end: the receiver keeps what it holds until the
// dump's BULK_BEGIN (which clears) and pushes REC_CLEAR into its own `in` ring only when what it
// holds is known to be incomplete (a gap, an overflow); the sender answers a BulkRequest (or its
// own resync need) by pushing REC_DUMP_REQUEST into its own `in` ring, and its dataplane's
// BULK_BEGIN .. BULK_END then flows out like any other change.
//
// When to ask, when a request rides on another, and when a dump is complete is decided by the
// pure bulk machine (src/sync/bulk.ts, whose header draws both halves): this driver tells it what
// happened (roles, connections, gaps, overflows, the control records it pushes into `in` and
// drains from `out`) and carries out its actions. The driver keeps the pump, the rings, the
// stream, the acks and the counters.
import { monotonicMs } from '../clock.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import { Ha2Opener, Ha2Sealer } from '../wire/auth.js';
import type { HaEncryption } from '../wire/crypto.js';
import { decodeHa2, encodeHa2, type Ha2Body, type Ha2Envelope } from '../wire/ha2-codec.js';
import { LagWindow } from './lag.js';
import {
  emptyRecord,
  REC_BULK_BEGIN,
  REC_BULK_END,
  REC_CLEAR,
  REC_DELETE,
  REC_DUMP_REQUEST,
  REC_UPDATE,
  REC_UPSERT,
  type SessionRecord,
} from '../wire/session-record.js';
import { RecordQueue, ReliableSender } from './reliable.js';
import { initialBulkState, rxPending, step as stepBulk, txQueued, type BulkAction, type BulkEvent, type BulkState, type SyncRole } from './bulk.js';
import type { RecordRing } from '../wire/record-ring.js';
import { HA2_MAX_FRAME_BYTES, HA2_RECONNECT_MS, Ha2Stream } from './stream.js';

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
/** Received records waiting for room in `in` beyond which we drop them, clear and ask for a dump.
 * The sender's window (unackedMax x batchMax) normally keeps us far below. */
const DEFAULT_PENDING_IN_MAX = 400_000;
/** Lag summary window for status() (ms). */
const LAG_WINDOW_MS = 60_000;
/** One log line per reason per this many ms at most (counters are never limited). */
const LOG_EVERY_MS = 10_000;
/**
 * A pulled HA2 cable sends no FIN: TCP would sit "established" for minutes. Each side says
 * something at least this often (an ack, which the peer takes as a no-op when nothing is new)...
 */
export const HA2_KEEPALIVE_MS = 500;
/** ...and a connection silent for this long is dropped and redialled (then resynced). */
export const HA2_DEAD_MS = 2_000;

/** Why a received record was discarded, or a queued one not sent. Values are metric labels. */
export type SyncDiscardReason =
  /** Drained from our `out` ring while not the sender: our table is not authoritative. */
  | 'not-sender'
  /** Drained from `out` as sender while HA2 was down (a resync follows). */
  | 'disconnected'
  /** Dropped from the sender backlog when it passed backlogMax (a resync follows). */
  | 'backlog'
  /** Received but dropped because `in` stayed full past the pending bound (clear + bulk request). */
  | 'overflow'
  /** Received from the peer while we are the sender (split roles; acked and dropped). */
  | 'sender'
  /** A record the `in` ring refused as out of range (skipped alone). */
  | 'invalid';

export type { SyncResyncReason, SyncRole } from './bulk.js';

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
  /** Batches in flight before the sender waits for acks (default 256). */
  unackedMax?: number;
  /** Redial interval (ms, default 200). */
  reconnectMs?: number;
  /** Pump period (ms, default 1). */
  pumpIntervalMs?: number;
  /** Format of what we send (shared.ha.encryption, default 'none'); the opener takes both. */
  encryption?: HaEncryption;
}

export interface SyncStatus {
  connected: boolean;
  role: SyncRole;
  backlog: number;
  lagMs: { p50: number; p99: number; max: number };
  batchesSent: number;
  batchesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  resyncs: number;
  bulk: {
    inProgress: boolean;
    received: number;
    lastCompleteAt: string | null;
    /** Receiver: a dump has been asked for (or the table cleared) and its BULK_END not yet seen. */
    pending: boolean;
    /** Sessions announced by the last complete dump's BULK_END. */
    lastSessions: number | null;
  };
  /** Last measured HA2 round trip (batch sent -> its ack), ms; null before the first. */
  rttMs: number | null;
  /** Messages refused by the opener or the stream (bad MAC, replay, framing, foreign peer...). */
  rejected: number;
  /** Times received records waited for room in the `in` ring. */
  inStalls: number;
  /** Received records waiting for room in `in`. */
  pendingIn: number;
  /** Sender: a dump has been asked of our dataplane and its BULK_BEGIN has not come out yet. */
  dumpQueued: boolean;
}

/** A received batch's place in toIn: acked once every record up to `end` is in the `in` ring. */
interface InBoundary {
  /** Value of inEnqueued after the batch's last record. */
  end: number;
  seq: number;
  sentMs: number;
  /** Connection it arrived on: an ack never goes to a later connection. */
  conn: number;
}

export class SyncChannel {
  private readonly opts: SyncChannelOptions;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly stream: Ha2Stream;
  private readonly sealer: Ha2Sealer;
  private readonly opener: Ha2Opener;
  private readonly reliable: ReliableSender;
  private readonly lag = new LagWindow(LAG_WINDOW_MS);
  private readonly pendingInMax: number;
  private readonly logLimit = new LogLimiter(LOG_EVERY_MS);

  /** Role, connection and both halves of the bulk sync (src/sync/bulk.ts): changed only by feed(). */
  private bulk: BulkState = initialBulkState();
  private pump: NodeJS.Timeout | null = null;
  private started = false;

  // ---- receive side ----
  /** Records for our `in` ring, in order: peer's records and our in-band requests. */
  private readonly toIn = new RecordQueue();
  private inEnqueued = 0;
  private inPushed = 0;
  private boundaries: InBoundary[] = [];
  /** Last batch seq received on this connection (0 before the first). */
  private lastRxSeq = 0;
  /** `in` is full and records wait: the stall is counted once, when it starts. */
  private stalled = false;
  /** Upserts and updates pushed into `in` not yet told to the bulk machine (told in one event). */
  private unreportedPushed = 0;

  // ---- status ----
  private batchesReceived = 0;
  private recordsReceived = 0;
  private resyncs = 0;
  private rejected = 0;
  private inStalls = 0;
  private rttMs: number | null = null;
  private lastRxMs = 0;
  /** The last batch acked after delivery on this connection: what a keepalive may repeat. */
  private lastAckedSeq = 0;
  private lastTxMs = 0;

  constructor(opts: SyncChannelOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.metrics = opts.metrics;
    if (opts.deviceId !== 0 && opts.deviceId !== 1) throw new RangeError(`SyncChannel: deviceId must be 0 or 1 (got ${opts.deviceId})`);
    const peerId = 1 - opts.deviceId;
    const epoch = Date.now();
    this.sealer = new Ha2Sealer({ key: opts.key, sender: opts.deviceId, groupId: opts.groupId, epoch, channel: 'ha2', encryption: opts.encryption });
    this.opener = new Ha2Opener({ key: opts.key, expectedSender: peerId, groupId: opts.groupId, channel: 'ha2', maxBytes: HA2_MAX_FRAME_BYTES });
    this.reliable = new ReliableSender({
      flushIntervalMs: opts.flushIntervalMs,
      batchMax: opts.batchMax,
      backlogMax: opts.backlogMax,
      unackedMax: opts.unackedMax,
    });
    this.pendingInMax = Math.max(DEFAULT_PENDING_IN_MAX, this.reliable.unackedMax * this.reliable.batchMax);
    this.stream = new Ha2Stream({
      local: opts.link.local,
      peer: opts.link.peer,
      port: opts.link.port,
      role: opts.deviceId === 0 ? 'dial' : 'listen',
      maxFrameBytes: HA2_MAX_FRAME_BYTES,
      reconnectMs: opts.reconnectMs ?? HA2_RECONNECT_MS,
      log: opts.log,
      onFrame: (frame) => this.onFrame(frame),
      onUp: () => this.onUp(),
      onDown: (byPeer, why) => this.onDown(byPeer, why),
      onReject: (reason) => this.reject(reason),
    });
  }

  private get role(): SyncRole {
    return this.bulk.role;
  }

  private get connected(): boolean {
    return this.bulk.connected;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.metrics.setSyncConnected(false);
    this.metrics.setSyncBacklog(0);
    warmUpCodec();
    await this.stream.start();
    this.pump = setInterval(() => this.tick(), this.opts.pumpIntervalMs ?? SYNC_PUMP_INTERVAL_MS);
    this.log.info({ link: this.opts.link, dial: this.opts.deviceId === 0 }, 'HA2 sync channel started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.pump) clearInterval(this.pump);
    this.pump = null;
    await this.stream.stop();
    // The stream reports no down for a connection it closes itself on stop.
    if (this.connected) this.feed({ type: 'disconnected' });
    this.metrics.setSyncConnected(false);
    this.log.info('HA2 sync channel stopped');
  }

  /** The agent sets this on every HA transition: active -> 'sender'; passive -> 'receiver'; other -> 'idle'. */
  setRole(role: SyncRole): void {
    if (role === this.role) return;
    const from = this.role;
    this.log.info({ from, to: role }, `sync role ${from} -> ${role}`);
    if (from === 'sender') {
      // Our changes no longer matter to the peer: forget the backlog (not a loss: not authoritative).
      this.reliable.reset();
      this.metrics.setSyncBacklog(0);
    }
    this.feed({ type: 'role', to: role });
  }

  /** What we send from now on; the seq (and so the GCM nonce) goes on unbroken. */
  setEncryption(mode: HaEncryption): void {
    this.sealer.setEncryption(mode);
  }

  status(): SyncStatus {
    const now = monotonicMs();
    const lag = this.lag.summary(now);
    const c = this.reliable.counters;
    const rx = this.bulk.rx;
    return {
      connected: this.connected,
      role: this.role,
      backlog: this.reliable.backlog,
      lagMs: { p50: round3(lag.p50), p99: round3(lag.p99), max: round3(lag.max) },
      batchesSent: c.batchesSent,
      batchesReceived: this.batchesReceived,
      recordsSent: c.recordsSent,
      recordsReceived: this.recordsReceived,
      resyncs: this.resyncs,
      bulk: {
        inProgress: rx.phase === 'receiving',
        received: rx.received,
        lastCompleteAt: rx.lastComplete === null ? null : new Date(rx.lastComplete.wallMs).toISOString(),
        pending: rxPending(this.bulk),
        lastSessions: rx.lastComplete?.sessions ?? null,
      },
      rttMs: this.rttMs,
      rejected: this.rejected,
      inStalls: this.inStalls,
      pendingIn: this.toIn.length,
      dumpQueued: txQueued(this.bulk),
    };
  }

  // ---- the bulk machine ----

  /** Steps the bulk machine and carries out what it decided, in order. */
  private feed(event: BulkEvent): void {
    const r = stepBulk(this.bulk, event);
    this.bulk = r.state;
    let forIn = false;
    for (const a of r.actions) forIn = this.act(a) || forIn;
    // what the machine put into `in` goes now, not at the next tick: a dump request is on the
    // critical path of a (re)joining peer
    if (forIn) this.feedIn();
  }

  /** Carries out one action of the bulk machine; true when it queued a record for `in`. */
  private act(a: BulkAction): boolean {
    switch (a.type) {
      case 'rx-transition':
        this.log.info({ from: a.from, to: a.to, reason: a.reason }, `bulk sync from the peer: ${a.from} -> ${a.to}`);
        return false;
      case 'tx-transition':
        this.log.info({ from: a.from, to: a.to, reason: a.reason }, `bulk dump of our table: ${a.from} -> ${a.to}`);
        return false;
      case 'push-clear':
        this.enqueueIn(controlRecord(REC_CLEAR));
        return true;
      case 'send-bulk-request':
        this.countResync(a.reason);
        this.log.info({ reason: a.reason }, 'asking the peer for a full session dump');
        this.send({ kind: 'bulkRequest', bulkRequest: { reason: a.reason } });
        return false;
      case 'request-dump':
        this.countResync(a.reason);
        this.log.info({ reason: a.reason, why: a.why }, 'asking the dataplane for a full session dump');
        this.enqueueIn(controlRecord(REC_DUMP_REQUEST));
        return true;
      case 'dump-coalesced':
        this.log.debug({ reason: a.reason, why: a.why, onto: a.onto }, 'dump already requested: coalesced');
        return false;
      case 'dump-deferred':
        this.log.info({ reason: a.reason, role: this.role }, 'peer asked for a dump; not the sender now, kept for later');
        return false;
      case 'resync-started':
        this.reliable.resyncStarted();
        return false;
      case 'bulk-complete':
        this.bulkComplete(a.sessions, a.received);
        return false;
      case 'stale-end':
        this.log.info({ sessions: a.sessions }, 'end of a dump begun before our last request or loss: not complete');
        return false;
      case 'invalid-transition':
        this.log.error({ event: a.event, role: a.role, rx: a.rx, tx: a.tx }, 'bulk sync: unexpected event in this state (ignored)');
        return false;
      default: {
        const never: never = a;
        return never;
      }
    }
  }

  private countResync(reason: string): void {
    this.resyncs += 1;
    this.metrics.syncResync(reason);
  }

  private bulkComplete(sessions: number, received: number): void {
    this.log.info({ sessions, received }, 'bulk sync from the peer complete');
    try {
      this.opts.onBulkComplete?.(sessions);
    } catch (err) {
      this.log.error({ err }, 'onBulkComplete failed');
    }
  }

  // ---- the pump ----

  private tick(): void {
    try {
      const now = monotonicMs();
      this.feedIn();
      // the machine takes it only as a connected sender; until then the need stays in the core
      const reason = this.reliable.resyncReason;
      if (reason !== null) this.feed({ type: 'resync-needed', reason });
      this.drainOut(now);
      this.flush(now);
      if (this.connected) this.keepalive(now);
      this.metrics.setSyncBacklog(this.reliable.backlog);
    } catch (err) {
      // A bug here must not take the control thread (and the heartbeats) down with it.
      this.logLimited('pump-error', 'error', { err }, 'HA2 sync pump failed');
    }
  }

  /** Drains our dataplane's changes: into the sender core, or discarded when not the sender. */
  private drainOut(now: number): void {
    const max = this.reliable.batchMax * DRAIN_BATCHES_PER_TICK;
    const sending = this.role === 'sender' && this.connected;
    let discarded = 0;
    const dropsBefore = this.reliable.counters.recordsDropped;
    this.opts.out.drain(max, (r) => {
      // the machine follows our dataplane's dumps whether or not they leave this box
      if (r.op === REC_BULK_BEGIN) this.feed({ type: 'begin-out' });
      else if (r.op === REC_BULK_END) this.feed({ type: 'end-out' });
      if (sending) this.reliable.enqueue(copyRecord(r), now);
      else discarded += 1;
    });
    if (discarded > 0) this.metrics.syncRecordsDiscarded(this.role === 'sender' ? 'disconnected' : 'not-sender', discarded);
    const dropped = this.reliable.counters.recordsDropped - dropsBefore;
    if (dropped > 0) {
      this.metrics.syncRecordsDiscarded('backlog', dropped);
      this.logLimited('backlog', 'warn', { dropped, backlogMax: this.reliable.backlogMax }, 'HA2 backlog over its bound: dropped, full resync');
    }
  }

  /** Sends due batches while the stream takes more, for at most FLUSH_BUDGET_MS (the next tick goes on). */
  private flush(now: number): void {
    if (this.role !== 'sender' || !this.connected) return;
    const start = performance.now();
    while (this.stream.canSend() && performance.now() - start < FLUSH_BUDGET_MS) {
      const batch = this.reliable.poll(now);
      if (!batch) return;
      // uint64 on the wire: whole ms (the RTT is therefore good to a millisecond).
      const sentMs = Math.floor(monotonicMs());
      if (!this.send({ kind: 'batch', batch: { seq: batch.seq, records: batch.records, sentMs } })) {
        // canSend() said yes, so the stream just died: onDown follows and resyncs.
        return;
      }
      this.metrics.syncRecordsCarried('tx', batch.records.length);
    }
  }

  /** Pushes pending records into our `in` ring in order; acks every batch now fully pushed. */
  private feedIn(): void {
    const ring = this.opts.in;
    const receivedBefore = this.recordsReceived;
    let full = false;
    let r: SessionRecord | undefined;
    while ((r = this.toIn.peek()) !== undefined) {
      let ok: boolean;
      try {
        ok = ring.push(r);
      } catch (err) {
        // A value the ring cannot hold (the codec's limits should make this impossible): this
        // record only is skipped and counted, never the stream behind it.
        this.toIn.shift();
        this.inPushed += 1;
        this.metrics.syncRecordsDiscarded('invalid', 1);
        this.logLimited('invalid', 'warn', { err: (err as Error).message, op: r.op }, 'HA2 record refused by the ring: skipped');
        continue;
      }
      if (!ok) {
        full = true;
        break;
      }
      this.toIn.shift();
      this.inPushed += 1;
      this.pushed(r);
    }
    this.reportPushed();
    if (this.recordsReceived !== receivedBefore) this.metrics.setSessionsSynced(this.recordsReceived);
    if (full && !this.stalled) {
      this.stalled = true;
      this.inStalls += 1;
      this.metrics.syncRingStall();
    }
    if (!full) this.stalled = false;
    this.ackPushed();
  }

  /** Bookkeeping of a record now in the `in` ring: received counts; the peer's dump to the machine. */
  private pushed(r: SessionRecord): void {
    switch (r.op) {
      case REC_UPSERT:
      case REC_UPDATE:
        this.recordsReceived += 1;
        this.unreportedPushed += 1;
        return;
      case REC_DELETE:
        this.recordsReceived += 1;
        return;
      case REC_BULK_BEGIN:
        this.recordsReceived += 1;
        this.reportPushed(); // what came before belongs to what came before
        this.feed({ type: 'begin-pushed' });
        return;
      case REC_BULK_END:
        this.recordsReceived += 1;
        this.reportPushed();
        // wall clock: the status shows when, as a date
        this.feed({ type: 'end-pushed', sessions: r.origSrc >>> 0, wallMs: Date.now() });
        return;
      default:
        // our own in-band requests (CLEAR, DUMP_REQUEST), or an op the dataplane skips and counts
        return;
    }
  }

  /** Tells the machine how many upserts and updates went into `in` since it last heard (one event). */
  private reportPushed(): void {
    if (this.unreportedPushed === 0) return;
    const count = this.unreportedPushed;
    this.unreportedPushed = 0;
    this.feed({ type: 'records-pushed', count });
  }

  /** Acks the last batch whose records are all in the `in` ring (cumulative). */
  private ackPushed(): void {
    let last: InBoundary | null = null;
    let i = 0;
    while (i < this.boundaries.length && this.boundaries[i].end <= this.inPushed) {
      last = this.boundaries[i];
      i += 1;
    }
    if (i === 0) return;
    this.boundaries = i === this.boundaries.length ? [] : this.boundaries.slice(i);
    if (last && last.conn === this.bulk.conn && this.connected) {
      this.lastAckedSeq = last.seq;
      this.send({ kind: 'ack', ack: { seq: last.seq, echoSentMs: last.sentMs } });
    }
  }

  private keepalive(now: number): void {
    if (now - this.lastRxMs > HA2_DEAD_MS) {
      this.log.warn({ silentMs: Math.round(now - this.lastRxMs) }, 'HA2 peer silent: dropping the connection');
      this.stream.reset(`HA2 peer silent for ${Math.round(now - this.lastRxMs)} ms`);
      return;
    }
    if (now - this.lastTxMs > HA2_KEEPALIVE_MS) this.send({ kind: 'ack', ack: { seq: this.lastAckedSeq, echoSentMs: 0 } });
  }

  // ---- connection events ----

  private onUp(): void {
    this.lastRxSeq = 0;
    this.lastRxMs = monotonicMs();
    this.lastTxMs = 0;
    this.lastAckedSeq = 0;
    this.metrics.setSyncConnected(true);
    this.log.info({ conn: this.bulk.conn + 1, role: this.role }, 'HA2 connection up');
    // a receiver's request goes out from here: the stream is up before onUp
    this.feed({ type: 'connected' });
  }

  private onDown(closedByPeer: boolean, why: string): void {
    if (!this.connected) return;
    this.feed({ type: 'disconnected' });
    this.boundaries = []; // acks belong to that connection
    this.metrics.setSyncConnected(false);
    if (this.role === 'sender') {
      const lost = this.reliable.backlog;
      this.reliable.connectionLost();
      if (lost > 0) this.metrics.syncRecordsDiscarded('disconnected', lost);
      this.metrics.setSyncBacklog(0);
    }
    this.log.warn({ closedByPeer, why, role: this.role }, 'HA2 connection down');
  }

  private enqueueIn(r: SessionRecord): void {
    this.toIn.push(r);
    this.inEnqueued += 1;
  }

  // ---- receive ----

  private onFrame(frame: Buffer): void {
    const r = this.opener.open(frame);
    if (!r.ok) return this.reject(r.reason);
    this.lastRxMs = monotonicMs();
    this.onMessage(r.envelope);
  }

  private onMessage(env: Ha2Envelope): void {
    const body = env.body;
    this.metrics.syncMessage('rx', body.kind);
    this.metrics.message('ha2', 'rx', body.kind);
    switch (body.kind) {
      case 'batch':
        return this.onBatch(body.batch.seq, body.batch.records, body.batch.sentMs);
      case 'ack':
        return this.onAck(body.ack.seq, body.ack.echoSentMs);
      case 'bulkRequest':
        // `reason` comes from the wire: logged (the codec bounds it), never a metric label.
        return this.feed({ type: 'peer-request', reason: body.bulkRequest.reason });
      default: {
        const never: never = body;
        this.reject('unknown-body');
        return never;
      }
    }
  }

  private onBatch(seq: number, records: SessionRecord[], sentMs: number): void {
    this.batchesReceived += 1;
    this.metrics.syncRecordsCarried('rx', records.length);
    // Sequence first (conntrack-tools: check before recording): batches are consecutive on a stream.
    const expected = this.lastRxSeq + 1;
    const gap = seq !== expected;
    if (seq > this.lastRxSeq) this.lastRxSeq = seq;
    if (this.role === 'sender') {
      // Both sides think they are active (a split about to be resolved): not ours to apply, but
      // acked so the peer's window keeps moving.
      this.metrics.syncRecordsDiscarded('sender', records.length);
      this.send({ kind: 'ack', ack: { seq, echoSentMs: sentMs } });
      return;
    }
    if (gap) {
      this.logLimited('gap', 'warn', { expected, got: seq }, 'HA2 batch seq gap: asking for a full dump');
      this.feed({ type: 'gap', expected, got: seq });
    }
    if (this.toIn.length + records.length > this.pendingInMax) return this.overflow(seq, records.length, sentMs);
    for (const rec of records) this.enqueueIn(rec);
    this.boundaries.push({ end: this.inEnqueued, seq, sentMs, conn: this.bulk.conn });
    this.feedIn();
  }

  /**
   * Our dataplane is not draining `in`: drop what waits (and this batch); the machine clears and
   * asks for everything again. Loss, but never silent. The dropped batches count as handled, so
   * they are acked and the sender's window moves on to the dump.
   */
  private overflow(seq: number, count: number, sentMs: number): void {
    const dropped = this.toIn.length + count;
    this.toIn.clear();
    this.inEnqueued += count;
    this.inPushed = this.inEnqueued;
    this.boundaries.push({ end: this.inEnqueued, seq, sentMs, conn: this.bulk.conn });
    this.metrics.syncRecordsDiscarded('overflow', dropped);
    this.logLimited('overflow', 'warn', { dropped }, 'HA2: the dataplane ring stayed full, received records dropped: full resync');
    this.feed({ type: 'overflow', dropped });
    this.feedIn();
  }

  private onAck(seq: number, echoSentMs: number): void {
    if (this.role !== 'sender') return;
    const now = monotonicMs();
    const rtt = now - echoSentMs;
    if (echoSentMs > 0 && rtt >= 0 && rtt < 600_000) this.rttMs = round3(rtt);
    for (const b of this.reliable.ack(seq, now)) {
      if (b.lagMs === null) continue;
      this.lag.observe(b.lagMs, now);
      this.metrics.syncLag(b.lagMs / 1000);
    }
    this.metrics.setSyncBacklog(this.reliable.backlog);
  }

  /** Seals and sends one message. Batches respect the stream's buffer bound; acks and bulk
   * requests (a few bytes, and losing one would stall the peer) always go out while up. */
  private send(body: Ha2Body): boolean {
    if (!this.stream.up) return false;
    const ok = this.stream.send(this.sealer.seal(body), body.kind !== 'batch');
    if (ok) {
      this.lastTxMs = monotonicMs();
      this.metrics.syncMessage('tx', body.kind);
      this.metrics.message('ha2', 'tx', body.kind);
    }
    return ok;
  }

  private reject(reason: string): void {
    this.rejected += 1;
    this.metrics.rejected('ha2', reason);
    this.logLimited(`reject-${reason}`, 'warn', { reason }, 'HA2 message rejected');
  }

  /** One line per key per LOG_EVERY_MS; the next line says how many were held back. */
  private logLimited(key: string, level: 'warn' | 'error', obj: object, msg: string): void {
    const ok = this.logLimit.allow(key);
    if (ok === null) return;
    this.log[level](ok.suppressed > 0 ? { ...obj, suppressed: ok.suppressed } : obj, msg);
  }
}

/** One of our in-band requests to our own dataplane (REC_CLEAR, REC_DUMP_REQUEST). */
function controlRecord(op: number): SessionRecord {
  const r = emptyRecord();
  r.op = op;
  r.eventMs = monotonicMs();
  return r;
}

/** The ring may reuse the object it hands to drain()'s callback: keep our own copy. */
function copyRecord(r: SessionRecord): SessionRecord {
  return { ...r };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * The first decode of a thousand-record batch runs in V8's interpreter and took ~40 ms in the lab
 * (--cpu-prof): on the control thread, a stall past the aggressive profile's dead interval the
 * first time a peer sends its table. Running the codec a few times at start, before the
 * heartbeats begin, gets it compiled.
 */
function warmUpCodec(): void {
  const records: SessionRecord[] = Array.from({ length: 1000 }, (_, i) => ({
    ...emptyRecord(),
    op: 1,
    proto: 6,
    origSrc: 0x0a000001 + i,
    origSrcPort: 1024 + i,
    origDst: 0x0a000101,
    origDstPort: 443,
    replySrc: 0x0a000101,
    replySrcPort: 443,
    replyDst: 0x0a000201,
    replyDstPort: 30000 + i,
    timeoutMs: 3_600_000,
    eventMs: i,
  }));
  for (let i = 1; i <= 5; i++) {
    decodeHa2(encodeHa2({ sender: 0, epoch: 1, seq: i, groupId: 1, body: { kind: 'batch', batch: { seq: i, records, sentMs: i } } }));
  }
}
