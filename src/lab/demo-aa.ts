// `tandem lab demo --mode active-active`: the active/active lab up, probes and TCP streams from both
// clients (client goes out through device 0, client2 through device 1, the server answers each
// through the other box), both boxes forwarding, `kill -9` of the active-primary, the survivor
// carrying every flow, the killed box rejoining as active-secondary; each box's packet rates per
// phase, each client's gaps, the setup decisions, and a picture of it all; always a teardown.
// The active/passive demo (demo.ts) is untouched: it has one client and one box forwarding.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SetupDecisions } from '../wire/pair-status.js';
import { phaseRate, rateSeries } from './box-rates.js';
import { AA_CLIENTS, CLIENT_VIA, PairDemoMonitor, type AaClient } from './demo-aa-monitor.js';
import { emptyAaDemoResult, formatAaDemoTable, type AaDemoResult, type AaPhase, type AaPhaseName } from './demo-aa-result.js';
import { establishedConnections } from './demo-monitor.js';
import {
  ACTIVE_ACTIVE_NAMES,
  gapAcross,
  gapStartingIn,
  timelineMarkers,
  wallGaps,
  type DemoClockTimes,
  type SeenTransition,
  type WallGap,
} from './demo-timeline.js';
import { boxTransitions, writePicture, type DemoOptions } from './demo.js';
import { DEMO_TCP6_CONNS, measure6, startTraffic6, stopReceivers6, stopSenders6, type Counted6, type Traffic6 } from './demo-ipv6.js';
import { Lab, labDown, labUp, type LabBox } from './lab.js';
import { LiveView } from './live-view.js';
import { pairTimelineSvg } from './pair-timeline-svg.js';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';
import { formatGapMs, type TimelineMarker } from './timeline-svg.js';
import { LAB_ADDR, LAB_ADDR6 } from './topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from './traffic.js';

/** Each client's probes go to their own receiver port (the lab's policy allows 5000-5999). */
export const AA_PROBE_PORT: Record<AaClient, number> = { client: 5000, client2: 5002 };
export const AA_STREAM_PORT = 5001;
/** TCP streams per client. */
export const AA_TCP_CONNS = 8;
const PROBE_INTERVAL_MS = 1;
/**
 * Traffic starts this long after the pair settled: streams started within a second of it saw, in
 * about one run of six, client2's connections stall (docs/active-active.md "Known limits").
 */
const SETTLED_WAIT_MS = 1000;
const WARMUP_MS = 3000;
/** After the warm-up, how long to wait for both tables to hold every session. */
const SYNC_WAIT_MS = 5000;
const TAKEOVER_TIMEOUT_MS = 10_000;
const ALONE_MS = 2000;
const RECOVERY_TIMEOUT_MS = 20_000;
const SETTLE_MS = 3000;
/** A phase's rates start this long after its change: the class moving (GARP) and the sessions' adoption are the change's, not the phase's. */
const PHASE_LEAD_MS = 300;
/**
 * The rejoin's gap may begin a little after the returning box's transition: it takes its class
 * back and announces it then, and the old holder keeps the frames 100 ms (HAND_BACK_MS) more.
 */
const REJOIN_AFTER_MS = 200;
const LIVE_TTY_MS = 250;
const LIVE_PLAIN_MS = 500;
const PROBE_LIVE_MS = 100;
export const AA_DEMO_SVG_NAME = 'tandem-active-active.svg';

interface AaRun {
  opts: DemoOptions;
  stream: NodeJS.WritableStream;
  view: LiveView;
  say: (line: string) => void;
  result: AaDemoResult;
  lab: Lab;
  monitor: PairDemoMonitor;
  helpers: Array<LabProcess<unknown>>;
  interrupted: boolean;
  onSignal: (signal: NodeJS.Signals) => void;
}

/** One client's traffic: probes to its own receiver, TCP streams to the shared echo server. */
interface ClientTraffic {
  receiver: LabProcess<ReceiverSummary>;
  sender: LabProcess<SenderSummary>;
  streams: LabProcess<StreamSummary>;
}

interface Traffic {
  startedAt: number;
  echo: LabProcess<Record<string, never>>;
  clients: Record<AaClient, ClientTraffic>;
  /** client's IPv6 probes and streams (demo-ipv6.ts): out through device 0's fe80::1, answered through device 1. */
  v6: Traffic6;
}

interface ClientCounted {
  sent: SenderSummary;
  tcp: StreamSummary;
  recv: ReceiverSummary;
}

/** When things happened, on the demo's clock. */
interface AaTimes extends DemoClockTimes {
  trafficAt: number;
  restartAt: number | null;
}

export async function labDemoActiveActive(opts: DemoOptions): Promise<AaDemoResult> {
  const run = startRun(opts);
  const resultFile = typeof opts.out === 'string' ? opts.out : null;
  try {
    await runSteps(run);
    run.stream.write(`\n${formatAaDemoTable(run.result)}\n\n`);
  } catch (err) {
    run.monitor.stop();
    run.view.close();
    run.result.errors.push(err instanceof Error ? err.message : String(err));
    run.result.ok = false;
    if (!run.interrupted) run.stream.write(`\n${formatAaDemoTable(run.result)}\n\n`);
    throw err;
  } finally {
    await tearDown(run);
    if (resultFile) writeFileSync(resultFile, `${JSON.stringify(run.result, null, 2)}\n`);
  }
  return run.result;
}

function startRun(opts: DemoOptions): AaRun {
  const stream: NodeJS.WritableStream = typeof opts.out === 'object' ? opts.out : process.stderr;
  const tty = opts.tty ?? (stream as { isTTY?: boolean }).isTTY === true;
  const view = new LiveView(stream, { tty, color: tty });
  const lab = new Lab(opts.name);
  const run: AaRun = {
    opts,
    stream,
    view,
    say: (line) => view.event(`demo ${opts.name}: ${line}`),
    result: emptyAaDemoResult(opts.name),
    lab,
    monitor: new PairDemoMonitor(lab, view, tty ? LIVE_TTY_MS : LIVE_PLAIN_MS, { port: AA_STREAM_PORT, total: AA_TCP_CONNS }),
    helpers: [],
    interrupted: false,
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

async function runSteps(run: AaRun): Promise<void> {
  const { lab, monitor, opts, view, result } = run;
  monitor.start();
  monitor.setStep('building the active/active lab and starting both daemons');
  await labUp({ name: opts.name, mode: 'active-active', configDir: opts.configDir, daemonCommand: opts.daemonCommand, out: view.stream });
  const pair = await lab.waitForPair(5000, view.stream);
  const [primary, secondary] = [pair.active, pair.passive];
  monitor.setStep('the pair settles before traffic', SETTLED_WAIT_MS);
  await sleep(SETTLED_WAIT_MS);
  const traffic = await startTraffic(run);
  monitor.setStep('both boxes forward: client through device 0, client2 through device 1', WARMUP_MS);
  await sleep(WARMUP_MS);
  result.phases.push(phaseOf(run, 'both', 'both forwarding', traffic.startedAt + 1000, Date.now()));
  await waitForTables(run);
  const times = await crash(run, primary, secondary, traffic.startedAt);
  await alone(run, primary, secondary, times);
  await rejoin(run, primary, times);
  result.decisions = { fwa: await decisionsOf(lab, 'fwa'), fwb: await decisionsOf(lab, 'fwb') };
  await checkRoles(run, primary, secondary);
  const transitions = [...(await boxTransitions(lab, 'fwa')), ...(await boxTransitions(lab, 'fwb'))].sort((a, b) => a.atMs - b.atMs);
  result.stateChanges = stateChanges(transitions, times);
  const { counted, v6 } = await stopTraffic(run, traffic);
  const marks = timelineMarkers(primary, secondary, times, transitions, ACTIVE_ACTIVE_NAMES);
  if (marks.takeoverLoggedAt !== null) result.takeoverLoggedMs = marks.takeoverLoggedAt - times.killedAt;
  result.ipv6 = measure6(v6, times.killedAt, marks.markers.find((m) => m.kind === 'takeover')?.atMs ?? times.killedAt + TAKEOVER_TIMEOUT_MS);
  const gaps = clientGaps(counted, times, marks.markers);
  result.clients = AA_CLIENTS.map((c) => clientResult(c, counted[c], gaps[c]));
  const svg = pairTimelineSvg({
    title: `tandem active/active: kill -9 of the primary ${primary}, ${secondary} carries every flow, ${primary} rejoins`,
    subtitle: subtitle(opts.name, times, result),
    zeroMs: times.killedAt,
    markers: marks.markers,
    clients: AA_CLIENTS.map((c) => ({ label: `${c} ${LAB_ADDR[c]} (${CLIENT_VIA[c]})`, arrivals: counted[c].recv.arrivals ?? null, gaps: labelled(gaps[c]) })),
    boxes: (['fwa', 'fwb'] as const).map((b) => ({ label: b, points: rateSeries(monitor.samples, b, 'forwarded') })),
    probeIntervalMs: PROBE_INTERVAL_MS,
    clockNote: marks.clockNote,
  });
  result.svg = writePicture(svg, lab.runDir, opts.svg, AA_DEMO_SVG_NAME);
  run.say(`picture: ${result.svg}`);
  judge(result, primary, secondary);
}

/** Both receivers and the echo server first, then each client's probes and TCP streams. */
async function startTraffic(run: AaRun): Promise<Traffic> {
  const { lab, monitor } = run;
  const common = { repo: lab.repo, marker: lab.runDir };
  const startedAt = Date.now();
  monitor.setStep('starting traffic from both clients');
  run.say(
    `starting traffic: from ${LAB_ADDR.client} (via device 0) and ${LAB_ADDR.client2} (via device 1) to ${LAB_ADDR.server}, ` +
      `UDP probes every ${PROBE_INTERVAL_MS} ms and ${AA_TCP_CONNS} TCP streams each`,
  );
  const echo = await startStreamServer(lab.ns('server'), { ...common, port: AA_STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
  run.helpers.push(echo);
  const clients = {} as Record<AaClient, ClientTraffic>;
  for (const c of AA_CLIENTS) {
    const receiver = await startProbeReceiver(lab.ns('server'), {
      ...common,
      port: AA_PROBE_PORT[c],
      outFile: join(lab.runDir, `probe-${c}.json`),
      pidFile: join(lab.runDir, `probe-receiver-${c}.pid`),
      binMs: 1,
      liveMs: PROBE_LIVE_MS,
      onLive: (l) => monitor.onClientReceiver(c, l),
    });
    run.helpers.push(receiver);
    const sender = await startProbeSender(lab.ns(c), {
      ...common,
      to: `${LAB_ADDR.server}:${AA_PROBE_PORT[c]}`,
      intervalMs: PROBE_INTERVAL_MS,
      pidFile: join(lab.runDir, `probe-sender-${c}.pid`),
      liveMs: PROBE_LIVE_MS,
      onLive: (l) => monitor.onClientSender(c, l),
    });
    run.helpers.push(sender);
    const streams = await startStreamClient(lab.ns(c), {
      ...common,
      to: `${LAB_ADDR.server}:${AA_STREAM_PORT}`,
      conns: AA_TCP_CONNS,
      pidFile: join(lab.runDir, `stream-client-${c}.pid`),
    });
    run.helpers.push(streams);
    if (streams.connected < AA_TCP_CONNS) {
      run.result.errors.push(`${c}: only ${streams.connected} of ${AA_TCP_CONNS} TCP connections came up before the crash`);
      run.say(`warning: ${c}: only ${streams.connected} of ${AA_TCP_CONNS} TCP connections came up`);
    }
    clients[c] = { receiver, sender, streams };
  }
  run.say(`and over IPv6: the same probes and ${DEMO_TCP6_CONNS} TCP streams, client ${LAB_ADDR6.client} -> server ${LAB_ADDR6.server}`);
  const v6 = await startTraffic6(lab, PROBE_INTERVAL_MS, (p) => run.helpers.push(p));
  if (v6.streams.connected < DEMO_TCP6_CONNS)
    run.result.errors.push(`only ${v6.streams.connected} of ${DEMO_TCP6_CONNS} IPv6 TCP connections came up before the crash`);
  monitor.watchClients = true;
  return { startedAt, echo, clients, v6 };
}

/** Each box's mean rates over [fromMs, toMs], said as the phase ends. */
function phaseOf(run: AaRun, phase: AaPhaseName, label: string, fromMs: number, toMs: number): AaPhase {
  const rates = { fwa: phaseRate(run.monitor.samples, 'fwa', fromMs, toMs), fwb: phaseRate(run.monitor.samples, 'fwb', fromMs, toMs) };
  const words = (b: LabBox): string =>
    rates[b] === null ? `${b} down` : `${b} forwards ${Math.round(rates[b].forwarded)}/s (${Math.round(rates[b]['to-owner'])}/s to the owner)`;
  run.say(`${label}: ${words('fwa')}, ${words('fwb')}`);
  return { phase, label, fromMs, toMs, rates };
}

/** Both boxes should hold every session (each its own and the peer's) before the crash. */
async function waitForTables(run: AaRun): Promise<void> {
  const { monitor } = run;
  monitor.setStep('waiting for both tables to hold every session', SYNC_WAIT_MS);
  const start = Date.now();
  for (;;) {
    const a = monitor.boxes.fwa.sessions;
    const b = monitor.boxes.fwb.sessions;
    if (!monitor.sessionsSeen) return;
    if (a !== null && b !== null && a > 0 && a === b) {
      run.say(`sessions on both boxes: fwa ${a}, fwb ${b}`);
      return;
    }
    if (Date.now() - start > SYNC_WAIT_MS) {
      run.say(`tables differ after ${SYNC_WAIT_MS / 1000} s (fwa ${a}, fwb ${b}): crashing anyway`);
      return;
    }
    await sleep(250);
  }
}

/** kill -9 of the active-primary; the secondary becomes the primary and takes its class. */
async function crash(run: AaRun, primary: LabBox, secondary: LabBox, trafficAt: number): Promise<AaTimes> {
  const { lab, result } = run;
  result.killed = primary;
  run.monitor.setStep(`crash: waiting for ${secondary} to become active-primary`, TAKEOVER_TIMEOUT_MS);
  run.say(`kill -9 of the active-primary ${primary} (pid ${lab.pid(primary)})`);
  const times: AaTimes = { trafficAt, killedAt: Date.now(), takeoverSeenAt: null, restartAt: null, recoveredSeenAt: null };
  await lab.killBox(primary, 'SIGKILL');
  try {
    await lab.waitFor(
      async () => (await lab.boxState(secondary, 500))?.state === 'active-primary',
      TAKEOVER_TIMEOUT_MS,
      `${secondary} to become active-primary`,
    );
    times.takeoverSeenAt = Date.now();
    result.tookOver = secondary;
    result.takeoverMs = times.takeoverSeenAt - times.killedAt;
    run.say(`${secondary} is active-primary ${result.takeoverMs} ms after the kill (by its API)`);
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
  }
  return times;
}

/** The survivor alone: it should carry both clients' flows. */
async function alone(run: AaRun, killed: LabBox, survivor: LabBox, times: AaTimes): Promise<void> {
  run.monitor.setStep(`${survivor} alone carries every flow`, ALONE_MS);
  await sleep(ALONE_MS);
  const from = (times.takeoverSeenAt ?? times.killedAt) + PHASE_LEAD_MS;
  run.result.phases.push(phaseOf(run, 'alone', `${survivor} alone (after kill -9 of ${killed})`, from, Date.now()));
  for (const c of AA_CLIENTS) {
    const alive = await establishedConnections(run.lab, AA_STREAM_PORT, c);
    run.say(`${c}: ${alive ?? '?'} of ${AA_TCP_CONNS} TCP connections established after the crash`);
  }
}

/** The killed box restarted: tentative until its bulk sync, then active-secondary with its class back. */
async function rejoin(run: AaRun, killed: LabBox, times: AaTimes): Promise<void> {
  const { lab, monitor, result } = run;
  monitor.setStep(`rejoin: restarting ${killed}, waiting for the pair`, RECOVERY_TIMEOUT_MS);
  run.say(`restarting ${killed} (rejoin)`);
  times.restartAt = Date.now();
  await lab.startBox(killed);
  try {
    await lab.waitForPair(RECOVERY_TIMEOUT_MS, run.view.stream);
    times.recoveredSeenAt = Date.now();
    result.recoveryMs = times.recoveredSeenAt - times.restartAt;
    result.recoveredState = (await lab.boxState(killed))?.state ?? null;
    run.say(`pair whole again: ${killed} ${result.recoveredState ?? '?'} ${result.recoveryMs} ms after the restart`);
  } catch (err) {
    result.errors.push(`rejoin: ${err instanceof Error ? err.message : String(err)}`);
    result.recoveredState = (await lab.boxState(killed))?.state ?? null;
  }
  monitor.setStep('both boxes forward again', SETTLE_MS);
  await sleep(SETTLE_MS);
  const from = (times.recoveredSeenAt ?? times.restartAt) + PHASE_LEAD_MS;
  result.phases.push(phaseOf(run, 'rejoined', `both again (${killed} rejoined)`, from, Date.now()));
}

/** After the rejoin and the settling time, the roles should be as the rejoin left them (preemption is off). */
async function checkRoles(run: AaRun, killed: LabBox, survivor: LabBox): Promise<void> {
  const { lab, result } = run;
  const [s, k] = [await lab.boxState(survivor), await lab.boxState(killed)];
  if (result.recoveryMs === null || (s?.state === 'active-primary' && k?.state === 'active-secondary')) return;
  const words = (b: LabBox, st: { state: string; reason: string } | null): string => `${b} ${st ? `${st.state} (${st.reason})` : 'not answering'}`;
  result.errors.push(`the roles changed after the rejoin: ${words(survivor, s)}, ${words(killed, k)}`);
}

/** Every state change since the traffic started, from the daemons' logs, ms from the kill. */
function stateChanges(transitions: readonly SeenTransition[], times: AaTimes): string[] {
  return transitions
    .filter((t) => t.atMs >= times.trafficAt)
    .map((t) => `${t.atMs >= times.killedAt ? '+' : ''}${Math.round(t.atMs - times.killedAt)} ms  ${t.box} ${t.from} -> ${t.to} (${t.reason})`);
}

/** A box's setup decisions from its API (null when it does not answer or reports none). */
async function decisionsOf(lab: Lab, box: LabBox): Promise<SetupDecisions | null> {
  try {
    const dp = (await lab.api(box, 2000).status()).dataplane as { activeActive?: { decisions?: SetupDecisions } } | undefined;
    return dp?.activeActive?.decisions ?? null;
  } catch {
    return null;
  }
}

/** Senders first, then (after the last probes in flight) the receivers and the echo server. */
async function stopTraffic(run: AaRun, traffic: Traffic): Promise<{ counted: Record<AaClient, ClientCounted>; v6: Counted6 }> {
  run.monitor.setStep('stopping traffic and counting');
  run.monitor.watchClients = false;
  const stopped = await Promise.all(
    AA_CLIENTS.map(async (c) => ({ c, sent: await traffic.clients[c].sender.stop(), tcp: await traffic.clients[c].streams.stop() })),
  );
  const senders6 = await stopSenders6(traffic.v6);
  await sleep(100);
  const counted = {} as Record<AaClient, ClientCounted>;
  for (const { c, sent, tcp } of stopped) counted[c] = { sent, tcp, recv: await traffic.clients[c].receiver.stop() };
  await traffic.echo.stop().catch(() => undefined);
  const recv6 = await stopReceivers6(traffic.v6);
  run.helpers.length = 0;
  run.monitor.stop();
  run.view.close();
  return { counted, v6: { ...senders6, recv: recv6 } };
}

interface ClientGaps {
  gaps: WallGap[];
  crashGap: WallGap | null;
  rejoinGap: WallGap | null;
}

/** Each client's silences, and the ones across the takeover and the rejoin (where the markers put them). */
function clientGaps(counted: Record<AaClient, ClientCounted>, times: AaTimes, markers: readonly TimelineMarker[]): Record<AaClient, ClientGaps> {
  const takeoverAt = markers.find((m) => m.kind === 'takeover')?.atMs ?? times.killedAt + TAKEOVER_TIMEOUT_MS;
  const restartAt = times.restartAt ?? Infinity;
  const backAt = markers.find((m) => m.kind === 'recovered')?.atMs ?? restartAt;
  const out = {} as Record<AaClient, ClientGaps>;
  for (const c of AA_CLIENTS) {
    const gaps = wallGaps(counted[c].recv);
    out[c] = { gaps, crashGap: gapAcross(gaps, times.killedAt, takeoverAt), rejoinGap: gapStartingIn(gaps, restartAt, backAt + REJOIN_AFTER_MS) };
  }
  return out;
}

function clientResult(c: AaClient, { sent, tcp, recv }: ClientCounted, g: ClientGaps): AaDemoResult['clients'][number] {
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    host: c,
    via: CLIENT_VIA[c],
    probes: { sent: sent.sent, received: recv.received, lostDuringRun: recv.lost, maxGapMs: round(recv.maxGapMs), gapsOver5Ms: recv.gapCount },
    crashGapMs: g.crashGap ? round(g.crashGap.gapMs) : 0,
    rejoinGapMs: g.rejoinGap ? round(g.rejoinGap.gapMs) : 0,
    tcp: {
      total: tcp.total,
      connected: tcp.connected,
      survived: tcp.survived,
      reset: tcp.reset,
      lostWhy: [...new Set(tcp.conns.filter((x) => !x.survived).map((x) => x.error ?? 'not connected'))],
    },
  };
}

/** A client's gaps for the picture, the two changes' named. */
function labelled({ gaps, crashGap, rejoinGap }: ClientGaps): { startMs: number; gapMs: number; label?: string }[] {
  return gaps.map((g) =>
    g === crashGap
      ? { startMs: g.startMs, gapMs: g.gapMs, label: `takeover gap ${formatGapMs(g.gapMs)}` }
      : g === rejoinGap
        ? { startMs: g.startMs, gapMs: g.gapMs, label: `rejoin gap ${formatGapMs(g.gapMs)}` }
        : { startMs: g.startMs, gapMs: g.gapMs },
  );
}

/** What ran and when, and the TCP streams' fate (each client's gaps are labelled in its panels). */
function subtitle(name: string, times: AaTimes, r: AaDemoResult): string {
  return (
    `lab ${name}, ${new Date(times.killedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC; from each client UDP probes every ${PROBE_INTERVAL_MS} ms ` +
    `and ${AA_TCP_CONNS} TCP streams; survived: ${r.clients.map((c) => `${c.host} ${c.tcp.survived}/${c.tcp.total}`).join(', ')}`
  );
}

/** The verdict: a takeover, both boxes forwarding before and after, every connection alive, the killed box back as secondary. */
function judge(r: AaDemoResult, killed: LabBox, survivor: LabBox): void {
  const rate = (phase: AaPhaseName, box: LabBox): number => r.phases.find((p) => p.phase === phase)?.rates[box]?.forwarded ?? 0;
  for (const box of [killed, survivor]) if (rate('both', box) <= 0) r.errors.push(`${box} forwarded nothing while both boxes were up`);
  if (rate('alone', survivor) <= 0) r.errors.push(`${survivor} forwarded nothing alone`);
  for (const c of r.clients) {
    if (c.probes.received === 0) r.errors.push(`no probe of ${c.host} reached the server`);
    if (c.tcp.survived < c.tcp.total)
      r.errors.push(`${c.host}: ${c.tcp.total - c.tcp.survived} TCP connection(s) lost (${c.tcp.lostWhy.slice(0, 3).join(', ')})`);
  }
  const v6 = r.ipv6;
  if (v6 !== null && v6.probes.received === 0) r.errors.push('no IPv6 probe reached the server');
  if (v6 !== null && v6.tcp.survived < v6.tcp.total) r.errors.push(`${v6.tcp.total - v6.tcp.survived} IPv6 TCP connection(s) lost`);
  if (r.recoveredState !== null && r.recoveredState !== 'active-secondary') {
    r.errors.push(`the restarted box is ${r.recoveredState}, expected active-secondary (preemption is off)`);
  }
  r.ok = r.errors.length === 0 && r.tookOver !== null && r.recoveredState === 'active-secondary';
}

async function tearDown(run: AaRun): Promise<void> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
