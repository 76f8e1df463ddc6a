// `tandem lab demo`: up, live traffic, `kill -9` of the active box, the takeover, the recovery,
// a table of what was measured, and always a teardown (also on an error or Ctrl-C).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, labDown, labUp, type LabBox } from './lab.js';
import { LAB_ADDR } from './topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from './traffic.js';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';

export const DEMO_PROBE_PORT = 5000;
export const DEMO_STREAM_PORT = 5001;
export const DEMO_TCP_CONNS = 8;
/** Traffic before the crash, so the sessions exist on both boxes (synced) when it happens. */
const WARMUP_MS = 2000;
/** How long to wait for the survivor to say active. */
const TAKEOVER_TIMEOUT_MS = 10_000;
/** Traffic keeps flowing after the recovery before it is stopped and counted. */
const SETTLE_MS = 2000;

export interface DemoOptions {
  name: string;
  /** A stream for progress lines and the table (default stderr), or a file path that receives the result as JSON. */
  out?: NodeJS.WritableStream | string;
  configDir?: string;
  /** See LabOptions.daemonCommand. */
  daemonCommand?: string[];
}

export interface DemoResult {
  name: string;
  /** The box killed with SIGKILL and the one that took over. */
  killed: LabBox | null;
  tookOver: LabBox | null;
  /** From the kill to the survivor reporting active through its API, ms. */
  takeoverMs: number | null;
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
  /** Everything went as it should: a takeover, no connection lost, the pair whole again. */
  ok: boolean;
  /** What went wrong, when something did. */
  errors: string[];
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatDemoTable(r: DemoResult): string {
  const rows: Array<[string, string]> = [
    ['box killed (kill -9)', r.killed ?? '-'],
    ['took over', r.tookOver ?? 'nobody'],
    ['takeover by the API', r.takeoverMs === null ? '-' : `${r.takeoverMs} ms`],
    ['traffic gap (UDP probes, 1 ms)', r.probes ? `${r.probes.maxGapMs.toFixed(1)} ms` : '-'],
    ['probes lost in the run / sent', r.probes
        ? `${r.probes.lostDuringRun} / ${r.probes.sent}${r.probes.lost > r.probes.lostDuringRun ? ` (+${r.probes.lost - r.probes.lostDuringRun} before the path was up or still in flight)` : ''}`
        : '-'],
    ['TCP connections surviving', r.tcp ? `${r.tcp.survived} / ${r.tcp.total}` : '-'],
    ['recovery (killed box back)', r.recoveryMs === null ? '-' : `${r.recoveryMs} ms, ${r.recoveredState ?? '?'}`],
    ['result', r.ok ? 'OK' : `FAILED${r.errors.length ? `: ${r.errors.join('; ')}` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${pad(k, w)}  ${v}`).join('\n');
}

export async function labDemo(opts: DemoOptions): Promise<DemoResult> {
  const stream: NodeJS.WritableStream = typeof opts.out === 'object' ? opts.out : process.stderr;
  const resultFile = typeof opts.out === 'string' ? opts.out : null;
  const say = (line: string): void => void stream.write(`demo ${opts.name}: ${line}\n`);
  const result: DemoResult = {
    name: opts.name,
    killed: null,
    tookOver: null,
    takeoverMs: null,
    recoveryMs: null,
    recoveredState: null,
    probes: null,
    tcp: null,
    ok: false,
    errors: [],
  };

  // Ctrl-C or a kill of the demo: tear down, then exit as interrupted
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: tearing down`);
    void labDown({ name: opts.name, out: stream })
      .catch((err: unknown) => say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const helpers: Array<LabProcess<unknown>> = [];
  try {
    say('bringing the lab up');
    await labUp({ name: opts.name, configDir: opts.configDir, daemonCommand: opts.daemonCommand, out: stream });
    const lab = new Lab(opts.name);
    const common = { repo: lab.repo, marker: lab.runDir };

    say(`starting traffic: UDP probes every 1 ms and ${DEMO_TCP_CONNS} TCP streams, client ${LAB_ADDR.client} -> server ${LAB_ADDR.server}`);
    const receiver = await startProbeReceiver(lab.ns('server'), {
      ...common,
      port: DEMO_PROBE_PORT,
      outFile: join(lab.runDir, 'probe.json'),
      pidFile: join(lab.runDir, 'probe-receiver.pid'),
    });
    helpers.push(receiver);
    const echo = await startStreamServer(lab.ns('server'), { ...common, port: DEMO_STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
    helpers.push(echo);
    const sender = await startProbeSender(lab.ns('client'), {
      ...common,
      to: `${LAB_ADDR.server}:${DEMO_PROBE_PORT}`,
      intervalMs: 1,
      pidFile: join(lab.runDir, 'probe-sender.pid'),
    });
    helpers.push(sender);
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
    await sleep(WARMUP_MS);

    const pair = await lab.waitForPair(5000, stream);
    result.killed = pair.active;
    const survivor: LabBox = pair.passive;
    say(`kill -9 of the active box ${pair.active} (pid ${lab.pid(pair.active)})`);
    const killedAt = Date.now();
    await lab.killBox(pair.active, 'SIGKILL');
    try {
      await lab.waitFor(async () => (await lab.boxState(survivor, 500))?.state === 'active', TAKEOVER_TIMEOUT_MS, `${survivor} to become active`);
      result.tookOver = survivor;
      result.takeoverMs = Date.now() - killedAt;
      say(`${survivor} is active ${result.takeoverMs} ms after the kill (by its API)`);
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
      say(`no takeover: ${result.errors[result.errors.length - 1]}`);
    }

    await sleep(1000);
    say(`restarting ${pair.active} (recovery)`);
    const restartAt = Date.now();
    await lab.startBox(pair.active);
    try {
      const again = await lab.waitForPair(20_000, stream);
      result.recoveryMs = Date.now() - restartAt;
      result.recoveredState = (await lab.boxState(pair.active))?.state ?? null;
      say(`pair whole again: ${again.active} active, ${again.passive} passive (${result.recoveryMs} ms)`);
    } catch (err) {
      result.errors.push(`recovery: ${err instanceof Error ? err.message : String(err)}`);
      result.recoveredState = (await lab.boxState(pair.active))?.state ?? null;
    }
    await sleep(SETTLE_MS);

    say('stopping traffic');
    const sent = (await sender.stop()) as SenderSummary;
    const tcp = (await streams.stop()) as StreamSummary;
    await sleep(100); // the last probes in flight
    const recv = (await receiver.stop()) as ReceiverSummary;
    await echo.stop().catch(() => undefined);
    helpers.length = 0;

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
    result.errors.push(err instanceof Error ? err.message : String(err));
    result.ok = false;
    if (!interrupted) stream.write(`\n${formatDemoTable(result)}\n\n`);
    throw err;
  } finally {
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
