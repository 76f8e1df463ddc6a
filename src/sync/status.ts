// What the HA2 channel shows, counts and warns about: `tandem status`'s sync view (SyncStatus), the
// tandem_sync_* metrics, and the log lines of what can repeat thousands of times a second (one per
// reason per LOG_EVERY_MS). The channel (src/sync/channel.ts) reports here what happened; the state
// of the bulk machine, the sender core and the receive path is read from them when asked.
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import type { Ha2Body } from '../wire/ha2-codec.js';
import { rxPending, txQueued, type BulkState, type RxPhase, type SyncResyncReason, type SyncRole, type TxPhase } from './bulk.js';
import type { Inbound } from './inbound.js';
import { LagWindow } from './lag.js';
import type { ReliableSender } from './reliable.js';

/** Lag summary window for status() (ms). */
const LAG_WINDOW_MS = 60_000;
/** One log line per reason per this many ms at most (counters are never limited). */
const LOG_EVERY_MS = 10_000;

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
  | 'invalid'
  /** A clear (REC_CLEAR, a dump's BULK_BEGIN) still waiting for `in` when we became the sender:
   * it would empty the new active's table. */
  | 'stale-clear'
  /** Changes our dataplane could not put into `out` (its REC_LOST said how many; a resync follows). */
  | 'out-overflow';

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
  /** Changes our dataplane could not put into `out` (lost there; each loss resyncs the peer when we are the sender). */
  outLost: number;
  /** Active/active only (absent in active/passive): each direction on its own. */
  directions?: SyncDirections;
}

/** Active/active: HA2 carries our changes to the peer (tx) and the peer's to us (rx) at once. */
export interface SyncDirections {
  /** Our changes to the peer. */
  tx: {
    records: number;
    batches: number;
    /** Queued plus sent and not yet acked. */
    backlog: number;
    /** A dump of our table for the peer: idle, queued (asked of our dataplane), dumping, dumping-queued. */
    dump: TxPhase;
    dumpReason: string;
    /** Dumps of our table asked of our dataplane (the peer's requests, our own losses). */
    resyncs: number;
  };
  /** The peer's changes to us. */
  rx: {
    records: number;
    batches: number;
    /** Received records waiting for room in `in`. */
    pending: number;
    /** Our copy of the peer's table: idle (live changes only), requested, receiving, complete, interrupted. */
    bulk: RxPhase;
    bulkReason: string;
    lastCompleteAt: string | null;
    lastSessions: number | null;
    /** Dumps asked of the peer (connect, role, gap, overflow). */
    resyncs: number;
  };
}

/** The parts of the channel its status is read from. */
export interface SyncParts {
  bulk: BulkState;
  reliable: ReliableSender;
  inbound: Inbound;
}

export class SyncView {
  private readonly lag = new LagWindow(LAG_WINDOW_MS);
  /** Resyncs started: dumps asked of the peer (rx) and of our own dataplane (tx). */
  private readonly resyncs = { rx: 0, tx: 0 };
  private rejected = 0;
  private rttMs: number | null = null;
  private outLost = 0;
  private readonly logLimit = new LogLimiter(LOG_EVERY_MS);

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** One line per key per LOG_EVERY_MS; the next line says how many were held back. */
  warn(key: string, fields: object, msg: string, level: 'warn' | 'error' = 'warn'): void {
    const ok = this.logLimit.allow(key);
    if (ok === null) return;
    this.log[level](ok.suppressed > 0 ? { ...fields, suppressed: ok.suppressed } : fields, msg);
  }

  connected(up: boolean): void {
    this.metrics.setSyncConnected(up);
  }

  backlog(records: number): void {
    this.metrics.setSyncBacklog(records);
  }

  message(direction: 'rx' | 'tx', kind: Ha2Body['kind']): void {
    this.metrics.syncMessage(direction, kind);
    this.metrics.message('ha2', direction, kind);
  }

  carried(direction: 'rx' | 'tx', records: number): void {
    this.metrics.syncRecordsCarried(direction, records);
  }

  discarded(reason: SyncDiscardReason, records: number): void {
    if (records > 0) this.metrics.syncRecordsDiscarded(reason, records);
  }

  /** Our dataplane said (REC_LOST) that `count` changes did not fit `out`. */
  lostOut(count: number): void {
    this.outLost += count;
    this.discarded('out-overflow', count);
    this.warn('out-overflow', { lost: count }, 'HA2: changes did not fit the ring out of the dataplane: the peer is resynced');
  }

  /** The sender core dropped its backlog past backlogMax (a resync follows). */
  backlogDropped(dropped: number, backlogMax: number): void {
    this.discarded('backlog', dropped);
    this.warn('backlog', { dropped, backlogMax }, 'HA2 backlog over its bound: dropped, full resync');
  }

  /** Batches before the one received are missing (the bulk machine clears and asks again). */
  gap(gap: { expected: number; got: number }): void {
    this.warn('gap', gap, 'HA2 batch seq gap: asking for a full dump');
  }

  /** Received records dropped: our dataplane let `in` stay full (the bulk machine clears and asks again). */
  overflow(dropped: number): void {
    this.discarded('overflow', dropped);
    this.warn('overflow', { dropped }, 'HA2: the dataplane ring stayed full, received records dropped: full resync');
  }

  /** A received record the `in` ring refused as out of range: skipped alone. */
  invalid(bad: { op: number; error: string }): void {
    this.discarded('invalid', 1);
    this.warn('invalid', bad, 'HA2 record refused by the ring: skipped');
  }

  /** Clears queued for the passive we were, not pushed now that we are the sender. */
  staleClears(count: number): void {
    this.discarded('stale-clear', count);
    if (count > 0) this.warn('stale-clear', { count }, 'HA2: clears queued before we became the sender, not applied');
  }

  /** A resync started: a dump asked of the peer (rx) or of our own dataplane (tx). */
  resync(reason: SyncResyncReason, direction: 'rx' | 'tx'): void {
    this.resyncs[direction] += 1;
    this.metrics.syncResync(reason);
  }

  /** A message refused by the opener or the stream (bad MAC, replay, framing, foreign peer...). */
  reject(reason: string): void {
    this.rejected += 1;
    this.metrics.rejected('ha2', reason);
    this.warn(`reject-${reason}`, { reason }, 'HA2 message rejected');
  }

  stall(): void {
    this.metrics.syncRingStall();
  }

  synced(records: number): void {
    this.metrics.setSessionsSynced(records);
  }

  /** An ack came back: its round trip (from the echoed send time) and each acked batch's lag. */
  acked(rttMs: number | null, lagsMs: readonly number[], now: number): void {
    if (rttMs !== null && rttMs >= 0 && rttMs < 600_000) this.rttMs = round3(rttMs);
    for (const ms of lagsMs) {
      this.lag.observe(ms, now);
      this.metrics.syncLag(ms / 1000);
    }
  }

  /** `directions`: show each direction on its own too (active/active). */
  status(p: SyncParts, now: number, directions = false): SyncStatus {
    const lag = this.lag.summary(now);
    const c = p.reliable.counters;
    const rx = p.bulk.rx;
    const lastCompleteAt = rx.lastComplete === null ? null : new Date(rx.lastComplete.wallMs).toISOString();
    const lastSessions = rx.lastComplete?.sessions ?? null;
    const status: SyncStatus = {
      connected: p.bulk.connected,
      role: p.bulk.role,
      backlog: p.reliable.backlog,
      lagMs: { p50: round3(lag.p50), p99: round3(lag.p99), max: round3(lag.max) },
      batchesSent: c.batchesSent,
      batchesReceived: p.inbound.counters.batches,
      recordsSent: c.recordsSent,
      recordsReceived: p.inbound.counters.records,
      resyncs: this.resyncs.rx + this.resyncs.tx,
      bulk: { inProgress: rx.phase === 'receiving', received: rx.received, lastCompleteAt, pending: rxPending(p.bulk), lastSessions },
      rttMs: this.rttMs,
      rejected: this.rejected,
      inStalls: p.inbound.counters.stalls,
      pendingIn: p.inbound.pending,
      dumpQueued: txQueued(p.bulk),
      outLost: this.outLost,
    };
    if (!directions) return status;
    const tx = {
      records: c.recordsSent,
      batches: c.batchesSent,
      backlog: p.reliable.backlog,
      dump: p.bulk.tx.phase,
      dumpReason: p.bulk.tx.reason,
      resyncs: this.resyncs.tx,
    };
    const { records, batches } = p.inbound.counters;
    const rxView = {
      records,
      batches,
      pending: p.inbound.pending,
      bulk: rx.phase,
      bulkReason: rx.reason,
      lastCompleteAt,
      lastSessions,
      resyncs: this.resyncs.rx,
    };
    return { ...status, directions: { tx, rx: rxView } };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
