// The receiving half of HA2 as a pure core: the peer's batches, checked and queued in order for our
// dataplane's `in` ring, our own in-band requests queued behind them, and the acks. No sockets,
// rings or clocks: the channel (src/sync/channel.ts) hands it batches, lets it push into the ring it
// passes, and carries out what it reports (feed the bulk machine, send the ack, count).
//
//   batch{seq} --arrived(), queue()--> waiting --push(ring)--> `in` ring
//                                  '-- a batch is acked once every record of it is in the ring
//
// A batch's sequence number is checked before anything else (conntrack-tools: check before
// recording); batches are consecutive on a connection, so a gap means lost records. The queue is
// bounded: past `pendingMax` records (our dataplane stopped draining `in`), everything waiting is
// dropped, and the bulk machine clears and asks for all of it again.
import type { BulkEvent, BulkState } from './bulk.js';
import { Fifo } from './fifo.js';
import { clearsTable, REC_BULK_BEGIN, REC_BULK_END, REC_DELETE, REC_UPDATE, REC_UPSERT, type SessionRecord } from '../wire/session-record.js';

/**
 * Received records waiting for room in `in` beyond which they are dropped, and the table cleared
 * and asked for again. The sender's window (unackedMax x batchMax) normally keeps us far below.
 */
export const DEFAULT_PENDING_IN_MAX = 400_000;

/** What the queue pushes into: a RecordRing (false when full; throws for a value it cannot hold). */
export interface RecordSink {
  push(r: SessionRecord): boolean;
}

export interface Ack {
  seq: number;
  echoSentMs: number;
}

export interface Gap {
  expected: number;
  got: number;
}

/** What a received batch's sequence number says, before its records are queued. */
export type Arrival =
  /** We are the sender (both sides think they are active): not ours to apply, acked so the peer's window moves. */
  | { kind: 'not-ours'; ack: Ack }
  /** To apply; `gap` when batches before it are missing (told to the bulk machine before its records queue). */
  | { kind: 'ours'; gap: Gap | null };

/** What one push() did. */
export interface PushReport {
  /** For the bulk machine, in ring order: sessions pushed, and the peer's BULK_BEGIN / BULK_END. */
  events: BulkEvent[];
  /** Records the ring refused as out of range: each skipped alone. */
  invalid: { op: number; error: string }[];
  /** Clears (REC_CLEAR, a dump's BULK_BEGIN) that waited until we became the sender: not pushed. */
  staleClears: number;
  /** The ring filled up (reported once per stall, when it starts). */
  stallStarted: boolean;
  /** The last batch whose records are all in the ring now (cumulative), on this connection. */
  ack: Ack | null;
}

/** A received batch's place in the queue: acked once every record up to `end` is in the ring. */
interface Boundary {
  /** Records ever queued, after the batch's last record. */
  end: number;
  seq: number;
  sentMs: number;
  /** The connection it arrived on: an ack never goes to a later connection. */
  conn: number;
}

export interface InboundCounters {
  batches: number;
  /** The peer's records pushed into `in`. */
  records: number;
  /** Times the ring was full and records had to wait. */
  stalls: number;
}

export class Inbound {
  private readonly waiting = new Fifo<SessionRecord>();
  /** Records ever queued, and ever taken off the queue (pushed, skipped or dropped). */
  private queued = 0;
  private done = 0;
  private boundaries: Boundary[] = [];
  /** Last batch seq received on this connection (0 before the first). */
  private lastSeq = 0;
  private stalled = false;
  /** Records ever queued when we became `both`: a clear queued before that is not pushed. */
  private clearsStaleUntil = 0;
  readonly counters: InboundCounters = { batches: 0, records: 0, stalls: 0 };

  /** `pendingMax`: records waiting for `in` beyond which they are dropped (see the file comment). */
  constructor(readonly pendingMax: number) {}

  /** Records waiting for room in `in`. */
  get pending(): number {
    return this.waiting.length;
  }

  /**
   * BULK_BEGIN records received on this connection, whatever became of them (queued, dropped by an
   * overflow, discarded while we were the sender): a BulkRequest says it, so that the peer can tell
   * a dump still on its way to us (it answers the request) from one we already had.
   */
  beginsSeen = 0;

  /** A new connection: its batches count from 1. */
  connected(): void {
    this.lastSeq = 0;
    this.beginsSeen = 0;
  }

  /** The connection is gone, and with it the acks owed on it. */
  disconnected(): void {
    this.boundaries = [];
  }

  /** One of our own requests to our dataplane (REC_CLEAR, REC_DUMP_REQUEST), behind what waits. */
  control(r: SessionRecord): void {
    this.waiting.push(r);
    this.queued += 1;
  }

  /**
   * We became `both` (active/active): the clears queued so far (ours after a gap, the peer's
   * BULK_BEGIN) were for the box that did not forward, and are not pushed; later ones are.
   */
  dropQueuedClears(): void {
    this.clearsStaleUntil = this.queued;
  }

  /** A batch from the peer arrived, on the connection and in the role `s` says. */
  arrived(seq: number, sentMs: number, s: BulkState, records: readonly SessionRecord[] = []): Arrival {
    this.counters.batches += 1;
    for (const r of records) if (r.op === REC_BULK_BEGIN) this.beginsSeen += 1;
    const expected = this.lastSeq + 1;
    const gap = seq === expected ? null : { expected, got: seq };
    if (seq > this.lastSeq) this.lastSeq = seq;
    if (s.role === 'sender') return { kind: 'not-ours', ack: { seq, echoSentMs: sentMs } };
    return { kind: 'ours', gap };
  }

  /**
   * Queues a batch that is ours (after arrived()). Returns how many records were dropped: 0, or
   * everything that waited plus this batch when that would pass `pendingMax`. Dropped batches count
   * as handled: they are acked, so the sender's window moves on to the dump.
   */
  queue(seq: number, records: readonly SessionRecord[], sentMs: number, s: BulkState): number {
    let dropped = 0;
    if (this.waiting.length + records.length > this.pendingMax) {
      dropped = this.waiting.length + records.length;
      this.waiting.clear();
      this.queued += records.length;
      this.done = this.queued;
    } else {
      for (const r of records) this.waiting.push(r);
      this.queued += records.length;
    }
    this.boundaries.push({ end: this.queued, seq, sentMs, conn: s.conn });
    return dropped;
  }

  /** Pushes what waits into `ring`, in order, until it is full. */
  push(ring: RecordSink, s: BulkState, wallMs: number): PushReport {
    const report: PushReport = { events: [], invalid: [], staleClears: 0, stallStarted: false, ack: null };
    let sessions = 0;
    let full = false;
    let r: SessionRecord | undefined;
    while ((r = this.waiting.peek()) !== undefined) {
      // queued for the passive we were: it would empty the table that is the pair's now (as
      // both, only those queued before we became both: see dropQueuedClears)
      if ((s.role === 'sender' || this.done < this.clearsStaleUntil) && clearsTable(r.op)) {
        report.staleClears += 1;
        this.waiting.shift();
        this.done += 1;
        continue;
      }
      let ok: boolean;
      try {
        ok = ring.push(r);
      } catch (err) {
        // a value the ring cannot hold (the codec's limits should make this impossible): this
        // record only is skipped, never the stream behind it
        report.invalid.push({ op: r.op, error: (err as Error).message });
        this.waiting.shift();
        this.done += 1;
        continue;
      }
      if (!ok) {
        full = true;
        break;
      }
      this.waiting.shift();
      this.done += 1;
      sessions = this.pushed(r, sessions, report.events, wallMs);
    }
    if (sessions > 0) report.events.push({ type: 'records-pushed', count: sessions });
    report.stallStarted = full && !this.stalled;
    if (report.stallStarted) this.counters.stalls += 1;
    this.stalled = full;
    report.ack = this.ackable(s);
    return report;
  }

  /** A record now in the ring: counted; the peer's dump told to the bulk machine. Returns `sessions`. */
  private pushed(r: SessionRecord, sessions: number, events: BulkEvent[], wallMs: number): number {
    switch (r.op) {
      case REC_UPSERT:
      case REC_UPDATE:
        this.counters.records += 1;
        return sessions + 1;
      case REC_DELETE:
        this.counters.records += 1;
        return sessions;
      case REC_BULK_BEGIN:
      case REC_BULK_END:
        this.counters.records += 1;
        // what came before belongs to what came before
        if (sessions > 0) events.push({ type: 'records-pushed', count: sessions });
        events.push(r.op === REC_BULK_BEGIN ? { type: 'begin-pushed' } : { type: 'end-pushed', sessions: r.origSrc >>> 0, wallMs });
        return 0;
      default:
        // our own requests (CLEAR, DUMP_REQUEST), or an op the dataplane skips and counts
        return sessions;
    }
  }

  /** The last batch whose records are all in the ring (cumulative), if it is owed on this connection. */
  private ackable(s: BulkState): Ack | null {
    let last: Boundary | null = null;
    let i = 0;
    while (i < this.boundaries.length && this.boundaries[i].end <= this.done) {
      last = this.boundaries[i];
      i += 1;
    }
    if (i === 0) return null;
    this.boundaries = i === this.boundaries.length ? [] : this.boundaries.slice(i);
    if (last === null || last.conn !== s.conn || !s.connected) return null;
    return { seq: last.seq, echoSentMs: last.sentMs };
  }
}
