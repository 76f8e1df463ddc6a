// bench/sync: HA2 session replication figures through the real code paths, in the daemon's thread
// layout where it matters.
//
//   npm run build && node dist/bench/sync.js [--rate-sessions 500000] [--lag-rate 20000]
//       [--lag-seconds 10] [--bulk 100000,1000000] [--phases rate,lag,bulk,both] [--both-rate 10000] [--no-rt]
//   # or: npm run bench:sync
//
//   main thread (plays both dataplanes)           worker 0 (sender)        worker 1 (receiver)
//   Pipeline+Firewall A --SyncPort A-- out A ---> SyncChannel dev 0  ==TCP==> SyncChannel dev 1 --> in B --SyncPort B--> Firewall B
//                                      in A  <--- (dump requests)    <==ack== (127.0.0.1 -> 127.0.0.2)
//
// As in src/daemon/daemon.ts: each box's rings (1 << 18 records) are shared between its dataplane
// (here both on the main thread, ticked every 2 ms as src/dataplane/host.ts does: pipeline tick,
// expire(), SyncPort.tick()) and its control worker, which runs one SyncChannel with the daemon's
// defaults (1 ms pump, 2 ms flush, 1000 records per batch, 256 batches in flight, 200,000 backlog)
// and asks for SCHED_RR 10 like the control worker (src/daemon/control-worker.ts; --no-rt skips it).
// Device 0 dials from 127.0.0.1, device 1 listens on 127.0.0.2 (a free port each phase); the key is
// random. Each phase gets fresh boxes and a fresh channel pair (so status()'s 60 s lag window holds
// that phase only), waits for the connection and the receiver's initial (empty) bulk sync, then:
//
//   rate  --rate-sessions new TCP sessions created through the sender's Pipeline (a SYN frame per
//         session, web-out, 10.1.x.y:p -> 10.0.2.10:80, no NAT) as fast as its `out` ring takes them
//         (the dataplane's own overflow would drop records); rate = sessions / (first created ->
//         last applied to the receiver's table).
//   lag   --lag-rate new sessions/s for --lag-seconds after 1 s of warm-up. Sender lag = ack
//         arrival - the batch's oldest record's eventMs (the daemon's tandem_sync_lag_seconds,
//         one value per batch, sender's clock): exact from every observation after warm-up, and
//         status().lagMs (bucketed, warm-up included). Apply delay = end of the receiver's
//         SyncPort drain that applied a session - the moment the sender's Pipeline created it, per
//         session (one process, one clock).
//   bulk  for each --bulk size: the sender's table filled with that many sessions (SyncPort
//         detached while filling, so nothing streams), then the receiver worker is made 'idle' and
//         'receiver' again (SyncChannel.setRole: clear + BulkRequest, as on a role change); time
//         from that message to BULK_END applied on the receiver, whose table must then hold them
//         all. Milestones on the way say where the time goes.
//   both  active/active (not in the default phases): both boxes create --both-rate new sessions/s
//         each for --lag-seconds, both workers in the sync role 'both'; the lag and apply delay
//         of each direction (bench/lib/sync-both.ts).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { HaEncryption } from '../src/wire/crypto.js';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { cpus, totalmem, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import type { SharedConfig, TandemConfig } from '../src/config/types.js';
import { eventIndex } from '../src/wire/dataplane-counters.js';
import { monotonicMs } from '../src/clock.js';
import { Metrics } from '../src/metrics/registry.js';
import { SyncChannel } from '../src/sync/channel.js';
import { REC_BULK_BEGIN, REC_BULK_END, REC_DUMP_REQUEST, REC_UPSERT } from '../src/wire/session-record.js';
import { RecordRing } from '../src/wire/record-ring.js';
import {
  Channel,
  clock,
  counterDiff,
  cpuMeter,
  CONTROL_THREAD_RT_PRIORITY,
  fmt,
  freePort,
  GROUP_ID,
  ms2,
  quantiles,
  RECEIVER_ADDR,
  rows,
  SENDER_ADDR,
  sideNotes,
  sleep,
  SYNC_RING_RECORDS,
  TICK_MS,
  waitFor,
  WARMUP_MS,
  yieldLoop,
  type FromWorker,
  type ToWorker,
  type WorkerInit,
} from './lib/sync-rig.js';
import { phaseBoth } from './lib/sync-both.js';
import { FRAME_LEN, indexOf, makeBox, SERVER, sportOf, srcOf, writeSyn, type Box } from './lib/sync-box.js';
// ======================================================================================
// worker: one box's control thread, one SyncChannel
// ======================================================================================
const encryptionArg = ((): HaEncryption => {
  const i = process.argv.indexOf('--encryption');
  const v = i >= 0 ? process.argv[i + 1] : 'none';
  if (v === 'none' || v === 'aes-256-gcm') return v;
  throw new Error(`--encryption: expected none or aes-256-gcm (got ${v})`);
})();
class BenchMetrics extends Metrics {
  lag: number[] = [];
  discarded: Record<string, number> = {};
  resyncReasons: Record<string, number> = {};
  override syncLag(seconds: number): void {
    super.syncLag(seconds);
    this.lag.push(seconds * 1000);
  }
  override syncRecordsDiscarded(reason: string, n: number): void {
    super.syncRecordsDiscarded(reason, n);
    this.discarded[reason] = (this.discarded[reason] ?? 0) + n;
  }
  override syncResync(reason: string): void {
    super.syncResync(reason);
    this.resyncReasons[reason] = (this.resyncReasons[reason] ?? 0) + 1;
  }
}

function raisePriority(): string {
  try {
    const tid = basename(readlinkSync('/proc/thread-self'));
    execFileSync('chrt', ['--rr', '-p', String(CONTROL_THREAD_RT_PRIORITY), tid], { stdio: 'ignore', timeout: 2000 });
    return `SCHED_RR ${CONTROL_THREAD_RT_PRIORITY}`;
  } catch (err) {
    return `normal (chrt failed: ${(err as Error).message.split('\n')[0]})`;
  }
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  const rt = init.rt ? raisePriority() : 'normal (--no-rt)';
  const metrics = new BenchMetrics({ defaultMetrics: false });
  const log = pino({ level: 'warn', base: { bench: 'sync', device: init.deviceId } });
  const ch = new SyncChannel({
    deviceId: init.deviceId,
    groupId: GROUP_ID,
    key: Buffer.from(init.key),
    link: init.deviceId === 0 ? { local: SENDER_ADDR, peer: RECEIVER_ADDR, port: init.port } : { local: RECEIVER_ADDR, peer: SENDER_ADDR, port: init.port },
    out: new RecordRing(init.capacity, init.out),
    in: new RecordRing(init.capacity, init.in),
    metrics,
    log,
    onBulkComplete: (sessions) => port.postMessage({ type: 'bulk-complete', sessions, atMs: monotonicMs() } satisfies FromWorker),
    encryption: init.encryption,
  });
  ch.setRole(init.role);
  await ch.start();
  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'role':
        ch.setRole(msg.role);
        return;
      case 'mark':
        metrics.lag = [];
        return;
      case 'status':
        port.postMessage({
          type: 'status',
          id: msg.id,
          report: { status: ch.status(), lagMs: metrics.lag, discarded: metrics.discarded, resyncReasons: metrics.resyncReasons, rt },
        } satisfies FromWorker);
        return;
      case 'quiet':
        log.level = 'error'; // the end of a phase: the peer's going away is expected
        return;
      case 'stop':
        void ch.stop().then(() => {
          port.postMessage({ type: 'stopped' } satisfies FromWorker);
          port.close();
        });
        return;
      default: {
        const never: never = msg;
        return never;
      }
    }
  });
  port.postMessage({ type: 'ready', rt, tid: Number(basename(readlinkSync('/proc/thread-self'))) } satisfies FromWorker);
}

// ======================================================================================
// main thread: both dataplanes
// ======================================================================================

/** A sender box, a receiver box, both ticked; two channels connected, the initial bulk done. */
interface Pair {
  a: Box;
  b: Box;
  tx: Channel;
  rx: Channel;
  stop(): Promise<void>;
}

let rtReported = false;

async function makePair(config: TandemConfig, maxSessions: number, rt: boolean): Promise<Pair> {
  const shared: SharedConfig = { ...config.shared, sessions: { ...config.shared.sessions, max: maxSessions } };
  const a = makeBox(config, shared);
  const b = makeBox(config, shared);
  const timer = setInterval(() => {
    const now = clock();
    a.tick(now);
    b.tick(now);
  }, TICK_MS);
  const port = await freePort(RECEIVER_ADDR);
  const key = randomBytes(32);
  const base = { port, key, capacity: SYNC_RING_RECORDS, rt, encryption: encryptionArg };
  const rx = new Channel({ ...base, deviceId: 1, role: 'receiver', out: b.out.buffer, in: b.in.buffer });
  await rx.ready;
  const tx = new Channel({ ...base, deviceId: 0, role: 'sender', out: a.out.buffer, in: a.in.buffer });
  await tx.ready;
  // connect -> receiver clears, asks; the sender's (empty) dump completes
  await waitFor('the initial bulk sync', () => rx.bulkCompletes.length > 0, 10_000);
  await sleep(50);
  if (!rtReported) {
    rtReported = true;
    console.log(`  control threads: sender ${tx.rt}, receiver ${rx.rt}`);
  }
  return {
    a,
    b,
    tx,
    rx,
    async stop() {
      tx.post({ type: 'quiet' });
      rx.post({ type: 'quiet' });
      await Promise.all([tx.report(), rx.report()]);
      await Promise.all([tx.stop(), rx.stop()]);
      clearInterval(timer);
    },
  };
}

// ---- phases ----

async function phaseRate(config: TandemConfig, n: number, rt: boolean): Promise<void> {
  console.log(`\n== rate: ${fmt(n)} new sessions as fast as the sender's out ring takes them`);
  const pair = await makePair(config, n + 1024, rt);
  const { a, b } = pair;
  let applied = 0;
  let lastAppliedAt = 0;
  b.in.onDrained = (r) => {
    if (r.op === REC_UPSERT) applied++;
  };
  b.in.afterDrain = () => {
    lastAppliedAt = clock();
  };
  const frame = new Uint8Array(FRAME_LEN);
  const room = SYNC_RING_RECORDS - 4096;
  const created0 = a.counters[eventIndex('session-created')];
  const cpu = cpuMeter(pair);
  const t0 = clock();
  let i = 0;
  let fullWaits = 0;
  while (i < n) {
    const free = room - a.out.size;
    if (free <= 0) fullWaits++;
    const end = Math.min(n, i + Math.min(Math.max(0, free), 4096));
    for (; i < end; i++) {
      writeSyn(frame, a.lanV, srcOf(i), sportOf(i), SERVER, 80);
      a.p.handle(0, frame, FRAME_LEN, clock());
    }
    await yieldLoop(); // let the ticks run, as frames and ticks interleave in the daemon
  }
  const tCreated = clock();
  await waitFor(`${fmt(n)} sessions applied`, () => applied >= n || b.fw.table.size >= n, 120_000).catch((e) => console.log(`  ${(e as Error).message}`));
  const cpuUse = cpu();
  await sleep(20);
  const [tr, rr] = await Promise.all([pair.tx.report(), pair.rx.report()]);
  const created = a.counters[eventIndex('session-created')] - created0;
  const elapsed = lastAppliedAt - t0;
  const rate = (applied / elapsed) * 1000;
  console.log(
    `  created ${fmt(created)} in ${fmt(tCreated - t0)} ms (${fmt((created / (tCreated - t0)) * 1000)} /s offered, out ring full ${fullWaits} times)`,
  );
  console.log(`  applied on the receiver ${fmt(applied)} (table ${fmt(b.fw.table.size)}), last at +${fmt(elapsed)} ms: ${fmt(rate)} sessions/s end to end`);
  console.log(`  CPU meanwhile (% of one core; the machine has ${cpus().length}): ${cpuUse}`);
  console.log(sideNotes('sender', tr));
  console.log(sideNotes('receiver', rr));
  console.log(`  sender dataplane counters: ${counterDiff(a.counters)}`);
  console.log(`  receiver dataplane counters: ${counterDiff(b.counters)}`);
  const lost = applied < n || tr.status.resyncs > 1;
  rows.push({
    measure: `replication rate, ${fmt(n)} sessions at full speed`,
    figure:
      `${fmt(rate)} sessions/s` +
      (fullWaits === 0 ? ' (bounded by the offer: the out ring never filled)' : ` (out ring full ${fullWaits} times: HA2 is the bound)`) +
      (lost ? ` INCOMPLETE: ${fmt(applied)} applied, ${tr.status.resyncs} resyncs` : ''),
    target: '>= 20,000 /s sustained (implied)',
    verdict: !lost && rate >= 20_000 ? 'met' : 'MISSED',
  });
  await pair.stop();
}

async function phaseLag(config: TandemConfig, rate: number, seconds: number, rt: boolean): Promise<void> {
  console.log(`\n== lag: ${fmt(rate)} new sessions/s for ${seconds} s (after ${WARMUP_MS} ms of warm-up)`);
  const total = Math.ceil((rate * (seconds * 1000 + WARMUP_MS)) / 1000);
  const pair = await makePair(config, total + 1024, rt);
  const { a, b } = pair;
  const createdAt = new Float64Array(total);
  const applyDelay = new Float64Array(total);
  let nDelay = 0;
  let applied = 0;
  const batch: number[] = [];
  let warmIndex = -1; // sessions from this index on are measured
  b.in.onDrained = (r) => {
    if (r.op !== REC_UPSERT) return;
    applied++;
    batch.push(indexOf(r.origSrc, r.origSrcPort));
  };
  b.in.afterDrain = () => {
    const now = clock();
    for (const i of batch) if (warmIndex >= 0 && i >= warmIndex) applyDelay[nDelay++] = now - createdAt[i];
    batch.length = 0;
  };
  const frame = new Uint8Array(FRAME_LEN);
  let i = 0;
  const t0 = clock();
  let tMark = 0;
  let cpu = (): string => '';
  // frames arrive on their own schedule: a 1 ms generator timer, sessions due by the clock
  await new Promise<void>((resolve) => {
    const gen = setInterval(() => {
      const now = clock();
      if (warmIndex < 0 && now - t0 >= WARMUP_MS) {
        warmIndex = i;
        tMark = now;
        cpu = cpuMeter(pair);
        pair.tx.post({ type: 'mark' });
      }
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
      for (; i < due; i++) {
        writeSyn(frame, a.lanV, srcOf(i), sportOf(i), SERVER, 80);
        const t = clock();
        createdAt[i] = t;
        a.p.handle(0, frame, FRAME_LEN, t);
      }
      if (i >= total) {
        clearInterval(gen);
        resolve();
      }
    }, 1);
  });
  const tEnd = clock();
  const cpuUse = cpu();
  await waitFor('every session applied', () => applied >= total, 10_000).catch((e) => console.log(`  ${(e as Error).message}`));
  await sleep(50);
  const [tr, rr] = await Promise.all([pair.tx.report(), pair.rx.report()]);
  const measured = total - Math.max(0, warmIndex);
  console.log(
    `  offered ${fmt((measured / (tEnd - tMark)) * 1000)} sessions/s measured (${fmt(measured)} sessions in ${fmt(tEnd - tMark)} ms); applied ${fmt(applied)} of ${fmt(total)}, receiver table ${fmt(b.fw.table.size)}`,
  );
  const lag = quantiles(tr.lagMs);
  const st = tr.status.lagMs;
  const ad = quantiles(applyDelay, nDelay);
  console.log(
    `  sender lag (ack - oldest eventMs, per batch, ${fmt(lag.n)} batches after warm-up): p50 ${ms2(lag.p50)} p99 ${ms2(lag.p99)} max ${ms2(lag.max)} ms`,
  );
  console.log(`  SyncChannel.status().lagMs (bucketed, includes warm-up): p50 ${st.p50} p99 ${st.p99} max ${st.max} ms; rtt ${tr.status.rttMs} ms`);
  console.log(
    `  receiver apply delay (created on A -> applied to B's table, per session, ${fmt(ad.n)}): p50 ${ms2(ad.p50)} p99 ${ms2(ad.p99)} max ${ms2(ad.max)} ms`,
  );
  console.log(`  CPU meanwhile (% of one core): ${cpuUse}`);
  console.log(sideNotes('sender', tr));
  console.log(sideNotes('receiver', rr));
  console.log(`  sender dataplane counters: ${counterDiff(a.counters)}`);
  console.log(`  receiver dataplane counters: ${counterDiff(b.counters)}`);
  const clean = applied >= total && tr.status.resyncs <= 1;
  rows.push({
    measure: `lag at ${fmt(rate)} new sessions/s, ${seconds} s (sender: ack - event, per batch)`,
    figure: `p50 ${ms2(lag.p50)} / p99 ${ms2(lag.p99)} / max ${ms2(lag.max)} ms (status(): ${st.p50} / ${st.p99} / ${st.max})`,
    target: 'p99 <= 10 ms',
    verdict: clean && lag.p99 <= 10 ? 'met' : 'MISSED',
  });
  rows.push({
    measure: `apply delay at ${fmt(rate)}/s (created on A -> in B's table)`,
    figure: `p50 ${ms2(ad.p50)} / p99 ${ms2(ad.p99)} / max ${ms2(ad.max)} ms`,
    target: '-',
    verdict: '-',
  });
  await pair.stop();
}

async function phaseBulk(config: TandemConfig, n: number, rt: boolean): Promise<void> {
  console.log(`\n== bulk: ${fmt(n)} sessions`);
  const pair = await makePair(config, n + 1024, rt);
  const { a, b } = pair;
  // fill the sender's table without streaming it (SyncPort detached), then reattach
  const frame = new Uint8Array(FRAME_LEN);
  const listener = a.fw.listener;
  a.fw.listener = null;
  const tf0 = clock();
  for (let i = 0; i < n; i++) {
    writeSyn(frame, a.lanV, srcOf(i), sportOf(i), SERVER, 80);
    a.p.handle(0, frame, FRAME_LEN, clock());
    if ((i & 65535) === 65535) await yieldLoop();
  }
  a.fw.listener = listener;
  console.log(`  sender table filled: ${fmt(a.fw.table.size)} sessions in ${fmt(clock() - tf0)} ms (not streamed)`);
  await sleep(100);

  const m: Record<string, number> = {};
  let upserts = 0;
  const mark = (k: string) => {
    if (m[k] === undefined) m[k] = clock();
  };
  a.in.onDrained = (r) => {
    if (r.op === REC_DUMP_REQUEST) mark('dumpRequestSeen');
  };
  a.out.onPushed = (r) => {
    if (r.op === REC_BULK_BEGIN) mark('beginPushed');
    else if (r.op === REC_BULK_END) mark('endPushed');
  };
  b.in.onDrained = (r) => {
    if (r.op === REC_BULK_BEGIN) mark('beginApplied');
    else if (r.op === REC_UPSERT) {
      upserts++;
      if (upserts === 1) mark('firstApplied');
    } else if (r.op === REC_BULK_END) mark('endApplied');
  };
  const completes0 = pair.rx.bulkCompletes.length;
  const cpu = cpuMeter(pair);
  const t0 = clock();
  pair.rx.post({ type: 'role', role: 'idle' });
  pair.rx.post({ type: 'role', role: 'receiver' });
  await waitFor('BULK_END applied', () => m.endApplied !== undefined, 120_000).catch((e) => console.log(`  ${(e as Error).message}`));
  const t1 = clock();
  const cpuUse = cpu();
  const [tr, rr] = await Promise.all([pair.tx.report(), pair.rx.report()]);
  const held = b.fw.table.size;
  const rel = (k: string) => (m[k] === undefined ? '-' : `+${ms2(m[k] - t0)} ms`);
  const rxComplete = pair.rx.bulkCompletes[completes0];
  console.log(
    `  milestones: dump request at the sender's dataplane ${rel('dumpRequestSeen')}, BULK_BEGIN out (table snapshot taken) ${rel('beginPushed')}, ` +
      `BULK_BEGIN applied on the receiver ${rel('beginApplied')}, first session applied ${rel('firstApplied')}, BULK_END out (dump walked) ${rel('endPushed')}, ` +
      `BULK_END in the receiver worker (onBulkComplete) ${rxComplete ? `+${ms2(rxComplete.atMs - t0)} ms` : '-'}, ` +
      `BULK_END applied ${rel('endApplied')}`,
  );
  const total = t1 - t0;
  console.log(
    `  receiver table ${fmt(held)} of ${fmt(n)}; ${fmt(upserts)} upserts applied; ${(total / 1000).toFixed(3)} s, ${fmt((n / total) * 1000)} sessions/s`,
  );
  console.log(`  CPU meanwhile (% of one core): ${cpuUse}`);
  console.log(sideNotes('sender', tr));
  console.log(sideNotes('receiver', rr));
  console.log(`  receiver dataplane counters: ${counterDiff(b.counters)}`);
  const ok = m.endApplied !== undefined && held === n;
  const target = n >= 1_000_000 ? '<= 5 s' : '-';
  rows.push({
    measure: `bulk resync, ${fmt(n)} sessions (request -> BULK_END applied, all in the table)`,
    figure: ok
      ? `${(total / 1000).toFixed(3)} s (${fmt((n / total) * 1000)} /s)`
      : `INCOMPLETE: ${fmt(held)} of ${fmt(n)} after ${(total / 1000).toFixed(1)} s`,
    target,
    verdict: !ok ? 'MISSED' : n >= 1_000_000 ? (total <= 5000 ? 'met' : 'MISSED') : '-',
  });
  await pair.stop();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const argOf = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const rateSessions = Number(argOf('rate-sessions') ?? '500000');
  const lagRate = Number(argOf('lag-rate') ?? '20000');
  const lagSeconds = Number(argOf('lag-seconds') ?? '10');
  const bulk = (argOf('bulk') ?? '100000,1000000').split(',').map(Number);
  const phases = new Set((argOf('phases') ?? 'rate,lag,bulk').split(','));
  const bothRate = Number(argOf('both-rate') ?? '10000');
  const rt = !argv.includes('--no-rt');
  const bad =
    !(rateSessions >= 1000 && rateSessions <= 4_000_000) ||
    !(lagRate >= 100 && lagRate <= 1_000_000) ||
    !(bothRate >= 100 && bothRate <= 1_000_000) ||
    !(lagSeconds > 0 && lagSeconds <= 600) ||
    bulk.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 4_000_000)) ||
    [...phases].some((p) => !['rate', 'lag', 'bulk', 'both'].includes(p));
  if (bad) {
    console.error(
      'usage: sync.js [--rate-sessions 1000-4000000] [--lag-rate 100-1000000] [--lag-seconds 1-600] [--bulk N,N] [--phases rate,lag,bulk,both] [--both-rate 100-1000000] [--no-rt]',
    );
    process.exit(2);
  }
  const config = loadConfig(fileURLToPath(new URL('../../deploy/lab/fwa.yaml', import.meta.url)));
  console.log(
    `bench/sync: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `  rings ${fmt(SYNC_RING_RECORDS)} records, dataplane tick ${TICK_MS} ms, HA2 ${SENDER_ADDR} -> ${RECEIVER_ADDR}, channel defaults, encryption ${encryptionArg}; control threads ${rt ? 'ask for SCHED_RR' : 'at normal priority'}`,
  );
  if (phases.has('rate')) await phaseRate(config, rateSessions, rt);
  if (phases.has('lag')) await phaseLag(config, lagRate, lagSeconds, rt);
  if (phases.has('bulk')) for (const n of bulk) await phaseBulk(config, n, rt);
  if (phases.has('both')) {
    const aa = (box: string) => loadConfig(fileURLToPath(new URL(`../../deploy/lab/active-active/${box}.yaml`, import.meta.url)));
    await phaseBoth([aa('fwa'), aa('fwb')], bothRate, lagSeconds, rt, encryptionArg);
  }

  console.log('\n| measure | figure | target | verdict |\n| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.measure} | ${r.figure} | ${r.target} | ${r.verdict} |`);
}

if (isMainThread) {
  await main();
  process.exit(0);
} else {
  await workerMain();
}
