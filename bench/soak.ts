// bench/soak: one lab under steady load for a long time, watching both daemons' memory and the
// sizes of their bounded structures. The load: long TCP streams (src/lab/stream.js), TCP connection
// churn (soak/churn.ts: short connections opening and closing all the time), a UDP probe, pings,
// fragments (a 4000-byte ping every 500 ms, reassembled and fragmented again by the pair, and every
// 10 s a hostile burst: 100 never-completed datagrams from spoofed sources and overlapping pieces),
// API calls every 2 s on both boxes, a shared-config commit every minute and a planned failover
// every few minutes. Every --sample-s it records per box: RSS, the dataplane thread's heap and
// external memory (its status), the control thread's (its metrics), open file descriptors, sessions, NAT ports,
// HA2 backlog, ARP entries and pending next hops, transitions kept. At the end it prints the table
// and, per box, the growth of RSS, both heaps and both externals from the warm-up plateau to the end (a linear fit
// per hour, soak/analysis.ts), and exits 1 on clear growth or a daemon gone.
//
//   npm run bench:soak -- [--minutes 30] [--sample-s 15] [--churn-rate 20] [--conns 20]
//       [--failover-every-min 5] [--commit-every-s 60] [--name LAB] [--out DIR (the daemons' logs)]
//
// --minutes 2 is the short mode (one planned failover in the middle).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Lab, labDown, labUp, isOurProcess, repoRoot, runDirOf, type LabBox } from '../src/lab/lab.js';
import { nsExec } from '../src/lab/exec.js';
import { hostileBurst } from './lib/hostile-fragments.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from '../src/lab/traffic.js';
import { HEAP_LIMITS, RSS_LIMITS, formatTable, growth, mib, type Growth, type Point } from './soak/analysis.js';
import type { ChurnTotals } from './soak/churn.js';

const SERVER = '10.0.2.10';
const PROBE_PORT = 5001;
const STREAM_PORT = 5002;
const CHURN_PORT = 5003;
const BOXES: readonly LabBox[] = ['fwa', 'fwb'];
const API_POLL_MS = 2000;
const HEALTHY_TIMEOUT_MS = 30_000;
const FRAG_BURST_EVERY_MS = 10_000;
const SEND_FRAMES = join(repoRoot(), 'test', 'integration', 'fixtures', 'send-frames.mjs');

// ---- arguments ----
const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i];
  if (!key.startsWith('--') || process.argv[i + 1] === undefined) usage(`expected --option value pairs, got ${JSON.stringify(key)}`);
  argv.set(key.slice(2), process.argv[i + 1]);
}
const KNOWN = ['minutes', 'sample-s', 'churn-rate', 'conns', 'failover-every-min', 'commit-every-s', 'name', 'out'];
for (const k of argv.keys()) if (!KNOWN.includes(k)) usage(`unknown option --${k} (known: ${KNOWN.map((x) => `--${x}`).join(' ')})`);

function usage(why: string): never {
  process.stderr.write(`bench:soak: ${why}\n`);
  process.exit(2);
}

function num(key: string, fallback: number, min: number, max: number): number {
  const text = argv.get(key);
  const v = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(v) || v < min || v > max) usage(`--${key}: got ${JSON.stringify(text)}, expected a number from ${min} to ${max}`);
  return v;
}

const minutes = num('minutes', 30, 1, 24 * 60);
const durationS = minutes * 60;
const sampleS = num('sample-s', minutes <= 5 ? 10 : 15, 2, 600);
const churnRate = num('churn-rate', 20, 1, 500);
const conns = num('conns', 20, 1, 1000);
// the short mode still fails over once, in the middle
const failoverEveryS = num('failover-every-min', minutes <= 5 ? minutes / 2 : 5, 0.25, 24 * 60) * 60;
const commitEveryS = num('commit-every-s', minutes <= 5 ? 30 : 60, 5, 3600);
const labName = argv.get('name') ?? `sk${randomBytes(3).toString('hex')}`;
const outDir = argv.get('out') ?? join(tmpdir(), `tandem-soak-${labName}`);

const say = (line: string): void => void process.stderr.write(`[soak +${Math.round((Date.now() - t0) / 1000)}s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- what one sample holds ----
interface BoxSample {
  alive: boolean;
  rss: number | null;
  dpHeap: number | null;
  ctlHeap: number | null;
  /** Memory outside the JS heaps (Buffers, ArrayBuffers) per thread. */
  dpExt: number | null;
  ctlExt: number | null;
  fds: number | null;
  sessions: number | null;
  natPorts: number | null;
  syncBacklog: number | null;
  arp: number | null;
  arpPending: number | null;
  transitions: number | null;
  state: string;
}
interface Sample {
  tS: number;
  box: Record<LabBox, BoxSample>;
}

function scrape(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('metrics timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Sum of every series of a metric family (all label sets). */
function metricSum(text: string, name: string): number | null {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : null;
}

function procRss(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function procFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

async function sampleBox(lab: Lab, box: LabBox): Promise<BoxSample> {
  const pid = lab.pid(box);
  const s: BoxSample = {
    alive: pid !== null,
    rss: null,
    dpHeap: null,
    ctlHeap: null,
    dpExt: null,
    ctlExt: null,
    fds: null,
    sessions: null,
    natPorts: null,
    syncBacklog: null,
    arp: null,
    arpPending: null,
    transitions: null,
    state: '?',
  };
  if (pid === null) return s;
  s.rss = procRss(pid);
  s.fds = procFds(pid);
  try {
    const text = await scrape(join(lab.runDir, `${box}-metrics.sock`));
    s.ctlHeap = metricSum(text, 'tandem_nodejs_heap_size_used_bytes');
    s.ctlExt = metricSum(text, 'tandem_nodejs_external_memory_bytes');
    s.sessions = metricSum(text, 'tandem_sessions_active');
    s.natPorts = metricSum(text, 'tandem_nat_ports_in_use');
    s.syncBacklog = metricSum(text, 'tandem_sync_backlog_records');
  } catch {
    // left unknown for this sample
  }
  try {
    const st = await lab.api(box, 3000).status();
    s.state = st.local.state;
    s.transitions = st.transitions.length;
    const dp = (st as { dataplane?: { heapUsedBytes?: number; externalBytes?: number; arp?: unknown[]; pending?: unknown[] } }).dataplane;
    if (dp && typeof dp.heapUsedBytes === 'number') s.dpHeap = dp.heapUsedBytes;
    if (dp && typeof dp.externalBytes === 'number') s.dpExt = dp.externalBytes;
    if (dp && Array.isArray(dp.arp)) s.arp = dp.arp.length;
    if (dp && Array.isArray(dp.pending)) s.arpPending = dp.pending.length;
  } catch {
    // left unknown
  }
  return s;
}

async function activeBox(lab: Lab): Promise<LabBox | null> {
  for (const box of BOXES) if ((await lab.boxState(box, 2000))?.state === 'active') return box;
  return null;
}

/** One active, one passive, the passive's HA2 connected: what a failover needs to be clean. */
async function waitHealthy(lab: Lab): Promise<LabBox> {
  let active: LabBox | null = null;
  await lab.waitFor(
    async () => {
      const [a, b] = await Promise.all(
        BOXES.map((x) =>
          lab
            .api(x, 2000)
            .status()
            .catch(() => null),
        ),
      );
      if (!a || !b) return false;
      const states = [a.local.state, b.local.state];
      if (!(states.includes('active') && states.includes('passive'))) return false;
      active = a.local.state === 'active' ? 'fwa' : 'fwb';
      const syncUp = [a, b].every((s) => (s.sync as { connected?: boolean } | null | undefined)?.connected !== false);
      return syncUp && a.peer.up && b.peer.up;
    },
    HEALTHY_TIMEOUT_MS,
    'a healthy pair',
  );
  return active!;
}

/** The churn program in the client namespace (soak/churn.ts). */
/** A ping from the client to the server with `args`; the returned stop hands its summary line to `done`. */
function startPing(lab: Lab, args: string[], done: (line: string) => void): () => Promise<void> {
  const ping = spawn('ip', ['netns', 'exec', lab.ns('client'), 'ping', '-q', ...args, SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  ping.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-2000)));
  const closed = new Promise<void>((r) => ping.once('close', () => r()));
  return async () => {
    if (ping.exitCode === null) ping.kill('SIGINT');
    await Promise.race([closed, sleep(3000)]);
    done(out.split('\n').find((l) => l.includes('packet loss')) ?? '');
  };
}

/** One hostile burst from the client: never-completed datagrams from spoofed sources, overlapping pieces. */
async function hostileFragments(lab: Lab, id0: number): Promise<void> {
  const srcMac = (await nsExec(lab.ns('client'), 'cat', ['/sys/class/net/eth0/address'])).stdout.trim();
  const neigh = (await nsExec(lab.ns('client'), 'ip', ['neigh', 'show', '10.0.1.1'])).stdout;
  const dstMac = /lladdr (\S+)/.exec(neigh)?.[1];
  if (dstMac === undefined) throw new Error('the client has no neighbour entry for its gateway');
  const frames = hostileBurst({ srcMac, dstMac, subnet: '10.0.1', dst: SERVER, dport: PROBE_PORT, never: 100, overlaps: 2, id0 });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', lab.ns('client'), process.execPath, SEND_FRAMES, lab.repo, 'eth0', '0'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`send-frames exited ${code}`))));
    child.stdin.end(JSON.stringify(frames));
  });
}

function startChurn(lab: Lab): { child: ChildProcess; last: () => ChurnTotals | null; stop: () => Promise<ChurnTotals | null> } {
  const prog = join(lab.repo, 'dist', 'bench', 'soak', 'churn.js');
  const child = spawn(
    'ip',
    ['netns', 'exec', lab.ns('client'), process.execPath, prog, '--to', `${SERVER}:${CHURN_PORT}`, '--rate', String(churnRate), '--lab', lab.runDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let last: ChurnTotals | null = null;
  let final: ChurnTotals | null = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const o = JSON.parse(line) as { live?: ChurnTotals; ready?: boolean } & Partial<ChurnTotals>;
      if (o.live) last = o.live;
      else if (typeof o.opened === 'number') final = o as ChurnTotals;
    } catch {
      // not JSON
    }
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  return {
    child,
    last: () => last,
    stop: async () => {
      if (child.pid !== undefined && child.exitCode === null && isOurProcess(child.pid, lab.runDir)) child.kill('SIGTERM');
      await Promise.race([closed, sleep(5000)]);
      return final ?? last;
    },
  };
}

// ---- the run ----
const t0 = Date.now();
const stops: (() => Promise<unknown>)[] = [];
let stopping = false;
const onSignal = (sig: string) => {
  if (stopping) return;
  stopping = true;
  say(`${sig}: stopping the traffic and taking the lab down`);
  void cleanup().then(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  // the daemons' logs outlive the lab (its run dir goes with it)
  try {
    mkdirSync(outDir, { recursive: true });
    for (const box of BOXES) copyFileSync(join(runDirOf(labName), `${box}.log`), join(outDir, `${box}.log`));
  } catch {
    // no lab came up
  }
  await labDown({ name: labName, out: process.stderr }).catch((err: unknown) => say(`lab down failed: ${String(err)}`));
}

const samples: Sample[] = [];
const events = {
  apiCalls: 0,
  apiFailed: 0,
  commits: 0,
  commitsFailed: 0,
  failovers: 0,
  failoversFailed: 0,
  failoverLog: [] as string[],
  commitErrors: [] as string[],
  fragBursts: 0,
  fragBurstsFailed: 0,
};
let exitCode = 0;
let streamSummary: unknown = null;
let probeSummary: { sent?: number } | null = null;
let receiverSummary: { received?: number; lost?: number; maxGapMs?: number } | null = null;
let churnTotals: ChurnTotals | null = null;
let pingLine = '';
let bigPingLine = '';
const transitionsSeen: string[] = [];
const healthSeen: string[] = [];

try {
  say(
    `lab ${labName}: ${minutes} min, sample every ${sampleS} s, churn ${churnRate} conn/s, ${conns} streams, failover every ${failoverEveryS / 60} min, commit every ${commitEveryS} s`,
  );
  await labUp({ name: labName, out: process.stderr });
  const lab = new Lab(labName);
  let active = await waitHealthy(lab);
  const repo = lab.repo;
  const marker = lab.runDir;

  const streamSrv = await startStreamServer(lab.ns('server'), { repo, marker, port: STREAM_PORT, pidFile: join(marker, 'soak-stream-server.pid') });
  stops.push(() => streamSrv.stop());
  const churnSrv = await startStreamServer(lab.ns('server'), { repo, marker, port: CHURN_PORT, pidFile: join(marker, 'soak-churn-server.pid') });
  stops.push(() => churnSrv.stop());
  const rx = await startProbeReceiver(lab.ns('server'), {
    repo,
    marker,
    port: PROBE_PORT,
    outFile: join(marker, 'soak-probe.json'),
    pidFile: join(marker, 'soak-probe-rx.pid'),
  });
  stops.push(async () => (receiverSummary = (await rx.stop()) as typeof receiverSummary));
  const tx: LabProcess<unknown> = await startProbeSender(lab.ns('client'), {
    repo,
    marker,
    to: `${SERVER}:${PROBE_PORT}`,
    intervalMs: 10,
    pidFile: join(marker, 'soak-probe-tx.pid'),
  });
  stops.push(async () => (probeSummary = (await tx.stop()) as typeof probeSummary));
  const streams = await startStreamClient(lab.ns('client'), {
    repo,
    marker,
    to: `${SERVER}:${STREAM_PORT}`,
    conns,
    intervalMs: 100,
    durationS: durationS + 600,
    spread: true,
    pidFile: join(marker, 'soak-streams.pid'),
  });
  stops.push(async () => (streamSummary = await streams.stop(20_000)));
  const churn = startChurn(lab);
  stops.push(async () => (churnTotals = await churn.stop()));
  stops.push(startPing(lab, ['-i', '0.2'], (line) => (pingLine = line)));
  stops.push(startPing(lab, ['-s', '4000', '-i', '0.5'], (line) => (bigPingLine = line)));
  say(`traffic running: ${streams.connected}/${conns} streams, churn, UDP probe every 10 ms, ping every 200 ms, fragmented ping every 500 ms`);

  // background API use: status, sessions and the config of both boxes every 2 s
  let running = true;
  const apiLoop = (async () => {
    while (running) {
      for (const box of BOXES) {
        for (const call of [() => lab.api(box, 3000).status(), () => lab.api(box, 3000).sessions({}, 20), () => lab.api(box, 3000).config()]) {
          events.apiCalls++;
          await call().catch(() => events.apiFailed++);
        }
      }
      await sleep(API_POLL_MS);
    }
  })();

  // hostile fragments every 10 s, at the gateway's (virtual) MAC as the client learnt it
  const fragLoop = (async () => {
    let id0 = 1;
    while (running) {
      await sleep(FRAG_BURST_EVERY_MS);
      if (!running) break;
      await hostileFragments(lab, id0).then(
        () => events.fragBursts++,
        () => events.fragBurstsFailed++,
      );
      id0 = (id0 + 200) % 60000;
    }
  })();

  const runStart = Date.now();
  const elapsedS = () => (Date.now() - runStart) / 1000;
  let nextSample = 0;
  let nextCommit = commitEveryS;
  let nextFailover = failoverEveryS;
  let commitToggle = false;
  while (!stopping) {
    const now = elapsedS();
    if (now >= nextSample) {
      const s: Sample = { tS: Math.round(now), box: { fwa: await sampleBox(lab, 'fwa'), fwb: await sampleBox(lab, 'fwb') } };
      samples.push(s);
      say(
        BOXES.map(
          (b) =>
            `${b} ${s.box[b].state} rss ${mib(s.box[b].rss)} dp ${mib(s.box[b].dpHeap)} ctl ${mib(s.box[b].ctlHeap)} MiB, ${s.box[b].sessions ?? '-'} sessions`,
        ).join(' | '),
      );
      if (BOXES.some((b) => !s.box[b].alive)) {
        say('a daemon is gone: stopping');
        exitCode = 1;
        break;
      }
      nextSample += sampleS;
    }
    if (now >= durationS) break;
    if (now >= nextCommit) {
      nextCommit += commitEveryS;
      // a harmless shared change (ICMP timeout 10 <-> 11 s), committed on the active with its own file
      try {
        const box = (await activeBox(lab)) ?? active;
        const doc = parseYaml(readFileSync(lab.configPath(box), 'utf8')) as { shared: { sessions: { icmpS: number } } };
        commitToggle = !commitToggle;
        doc.shared.sessions.icmpS = commitToggle ? 11 : 10;
        const r = await lab.api(box, 10_000).commitConfig(stringifyYaml(doc), 'soak');
        events.commits++;
        say(`commit on ${box}: v${r.version}${r.changed ? '' : ' (unchanged)'}, peer ${r.peer.synced ? 'in sync' : r.peer.message}`);
        if (!r.changed) events.commitErrors.push(`+${Math.round(now)}s: unchanged`);
      } catch (err) {
        events.commitsFailed++;
        events.commitErrors.push(`+${Math.round(now)}s: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (now >= nextFailover && now < durationS - 30) {
      nextFailover += failoverEveryS;
      try {
        const from = (await activeBox(lab)) ?? active;
        await lab.api(from, 5000).failover();
        const to = from === 'fwa' ? 'fwb' : 'fwa';
        await lab.waitFor(async () => (await lab.boxState(to, 1000))?.state === 'active', 10_000, `${to} active`);
        active = await waitHealthy(lab);
        events.failovers++;
        events.failoverLog.push(`+${Math.round(now)}s ${from} -> ${to}`);
        say(`planned failover ${from} -> ${to}`);
      } catch (err) {
        events.failoversFailed++;
        events.failoverLog.push(`+${Math.round(now)}s failed: ${err instanceof Error ? err.message : String(err)}`);
        say(`planned failover failed: ${String(err)}`);
      }
    }
    await sleep(250);
  }
  running = false;
  await apiLoop;
  await fragLoop;
  for (const box of BOXES) {
    const st = await lab
      .api(box, 3000)
      .status()
      .catch(() => null);
    if (st) transitionsSeen.push(...st.transitions.map((t) => `${t.at.slice(11, 23)} ${box} ${t.from} -> ${t.to} (${t.reason})`));
    // what the load did to the pair: a loaded host stalls the control thread (tandem_control_stalls_total)
    const text = await scrape(join(lab.runDir, `${box}-metrics.sock`)).catch(() => '');
    const series = (family: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${family}{`) && !l.endsWith(' 0'))
        .map((l) => l.slice(family.length).replace(/^\{[a-z]+="([^"]*)"\} /, '$1='))
        .join(' ');
    healthSeen.push(
      `${box}: stalls ${series('tandem_control_stalls_total') || 'none'}; became active ${series('tandem_ha_failovers_total') || 'never'}; drops ${series('tandem_dataplane_drops_total') || 'none'}`,
    );
  }
} catch (err) {
  say(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
} finally {
  if (!stopping) {
    stopping = true;
    await cleanup();
  }
}

// ---- report ----
const lastS = samples.length > 0 ? samples[samples.length - 1].tS : 0;
const verdicts: string[] = [];
const growthRows: string[][] = [];
for (const box of BOXES) {
  for (const [what, key, limits] of [
    ['RSS', 'rss', RSS_LIMITS],
    ['dataplane heap', 'dpHeap', HEAP_LIMITS],
    ['control heap', 'ctlHeap', HEAP_LIMITS],
    ['dataplane external', 'dpExt', HEAP_LIMITS],
    ['control external', 'ctlExt', HEAP_LIMITS],
  ] as const) {
    const pts: Point[] = samples.flatMap((s) => (s.box[box][key] === null ? [] : [{ tS: s.tS, value: s.box[box][key] }]));
    const g: Growth = growth(pts, lastS, limits);
    growthRows.push([
      box,
      what,
      mib(g.plateau),
      mib(g.end),
      (g.slopePerHour / 2 ** 20).toFixed(1),
      (g.limitPerHour / 2 ** 20).toFixed(1),
      String(g.samples),
      g.clear ? 'GROWING' : 'flat',
    ]);
    if (g.clear) verdicts.push(`${box} ${what} grows ${(g.slopePerHour / 2 ** 20).toFixed(1)} MiB/h (limit ${(g.limitPerHour / 2 ** 20).toFixed(1)})`);
  }
}
if (verdicts.length > 0) exitCode = 1;

const step = Math.max(1, Math.ceil(samples.length / 40));
const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
const header = [
  't s',
  ...BOXES.flatMap((b) => [`${b} state`, 'rss MiB', 'dp heap', 'ctl heap', 'dp ext', 'ctl ext', 'fds', 'sessions', 'nat', 'backlog', 'arp', 'pend', 'trans']),
];
const rows = shown.map((s) => [
  String(s.tS),
  ...BOXES.flatMap((b) => {
    const x = s.box[b];
    const n = (v: number | null) => (v === null ? '-' : String(Math.round(v)));
    return [
      x.state,
      mib(x.rss),
      mib(x.dpHeap),
      mib(x.ctlHeap),
      mib(x.dpExt),
      mib(x.ctlExt),
      n(x.fds),
      n(x.sessions),
      n(x.natPorts),
      n(x.syncBacklog),
      n(x.arp),
      n(x.arpPending),
      n(x.transitions),
    ];
  }),
]);
const out: string[] = [];
out.push(
  `bench:soak, ${minutes} min (${lastS} s sampled), lab ${labName}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${new Date(t0).toISOString()}`,
);
out.push(
  `load: ${conns} TCP streams (1 KiB/100 ms each), churn ${churnRate} TCP conn/s, UDP probe every 10 ms, ping every 200 ms, a 4000-byte ping every 500 ms, hostile fragments every ${FRAG_BURST_EVERY_MS / 1000} s, API status+sessions+config on both boxes every ${API_POLL_MS / 1000} s, a commit every ${commitEveryS} s, a planned failover every ${failoverEveryS / 60} min`,
);
out.push('');
out.push(formatTable(header, rows));
out.push('');
out.push('growth from the warm-up plateau to the end (MiB; slope by linear fit, per hour):');
out.push(formatTable(['box', 'series', 'plateau', 'end', 'slope/h', 'limit/h', 'samples', 'verdict'], growthRows));
out.push('');
const churnFinal = churnTotals as ChurnTotals | null;
out.push(
  `churn: ${churnFinal ? `${churnFinal.opened} opened, ${churnFinal.ok} ok, ${churnFinal.failed} failed ${JSON.stringify(churnFinal.why)}, ${churnFinal.skipped} skipped` : 'no totals'}`,
);
const ss = streamSummary as {
  total?: number;
  connected?: number;
  survived?: number;
  reset?: number;
  maxEchoGapMs?: number;
  conns?: { error: string | null }[];
} | null;
const streamErrors = [...new Set((ss?.conns ?? []).flatMap((c) => (c.error ? [c.error.replace(/\(.*\)/, '').trim()] : [])))];
out.push(
  `streams: ${ss ? `${ss.connected}/${ss.total} connected, ${ss.survived} survived, ${ss.reset} reset, longest echo gap ${ss.maxEchoGapMs} ms${streamErrors.length ? `, errors: ${streamErrors.join(', ')}` : ''}` : 'no summary'}`,
);
const txSum = probeSummary as { sent?: number } | null;
const rxSum = receiverSummary as { received?: number; lost?: number; maxGapMs?: number } | null;
out.push(`udp probe: sent ${txSum?.sent ?? '?'}, received ${rxSum?.received ?? '?'}, lost ${rxSum?.lost ?? '?'}, longest gap ${rxSum?.maxGapMs ?? '?'} ms`);
out.push(`ping: ${pingLine.trim() || '?'}`);
out.push(`fragmented ping (4000 bytes): ${bigPingLine.trim() || '?'}; hostile fragment bursts: ${events.fragBursts} sent, ${events.fragBurstsFailed} failed`);
out.push(
  `API calls: ${events.apiCalls} (${events.apiFailed} failed); commits: ${events.commits} (${events.commitsFailed} failed${events.commitErrors.length ? `: ${events.commitErrors.slice(0, 3).join('; ')}` : ''}); planned failovers: ${events.failovers} (${events.failoversFailed} failed) ${events.failoverLog.join(', ')}`,
);
for (const line of healthSeen) out.push(line);
out.push(`transitions (the last ${transitionsSeen.length} kept by both boxes): ${transitionsSeen.sort().slice(-12).join('; ')}`);
out.push(`daemon logs: ${outDir}`);
out.push(
  verdicts.length === 0 && exitCode === 0
    ? 'verdict: memory flat, both daemons up'
    : `verdict: FAIL ${verdicts.join('; ') || 'a daemon died or the run failed'}`,
);
console.log(out.join('\n'));
process.exit(exitCode);
