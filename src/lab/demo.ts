// `tandem lab demo`: up, live traffic, `kill -9` of the active box, the takeover, the recovery,
// a table of what was measured, a picture of the failover timeline, and always a teardown (also
// on an error or Ctrl-C). While it runs, a live view shows both boxes, the probes and the TCP
// connections (demo-monitor.ts, live-view.ts). labDemo runs the steps below in order; what they
// measure is DemoResult (demo-result.ts), placed on the timeline by demo-timeline.ts.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { API_POLL_MS, DemoMonitor, establishedConnections } from './demo-monitor.js';
import { emptyDemoResult, formatDemoTable, type DemoResult, type DemoStep } from './demo-result.js';
import {
  CRASH_WINDOW_BEFORE_MS,
  gapAcross,
  gapsBetween,
  timelineMarkers,
  wallGaps,
  type DemoClockTimes,
  type SeenTransition,
  type WallGap,
} from './demo-timeline.js';
import { Lab, labDown, labUp, type LabBox } from './lab.js';
import { LiveView } from './live-view.js';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';
import { formatGapMs, timelineSvg, type TimelineData, type TimelineMarker } from './timeline-svg.js';
import { LAB_ADDR, LAB_ADDR6 } from './topology.js';
import { DEMO_TCP6_CONNS, measure6, startTraffic6, stopReceivers6, stopSenders6, type Counted6, type Traffic6 } from './demo-ipv6.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from './traffic.js';

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
 * The probe programs report this often: the sender's and the receiver's counts are read at
 * different moments, and at 1 probe/ms a slower report would show more received than sent.
 */
const PROBE_LIVE_MS = 100;
/** The picture's file name, in the run dir and (by default) where the demo was started. */
export const DEMO_SVG_NAME = 'tandem-failover.svg';

export type { DemoResult, DemoStep } from './demo-result.js';

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

/** One run of the demo: where it writes, what it has measured so far, what it must stop. */
interface DemoRun {
  opts: DemoOptions;
  stream: NodeJS.WritableStream;
  view: LiveView;
  say: (line: string) => void;
  result: DemoResult;
  lab: Lab;
  monitor: DemoMonitor;
  /** Traffic programs still running: the teardown stops them whatever happened. */
  helpers: Array<LabProcess<unknown>>;
  /** Ctrl-C or a kill of the demo: the signal handler tears down and exits. */
  interrupted: boolean;
  /** A property, not a method: it is handed to process.on as it is. */
  onSignal: (signal: NodeJS.Signals) => void;
}

/** The traffic through the pair: UDP probes one way, TCP streams echoed back. */
interface Traffic {
  startedAt: number;
  receiver: LabProcess<ReceiverSummary>;
  echo: LabProcess<Record<string, never>>;
  sender: LabProcess<SenderSummary>;
  streams: LabProcess<StreamSummary>;
  /** The same over IPv6 (demo-ipv6.ts). */
  v6: Traffic6;
}

/** What the traffic programs reported once stopped. */
interface Counted {
  stoppedAt: number;
  sent: SenderSummary;
  tcp: StreamSummary;
  recv: ReceiverSummary;
  v6: Counted6;
}

/** The pair as the demo left it: who was killed, who took over, when things happened. */
interface Story {
  killed: LabBox;
  survivor: LabBox;
  times: DemoClockTimes & { restartAt: number };
  /** Established TCP connections after the takeover, before the restart. */
  tcpAfterCrash: number | null;
  /** The states after the settling time, and whether the roles stayed as the recovery left them. */
  finalStates: Record<LabBox, { state: string; reason: string } | null>;
  rolesKept: boolean;
  transitions: SeenTransition[];
}

export async function labDemo(opts: DemoOptions): Promise<DemoResult> {
  const run = startRun(opts);
  const resultFile = typeof opts.out === 'string' ? opts.out : null;
  try {
    await runSteps(run);
    run.stream.write(`\n${formatDemoTable(run.result)}\n\n`);
  } catch (err) {
    run.monitor.stop();
    run.view.close();
    run.result.errors.push(err instanceof Error ? err.message : String(err));
    run.result.ok = false;
    if (!run.interrupted) run.stream.write(`\n${formatDemoTable(run.result)}\n\n`);
    throw err;
  } finally {
    await tearDown(run);
    if (resultFile) writeFileSync(resultFile, `${JSON.stringify(run.result, null, 2)}\n`);
  }
  return run.result;
}

/** The run's output, live view and monitor; Ctrl-C or a kill from here on tears the lab down. */
function startRun(opts: DemoOptions): DemoRun {
  const stream: NodeJS.WritableStream = typeof opts.out === 'object' ? opts.out : process.stderr;
  const tty = opts.tty ?? (stream as { isTTY?: boolean }).isTTY === true;
  const view = new LiveView(stream, { tty, color: tty });
  const lab = new Lab(opts.name);
  const run: DemoRun = {
    opts,
    stream,
    view,
    say: (line) => view.event(`demo ${opts.name}: ${line}`),
    result: emptyDemoResult(opts.name),
    lab,
    monitor: new DemoMonitor(lab, view, tty ? LIVE_TTY_MS : LIVE_PLAIN_MS, { port: DEMO_STREAM_PORT, total: DEMO_TCP_CONNS }),
    helpers: [],
    interrupted: false,
    // tear down, then exit as interrupted
    onSignal: (signal) => {
      if (run.interrupted) return;
      run.interrupted = true;
      run.monitor.stop();
      run.view.close();
      run.say(`${signal}: tearing down`);
      void labDown({ name: opts.name, out: stream })
        .catch((err: unknown) => run.say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    },
  };
  process.on('SIGINT', run.onSignal);
  process.on('SIGTERM', run.onSignal);
  return run;
}

async function runSteps(run: DemoRun): Promise<void> {
  const { lab, monitor, opts, view } = run;
  monitor.start();
  monitor.setStep('building the lab and starting both daemons');
  await labUp({ name: opts.name, configDir: opts.configDir, daemonCommand: opts.daemonCommand, out: view.stream });
  const traffic = await startTraffic(run);
  monitor.setStep('warm-up: traffic through the active box', WARMUP_MS);
  await sleep(WARMUP_MS);
  const pair = await lab.waitForPair(5000, view.stream);
  await waitForSync(monitor, pair.active, pair.passive, run.say);
  const times = await crash(run, pair.active, pair.passive, traffic.startedAt);
  const story = await restore(run, pair.active, pair.passive, times);
  const counted = await stopTraffic(run, traffic);
  const marks = timelineMarkers(story.killed, story.survivor, story.times, story.transitions);
  const gaps = changeGaps(story.times, counted.recv, marks.markers);
  const takeoverAt = marks.markers.find((m) => m.kind === 'takeover')?.atMs ?? story.times.killedAt + TAKEOVER_TIMEOUT_MS;
  run.result.ipv6 = measure6(counted.v6, story.times.killedAt, takeoverAt);
  measure(run.result, story, counted, marks.takeoverLoggedAt, gaps);
  run.result.svg = writePicture(timelineSvg(timelineData(opts.name, story, counted, marks, gaps)), lab.runDir, opts.svg);
  run.say(`failover picture: ${run.result.svg}`);
  judge(run.result, counted);
}

/** Starts the receiver and the echo server, then the probes and the TCP streams towards them. */
async function startTraffic(run: DemoRun): Promise<Traffic> {
  const { lab, monitor } = run;
  const common = { repo: lab.repo, marker: lab.runDir };
  const startedAt = Date.now();
  monitor.setStep('starting traffic');
  run.say(
    `starting traffic: UDP probes every ${PROBE_INTERVAL_MS} ms and ${DEMO_TCP_CONNS} TCP streams, client ${LAB_ADDR.client} -> server ${LAB_ADDR.server}`,
  );
  const receiver = await startProbeReceiver(lab.ns('server'), {
    ...common,
    port: DEMO_PROBE_PORT,
    outFile: join(lab.runDir, 'probe.json'),
    pidFile: join(lab.runDir, 'probe-receiver.pid'),
    binMs: 1,
    liveMs: PROBE_LIVE_MS,
    onLive: (l) => monitor.onReceiver(l),
  });
  run.helpers.push(receiver);
  const echo = await startStreamServer(lab.ns('server'), { ...common, port: DEMO_STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
  run.helpers.push(echo);
  const sender = await startProbeSender(lab.ns('client'), {
    ...common,
    to: `${LAB_ADDR.server}:${DEMO_PROBE_PORT}`,
    intervalMs: PROBE_INTERVAL_MS,
    pidFile: join(lab.runDir, 'probe-sender.pid'),
    liveMs: PROBE_LIVE_MS,
    onLive: (l) => monitor.onSender(l),
  });
  run.helpers.push(sender);
  monitor.tcp = { alive: null, total: DEMO_TCP_CONNS };
  monitor.watchTcp = true;
  const streams = await startStreamClient(lab.ns('client'), {
    ...common,
    to: `${LAB_ADDR.server}:${DEMO_STREAM_PORT}`,
    conns: DEMO_TCP_CONNS,
    pidFile: join(lab.runDir, 'stream-client.pid'),
  });
  run.helpers.push(streams);
  if (streams.connected < DEMO_TCP_CONNS) {
    run.result.errors.push(`only ${streams.connected} of ${DEMO_TCP_CONNS} TCP connections came up before the failover`);
    run.say(`warning: only ${streams.connected} of ${DEMO_TCP_CONNS} TCP connections came up (is the dataplane forwarding?)`);
  }
  run.say(`and over IPv6: the same probes and ${DEMO_TCP6_CONNS} TCP streams, client ${LAB_ADDR6.client} -> server ${LAB_ADDR6.server}`);
  const v6 = await startTraffic6(lab, PROBE_INTERVAL_MS, (p) => run.helpers.push(p));
  if (v6.streams.connected < DEMO_TCP6_CONNS)
    run.result.errors.push(`only ${v6.streams.connected} of ${DEMO_TCP6_CONNS} IPv6 TCP connections came up before the failover`);
  return { startedAt, receiver, echo, sender, streams, v6 };
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

/** kill -9 of the active box, then the survivor's takeover as its API shows it. */
async function crash(run: DemoRun, active: LabBox, survivor: LabBox, trafficAt: number): Promise<DemoClockTimes> {
  const { lab, result } = run;
  result.killed = active;
  run.monitor.setStep(`crash: waiting for ${survivor} to take over`, TAKEOVER_TIMEOUT_MS);
  run.say(`kill -9 of the active box ${active} (pid ${lab.pid(active)})`);
  const times: DemoClockTimes = { trafficAt, killedAt: Date.now(), takeoverSeenAt: null, restartAt: null, recoveredSeenAt: null };
  await lab.killBox(active, 'SIGKILL');
  try {
    await lab.waitFor(async () => (await lab.boxState(survivor, 500))?.state === 'active', TAKEOVER_TIMEOUT_MS, `${survivor} to become active`);
    times.takeoverSeenAt = Date.now();
    result.tookOver = survivor;
    result.takeoverMs = times.takeoverSeenAt - times.killedAt;
    run.say(`${survivor} is active ${result.takeoverMs} ms after the kill (by its API)`);
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    run.say(`no takeover: ${result.errors[result.errors.length - 1]}`);
  }
  return times;
}

/**
 * The survivor alone for a while, then the killed box restarted and the pair whole again; after
 * the settling time the roles should be as the recovery left them (preemption is off).
 */
async function restore(run: DemoRun, killed: LabBox, survivor: LabBox, crashTimes: DemoClockTimes): Promise<Story> {
  const { lab, monitor, result } = run;
  monitor.setStep(`${survivor} alone: traffic through it`, AFTER_TAKEOVER_MS);
  await sleep(AFTER_TAKEOVER_MS);
  const tcpAfterCrash = await establishedConnections(lab, DEMO_STREAM_PORT);
  monitor.setStep(`restore: restarting ${killed}, waiting for the pair`, RECOVERY_TIMEOUT_MS);
  run.say(`restarting ${killed} (recovery)`);
  const times = { ...crashTimes, restartAt: Date.now() };
  await lab.startBox(killed);
  try {
    const again = await lab.waitForPair(RECOVERY_TIMEOUT_MS, run.view.stream);
    times.recoveredSeenAt = Date.now();
    result.recoveryMs = times.recoveredSeenAt - times.restartAt;
    result.recoveredState = (await lab.boxState(killed))?.state ?? null;
    run.say(`pair whole again: ${again.active} active, ${again.passive} passive (${result.recoveryMs} ms)`);
  } catch (err) {
    result.errors.push(`recovery: ${err instanceof Error ? err.message : String(err)}`);
    result.recoveredState = (await lab.boxState(killed))?.state ?? null;
  }
  monitor.setStep('settling: traffic through the pair', SETTLE_MS);
  await sleep(SETTLE_MS);
  const finalStates = { [survivor]: await lab.boxState(survivor), [killed]: await lab.boxState(killed) } as Story['finalStates'];
  const rolesKept = finalStates[survivor]?.state === 'active' && finalStates[killed]?.state === 'passive';
  if (result.recoveryMs !== null && !rolesKept) {
    const words = (b: LabBox): string => `${b} ${finalStates[b] ? `${finalStates[b].state} (${finalStates[b].reason})` : 'not answering'}`;
    result.errors.push(`the roles changed after the restore: ${words(survivor)}, ${words(killed)}`);
  }
  const transitions = [...(await boxTransitions(lab, 'fwa')), ...(await boxTransitions(lab, 'fwb'))].sort((a, b) => a.atMs - b.atMs);
  return { killed, survivor, times, tcpAfterCrash, finalStates, rolesKept, transitions };
}

/** Stops the senders first, then (after the last probes in flight) the receiver and the echo server. */
async function stopTraffic(run: DemoRun, traffic: Traffic): Promise<Counted> {
  run.monitor.setStep('stopping traffic and counting');
  run.monitor.watchTcp = false;
  const stoppedAt = Date.now();
  const sent = await traffic.sender.stop();
  const tcp = await traffic.streams.stop();
  const senders6 = await stopSenders6(traffic.v6);
  await sleep(100); // the last probes in flight
  const recv = await traffic.receiver.stop();
  await traffic.echo.stop().catch(() => undefined);
  const recv6 = await stopReceivers6(traffic.v6);
  run.helpers.length = 0;
  run.monitor.stop();
  run.view.close();
  return { stoppedAt, sent, tcp, recv, v6: { ...senders6, recv: recv6 } };
}

/** The receiver's silences on the wall clock, and the longest across each state change. */
interface ChangeGaps {
  gaps: WallGap[];
  crashGap: WallGap | null;
  restoreGap: WallGap | null;
}

/** The probes, the TCP connections and the two steps (crash, restore) into the result. */
function measure(
  result: DemoResult,
  story: Story,
  { stoppedAt, sent, tcp, recv }: Counted,
  takeoverLoggedAt: number | null,
  { gaps, crashGap, restoreGap }: ChangeGaps,
): void {
  const maxGapAt = recv.maxGap && recv.firstArrivalAt ? new Date(Date.parse(recv.firstArrivalAt) + recv.maxGap.startMs).toISOString() : null;
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
  const { times } = story;
  if (takeoverLoggedAt !== null) result.takeoverLoggedMs = takeoverLoggedAt - times.killedAt;
  // a step owns the silence across its change even when that silence began earlier
  const crashWindow = gapsBetween(gaps, Math.min(times.killedAt - CRASH_WINDOW_BEFORE_MS, crashGap?.startMs ?? Infinity), times.restartAt);
  const restoreWindow = gapsBetween(gaps, Math.min(times.restartAt, restoreGap?.startMs ?? Infinity), stoppedAt + 1000);
  result.steps = [
    stepOf('crash', crashGap, crashWindow, story.tcpAfterCrash, DEMO_TCP_CONNS, crashChange(result, story.survivor)),
    stepOf('restore', restoreGap, restoreWindow, tcp.survived, tcp.total, restoreChange(result, story)),
  ];
}

/** The takeover and the return are where the markers put them, or the end of their waits. */
function changeGaps(times: Story['times'], recv: ReceiverSummary, markers: readonly TimelineMarker[]): ChangeGaps {
  const gaps = wallGaps(recv);
  const takeoverAt = markers.find((m) => m.kind === 'takeover')?.atMs ?? times.killedAt + TAKEOVER_TIMEOUT_MS;
  const backAt = markers.find((m) => m.kind === 'recovered')?.atMs ?? times.restartAt;
  return { gaps, crashGap: gapAcross(gaps, times.killedAt, takeoverAt), restoreGap: gapAcross(gaps, times.restartAt, backAt) };
}

function stepOf(
  step: DemoStep['step'],
  changeGap: WallGap | null,
  window: { count: number; maxGapMs: number; lost: number },
  tcpAlive: number | null,
  tcpTotal: number,
  change: string,
): DemoStep {
  return {
    step,
    changeGapMs: changeGap ? Math.round(changeGap.gapMs * 10) / 10 : 0,
    maxGapMs: Math.round(window.maxGapMs * 10) / 10,
    gaps: window.count,
    probesLost: window.lost,
    tcpAlive,
    tcpTotal,
    change,
  };
}

function crashChange(result: DemoResult, survivor: LabBox): string {
  if (!result.tookOver) return 'no takeover';
  return `${survivor} active ${result.takeoverLoggedMs !== null ? `${result.takeoverLoggedMs} ms after kill -9 (its log)` : `${result.takeoverMs} ms after kill -9 (by its API)`}`;
}

function restoreChange(result: DemoResult, { killed, survivor, rolesKept, finalStates }: Story): string {
  return (
    (result.recoveryMs !== null ? `${killed} back ${result.recoveredState ?? '?'} ${result.recoveryMs} ms after the restart` : `${killed} not back`) +
    (result.recoveryMs !== null && !rolesKept
      ? `; then ${survivor} ${finalStates[survivor]?.state ?? '?'}, ${killed} ${finalStates[killed]?.state ?? '?'}`
      : '')
  );
}

/** The failover picture's content: the arrivals, the markers, the gaps (the two changes' named). */
function timelineData(
  name: string,
  story: Story,
  { recv, tcp }: Counted,
  marks: ReturnType<typeof timelineMarkers>,
  { gaps, crashGap, restoreGap }: ChangeGaps,
): TimelineData {
  const { times } = story;
  return {
    title: `tandem failover: kill -9 of ${story.killed}, ${story.survivor} takes over`,
    subtitle:
      `lab ${name}, ${new Date(times.killedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC; ` +
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
}

/** What went wrong, and the verdict: a takeover, no connection lost, the restarted box passive. */
function judge(result: DemoResult, { tcp, recv }: Counted): void {
  if (tcp.survived < tcp.total) {
    const why = tcp.conns.filter((c) => !c.survived).map((c) => `#${c.id}: ${c.error ?? 'not connected'}`);
    result.errors.push(`${tcp.total - tcp.survived} TCP connection(s) lost (${why.slice(0, 4).join(', ')}${why.length > 4 ? ', ...' : ''})`);
  }
  if (recv.received === 0) result.errors.push('no probe reached the server');
  const v6 = result.ipv6;
  if (v6 !== null && v6.probes.received === 0) result.errors.push('no IPv6 probe reached the server');
  if (v6 !== null && v6.tcp.survived < v6.tcp.total) result.errors.push(`${v6.tcp.total - v6.tcp.survived} IPv6 TCP connection(s) lost`);
  if (result.recoveredState !== null && result.recoveredState !== 'passive') {
    result.errors.push(`the restarted box is ${result.recoveredState}, expected passive (preemption is off)`);
  }
  result.ok = result.errors.length === 0 && result.tookOver !== null && result.recoveredState === 'passive';
}

/** Stops whatever still runs and, unless a signal is already doing it, removes the lab. */
async function tearDown(run: DemoRun): Promise<void> {
  run.monitor.stop();
  run.view.close();
  await Promise.allSettled(run.helpers.map((h) => h.stop(3000)));
  if (!run.interrupted) {
    run.say('tearing down');
    await labDown({ name: run.opts.name, out: run.stream }).catch((err: unknown) =>
      run.say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
  process.removeListener('SIGINT', run.onSignal);
  process.removeListener('SIGTERM', run.onSignal);
}

/** A box's transitions from its API (the active/active demo reads them too); [] when it does not answer. */
export async function boxTransitions(lab: Lab, box: LabBox): Promise<SeenTransition[]> {
  try {
    const st = await lab.api(box, 2000).status();
    return (st.transitions ?? [])
      .map((t) => ({ box, atMs: Date.parse(t.at), from: t.from, to: t.to, reason: t.reason }))
      .filter((t) => Number.isFinite(t.atMs));
  } catch {
    return [];
  }
}

/** Writes the picture into the run dir and copies it for the user; returns the user's copy. */
export function writePicture(svg: string, runDir: string, target: string | undefined, fileName = DEMO_SVG_NAME): string {
  const inRun = join(runDir, fileName);
  writeFileSync(inRun, svg);
  const dest = resolve(target ?? fileName);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(inRun, dest);
  return dest;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
