// bench/sync's rig: what its phases share. The protocol between the bench's main thread and each
// box's control worker (one SyncChannel each; the worker's code is workerMain in bench/sync.ts,
// the script every worker runs), the Channel handle on a worker, the summary rows, and helpers.
import { Worker } from 'node:worker_threads';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeFastMonotonicMs } from '../../src/clock.js';
import type { HaEncryption } from '../../src/wire/crypto.js';
import { DROP_REASONS, EVENT_COUNTERS } from '../../src/wire/dataplane-counters.js';
import type { SyncRole, SyncStatus } from '../../src/sync/channel.js';

/** The script each worker runs (bench/sync.ts, built next to this directory). */
const WORKER_SCRIPT = fileURLToPath(new URL('../sync.js', import.meta.url));

/** As src/daemon/daemon.ts SYNC_RING_RECORDS. */
export const SYNC_RING_RECORDS = 1 << 18;
/** As src/dataplane/host.ts TICK_MS: the dataplane's timer tick, which also applies and dumps. */
export const TICK_MS = 2;
/** As src/daemon/control-worker.ts CONTROL_THREAD_RT_PRIORITY. */
export const CONTROL_THREAD_RT_PRIORITY = 10;
export const GROUP_ID = 7;
export const SENDER_ADDR = '127.0.0.1';
export const RECEIVER_ADDR = '127.0.0.2';
export const WARMUP_MS = 1000;

export interface WorkerInit {
  deviceId: 0 | 1;
  role: SyncRole;
  port: number;
  key: Uint8Array;
  out: SharedArrayBuffer;
  in: SharedArrayBuffer;
  capacity: number;
  rt: boolean;
  /** shared.ha.encryption of both channels (--encryption, default none). */
  encryption: HaEncryption;
}
export type ToWorker = { type: 'role'; role: SyncRole } | { type: 'status'; id: number } | { type: 'mark' } | { type: 'quiet' } | { type: 'stop' };
export interface WorkerReport {
  status: SyncStatus;
  /** tandem_sync_lag_seconds observations (ms) since the last 'mark'. */
  lagMs: number[];
  discarded: Record<string, number>;
  resyncReasons: Record<string, number>;
  rt: string;
}
export type FromWorker =
  | { type: 'ready'; rt: string; tid: number }
  | { type: 'status'; id: number; report: WorkerReport }
  | { type: 'bulk-complete'; sessions: number; atMs: number }
  | { type: 'stopped' };

/** The daemon's Metrics, with the sync observations also kept for the bench. */

export const clock = makeFastMonotonicMs();
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
export const ms2 = (n: number) => n.toFixed(2);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

/** CPU time (ms, user + system) of one thread of this process, from /proc. */
export function threadCpuMs(tid: number): number {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
export const CLK_TCK = 100;

/** CPU of the three busy threads over an interval, as % of one core. */
export function cpuMeter(pair: { tx: { tid: number }; rx: { tid: number } }): () => string {
  const tids = { dataplanes: process.pid, 'sender worker': pair.tx.tid, 'receiver worker': pair.rx.tid };
  const before = Object.fromEntries(Object.entries(tids).map(([k, t]) => [k, threadCpuMs(t)]));
  const t0 = clock();
  return () => {
    const dt = clock() - t0;
    return Object.entries(tids)
      .map(([k, t]) => `${k} ${Math.round(((threadCpuMs(t) - before[k]) / dt) * 100)} %`)
      .join(', ');
  };
}

/** Observations (ms) -> nearest-rank quantiles. */
export function quantiles(v: ArrayLike<number>, n = v.length): { p50: number; p99: number; max: number; n: number } {
  if (n === 0) return { p50: NaN, p99: NaN, max: NaN, n: 0 };
  const s = Float64Array.from({ length: n }, (_, i) => v[i]).sort();
  const q = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  return { p50: q(0.5), p99: q(0.99), max: s[n - 1], n };
}

export function counterDiff(c: Float64Array): string {
  const names = [...EVENT_COUNTERS, ...DROP_REASONS];
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) if (c[i] !== 0) out.push(`${names[i]} ${fmt(c[i])}`);
  return out.join(', ');
}

export class Channel {
  private readonly w: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: WorkerReport) => void>();
  bulkCompletes: { sessions: number; atMs: number }[] = [];
  rt = '';
  tid = 0;
  readonly ready: Promise<void>;

  constructor(init: WorkerInit) {
    this.w = new Worker(WORKER_SCRIPT, { workerData: init });
    this.w.on('error', (err) => {
      console.error(`worker ${init.deviceId} failed:`, err);
      process.exit(1);
    });
    this.ready = new Promise((resolve) => {
      this.w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          this.rt = m.rt;
          this.tid = m.tid;
          resolve();
        } else if (m.type === 'status') {
          this.waiting.get(m.id)?.(m.report);
          this.waiting.delete(m.id);
        } else if (m.type === 'bulk-complete') {
          this.bulkCompletes.push({ sessions: m.sessions, atMs: m.atMs });
        }
      });
    });
  }

  post(m: ToWorker): void {
    this.w.postMessage(m);
  }

  report(): Promise<WorkerReport> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.post({ type: 'status', id });
    });
  }

  async stop(): Promise<void> {
    const done = new Promise<void>((resolve) => this.w.on('exit', () => resolve()));
    this.post({ type: 'stop' });
    await Promise.race([done, sleep(3000).then(() => this.w.terminate())]);
  }
}

export function sideNotes(name: string, r: WorkerReport): string {
  const s = r.status;
  const bits = [
    `${name}: connected ${s.connected}, batches sent/received ${fmt(s.batchesSent)}/${fmt(s.batchesReceived)}, records sent/received ${fmt(s.recordsSent)}/${fmt(s.recordsReceived)}`,
    `resyncs ${s.resyncs} ${JSON.stringify(r.resyncReasons)}`,
    `discarded ${JSON.stringify(r.discarded)}`,
    `rtt ${s.rttMs ?? '-'} ms, in-ring stalls ${s.inStalls}, rejected ${s.rejected}, backlog ${s.backlog}`,
  ];
  return '  ' + bits.join('; ');
}

// ---- phases ----

export interface Row {
  measure: string;
  figure: string;
  target: string;
  verdict: string;
}
export const rows: Row[] = [];
