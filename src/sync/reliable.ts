// The HA2 sender's reliability core: batching, sequence numbers, acks, backlog and resync. Pure: no
// I/O, no clock, no timers; the channel (src/sync/channel.ts) passes `now` (monotonic ms, the same
// clock as SessionRecord.eventMs: both are read on the active box) and moves the bytes.
//
//   out ring --enqueue()--> queue --poll()--> Batch{seq} --(sealed, sent)--> peer
//                                              |  remembered as unacked (seq, count, oldest eventMs)
//   peer Ack{seq} --ack()--> every unacked batch <= seq is freed; lag = ack arrival - oldest eventMs
//
// Loss is never silent: whenever records are dropped without having been acked (the backlog grew
// past backlogMax, or the connection was lost with batches in flight), `needsResync` becomes true
// and stays true until the caller has asked its dataplane for a full dump (`resyncStarted()`).
// The dump's BULK_BEGIN makes the receiver forget everything, so whatever was lost is replaced.
import type { SessionRecord } from '../wire/session-record.js';
import { Fifo } from './fifo.js';

/** Flush a partial batch this long after its first record was queued (ms): the lag floor. */
export const DEFAULT_FLUSH_INTERVAL_MS = 2;
/** Records per batch: ~60-80 bytes each on the wire, so ~80 KB, far below the 512 KiB frame limit
 * and the codec's 2,000 records per batch (src/wire/ha2-codec.ts). */
export const DEFAULT_BATCH_MAX = 1000;
/** Records queued plus unacked beyond which we stop trying and resync with a dump. */
export const DEFAULT_BACKLOG_MAX = 200_000;
/** Batches in flight (sent, not acked) before poll() stops handing out more: the window. Acks
 * are sent once the receiver has pushed a batch into its dataplane's ring, so this also bounds
 * what the receiver holds when its dataplane stalls. */
export const DEFAULT_UNACKED_MAX = 256;
/** The codec's limit on records per batch (src/wire/ha2-codec.ts, proto/ha2.proto). */
export const MAX_BATCH_RECORDS = 2_000;

export interface ReliableOptions {
  flushIntervalMs?: number;
  batchMax?: number;
  backlogMax?: number;
  unackedMax?: number;
}

/** Why a resync became necessary. Values are metric labels. */
export type ResyncReason =
  /** queued + unacked records exceeded backlogMax: the link or the peer cannot keep up. */
  | 'backlog'
  /** The HA2 connection went down with records queued or in flight. */
  | 'connection-lost'
  /** The peer asked for a full dump (join, role change, gap, overflow on its side). */
  | 'peer-request';

export interface OutBatch {
  seq: number;
  records: SessionRecord[];
}

export interface AckedBatch {
  seq: number;
  count: number;
  /** ack arrival - the batch's oldest record's eventMs; null when no record carried an eventMs. */
  lagMs: number | null;
}

export interface ReliableCounters {
  /** Records accepted by enqueue(). */
  recordsQueued: number;
  /** Records handed out in batches. */
  recordsSent: number;
  /** Records whose batch was acked. */
  recordsAcked: number;
  batchesSent: number;
  batchesAcked: number;
  /** Acks for no batch we remember (duplicate, or for batches forgotten by a resync). */
  staleAcks: number;
  /** Records dropped unacked (each drop also set needsResync). */
  recordsDropped: number;
  /** Times the backlog exceeded backlogMax. */
  overflows: number;
  /** Times needsResync went from false to true. */
  resyncsNeeded: number;
}

interface Unacked {
  seq: number;
  count: number;
  /** Smallest eventMs > 0 among the batch's records; 0 if none. */
  oldestEventMs: number;
}

function positiveInt(value: number | undefined, fallback: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`reliable: ${what} must be an integer in 1..${max} (got ${v})`);
  return v;
}

export class ReliableSender {
  readonly flushIntervalMs: number;
  readonly batchMax: number;
  readonly backlogMax: number;
  readonly unackedMax: number;

  private readonly queue = new Fifo<SessionRecord>();
  /** When the oldest queued record was queued (now of its enqueue()); null when the queue is empty. */
  private firstQueuedAt: number | null = null;
  /** Sent batches not yet acked, oldest first (seqs strictly increasing). */
  private readonly unacked = new Fifo<Unacked>();
  private unackedRecords = 0;
  /** Seq of the last batch handed out; the next is seq + 1. Restarts at 0 with each connection
   * (Batch.seq is "strictly increasing per stream, from 1", proto/ha2.proto). */
  private seq = 0;
  private resync: ResyncReason | null = null;

  readonly counters: ReliableCounters = {
    recordsQueued: 0,
    recordsSent: 0,
    recordsAcked: 0,
    batchesSent: 0,
    batchesAcked: 0,
    staleAcks: 0,
    recordsDropped: 0,
    overflows: 0,
    resyncsNeeded: 0,
  };

  constructor(opts: ReliableOptions = {}) {
    const fi = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!Number.isFinite(fi) || fi < 0) throw new RangeError(`reliable: flushIntervalMs must be >= 0 (got ${fi})`);
    this.flushIntervalMs = fi;
    this.batchMax = positiveInt(opts.batchMax, DEFAULT_BATCH_MAX, 'batchMax', MAX_BATCH_RECORDS);
    this.backlogMax = positiveInt(opts.backlogMax, DEFAULT_BACKLOG_MAX, 'backlogMax');
    this.unackedMax = positiveInt(opts.unackedMax, DEFAULT_UNACKED_MAX, 'unackedMax');
  }

  /** Records queued (not yet in a batch) plus records sent and not yet acked. */
  get backlog(): number {
    return this.queue.length + this.unackedRecords;
  }

  get queued(): number {
    return this.queue.length;
  }

  get unackedBatches(): number {
    return this.unacked.length;
  }

  /** Some records were dropped unacked: the caller must ask its dataplane for a full dump. */
  get needsResync(): boolean {
    return this.resync !== null;
  }

  /** Why needsResync is set (the first reason since the last resyncStarted()), or null. */
  get resyncReason(): ResyncReason | null {
    return this.resync;
  }

  /** The seq of the last batch handed out on this stream (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Queues one record. If that takes the backlog over backlogMax, everything queued and unacked is
   * dropped and needsResync is set: a dump will replace it.
   */
  enqueue(r: SessionRecord, now: number): void {
    if (this.queue.length === 0) this.firstQueuedAt = now;
    this.queue.push(r);
    this.counters.recordsQueued += 1;
    if (this.backlog > this.backlogMax) {
      this.counters.overflows += 1;
      this.dropAll('backlog');
    }
  }

  /** True when poll(now) would return a batch (time or size reached, and the window has room). */
  due(now: number): boolean {
    if (this.queue.length === 0 || this.unackedBatches >= this.unackedMax) return false;
    return this.queue.length >= this.batchMax || now - (this.firstQueuedAt ?? now) >= this.flushIntervalMs;
  }

  /**
   * The next batch to send, or null: one is due when batchMax records are queued or
   * flushIntervalMs has passed since the first queued record, and fewer than unackedMax batches are
   * in flight. Call it in a loop until null. A returned batch counts as sent: the caller must send
   * it now (if it cannot, the connection is down: call connectionLost()).
   */
  poll(now: number): OutBatch | null {
    if (!this.due(now)) return null;
    const records = this.queue.take(this.batchMax);
    this.firstQueuedAt = this.queue.length > 0 ? now : null;
    let oldest = 0;
    for (const r of records) if (r.eventMs > 0 && (oldest === 0 || r.eventMs < oldest)) oldest = r.eventMs;
    this.seq += 1;
    this.unacked.push({ seq: this.seq, count: records.length, oldestEventMs: oldest });
    this.unackedRecords += records.length;
    this.counters.batchesSent += 1;
    this.counters.recordsSent += records.length;
    return { seq: this.seq, records };
  }

  /**
   * A cumulative ack: frees every unacked batch with seq <= `seq` and returns them with their lag
   * (one value per batch: its oldest record's, the worst in that batch). An ack for nothing we
   * remember is counted as stale and ignored.
   */
  ack(seq: number, now: number): AckedBatch[] {
    const out: AckedBatch[] = [];
    let u: Unacked | undefined;
    while ((u = this.unacked.peek()) !== undefined && u.seq <= seq) {
      this.unacked.shift();
      this.unackedRecords -= u.count;
      this.counters.batchesAcked += 1;
      this.counters.recordsAcked += u.count;
      out.push({ seq: u.seq, count: u.count, lagMs: u.oldestEventMs > 0 ? Math.max(0, now - u.oldestEventMs) : null });
    }
    if (out.length === 0) this.counters.staleAcks += 1;
    return out;
  }

  /**
   * The stream is gone: whatever was queued or in flight may be lost, so it is dropped and a resync
   * is needed (always: even an empty backlog, since records drained while disconnected are
   * discarded by the caller). The next stream's seqs start again at 1.
   */
  connectionLost(): void {
    this.dropAll('connection-lost');
    this.streamEnded();
  }

  /**
   * The stream is gone while we were not the sender (nothing of ours in flight): the next
   * stream's seqs start again at 1 all the same, since the peer counts from 1 on every connection.
   */
  streamEnded(): void {
    this.seq = 0;
  }

  /** The caller has asked its dataplane for a dump: needsResync clears. */
  resyncStarted(): void {
    this.resync = null;
  }

  /**
   * We stopped being the sender (our table is no longer authoritative): forget the backlog and any
   * pending resync, without counting a drop. The seq is kept (the stream goes on).
   */
  reset(): void {
    this.clearBacklog();
    this.resync = null;
  }

  private dropAll(reason: ResyncReason): void {
    this.counters.recordsDropped += this.backlog;
    this.clearBacklog();
    this.markResync(reason);
  }

  private clearBacklog(): void {
    this.queue.clear();
    this.firstQueuedAt = null;
    this.unacked.clear();
    this.unackedRecords = 0;
  }

  private markResync(reason: ResyncReason): void {
    if (this.resync !== null) return;
    this.resync = reason;
    this.counters.resyncsNeeded += 1;
  }
}
