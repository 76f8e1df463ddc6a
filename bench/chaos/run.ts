// The chaos run: one lab, long-lived TCP and UDP flows through the pair, and N failures of the
// active box cycling the kinds of faults.ts; after each, the pair must be healthy again (one
// active, the other passive and in sync) before the next. What is measured per iteration: the
// role changes (by both daemons' transition records), the takeover time by the API, the UDP
// probe's longest silence and loss, the TCP flows' longest stall and every connection lost, and
// from the switch (capture.ts) every frame sourced from the virtual MACs by both boxes at once.
// The captures overlap from one iteration to the next, so the whole run is watched.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Lab, labDown, labUp, repoRoot, type LabBox, type LabHost, type LabMode } from '../../src/lab/lab.js';
import { IO_VARIANTS, type IoVariant } from '../lib/io-variants.js';
import { startProbeSender, startStreamServer, type LabProcess } from '../../src/lab/traffic.js';
import type { HaStatus } from '../../src/control/status.js';
import { analyseDualActiveByClass, longestHandoffSilenceMs, NO_FAILOVER_KINDS, schedule, seededRandom, type Kind, type Overlap } from './analyse.js';
import { SwitchCapture } from './capture.js';
import { inject, type Fault } from './faults.js';
import type { TcpEnd, TcpLoss, TcpMark, UdpMark } from './flows.js';
import { mergeTcpEnds, mergeTcpMarks, mergeUdpMarks } from './merge.js';
import { expectedRoleChanges, failsPrimary, pairRole, PRIMARY_STATES, tookOver, type FailWhich } from './pair.js';

const SERVER = '10.0.2.10';
const PROBE_PORT = 5001;
const STREAM_PORT = 5002;
/** Active/active: client2's UDP probe goes to its own receiver. */
const PROBE_PORT2 = 5003;
/** How long a failure that must not move the role is held and watched. */
const NO_FAILOVER_WATCH_MS = 1000;
/** How long the failed box stays failed after the takeover (frozen, unplugged, unreachable). */
const HOLD_AFTER_TAKEOVER_MS = 300;
const TAKEOVER_TIMEOUT_MS = 10_000;
const HEALTHY_TIMEOUT_MS = 30_000;
/** The healthy pair must stay so this long (see waitHealthy). */
const HEALTHY_STABLE_MS = 1000;
/**
 * A UDP silence this long with no failure in progress (before it, or after the pair was healthy
 * again) is an outage nobody caused: reported (scheduling hiccups on a busy host stay below it).
 */
const OUTAGE_MS = 100;
/** Steady traffic before each failure: this plus up to as much again, drawn from the seed. */
const STEADY_MS = 400;

export interface ChaosOptions {
  failovers: number;
  kinds: readonly Kind[];
  seed: number;
  conns: number;
  /** Each connection writes 1 KiB this often. */
  intervalMs: number;
  /** Frames of both boxes closer than this are an overlap (analyse.ts). */
  windowUs: number;
  /** INTERVAL_MS,MISSED,HOLD_MS: heartbeat timers instead of the lab's aggressive profile. */
  timers?: string;
  /** Another frame I/O than the lab's default (bench/lib/io-variants.ts). */
  io?: IoVariant;
  /** Where the results, and the captures and logs of any iteration with a finding, are kept. */
  outDir: string;
  labName: string;
  /** The lab's mode (default active-passive); active/active loads from client and client2. */
  labMode?: LabMode;
  /** Active/active: which box each iteration fails (default alternate: the primary, then the secondary, ...). */
  fail?: FailWhich;
  log: (line: string) => void;
}

export interface Memory {
  pid: number | null;
  /** VmRSS from /proc, bytes. */
  rssBytes: number | null;
  /** The daemon's own figures (its metrics). */
  processRssBytes: number | null;
  heapUsedBytes: number | null;
}

export interface Iteration {
  i: number;
  kind: Kind;
  failed: LabBox;
  startedAt: string;
  /** The box active at the end of the iteration. */
  active: LabBox | null;
  /** Transitions into the primary role ('active', 'active-primary') on either box during the iteration. */
  roleChanges: number;
  /** What roleChanges should be: 1, or 0 when the active/active secondary failed (the primary stays). */
  expectedRoleChanges?: number;
  /** Those transitions, from the daemons' logs. */
  roleChangeLog: string[];
  /** For ha1/ha2: the role stayed put during the cut (exactly one active, the same one). */
  heldDuringCut: boolean | null;
  /** Failure (or, for ha1/ha2, the planned failover after it) -> the peer reports active, ms. */
  takeoverMs: number | null;
  takeoverReason: string | null;
  healthyMs: number | null;
  udp: { maxGapMs: number; lost: number; received: number; outages: { atMs: number; gapMs: number }[] };
  /** When the failure was inflicted (epoch ms). */
  failedAtMs: number | null;
  tcp: { maxStallMs: number; lost: TcpLoss[]; stalledAtEnd: number };
  wire: {
    framesFwa: number;
    framesFwb: number;
    dualActiveFrames: number;
    overlaps: Overlap[];
    handoffs: number;
    handoffSilenceMs: number | null;
    droppedByKernel: number;
    /** Frames and dual-active frames per virtual MAC class (0 in active/passive). */
    byClass?: Record<number, { fwa: number; fwb: number; dual: number }>;
  };
  /** Both boxes said 'active' in the same API poll (informational: the wire is the judge). */
  apiBothActive: number;
  error: string | null;
}

export interface ChaosResult {
  options: Omit<ChaosOptions, 'log'>;
  lab: string;
  startedAt: string;
  durationS: number;
  connected: number;
  iterations: Iteration[];
  /** UDP silences of OUTAGE_MS or more in the steady traffic before the first failure. */
  outagesBeforeFirst: { atMs: number; gapMs: number }[];
  /** Connections lost outside any iteration (while starting up or at the end). */
  lostOutside: TcpLoss[];
  tcpEnd: TcpEnd | null;
  memory: { before: Record<LabBox, Memory>; after: Record<LabBox, Memory> } | null;
  aborted: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const otherBox = (b: LabBox): LabBox => (b === 'fwa' ? 'fwb' : 'fwa');

/** A flows.js process in a namespace, answering commands on stdin with one JSON line each. */
class Flows {
  private lines: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    private readonly child: ChildProcess,
    readonly what: string,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((r) =>
      child.once('close', (code) => {
        r(code);
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  static start(lab: Lab, role: LabHost, args: string[], pidFile: string): Flows {
    const prog = join(lab.repo, 'dist', 'bench', 'chaos', 'flows.js');
    const child = spawn('ip', ['netns', 'exec', lab.ns(role), process.execPath, prog, ...args, '--lab', lab.runDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) writeFileSync(pidFile, `${child.pid}\n`, { mode: 0o600 });
    return new Flows(child, `flows ${args[0]} in ${lab.ns(role)}`);
  }

  /** The next line holding `key` (lines before it are dropped). */
  async next<T>(key: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => key in l);
      if (i >= 0) {
        const [line] = this.lines.splice(0, i + 1).slice(-1);
        return line as T;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.what} exited: ${this.stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`${this.what}: no "${key}" line within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(Math.max(1, deadline - Date.now()))]);
    }
  }

  ask<T>(command: string, key: string, timeoutMs = 10_000): Promise<T> {
    this.child.stdin!.write(`${command}\n`);
    return this.next<T>(key, timeoutMs);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

/** A copy of deploy/lab with other heartbeat timers and/or another frame I/O (device.dataplane). */
function labConfigWith(spec: string | undefined, io: IoVariant | undefined, mode: LabMode): string {
  const [heartbeatIntervalMs, heartbeatMissed, promotionHoldMs] = (spec ?? '0,0,0').split(',').map(Number);
  if (![heartbeatIntervalMs, heartbeatMissed, promotionHoldMs].every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`--timers: got ${JSON.stringify(spec)}, expected INTERVAL_MS,MISSED,HOLD_MS, e.g. 10,6,0`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-chaos-cfg-'));
  for (const box of ['fwa', 'fwb']) {
    const from = mode === 'active-active' ? join(repoRoot(), 'deploy', 'lab', 'active-active') : join(repoRoot(), 'deploy', 'lab');
    const cfg = parseYaml(readFileSync(join(from, `${box}.yaml`), 'utf8')) as {
      shared: { ha: Record<string, unknown> };
      device: Record<string, unknown>;
    };
    if (spec) cfg.shared.ha.timers = { profile: 'aggressive', heartbeatIntervalMs, heartbeatMissed, promotionHoldMs };
    if (io) cfg.device.dataplane = IO_VARIANTS[io];
    writeFileSync(join(dir, `${box}.yaml`), stringifyYaml(cfg));
  }
  return dir;
}

function scrape(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('metrics timeout')));
    req.on('error', reject);
    req.end();
  });
}

function metric(text: string, name: string): number | null {
  for (const line of text.split('\n')) if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  return null;
}

async function memoryOf(lab: Lab, box: LabBox): Promise<Memory> {
  const pid = lab.pid(box);
  let rssBytes: number | null = null;
  if (pid !== null) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) rssBytes = Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  let processRssBytes: number | null = null;
  let heapUsedBytes: number | null = null;
  try {
    const text = await scrape(join(lab.runDir, `${box}-metrics.sock`));
    processRssBytes = metric(text, 'tandem_process_resident_memory_bytes');
    heapUsedBytes = metric(text, 'tandem_nodejs_heap_size_used_bytes');
  } catch {
    // no metrics: reported as unknown
  }
  return { pid, rssBytes, processRssBytes, heapUsedBytes };
}

async function statusOf(lab: Lab, box: LabBox): Promise<HaStatus | null> {
  try {
    return await lab.api(box, 1000).status();
  } catch {
    return null;
  }
}

/** HA2 connected (the passive's bulk sync being done is its state: passive, not tentative). */
function syncOk(s: HaStatus): boolean {
  const sync = s.sync as { connected?: boolean } | null | undefined;
  return !!sync && sync.connected === true;
}

/**
 * One active and one passive (not tentative: its bulk sync done), both functional, peers up, an
 * HA1 session up, and HA2 connected; and still so HEALTHY_STABLE_MS later (a monitor that saw
 * the outage can fault a moment after the link is back).
 */
async function waitHealthy(lab: Lab, timeoutMs: number): Promise<{ active: LabBox; ms: number }> {
  const mode = lab.mode;
  let seen = '';
  let since: { active: LabBox; at: number } | null = null;
  const ms = await lab
    .waitFor(
      async () => {
        const [a, b] = await Promise.all([statusOf(lab, 'fwa'), statusOf(lab, 'fwb')]);
        const [ra, rb] = [pairRole(a?.local.state, mode), pairRole(b?.local.state, mode)];
        seen = `fwa=${a ? `${a.local.state} (${a.local.reason}${a.local.faults.length ? `, faults ${a.local.faults.join(' ')}` : ''})` : 'no answer'}, fwb=${b ? `${b.local.state} (${b.local.reason}${b.local.faults.length ? `, faults ${b.local.faults.join(' ')}` : ''})` : 'no answer'}`;
        const pair =
          !a || !b
            ? null
            : ra === 'active' && rb === 'passive'
              ? ([a, b, 'fwa'] as const)
              : rb === 'active' && ra === 'passive'
                ? ([b, a, 'fwb'] as const)
                : null;
        const ok =
          pair !== null &&
          pair[0].local.faults.length === 0 &&
          pair[1].local.faults.length === 0 &&
          pair[0].peer.up &&
          pair[1].peer.up &&
          pair[0].links.some((l) => l.sessionUp) &&
          syncOk(pair[0]) &&
          syncOk(pair[1]);
        if (!ok) {
          since = null;
          return false;
        }
        if (since === null || since.active !== pair[2]) since = { active: pair[2], at: Date.now() };
        return Date.now() - since.at >= HEALTHY_STABLE_MS;
      },
      timeoutMs,
      'a healthy pair (one active, one passive in sync)',
    )
    .catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last seen: ${seen}`);
    });
  return { active: since!.active, ms };
}

/**
 * Polls until `box` has taken over (pair.ts tookOver: active; in active/active the primary, the
 * failed box no longer forwarding unless `planned`); counts polls where both boxes said they
 * held the primary role.
 */
async function waitActive(lab: Lab, box: LabBox, t0: number, onBoth: () => void, planned = false): Promise<{ ms: number | null; reason: string | null }> {
  const mode = lab.mode;
  const deadline = t0 + TAKEOVER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const s = await lab
      .api(box, 500)
      .status()
      .catch(() => null);
    if (s && tookOver(s, mode, planned)) {
      // timed before the other box is asked: a stopped box answers nothing, and waiting out its
      // timeout beside every poll added ~400 ms to every SIGSTOP takeover
      const ms = Date.now() - t0;
      const o = await lab.boxState(otherBox(box), 200);
      if (pairRole(o?.state, mode) === 'active') onBoth();
      return { ms, reason: s.local.reason };
    }
    await sleep(10);
  }
  return { ms: null, reason: null };
}

/**
 * Transitions into 'active' on either box since `sinceMs`, from the daemons' logs (a killed
 * daemon's record survives it, and a busy API cannot hide one).
 */
function transitionsIntoActiveSince(lab: Lab, sinceMs: number): { count: number; list: string[] } {
  const list: string[] = [];
  for (const box of ['fwa', 'fwb'] as const) {
    let text: string;
    try {
      text = readFileSync(lab.logPath(box), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"ha-transition"')) continue;
      try {
        const e = JSON.parse(line) as { time?: string; to?: string; from?: string; reason?: string };
        if (PRIMARY_STATES.has(e.to ?? '') && e.time && Date.parse(e.time) >= sinceMs)
          list.push(`${e.time.slice(11, 23)} ${box} ${e.from} -> ${e.to} (${e.reason})`);
      } catch {
        // a line cut by a kill: not an event
      }
    }
  }
  return { count: list.length, list: list.sort() };
}

/** The run's flows: per client (client2 too in active/active) a TCP flows process and a UDP probe with its receiver. */
interface FlowSet {
  tcp: Flows[];
  udp: Flows[];
  /** Connections up at the start, every client together. */
  connected: number;
}

const markTcp = async (f: FlowSet): Promise<TcpMark> => mergeTcpMarks(await Promise.all(f.tcp.map((t) => t.ask<TcpMark>('mark', 'mark'))));
const markUdp = async (f: FlowSet): Promise<UdpMark> => mergeUdpMarks(await Promise.all(f.udp.map((u) => u.ask<UdpMark>('mark', 'mark'))));

async function startFlows(lab: Lab, opts: ChaosOptions, stops: (() => Promise<unknown>)[]): Promise<FlowSet> {
  const clients: LabHost[] = lab.mode === 'active-active' ? ['client', 'client2'] : ['client'];
  const set: FlowSet = { tcp: [], udp: [], connected: 0 };
  for (const [k, host] of clients.entries()) {
    // the first client keeps the file names and port of an active/passive run
    const tag = k === 0 ? '' : `-${host}`;
    const port = k === 0 ? PROBE_PORT : PROBE_PORT2;
    const udp = Flows.start(lab, 'server', ['udp', '--port', String(port)], join(lab.runDir, `chaos-udp${tag}.pid`));
    stops.push(async () => udp.kill());
    await udp.next('ready', 10_000);
    set.udp.push(udp);
    const args = ['tcp', '--to', `${SERVER}:${STREAM_PORT}`, '--conns', String(opts.conns), '--interval-ms', String(opts.intervalMs)];
    const tcp = Flows.start(lab, host, args, join(lab.runDir, `chaos-tcp${tag}.pid`));
    stops.push(async () => tcp.kill());
    set.connected += (await tcp.next<{ connected: number }>('connected', 60_000)).connected;
    set.tcp.push(tcp);
    const tx: LabProcess<unknown> = await startProbeSender(lab.ns(host), {
      repo: lab.repo,
      marker: lab.runDir,
      to: `${SERVER}:${port}`,
      intervalMs: 1,
      pidFile: join(lab.runDir, `chaos-probe-tx${tag}.pid`),
    });
    stops.push(() => tx.stop());
  }
  return set;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const { log } = opts;
  const kinds = schedule(opts.kinds, opts.failovers, seededRandom(opts.seed));
  const steadyRand = seededRandom(opts.seed ^ 0x5eed);
  const mode = opts.labMode ?? 'active-passive';
  const configDir = opts.timers || opts.io ? labConfigWith(opts.timers, opts.io, mode) : undefined;
  mkdirSync(opts.outDir, { recursive: true });
  const { log: _log, ...options } = opts;
  const result: ChaosResult = {
    options,
    lab: opts.labName,
    startedAt: new Date().toISOString(),
    durationS: 0,
    connected: 0,
    iterations: [],
    lostOutside: [],
    outagesBeforeFirst: [],
    tcpEnd: null,
    memory: null,
    aborted: null,
  };
  const t0run = Date.now();
  await labUp({ name: opts.labName, configDir, mode, out: process.stderr });
  const lab = new Lab(opts.labName);
  const stops: (() => Promise<unknown>)[] = [];
  let fault: Fault | null = null;
  let capture: SwitchCapture | null = null;
  const captureDir = mkdtempSync(join(tmpdir(), `tandem-chaos-${opts.labName}-`));
  try {
    let { active } = await waitHealthy(lab, HEALTHY_TIMEOUT_MS);
    const repo = lab.repo;
    const srv = await startStreamServer(lab.ns('server'), {
      repo,
      marker: lab.runDir,
      port: STREAM_PORT,
      pidFile: join(lab.runDir, 'chaos-stream-server.pid'),
    });
    stops.push(() => srv.stop());
    const flows = await startFlows(lab, opts, stops);
    result.connected = flows.connected;
    log(`${result.connected}/${opts.conns * flows.tcp.length} TCP connections up`);
    // every connection replicated before the first failure: to the passive, or in active/active
    // to both boxes (each holds its own sessions and the peer's)
    ({ active } = await waitHealthy(lab, HEALTHY_TIMEOUT_MS));
    const holders: LabBox[] = mode === 'active-active' ? ['fwa', 'fwb'] : [otherBox(active)];
    await lab.waitFor(
      async () => {
        const held = await Promise.all(
          holders.map(async (b) => (await lab.api(b, 5000).sessions({ protocol: 'tcp', port: STREAM_PORT, state: 'established' }, 1)).matched),
        );
        return held.every((n) => n >= result.connected);
      },
      30_000,
      `${holders.join(' and ')} to hold every connection`,
    );
    await sleep(500);
    result.memory = {
      before: { fwa: await memoryOf(lab, 'fwa'), fwb: await memoryOf(lab, 'fwb') },
      after: { fwa: await memoryOf(lab, 'fwa'), fwb: await memoryOf(lab, 'fwb') },
    };
    await markTcp(flows);
    await markUdp(flows);

    let prevStartUs = 0;
    let prev: Iteration | null = null;
    let prevCapture: SwitchCapture | null = null;
    const tcpLosses: TcpLoss[] = [];
    const starts: number[] = [];

    /** Closes the previous iteration: its marks, and its frames up to `untilUs`. */
    const closePrevious = async (untilUs: number): Promise<void> => {
      const [tm, um] = await Promise.all([markTcp(flows), markUdp(flows)]);
      tcpLosses.push(...tm.lost);
      if (!prev || !prevCapture) {
        result.outagesBeforeFirst = um.gaps.filter((g) => g.gapMs >= OUTAGE_MS);
        return;
      }
      prev.tcp.maxStallMs = tm.maxStallMs;
      prev.tcp.stalledAtEnd = tm.stalledNow;
      const p = prev;
      // silences that began before the failure or after the pair was healthy again: nothing was failed then
      const unprovoked = um.gaps.filter((g) => p.failedAtMs === null || g.atMs < p.failedAtMs || (p.healthyMs !== null && g.atMs > p.failedAtMs + p.healthyMs));
      prev.udp = { maxGapMs: um.maxGapMs, lost: um.lost, received: um.received, outages: unprovoked.filter((g) => g.gapMs >= OUTAGE_MS) };
      await prevCapture.stop();
      const frames = prevCapture.frames().filter((f) => f.tUs >= prevStartUs && f.tUs < untilUs);
      const r = analyseDualActiveByClass(frames, opts.windowUs);
      prev.wire = {
        framesFwa: r.frames.fwa,
        framesFwb: r.frames.fwb,
        dualActiveFrames: r.dualActiveFrames,
        overlaps: r.overlaps,
        handoffs: r.handoffs.length,
        handoffSilenceMs: longestHandoffSilenceMs(r.handoffs),
        droppedByKernel: prevCapture.droppedByKernel(),
        byClass: r.byClass,
      };
      if (r.dualActiveFrames > 0) {
        // keep the evidence: the captures and both daemons' logs
        const keep = join(opts.outDir, `iteration-${prev.i}`);
        mkdirSync(keep, { recursive: true });
        for (const f of prevCapture.files()) {
          try {
            renameSync(f, join(keep, f.split('/').pop()!));
          } catch {
            copyFileSync(f, join(keep, f.split('/').pop()!));
          }
        }
        for (const b of ['fwa', 'fwb'] as const) copyFileSync(lab.logPath(b), join(keep, `${b}.log`));
      }
      prevCapture.remove();
      log(describe(prev));
    };

    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[i];
      capture = await SwitchCapture.start(lab, captureDir, String(i));
      const startMs = Date.now();
      await closePrevious(startMs * 1000);
      starts.push(startMs);
      prevStartUs = startMs * 1000;
      prevCapture = capture;
      const it: Iteration = {
        i,
        kind,
        failed: active,
        startedAt: new Date(startMs).toISOString(),
        active: null,
        roleChanges: 0,
        roleChangeLog: [],
        heldDuringCut: null,
        takeoverMs: null,
        takeoverReason: null,
        healthyMs: null,
        udp: { maxGapMs: 0, lost: 0, received: 0, outages: [] },
        failedAtMs: null,
        tcp: { maxStallMs: 0, lost: [], stalledAtEnd: 0 },
        wire: { framesFwa: 0, framesFwb: 0, dualActiveFrames: 0, overlaps: [], handoffs: 0, handoffSilenceMs: null, droppedByKernel: 0 },
        apiBothActive: 0,
        error: null,
      };
      result.iterations.push(it);
      prev = it;
      await sleep(STEADY_MS + Math.floor(steadyRand() * STEADY_MS));
      // the role can have moved on its own since the pair was last healthy (a stall read as a
      // peer death, counted in roleChanges): fail whoever is active now
      const [sa, sb] = await Promise.all([lab.boxState('fwa'), lab.boxState('fwb')]);
      const [ra, rb] = [pairRole(sa?.state, mode), pairRole(sb?.state, mode)];
      if (!(ra === 'active' && rb === 'passive') && !(rb === 'active' && ra === 'passive')) ({ active } = await waitHealthy(lab, HEALTHY_TIMEOUT_MS));
      else active = ra === 'active' ? 'fwa' : 'fwb';
      // active/active: the primary or the secondary (pair.ts); active/passive: the active
      const primaryFails = failsPrimary(mode, opts.fail ?? 'alternate', i);
      const failed: LabBox = primaryFails ? active : otherBox(active);
      const survivor = otherBox(failed);
      it.failed = failed;
      it.expectedRoleChanges = expectedRoleChanges(mode, primaryFails, NO_FAILOVER_KINDS.has(kind));
      const tFail = Date.now();
      it.failedAtMs = tFail;
      try {
        fault = await inject(lab, kind, failed);
        if (NO_FAILOVER_KINDS.has(kind)) {
          // the role must not move: exactly one active (the same one) for the whole watch; in
          // active/active, the primary and the secondary both stay as they were
          let held = true;
          while (Date.now() - tFail < NO_FAILOVER_WATCH_MS) {
            const [s1, s2] = await Promise.all([lab.boxState(active, 500), lab.boxState(otherBox(active), 500)]);
            const [r1, r2] = [pairRole(s1?.state, mode), pairRole(s2?.state, mode)];
            if (r1 !== 'active' || r2 === 'active' || (mode === 'active-active' && r2 !== 'passive')) held = false;
            await sleep(25);
          }
          it.heldDuringCut = held;
          await fault.recover();
          fault = null;
          // then the role moves the planned way, so that every iteration is one failover
          ({ active } = await waitHealthy(lab, HEALTHY_TIMEOUT_MS));
          const tPlanned = Date.now();
          await lab.api(active, 5000).failover();
          const t = await waitActive(lab, otherBox(active), tPlanned, () => it.apiBothActive++, true);
          it.takeoverMs = t.ms;
          it.takeoverReason = t.reason;
        } else {
          const t = await waitActive(lab, survivor, tFail, () => it.apiBothActive++);
          it.takeoverMs = t.ms;
          it.takeoverReason = t.reason;
          await sleep(HOLD_AFTER_TAKEOVER_MS);
          await fault.recover();
          fault = null;
        }
      } catch (err) {
        // recorded, and the run goes on if the pair comes back (the wait below is the judge)
        it.error = err instanceof Error ? err.message : String(err);
        log(`#${i} ${kind}: ${it.error}`);
        if (fault) {
          await fault.recover().catch((e: unknown) => log(`#${i} ${kind}: recovery failed too: ${e instanceof Error ? e.message : String(e)}`));
          fault = null;
        }
      }
      try {
        const h = await waitHealthy(lab, HEALTHY_TIMEOUT_MS);
        it.healthyMs = Date.now() - tFail;
        it.active = h.active;
        active = h.active;
      } finally {
        const t = transitionsIntoActiveSince(lab, startMs);
        it.roleChanges = t.count;
        it.roleChangeLog = t.list;
      }
    }
    // the last iteration: its own share of the flows and the switch
    await sleep(500);
    await closePrevious(Date.now() * 1000);
    prevCapture = null;
    capture = null;
    result.memory.after = { fwa: await memoryOf(lab, 'fwa'), fwb: await memoryOf(lab, 'fwb') };
    result.tcpEnd = mergeTcpEnds(await Promise.all(flows.tcp.map((t) => t.ask<TcpEnd>('end', 'end', 30_000))));
    // end-of-run verdicts (incomplete echoes) join the losses seen at the marks
    for (const l of result.tcpEnd.lost) if (!tcpLosses.some((x) => x.id === l.id)) tcpLosses.push(l);
    for (const l of tcpLosses) {
      let idx = -1;
      for (let k = 0; k < starts.length; k++) if (l.atMs >= starts[k]) idx = k;
      if (idx >= 0) result.iterations[idx].tcp.lost.push(l);
      else result.lostOutside.push(l);
    }
  } catch (err) {
    result.aborted = err instanceof Error ? err.message : String(err);
    log(`chaos run aborted: ${result.aborted}`);
    for (const b of ['fwa', 'fwb'] as const) log(`last lines of ${b}.log:\n${lab.logTail(b, 15)}`);
  } finally {
    // both daemons' logs of the whole run are kept with the results
    for (const b of ['fwa', 'fwb'] as const) {
      try {
        copyFileSync(lab.logPath(b), join(opts.outDir, `${b}.log`));
      } catch {
        // never started
      }
    }
    // a run cut short while a daemon was frozen: wake it so that it can be stopped
    const frozen = (fault as Fault | null)?.frozenPid;
    if (frozen) {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // gone
      }
    }
    if (capture) {
      await capture.stop().catch(() => undefined);
      capture.remove();
    }
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await labDown({ name: opts.labName });
    rmSync(captureDir, { recursive: true, force: true });
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  }
  result.durationS = Math.round((Date.now() - t0run) / 1000);
  writeFileSync(join(opts.outDir, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

export function describe(it: Iteration): string {
  const take = it.takeoverMs === null ? 'NO TAKEOVER' : `${it.takeoverMs} ms (${it.takeoverReason})`;
  const cut = it.heldDuringCut === null ? '' : it.heldDuringCut ? ', role held during the cut' : ', ROLE MOVED DURING THE CUT';
  return (
    `#${it.i} ${it.kind} of ${it.failed}: takeover ${take}${cut}, role changes ${it.roleChanges}, healthy after ${it.healthyMs ?? '-'} ms; ` +
    `UDP gap ${it.udp.maxGapMs} ms, lost ${it.udp.lost}; TCP stall ${it.tcp.maxStallMs} ms${it.tcp.stalledAtEnd ? `, ${it.tcp.stalledAtEnd} connections waiting > 1 s at the end` : ''}; ` +
    `wire fwa ${it.wire.framesFwa} fwb ${it.wire.framesFwb} frames, ${it.wire.handoffs} handoffs (silence ${it.wire.handoffSilenceMs?.toFixed(1) ?? '-'} ms), dual-active ${it.wire.dualActiveFrames}` +
    (it.wire.droppedByKernel ? `, capture dropped ${it.wire.droppedByKernel}` : '')
  );
}
