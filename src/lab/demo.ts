// `tandem lab demo`: up, live traffic, `kill -9` of the active box, the takeover, the recovery,
// a table of what was measured, a picture of the failover timeline, and always a teardown (also
// on an error or Ctrl-C). While it runs, a live view shows both boxes, the probes and the TCP
// connections (src/lab/live-view.ts).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { nsExec } from './exec.js';
import { Lab, labDown, labUp, type LabBox } from './lab.js';
import { LiveView, type BoxSnapshot, type LiveSnapshot } from './live-view.js';
import { LAB_ADDR } from './topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from './traffic.js';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';
import { formatGapMs, timelineSvg, type TimelineData, type TimelineMarker } from './timeline-svg.js';

export const DEMO_PROBE_PORT = 5000;
export const DEMO_STREAM_PORT = 5001;
export const DEMO_TCP_CONNS = 8;
/** One probe per ms: the gap is read to the millisecond. */
const PROBE_INTERVAL_MS = 1;
/** Traffic before the crash, so the sessions exist on both boxes (synced) when it happens. */
const WARMUP_MS = 2000;
/** After the warm-up, how long to wait for the passive to hold as many sessions as the active. */
const SYNC_WAIT_MS = 5000;
/** How long to wait for the survivor to say active. */
const TAKEOVER_TIMEOUT_MS = 10_000;
/** Traffic keeps flowing after the takeover before the dead box is restarted. */
const AFTER_TAKEOVER_MS = 1000;
const RECOVERY_TIMEOUT_MS = 20_000;
/** Traffic keeps flowing after the recovery before it is stopped and counted. */
const SETTLE_MS = 2000;
/** The live view's refresh: a terminal redraws this often; plain output prints at most once a second anyway. */
const LIVE_TTY_MS = 250;
const LIVE_PLAIN_MS = 500;
/**
 * Both APIs are asked (state, session count) at most this often: the lab's own waits poll every
 * 100 ms, but a demo that watches should weigh less than what it watches.
 */
const API_POLL_MS = 500;
/** The client's socket table (a process per read) at most this often. */
const SS_POLL_MS = 1000;
/**
 * The probe programs report this often: the sender's and the receiver's counts are read at
 * different moments, and at 1 probe/ms a slower report would show more received than sent.
 */
const PROBE_LIVE_MS = 100;
/** A gap that ends this long before the kill belongs to the warm-up, not to the crash. */
const CRASH_WINDOW_BEFORE_MS = 100;
/** The picture's file name, in the run dir and (by default) where the demo was started. */
export const DEMO_SVG_NAME = 'tandem-failover.svg';

export interface DemoOptions {
  name: string;
  /** A stream for progress lines and the table (default stderr), or a file path that receives the result as JSON. */
  out?: NodeJS.WritableStream | string;
  configDir?: string;
  /** See LabOptions.daemonCommand. */
  daemonCommand?: string[];
  /** Where the failover picture is copied (default ./tandem-failover.svg); it is also written to the lab's run dir. */
  svg?: string;
  /** Redraw the live view in place (default: when the output stream is a terminal). */
  tty?: boolean;
}

/** What one step (the crash, the restore) cost the traffic. */
export interface DemoStep {
  step: 'crash' | 'restore';
  /**
   * The silence across the state change (the kill to the takeover; the restart to the box being
   * back), ms: what the step cost the traffic. 0 when no silence over the threshold spans it.
   */
  changeGapMs: number;
  /** Longest silence at the receiver in the step, ms (0 when none passed the threshold). */
  maxGapMs: number;
  /** Silences longer than the threshold (5 ms) in the step. */
  gaps: number;
  /** Probes skipped across those silences. */
  probesLost: number;
  /** TCP connections alive after the step: established in the client's socket table after the crash; echoing every byte at the end. */
  tcpAlive: number | null;
  tcpTotal: number;
  /** The state change the step caused, in words. */
  change: string;
}

export interface DemoResult {
  name: string;
  /** The box killed with SIGKILL and the one that took over. */
  killed: LabBox | null;
  tookOver: LabBox | null;
  /** From the kill to the survivor reporting active through its API, ms. */
  takeoverMs: number | null;
  /** From the kill to the survivor's own transition to active (its transition log), ms. */
  takeoverLoggedMs: number | null;
  /** From restarting the killed box to the pair being active/passive again, ms. */
  recoveryMs: number | null;
  /** HA state of the restarted box at the end (passive with preemption off). */
  recoveredState: string | null;
  probes: {
    sent: number;
    received: number;
    /** sent - received. */
    lost: number;
    /** Lost before the first one arrived (the path being set up: ARP for the gateway). */
    lostBeforeFirst: number;
    /** Lost between the first and the last arrival: what the failover cost. */
    lostDuringRun: number;
    /** Longest silence at the receiver, ms, and when it started (wall clock). */
    maxGapMs: number;
    maxGapAt: string | null;
    gapsOver5Ms: number;
  } | null;
  tcp: { total: number; connected: number; survived: number; reset: number } | null;
  /** Per step: the crash (kill -9 to the restart) and the restore (the restart to the end). */
  steps: DemoStep[];
  /** The failover picture as copied for the user, and in the run dir (gone after the teardown). */
  svg: string | null;
  /** Everything went as it should: a takeover, no connection lost, the pair whole again. */
  ok: boolean;
  /** What went wrong, when something did. */
  errors: string[];
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatDemoTable(r: DemoResult): string {
  const crashStep = r.steps.find((s) => s.step === 'crash');
  const rows: Array<[string, string]> = [
    ['box killed (kill -9)', r.killed ?? '-'],
    ['took over', r.tookOver ?? 'nobody'],
    ['takeover by its log', r.takeoverLoggedMs === null ? '-' : `${r.takeoverLoggedMs} ms`],
    ['takeover by the API', r.takeoverMs === null ? '-' : `${r.takeoverMs} ms`],
    ['traffic gap at the takeover', crashStep ? (crashStep.changeGapMs === 0 ? 'none over 5 ms' : formatGapMs(crashStep.changeGapMs)) : '-'],
    ['longest gap in the run (1 ms UDP probes)', r.probes ? `${r.probes.maxGapMs.toFixed(1)} ms` : '-'],
    ['probes lost in the run / sent', r.probes
        ? `${r.probes.lostDuringRun} / ${r.probes.sent}${r.probes.lost > r.probes.lostDuringRun ? ` (+${r.probes.lost - r.probes.lostDuringRun} before the path was up or still in flight)` : ''}`
        : '-'],
    ['TCP connections surviving', r.tcp ? `${r.tcp.survived} / ${r.tcp.total}` : '-'],
    ['recovery (killed box back)', r.recoveryMs === null ? '-' : `${r.recoveryMs} ms, ${r.recoveredState ?? '?'}`],
    ['failover picture', r.svg ?? '-'],
    ['result', r.ok ? 'OK' : `FAILED${r.errors.length ? `: ${r.errors.join('; ')}` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const main = rows.map(([k, v]) => `  ${pad(k, w)}  ${v}`).join('\n');
  return r.steps.length > 0 ? `${formatStepTable(r.steps)}\n\n${main}` : main;
}

/** One row per step: the gap, the loss, the TCP connections alive, the state change. */
export function formatStepTable(steps: readonly DemoStep[]): string {
  const head = ['step', 'gap at the change', 'longest gap', 'gaps > 5 ms', 'probes lost', 'TCP alive', 'state change'];
  const rows = steps.map((s) => [
    s.step,
    s.changeGapMs === 0 ? 'none > 5 ms' : formatGapMs(s.changeGapMs),
    s.gaps === 0 ? 'none' : formatGapMs(s.maxGapMs),
    String(s.gaps),
    String(s.probesLost),
    `${s.tcpAlive === null ? '?' : s.tcpAlive} / ${s.tcpTotal}`,
    s.change,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]))).join('   ')}`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A silence at the receiver on the wall clock (epoch ms). */
export interface WallGap {
  startMs: number;
  gapMs: number;
  skipped: number;
}

/** The receiver's gaps (relative to its first arrival) on the wall clock. */
export function wallGaps(recv: ReceiverSummary): WallGap[] {
  // the histogram's anchor has sub-ms resolution; firstArrivalAt (ISO) only ms
  const origin = recv.arrivals?.startEpochMs ?? (recv.firstArrivalAt ? Date.parse(recv.firstArrivalAt) : null);
  if (origin === null) return [];
  return recv.gaps.map((g) => ({ startMs: origin + g.startMs, gapMs: g.gapMs, skipped: g.skipped }));
}

/** The gaps that began in [fromMs, toMs): how many, the longest, the probes skipped across them. */
export function gapsBetween(gaps: readonly WallGap[], fromMs: number, toMs: number): { count: number; maxGapMs: number; lost: number } {
  const inside = gaps.filter((g) => g.startMs >= fromMs && g.startMs < toMs);
  return {
    count: inside.length,
    maxGapMs: inside.reduce((m, g) => Math.max(m, g.gapMs), 0),
    lost: inside.reduce((n, g) => n + g.skipped, 0),
  };
}

/** The longest silence that spans any part of [fromMs, toMs]: what a state change cost. */
export function gapAcross(gaps: readonly WallGap[], fromMs: number, toMs: number): WallGap | null {
  let best: WallGap | null = null;
  for (const g of gaps) {
    if (g.startMs <= toMs && g.startMs + g.gapMs >= fromMs && (best === null || g.gapMs > best.gapMs)) best = g;
  }
  return best;
}

/** A transition from a daemon's log (GET /v1/status transitions). */
export interface SeenTransition {
  box: LabBox;
  atMs: number;
  from: string;
  to: string;
  reason: string;
}

/** When the demo itself saw things happen (its own clock). */
export interface DemoClockTimes {
  /** The traffic started: state changes from here on are part of the picture. */
  trafficAt?: number;
  killedAt: number;
  /** The survivor answered active through its API. */
  takeoverSeenAt: number | null;
  restartAt: number | null;
  /** The pair was active/passive again by the APIs. */
  recoveredSeenAt: number | null;
}

/**
 * The picture's markers: the kill and the restart on the demo's clock; the takeover and the
 * return from the daemons' transition logs when they have them, else when the demo saw them.
 */
export function timelineMarkers(
  killed: LabBox,
  survivor: LabBox,
  times: DemoClockTimes,
  transitions: readonly SeenTransition[],
): { markers: TimelineMarker[]; clockNote: string; takeoverLoggedAt: number | null } {
  const markers: TimelineMarker[] = [{ atMs: times.killedAt, label: `kill -9 ${killed}`, kind: 'crash' }];
  const used = new Set<SeenTransition>();
  const fromLog: string[] = [];
  const fromDemo: string[] = ['kill -9'];

  const takeover = transitions.find((t) => t.box === survivor && t.to === 'active' && t.atMs >= times.killedAt - CRASH_WINDOW_BEFORE_MS);
  if (takeover) {
    used.add(takeover);
    markers.push({ atMs: takeover.atMs, label: `${survivor} active`, kind: 'takeover' });
    fromLog.push(`${survivor} active`);
  } else if (times.takeoverSeenAt !== null) {
    markers.push({ atMs: times.takeoverSeenAt, label: `${survivor} active (seen by the demo)`, kind: 'takeover' });
    fromDemo.push(`${survivor} active`);
  }
  if (times.restartAt !== null) {
    markers.push({ atMs: times.restartAt, label: `${killed} restarted`, kind: 'restart' });
    fromDemo.push('restart');
    const back = transitions.find((t) => t.box === killed && t.atMs >= times.restartAt! && (t.to === 'passive' || t.to === 'active'));
    if (back) {
      used.add(back);
      markers.push({ atMs: back.atMs, label: `${killed} back (${back.to})`, kind: 'recovered' });
      fromLog.push(`${killed} back`);
    } else if (times.recoveredSeenAt !== null) {
      markers.push({ atMs: times.recoveredSeenAt, label: `${killed} back (seen by the demo)`, kind: 'recovered' });
      fromDemo.push(`${killed} back`);
    }
  }
  // any other state change while the traffic ran is part of the story (a flap, a monitor failing)
  for (const t of transitions) {
    if (used.has(t) || t.atMs < (times.trafficAt ?? times.killedAt - CRASH_WINDOW_BEFORE_MS)) continue;
    if (t.from === 'initial' && t.box === killed) continue; // the restarted box starting up
    markers.push({ atMs: t.atMs, label: `${t.box} ${t.from} \u2192 ${t.to}`, kind: 'other' });
  }
  const clockNote =
    `Times: ${fromDemo.join(', ')} on the demo's clock` +
    (fromLog.length > 0 ? `; ${fromLog.join(', ')} from the daemons' own transition logs (ms resolution)` : '') +
    "; probe arrivals on the receiver's clock. One machine: one wall clock.";
  return { markers, clockNote, takeoverLoggedAt: takeover?.atMs ?? null };
}

/** Established TCP connections from the client to the demo's stream port (its socket table). */
async function establishedConnections(lab: Lab): Promise<number | null> {
  try {
    const { stdout } = await nsExec(lab.ns('client'), 'ss', ['-Htn', 'state', 'established', 'dport', '=', `:${DEMO_STREAM_PORT}`], { timeoutMs: 2000 });
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    return null;
  }
}

async function boxTransitions(lab: Lab, box: LabBox): Promise<SeenTransition[]> {
  try {
    const st = await lab.api(box, 2000).status();
    return (st.transitions ?? []).map((t) => ({ box, atMs: Date.parse(t.at), from: t.from, to: t.to, reason: t.reason })).filter((t) => Number.isFinite(t.atMs));
  } catch {
    return [];
  }
}

/** What the live view shows, kept up to date by a poll of both APIs and the client's sockets. */
class DemoMonitor {
  private readonly t0 = Date.now();
  private step = 'starting';
  private stepStart = Date.now();
  private stepTimeoutMs: number | null = null;
  readonly boxes: Record<LabBox, BoxSnapshot> = {
    fwa: { state: null, reason: null, sessions: null, running: false },
    fwb: { state: null, reason: null, sessions: null, running: false },
  };
  probes: LiveSnapshot['probes'] = null;
  tcp: LiveSnapshot['tcp'] = null;
  /** Some box answered a session count at least once (the tests' stand-in never does). */
  sessionsSeen = false;
  /** Read the client's sockets (once traffic runs). */
  watchTcp = false;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private lastPoll = 0;
  private lastSs = 0;

  constructor(
    private readonly lab: Lab,
    private readonly view: LiveView,
    private readonly everyMs: number,
  ) {}

  setStep(step: string, timeoutMs: number | null = null): void {
    this.step = step;
    this.stepStart = Date.now();
    this.stepTimeoutMs = timeoutMs;
    this.view.update(this.snapshot());
  }

  snapshot(): LiveSnapshot {
    const now = Date.now();
    return {
      name: this.lab.name,
      elapsedMs: now - this.t0,
      step: this.step,
      stepElapsedMs: now - this.stepStart,
      stepTimeoutMs: this.stepTimeoutMs,
      boxes: { fwa: { ...this.boxes.fwa }, fwb: { ...this.boxes.fwb } },
      probes: this.probes ? { ...this.probes } : null,
      tcp: this.tcp ? { ...this.tcp } : null,
    };
  }

  onReceiver(live: Record<string, unknown>): void {
    const num = (k: string): number => (typeof live[k] === 'number' ? (live[k] as number) : 0);
    this.probes = {
      sent: this.probes?.sent ?? null,
      received: num('received'),
      lost: num('lost'),
      silenceMs: typeof live.sinceLastMs === 'number' ? live.sinceLastMs : null,
      maxGapMs: num('maxGapMs'),
    };
  }

  onSender(live: Record<string, unknown>): void {
    const sent = typeof live.sent === 'number' ? live.sent : null;
    this.probes = this.probes ? { ...this.probes, sent } : { sent, received: 0, lost: 0, silenceMs: null, maxGapMs: 0 };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // the APIs at most every API_POLL_MS, and a slow answer (a box under load) skips polls rather
    // than piling requests up; the view redraws meanwhile with what is known
    const now = Date.now();
    if (!this.polling && now - this.lastPoll >= API_POLL_MS) {
      this.polling = true;
      this.lastPoll = now;
      void this.poll().finally(() => {
        this.polling = false;
      });
    }
    this.view.update(this.snapshot());
  }

  async poll(): Promise<void> {
    await Promise.all(
      (['fwa', 'fwb'] as const).map(async (box) => {
        const running = this.lab.pid(box) !== null;
        const st = running ? await this.lab.boxState(box, 500) : null;
        let sessions: number | null = null;
        if (st) {
          try {
            sessions = (await this.lab.api(box, 500).sessions({}, 0)).total;
            this.sessionsSeen = true;
          } catch {
            sessions = null; // a daemon without the sessions endpoint (the tests' stand-in)
          }
        }
        this.boxes[box] = { state: st?.state ?? null, reason: st?.reason ?? null, sessions, running };
      }),
    );
    // ss is a process per call: once a second is enough
    if (this.watchTcp && Date.now() - this.lastSs >= SS_POLL_MS) {
      this.lastSs = Date.now();
      const alive = await establishedConnections(this.lab);
      this.tcp = { alive, total: this.tcp?.total ?? DEMO_TCP_CONNS };
    }
  }
}

export async function labDemo(opts: DemoOptions): Promise<DemoResult> {
  const stream: NodeJS.WritableStream = typeof opts.out === 'object' ? opts.out : process.stderr;
  const resultFile = typeof opts.out === 'string' ? opts.out : null;
  const tty = opts.tty ?? (stream as { isTTY?: boolean }).isTTY === true;
  const view = new LiveView(stream, { tty, color: tty });
  const say = (line: string): void => view.event(`demo ${opts.name}: ${line}`);
  const result: DemoResult = {
    name: opts.name,
    killed: null,
    tookOver: null,
    takeoverMs: null,
    takeoverLoggedMs: null,
    recoveryMs: null,
    recoveredState: null,
    probes: null,
    tcp: null,
    steps: [],
    svg: null,
    ok: false,
    errors: [],
  };
  const lab = new Lab(opts.name);
  const monitor = new DemoMonitor(lab, view, tty ? LIVE_TTY_MS : LIVE_PLAIN_MS);

  // Ctrl-C or a kill of the demo: tear down, then exit as interrupted
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    monitor.stop();
    view.close();
    say(`${signal}: tearing down`);
    void labDown({ name: opts.name, out: stream })
      .catch((err: unknown) => say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const helpers: Array<LabProcess<unknown>> = [];
  try {
    monitor.start();
    monitor.setStep('building the lab and starting both daemons');
    await labUp({ name: opts.name, configDir: opts.configDir, daemonCommand: opts.daemonCommand, out: view.stream });
    const common = { repo: lab.repo, marker: lab.runDir };

    const trafficAt = Date.now();
    monitor.setStep('starting traffic');
    say(`starting traffic: UDP probes every ${PROBE_INTERVAL_MS} ms and ${DEMO_TCP_CONNS} TCP streams, client ${LAB_ADDR.client} -> server ${LAB_ADDR.server}`);
    const receiver = await startProbeReceiver(lab.ns('server'), {
      ...common,
      port: DEMO_PROBE_PORT,
      outFile: join(lab.runDir, 'probe.json'),
      pidFile: join(lab.runDir, 'probe-receiver.pid'),
      binMs: 1,
      liveMs: PROBE_LIVE_MS,
      onLive: (l) => monitor.onReceiver(l),
    });
    helpers.push(receiver);
    const echo = await startStreamServer(lab.ns('server'), { ...common, port: DEMO_STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
    helpers.push(echo);
    const sender = await startProbeSender(lab.ns('client'), {
      ...common,
      to: `${LAB_ADDR.server}:${DEMO_PROBE_PORT}`,
      intervalMs: PROBE_INTERVAL_MS,
      pidFile: join(lab.runDir, 'probe-sender.pid'),
      liveMs: PROBE_LIVE_MS,
      onLive: (l) => monitor.onSender(l),
    });
    helpers.push(sender);
    monitor.tcp = { alive: null, total: DEMO_TCP_CONNS };
    monitor.watchTcp = true;
    const streams = await startStreamClient(lab.ns('client'), {
      ...common,
      to: `${LAB_ADDR.server}:${DEMO_STREAM_PORT}`,
      conns: DEMO_TCP_CONNS,
      pidFile: join(lab.runDir, 'stream-client.pid'),
    });
    helpers.push(streams);
    if (streams.connected < DEMO_TCP_CONNS) {
      result.errors.push(`only ${streams.connected} of ${DEMO_TCP_CONNS} TCP connections came up before the failover`);
      say(`warning: only ${streams.connected} of ${DEMO_TCP_CONNS} TCP connections came up (is the dataplane forwarding?)`);
    }
    monitor.setStep('warm-up: traffic through the active box', WARMUP_MS);
    await sleep(WARMUP_MS);

    const pair = await lab.waitForPair(5000, view.stream);
    const survivor: LabBox = pair.passive;
    await waitForSync(monitor, pair.active, pair.passive, say);

    result.killed = pair.active;
    monitor.setStep(`crash: waiting for ${survivor} to take over`, TAKEOVER_TIMEOUT_MS);
    say(`kill -9 of the active box ${pair.active} (pid ${lab.pid(pair.active)})`);
    const times: DemoClockTimes = { trafficAt, killedAt: Date.now(), takeoverSeenAt: null, restartAt: null, recoveredSeenAt: null };
    await lab.killBox(pair.active, 'SIGKILL');
    try {
      await lab.waitFor(async () => (await lab.boxState(survivor, 500))?.state === 'active', TAKEOVER_TIMEOUT_MS, `${survivor} to become active`);
      times.takeoverSeenAt = Date.now();
      result.tookOver = survivor;
      result.takeoverMs = times.takeoverSeenAt - times.killedAt;
      say(`${survivor} is active ${result.takeoverMs} ms after the kill (by its API)`);
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
      say(`no takeover: ${result.errors[result.errors.length - 1]}`);
    }

    monitor.setStep(`${survivor} alone: traffic through it`, AFTER_TAKEOVER_MS);
    await sleep(AFTER_TAKEOVER_MS);
    const tcpAfterCrash = await establishedConnections(lab);
    monitor.setStep(`restore: restarting ${pair.active}, waiting for the pair`, RECOVERY_TIMEOUT_MS);
    say(`restarting ${pair.active} (recovery)`);
    times.restartAt = Date.now();
    await lab.startBox(pair.active);
    try {
      const again = await lab.waitForPair(RECOVERY_TIMEOUT_MS, view.stream);
      times.recoveredSeenAt = Date.now();
      result.recoveryMs = times.recoveredSeenAt - times.restartAt;
      result.recoveredState = (await lab.boxState(pair.active))?.state ?? null;
      say(`pair whole again: ${again.active} active, ${again.passive} passive (${result.recoveryMs} ms)`);
    } catch (err) {
      result.errors.push(`recovery: ${err instanceof Error ? err.message : String(err)}`);
      result.recoveredState = (await lab.boxState(pair.active))?.state ?? null;
    }
    monitor.setStep('settling: traffic through the pair', SETTLE_MS);
    await sleep(SETTLE_MS);
    // the pair should still be as the recovery left it: the survivor active (preemption is off)
    const finalStates = { [survivor]: await lab.boxState(survivor), [pair.active]: await lab.boxState(pair.active) } as Record<LabBox, { state: string; reason: string } | null>;
    const rolesKept = finalStates[survivor]?.state === 'active' && finalStates[pair.active]?.state === 'passive';
    if (result.recoveryMs !== null && !rolesKept) {
      const words = (b: LabBox): string => `${b} ${finalStates[b] ? `${finalStates[b]!.state} (${finalStates[b]!.reason})` : 'not answering'}`;
      result.errors.push(`the roles changed after the restore: ${words(survivor)}, ${words(pair.active)}`);
    }
    const transitions = [...(await boxTransitions(lab, 'fwa')), ...(await boxTransitions(lab, 'fwb'))].sort((a, b) => a.atMs - b.atMs);

    monitor.setStep('stopping traffic and counting');
    monitor.watchTcp = false;
    const stoppedAt = Date.now();
    const sent = (await sender.stop()) as SenderSummary;
    const tcp = (await streams.stop()) as StreamSummary;
    await sleep(100); // the last probes in flight
    const recv = (await receiver.stop()) as ReceiverSummary;
    await echo.stop().catch(() => undefined);
    helpers.length = 0;
    monitor.stop();
    view.close();

    const maxGapAt =
      recv.maxGap && recv.firstArrivalAt ? new Date(Date.parse(recv.firstArrivalAt) + recv.maxGap.startMs).toISOString() : null;
    result.probes = {
      sent: sent.sent,
      received: recv.received,
      lost: Math.max(0, sent.sent - recv.received),
      lostBeforeFirst: recv.firstSeq ?? sent.sent,
      lostDuringRun: recv.lost,
      maxGapMs: Math.round(recv.maxGapMs * 10) / 10,
      maxGapAt,
      gapsOver5Ms: recv.gapCount,
    };
    result.tcp = { total: tcp.total, connected: tcp.connected, survived: tcp.survived, reset: tcp.reset };

    const marks = timelineMarkers(pair.active, survivor, times, transitions);
    if (marks.takeoverLoggedAt !== null) result.takeoverLoggedMs = marks.takeoverLoggedAt - times.killedAt;
    const gaps = wallGaps(recv);
    const takeoverAt = marks.markers.find((m) => m.kind === 'takeover')?.atMs ?? times.killedAt + TAKEOVER_TIMEOUT_MS;
    const backAt = marks.markers.find((m) => m.kind === 'recovered')?.atMs ?? times.restartAt;
    const crashGap = gapAcross(gaps, times.killedAt, takeoverAt);
    const restoreGap = gapAcross(gaps, times.restartAt, backAt);
    // a step owns the silence across its change even when that silence began earlier
    const crash = gapsBetween(gaps, Math.min(times.killedAt - CRASH_WINDOW_BEFORE_MS, crashGap?.startMs ?? Infinity), times.restartAt);
    const restore = gapsBetween(gaps, Math.min(times.restartAt, restoreGap?.startMs ?? Infinity), stoppedAt + 1000);
    result.steps = [
      {
        step: 'crash',
        changeGapMs: crashGap ? Math.round(crashGap.gapMs * 10) / 10 : 0,
        maxGapMs: Math.round(crash.maxGapMs * 10) / 10,
        gaps: crash.count,
        probesLost: crash.lost,
        tcpAlive: tcpAfterCrash,
        tcpTotal: DEMO_TCP_CONNS,
        change: result.tookOver
          ? `${survivor} active ${result.takeoverLoggedMs !== null ? `${result.takeoverLoggedMs} ms after kill -9 (its log)` : `${result.takeoverMs} ms after kill -9 (by its API)`}`
          : 'no takeover',
      },
      {
        step: 'restore',
        changeGapMs: restoreGap ? Math.round(restoreGap.gapMs * 10) / 10 : 0,
        maxGapMs: Math.round(restore.maxGapMs * 10) / 10,
        gaps: restore.count,
        probesLost: restore.lost,
        tcpAlive: tcp.survived,
        tcpTotal: tcp.total,
        change:
          (result.recoveryMs !== null ? `${pair.active} back ${result.recoveredState ?? '?'} ${result.recoveryMs} ms after the restart` : `${pair.active} not back`) +
          (result.recoveryMs !== null && !rolesKept ? `; then ${survivor} ${finalStates[survivor]?.state ?? '?'}, ${pair.active} ${finalStates[pair.active]?.state ?? '?'}` : ''),
      },
    ];

    const data: TimelineData = {
      title: `tandem failover: kill -9 of ${pair.active}, ${survivor} takes over`,
      subtitle:
        `lab ${opts.name}, ${new Date(times.killedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC; ` +
        `UDP probes ${LAB_ADDR.client} -> ${LAB_ADDR.server} every ${PROBE_INTERVAL_MS} ms; ` +
        `${crashGap ? `failover gap ${formatGapMs(crashGap.gapMs)}` : 'no gap over 5 ms at the takeover'}, ` +
        `${recv.lost} probes lost in the run, TCP ${tcp.survived}/${tcp.total} survived`,
      arrivals: recv.arrivals ?? null,
      zeroMs: times.killedAt,
      markers: marks.markers,
      gaps: gaps.map((g) =>
        g === crashGap
          ? { startMs: g.startMs, gapMs: g.gapMs, label: `failover gap ${formatGapMs(g.gapMs)}` }
          : g === restoreGap
            ? { startMs: g.startMs, gapMs: g.gapMs, label: `rejoin gap ${formatGapMs(g.gapMs)}` }
            : { startMs: g.startMs, gapMs: g.gapMs },
      ),
      probeIntervalMs: PROBE_INTERVAL_MS,
      clockNote: marks.clockNote,
    };
    result.svg = writePicture(timelineSvg(data), lab.runDir, opts.svg);
    say(`failover picture: ${result.svg}`);

    if (tcp.survived < tcp.total) {
      const why = tcp.conns.filter((c) => !c.survived).map((c) => `#${c.id}: ${c.error ?? 'not connected'}`);
      result.errors.push(`${tcp.total - tcp.survived} TCP connection(s) lost (${why.slice(0, 4).join(', ')}${why.length > 4 ? ', ...' : ''})`);
    }
    if (recv.received === 0) result.errors.push('no probe reached the server');
    if (result.recoveredState !== null && result.recoveredState !== 'passive') {
      result.errors.push(`the restarted box is ${result.recoveredState}, expected passive (preemption is off)`);
    }
    result.ok = result.errors.length === 0 && result.tookOver !== null && result.recoveredState === 'passive';

    stream.write(`\n${formatDemoTable(result)}\n\n`);
  } catch (err) {
    monitor.stop();
    view.close();
    result.errors.push(err instanceof Error ? err.message : String(err));
    result.ok = false;
    if (!interrupted) stream.write(`\n${formatDemoTable(result)}\n\n`);
    throw err;
  } finally {
    monitor.stop();
    view.close();
    await Promise.allSettled(helpers.map((h) => h.stop(3000)));
    if (!interrupted) {
      say('tearing down');
      await labDown({ name: opts.name, out: stream }).catch((err: unknown) =>
        say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (resultFile) writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  }
  return result;
}

/**
 * After the warm-up: the passive should hold the active's sessions before the crash (else the
 * demo shows a sync race, not a failover). Waits up to SYNC_WAIT_MS; a daemon that does not
 * report sessions is not waited for.
 */
async function waitForSync(monitor: DemoMonitor, active: LabBox, passive: LabBox, say: (line: string) => void): Promise<void> {
  monitor.setStep(`waiting for sync: ${passive} to hold ${active}'s sessions`, SYNC_WAIT_MS);
  const start = Date.now();
  for (;;) {
    // the monitor keeps polling both APIs in the background (it did through the warm-up)
    const a = monitor.boxes[active].sessions;
    const p = monitor.boxes[passive].sessions;
    // a daemon that never reports sessions (the tests' stand-in) is not waited for; one that
    // missed an answer (busy) is asked again
    if (!monitor.sessionsSeen) return;
    if (a !== null && p !== null && a > 0 && p >= a) {
      say(`sessions synced: ${active} ${a}, ${passive} ${p}`);
      return;
    }
    if (Date.now() - start > SYNC_WAIT_MS) {
      say(`sessions not all synced after ${SYNC_WAIT_MS / 1000} s (${active} ${a}, ${passive} ${p}): crashing anyway`);
      return;
    }
    await sleep(API_POLL_MS);
  }
}

/** Writes the picture into the run dir and copies it for the user; returns the user's copy. */
function writePicture(svg: string, runDir: string, target: string | undefined): string {
  const inRun = join(runDir, DEMO_SVG_NAME);
  writeFileSync(inRun, svg);
  const dest = resolve(target ?? DEMO_SVG_NAME);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(inRun, dest);
  return dest;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
