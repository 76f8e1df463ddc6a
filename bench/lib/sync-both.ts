// bench/sync's phase `both`: HA2 lag in active/active, both boxes creating sessions at once and
// each replicating its own to the other over the one connection (sync role 'both' on both
// workers; docs/sync.md "Both ways").
//
// The boxes are deploy/lab/active-active's fwa (device 0) and fwb (device 1), with
// sessionSetup first-packet and deferMs 0: this rig has no HA3, so each box sets up and owns the
// sessions whose first packet it receives, and none waits for the peer's INSERT ACK (HA2 is the
// only thing measured). Box A's sessions come from 10.1.x.y, box B's from 10.2.x.y, every one to
// 10.0.2.10:80 (web-out). Per direction: the sender's lag (its worker's tandem_sync_lag_seconds
// observations after warm-up: the peer's ack - the batch's oldest eventMs) and the apply delay
// (created on one box -> applied to the other's table, one process, one clock).
import { randomBytes } from 'node:crypto';
import type { TandemConfig } from '../../src/config/types.js';
import { REC_UPSERT } from '../../src/wire/session-record.js';
import type { HaEncryption } from '../../src/wire/crypto.js';
import { FRAME_LEN, makeBox, SERVER, writeSyn, type Box } from './sync-box.js';
import {
  Channel,
  clock,
  counterDiff,
  fmt,
  freePort,
  ms2,
  quantiles,
  RECEIVER_ADDR,
  rows,
  sideNotes,
  sleep,
  SYNC_RING_RECORDS,
  TICK_MS,
  waitFor,
  WARMUP_MS,
  type WorkerReport,
} from './sync-rig.js';

/** Box k's session i: 10.(1 + k).0.0 + (i >> 14) : 1024 + (i & 16383). */
const srcOf = (k: 0 | 1, i: number) => (0x0a010000 + k * 0x10000 + (i >>> 14)) >>> 0;
const sportOf = (i: number) => 1024 + (i & 16383);
const boxOfSrc = (src: number): 0 | 1 => (((src >>> 16) & 0xff) === 2 ? 1 : 0);
const indexOf = (src: number, sport: number) => ((src & 0xffff) << 14) | (sport - 1024);

/** One direction's measures: when each of the sender's sessions was created, when applied at the peer. */
class Direction {
  readonly createdAt: Float64Array;
  readonly applyDelay: Float64Array;
  n = 0;
  applied = 0;
  constructor(total: number) {
    this.createdAt = new Float64Array(total);
    this.applyDelay = new Float64Array(total);
  }
}

interface BothPair {
  boxes: [Box, Box];
  workers: [Channel, Channel];
  stop(): Promise<void>;
}

async function makeBothPair(configs: [TandemConfig, TandemConfig], maxSessions: number, rt: boolean, encryption: HaEncryption): Promise<BothPair> {
  const boxes = configs.map((c, me) => {
    const aa = { ...c.shared.ha.activeActive, sessionSetup: 'first-packet' as const, deferMs: 0 };
    const shared = { ...c.shared, ha: { ...c.shared.ha, activeActive: aa }, sessions: { ...c.shared.sessions, max: maxSessions } };
    return makeBox(c, shared, { me: me as 0 | 1 });
  }) as [Box, Box];
  const timer = setInterval(() => {
    const now = clock();
    for (const b of boxes) b.tick(now);
  }, TICK_MS);
  const base = { port: await freePort(RECEIVER_ADDR), key: randomBytes(32), capacity: SYNC_RING_RECORDS, rt, encryption, role: 'both' as const };
  const w1 = new Channel({ ...base, deviceId: 1, out: boxes[1].out.buffer, in: boxes[1].in.buffer });
  await w1.ready;
  const w0 = new Channel({ ...base, deviceId: 0, out: boxes[0].out.buffer, in: boxes[0].in.buffer });
  await w0.ready;
  // as 'both', neither asks the other for a dump on connect: connected on both ends is the start
  const connected = async () => (await Promise.all([w0.report(), w1.report()])).every((r) => r.status.connected);
  const end = Date.now() + 10_000;
  while (!(await connected())) {
    if (Date.now() > end) throw new Error('timed out after 10000 ms waiting for the HA2 connection');
    await sleep(20);
  }
  return {
    boxes,
    workers: [w0, w1],
    async stop() {
      for (const w of [w0, w1]) w.post({ type: 'quiet' });
      await Promise.all([w0.stop(), w1.stop()]);
      clearInterval(timer);
    },
  };
}

/** Both boxes create `rate` sessions/s each, on a 1 ms generator timer, until `total` each. */
function generate(pair: BothPair, dirs: [Direction, Direction], rate: number, total: number, onWarm: (index: number, at: number) => void): Promise<number> {
  const frame = new Uint8Array(FRAME_LEN);
  const t0 = clock();
  let i = 0;
  let warm = false;
  return new Promise((resolve) => {
    const gen = setInterval(() => {
      const now = clock();
      if (!warm && now - t0 >= WARMUP_MS) {
        warm = true;
        onWarm(i, now);
      }
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
      for (; i < due; i++) {
        for (const k of [0, 1] as const) {
          writeSyn(frame, pair.boxes[k].lanV, srcOf(k, i), sportOf(i), SERVER, 80);
          const t = clock();
          dirs[k].createdAt[i] = t;
          pair.boxes[k].p.handle(0, frame, FRAME_LEN, t);
        }
      }
      if (i >= total) {
        clearInterval(gen);
        resolve(clock());
      }
    }, 1);
  });
}

/** Box `to` records the apply delay of every session of box `k` (from index `warmFrom()` on). */
function watchApplies(to: Box, k: 0 | 1, from: Direction, warmFrom: () => number): void {
  const batch: number[] = [];
  to.in.onDrained = (r) => {
    if (r.op !== REC_UPSERT || boxOfSrc(r.origSrc) !== k) return;
    from.applied++;
    batch.push(indexOf(r.origSrc, r.origSrcPort));
  };
  to.in.afterDrain = () => {
    const now = clock();
    const w = warmFrom();
    for (const i of batch) if (w >= 0 && i >= w) from.applyDelay[from.n++] = now - from.createdAt[i];
    batch.length = 0;
  };
}

function report(name: string, rate: number, seconds: number, sender: WorkerReport, d: Direction): void {
  const lag = quantiles(sender.lagMs);
  const ad = quantiles(d.applyDelay, d.n);
  console.log(`  ${name}: sender lag (per batch, ${fmt(lag.n)} batches after warm-up): p50 ${ms2(lag.p50)} p99 ${ms2(lag.p99)} max ${ms2(lag.max)} ms`);
  console.log(`  ${name}: apply delay (per session, ${fmt(ad.n)}): p50 ${ms2(ad.p50)} p99 ${ms2(ad.p99)} max ${ms2(ad.max)} ms; applied ${fmt(d.applied)}`);
  const clean = sender.status.resyncs <= 1;
  rows.push({
    measure: `lag ${name}, both boxes creating ${fmt(rate)} sessions/s each, ${seconds} s (sender: ack - event, per batch)`,
    figure: `p50 ${ms2(lag.p50)} / p99 ${ms2(lag.p99)} / max ${ms2(lag.max)} ms${clean ? '' : ` (${sender.status.resyncs} resyncs)`}`,
    target: 'p99 <= 10 ms',
    verdict: clean && lag.p99 <= 10 ? 'met' : 'MISSED',
  });
  rows.push({
    measure: `apply delay ${name} at ${fmt(rate)}/s each`,
    figure: `p50 ${ms2(ad.p50)} / p99 ${ms2(ad.p99)} / max ${ms2(ad.max)} ms`,
    target: '-',
    verdict: '-',
  });
}

export async function phaseBoth(configs: [TandemConfig, TandemConfig], rate: number, seconds: number, rt: boolean, encryption: HaEncryption): Promise<void> {
  console.log(`\n== both: each box creates ${fmt(rate)} new sessions/s for ${seconds} s (after ${WARMUP_MS} ms of warm-up), sync role 'both' on both`);
  const total = Math.ceil((rate * (seconds * 1000 + WARMUP_MS)) / 1000);
  const pair = await makeBothPair(configs, 2 * total + 1024, rt, encryption);
  const dirs: [Direction, Direction] = [new Direction(total), new Direction(total)];
  let warmIndex = -1;
  let tMark = 0;
  watchApplies(pair.boxes[1], 0, dirs[0], () => warmIndex);
  watchApplies(pair.boxes[0], 1, dirs[1], () => warmIndex);
  const tEnd = await generate(pair, dirs, rate, total, (i, at) => {
    warmIndex = i;
    tMark = at;
    for (const w of pair.workers) w.post({ type: 'mark' });
  });
  await waitFor('every session applied both ways', () => dirs[0].applied >= total && dirs[1].applied >= total, 10_000).catch((e) =>
    console.log(`  ${(e as Error).message}`),
  );
  await sleep(50);
  const [r0, r1] = await Promise.all(pair.workers.map((w) => w.report()));
  const measured = total - Math.max(0, warmIndex);
  console.log(
    `  offered ${fmt((measured / (tEnd - tMark)) * 1000)} sessions/s per box measured; tables A ${fmt(pair.boxes[0].fw.table.size)}, B ${fmt(pair.boxes[1].fw.table.size)} (${fmt(2 * total)} expected)`,
  );
  report('A -> B', rate, seconds, r0, dirs[0]);
  report('B -> A', rate, seconds, r1, dirs[1]);
  console.log(sideNotes('A (device 0)', r0));
  console.log(sideNotes('B (device 1)', r1));
  console.log(`  A dataplane counters: ${counterDiff(pair.boxes[0].counters)}`);
  console.log(`  B dataplane counters: ${counterDiff(pair.boxes[1].counters)}`);
  await pair.stop();
}
