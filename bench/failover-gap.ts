// bench/failover-gap: how long traffic stops when the active box fails, measured with real frames
// in the namespace lab, and whether a saturated dataplane causes false failovers.
//
//   npm run bench:failover-gap -- [--runs 5] [--modes kill,stop,cut,pull] [--saturate-s 60]
//       [--stall-conns 100] [--stall-interval-ms 10] [--survive-conns 10000] [--survive-runs 1]
//       [--survive-interval-ms 1000]
//
// Per run: a fresh lab, a UDP probe every 1 ms from client to server through the floating IPs and
// --stall-conns TCP connections (src/lab/stream.ts, source NATed, each writing 1 KiB every
// --stall-interval-ms and checking the echo), synced to the passive, 1.5 s of steady traffic, then
// the failure of the active box:
//   kill  kill -9 of its daemon (the peer sees its HA1 sessions closed by the kernel)
//   stop  SIGSTOP of its daemon (silent: the peer must miss heartbeats for the dead interval)
//   cut   every link of the box pulled (traffic and HA links: silent, like a dead switch port)
//   pull  its WAN cable pulled at the switch: HA is fine, its link monitor fails it over (the peer
//         still sees its own WAN up, so no additional hold-up is waited; not in the default list)
// then 1.5 s more. The gap is the longest silence at the receiver; lost = sent - received. An
// IPv6 probe runs beside the IPv4 one in the same run (client 2001:db8:1::10 -> server
// 2001:db8:2::10, no NAT; --ipv6 0 leaves it out): its row follows each IPv4 row. The TCP
// stall is the longest time any connection had data outstanding with no echo arriving.
// Survival (per failure kind, --survive-runs labs): --survive-conns TCP connections (10 stream
// clients of up to 1000 each, one 1 KiB write per connection every --survive-interval-ms, staggered),
// waited for until the passive holds them all (established, by its API) and its sync-applied
// counter (metrics socket) has settled, the failure, 3 s more, then every connection must
// have all its data echoed and no reset.
// False failovers: one lab, a UDP blaster saturating the active box's dataplane for --saturate-s,
// and every HA transition on either box during that time counted (there should be none).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Lab, labDown, labUp, repoRoot, type LabBox, type LabMode } from '../src/lab/lab.js';
import { IO_VARIANTS, type IoVariant } from './lib/io-variants.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from '../src/lab/traffic.js';
import type { ReceiverSummary, SenderSummary } from '../src/lab/probe.js';
import type { StreamSummary } from '../src/lab/stream.js';

/** kill -9, SIGSTOP, every link cut, or the WAN cable pulled at the switch (link monitoring fails it over). */
type Mode = 'kill' | 'stop' | 'cut' | 'pull';
const SERVER = '10.0.2.10';
const SERVER6 = '2001:db8:2::10';
const PROBE_PORT = 5001;
/** The IPv6 probe stream beside the IPv4 one, in the same run (same failure). */
const PROBE6_PORT = 5003;
const BLAST_PORT = 5999;
const STEADY_MS = 1500;
const AFTER_MS = 1500;
const STREAM_PORT = 5002;
/** After the failure in a survival run: every connection writes a few times through the new active. */
const SURVIVE_AFTER_MS = 3000;
const SURVIVE_STEADY_MS = 1000;
const CLIENT_MAX_CONNS = 1000;

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const runs = Number(argv.get('runs') ?? '5');
const modes = (argv.get('modes') ?? 'kill,stop,cut').split(',').filter((m) => m !== '') as Mode[];
const saturateS = Number(argv.get('saturate-s') ?? '60');
/** One blaster tops out near what the dataplane forwards; two make the dataplane the bottleneck. */
const blasters = Number(argv.get('blasters') ?? '2');
const stallConns = Number(argv.get('stall-conns') ?? '100');
/** An IPv6 probe beside the IPv4 one (--ipv6 0: none); in active/active its answers cross HA3 as the IPv4 probe's do. */
const withV6 = argv.get('ipv6') !== '0';
const stallIntervalMs = Number(argv.get('stall-interval-ms') ?? '10');
const surviveConns = Number(argv.get('survive-conns') ?? '10000');
const surviveRuns = Number(argv.get('survive-runs') ?? '1');
const surviveIntervalMs = Number(argv.get('survive-interval-ms') ?? '1000');
/**
 * --timers INTERVAL,MISSED,HOLD overrides the lab's aggressive profile (heartbeat interval ms,
 * heartbeats missed, promotion hold ms) in a temporary copy of deploy/lab, to measure other
 * settings side by side with the same probes.
 */
const timersArg = argv.get('timers');
/** --encryption none|aes-256-gcm sets shared.ha.encryption in the same temporary copy. */
const encryptionArg = argv.get('encryption');
if (encryptionArg !== undefined && encryptionArg !== 'none' && encryptionArg !== 'aes-256-gcm')
  throw new Error(`--encryption: expected none or aes-256-gcm (got ${encryptionArg})`);
/** --io VARIANT (bench/lib/io-variants.ts) sets device.dataplane in the same temporary copy. */
const ioArg = argv.get('io');
if (ioArg !== undefined && !(ioArg in IO_VARIANTS)) throw new Error(`--io: expected one of ${Object.keys(IO_VARIANTS).join(', ')} (got ${ioArg})`);
/**
 * --lab-mode active-active runs the active/active lab (deploy/lab/active-active: the client's
 * flows go out through device 0 and come back through device 1); --fail primary|secondary picks
 * the box that fails there (default primary; the secondary's failure moves no role, the primary
 * takes its addresses and sessions). Active/passive knows only the active's failure.
 */
const labModeArg = argv.get('lab-mode') ?? 'active-passive';
if (labModeArg !== 'active-passive' && labModeArg !== 'active-active')
  throw new Error(`--lab-mode: expected active-passive or active-active (got ${labModeArg})`);
const labMode: LabMode = labModeArg;
const failWhich = argv.get('fail') ?? 'primary';
if (failWhich !== 'primary' && (failWhich !== 'secondary' || labMode !== 'active-active'))
  throw new Error(`--fail: expected primary, or secondary with --lab-mode active-active (got ${failWhich})`);
if (labMode === 'active-active' && (timersArg || encryptionArg || ioArg))
  throw new Error('--lab-mode active-active takes the lab configs as they are (no --timers, --encryption, --io)');
const configDir = timersArg || encryptionArg || ioArg ? labConfigWithTimers(timersArg) : undefined;
/** The state of the box that carries the primary role: active, or active-primary in active/active. */
const PRIMARY_STATE = labMode === 'active-active' ? 'active-primary' : 'active';

function labConfigWithTimers(spec: string | undefined): string {
  const [heartbeatIntervalMs, heartbeatMissed, promotionHoldMs] = (spec ?? '0,0,0').split(',').map(Number);
  if (![heartbeatIntervalMs, heartbeatMissed, promotionHoldMs].every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error('--timers: expected INTERVAL_MS,MISSED,HOLD_MS, e.g. 5,4,0');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-cfg-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const box of ['fwa', 'fwb']) {
    const cfg = parseYaml(readFileSync(join(repoRoot(), 'deploy', 'lab', `${box}.yaml`), 'utf8')) as {
      shared: { ha: Record<string, unknown> };
      device: Record<string, unknown>;
    };
    if (spec) cfg.shared.ha.timers = { profile: 'aggressive', heartbeatIntervalMs, heartbeatMissed, promotionHoldMs };
    if (encryptionArg) cfg.shared.ha.encryption = encryptionArg;
    if (ioArg) cfg.device.dataplane = IO_VARIANTS[ioArg as IoVariant];
    writeFileSync(join(dir, `${box}.yaml`), stringifyYaml(cfg));
  }
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labName = () => `bf${randomBytes(3).toString('hex')}`;

interface RunResult {
  mode: Mode;
  gapMs: number;
  lost: number;
  sent: number;
  /** The IPv6 probe beside it (null with --ipv6 0 or in active/active, which carries IPv4 only). */
  v6: { gapMs: number; lost: number; sent: number } | null;
  takeoverMs: number | null;
  newActive: string | null;
  reason: string | null;
  /** TCP streams beside the probe (null with --stall-conns 0). */
  tcp: {
    conns: number;
    connected: number;
    survived: number;
    reset: number;
    stallMs: number;
    medianConnStallMs: number;
    stallEndAfterFailureMs: number | null;
    syncedMs: number;
  } | null;
}

interface SurvivalResult {
  mode: Mode;
  conns: number;
  connected: number;
  /** From the last client connected to the passive holding every connection. */
  syncedMs: number;
  passiveTcpSessions: number;
  syncApplied: number;
  takeoverMs: number | null;
  survived: number;
  reset: number;
  /** Other failures (echo incomplete, mismatch, ...) by kind. */
  errors: Record<string, number>;
  maxStallMs: number;
  newActiveTcpNoSessionDrops: number | null;
  /** Segments the survivor refused as outside their TCP window (tcp-window.ts): a legitimate one never is. */
  newActiveTcpOutOfWindowDrops: number | null;
}

const metricsSock = (lab: Lab, box: LabBox) => join(lab.runDir, `${box}-metrics.sock`);

/**
 * Until `box` (the passive) holds at least `conns` established TCP sessions to the stream port (by
 * its API; its tandem_sessions_active gauge reads 0 on a passive, synced sessions are not counted
 * there) and its sync-applied counter (metrics socket) has not moved for two polls.
 */
async function waitSynced(lab: Lab, box: LabBox, conns: number, timeoutMs: number): Promise<{ ms: number; tcp: number; applied: number }> {
  let prev = -1;
  let stable = 0;
  let tcp = 0;
  let applied = 0;
  const ms = await lab
    .waitFor(
      async () => {
        const m = await scrape(metricsSock(lab, box));
        tcp = (await lab.api(box, 5000).sessions({ protocol: 'tcp', port: STREAM_PORT, state: 'established' }, 1)).matched;
        applied = sum(m, 'tandem_dataplane_packets_total', 'event="sync-applied"');
        stable = applied === prev ? stable + 1 : 0;
        prev = applied;
        return tcp >= conns && stable >= 2;
      },
      timeoutMs,
      `${box} to hold ${conns} synced established TCP sessions`,
    )
    .catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)} (it holds ${tcp} established, ${applied} records applied)`);
    });
  return { ms, tcp, applied };
}

async function activeBox(lab: Lab): Promise<LabBox> {
  return (await lab.boxState('fwa'))?.state === PRIMARY_STATE ? 'fwa' : 'fwb';
}

async function fail(lab: Lab, mode: Mode, box: LabBox): Promise<number | null> {
  if (mode === 'kill') await lab.killBox(box, 'SIGKILL');
  else if (mode === 'stop') return lab.killBox(box, 'SIGSTOP');
  else if (mode === 'pull') await lab.setLink(box, 'wan', false);
  else await lab.isolateBox(box, true);
  return null;
}

async function waitTakeover(lab: Lab, box: LabBox, t0: number): Promise<{ takeoverMs: number | null; reason: string | null }> {
  let reason: string | null = null;
  try {
    await lab.waitFor(
      async () => {
        // the secondary's failure moves no role: the survivor takes over once it declares the peer down
        if (failWhich === 'secondary') {
          const st = await lab.api(box).status();
          reason = st.local.reason;
          return !st.peer.up;
        }
        const s = await lab.boxState(box, 500);
        reason = s?.reason ?? null;
        return s?.state === PRIMARY_STATE;
      },
      5000,
      `${box} active`,
    );
    return { takeoverMs: Date.now() - t0, reason };
  } catch {
    return { takeoverMs: null, reason }; // reported as no takeover
  }
}

async function oneRun(mode: Mode): Promise<RunResult> {
  const name = labName();
  await labUp({ name, configDir, mode: labMode });
  const lab = new Lab(name);
  const repo = repoRoot();
  let frozenPid: number | null = null;
  const stops: (() => Promise<unknown>)[] = [];
  try {
    let cl: (LabProcess<StreamSummary> & { connected: number }) | null = null;
    if (stallConns > 0) {
      const srv = await startStreamServer(lab.ns('server'), { repo, marker: lab.runDir, port: STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
      stops.push(() => srv.stop());
      cl = await startStreamClient(lab.ns('client'), {
        repo,
        marker: lab.runDir,
        to: `${SERVER}:${STREAM_PORT}`,
        conns: stallConns,
        intervalMs: stallIntervalMs,
        pidFile: join(lab.runDir, 'stream-client.pid'),
      });
      stops.push(() => cl!.stop());
    }
    const rx = await startProbeReceiver(lab.ns('server'), {
      repo,
      marker: lab.runDir,
      port: PROBE_PORT,
      outFile: join(lab.runDir, 'rx.json'),
      pidFile: join(lab.runDir, 'probe-rx.pid'),
    });
    stops.push(() => rx.stop());
    const tx = await startProbeSender(lab.ns('client'), {
      repo,
      marker: lab.runDir,
      to: `${SERVER}:${PROBE_PORT}`,
      intervalMs: 1,
      pidFile: join(lab.runDir, 'probe-tx.pid'),
    });
    stops.push(() => tx.stop());
    const probe6 = withV6 ? await startProbe6(lab, repo, stops) : null;
    const primary: LabBox = await activeBox(lab);
    const [active, other]: LabBox[] = failWhich === 'secondary' ? [primary === 'fwa' ? 'fwb' : 'fwa', primary] : [primary, primary === 'fwa' ? 'fwb' : 'fwa'];
    const synced = cl ? await waitSynced(lab, other, stallConns, 10_000) : null;
    await sleep(STEADY_MS);
    const t0 = Date.now();
    frozenPid = await fail(lab, mode, active);
    const { takeoverMs, reason } = await waitTakeover(lab, other, t0);
    await sleep(AFTER_MS);
    const sent = await tx.stop();
    const sent6 = probe6 ? await probe6.tx.stop() : null;
    await sleep(100);
    const got = await rx.stop();
    const got6 = probe6 ? await probe6.rx.stop() : null;
    let tcp: RunResult['tcp'] = null;
    if (cl) {
      const ss = await cl.stop();
      tcp = {
        conns: ss.total,
        connected: ss.connected,
        survived: ss.survived,
        reset: ss.reset,
        stallMs: ss.maxEchoGapMs,
        medianConnStallMs: ss.medianMaxEchoGapMs,
        stallEndAfterFailureMs: ss.maxEchoGapEndMs === null ? null : ss.maxEchoGapEndMs - t0,
        syncedMs: synced?.ms ?? 0,
      };
    }
    return {
      mode,
      gapMs: got.maxGapMs,
      lost: sent.sent - got.received,
      sent: sent.sent,
      v6: sent6 && got6 ? { gapMs: got6.maxGapMs, lost: sent6.sent - got6.received, sent: sent6.sent } : null,
      takeoverMs,
      newActive: takeoverMs === null ? null : other,
      reason,
      tcp,
    };
  } finally {
    if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await labDown({ name });
  }
}

/** The IPv6 probe: a receiver on the server's IPv6 address, a sender from the client, 1 ms apart. */
async function startProbe6(
  lab: Lab,
  repo: string,
  stops: (() => Promise<unknown>)[],
): Promise<{ rx: LabProcess<ReceiverSummary>; tx: LabProcess<SenderSummary> }> {
  const rx = await startProbeReceiver(lab.ns('server'), {
    repo,
    marker: lab.runDir,
    port: PROBE6_PORT,
    family: 6,
    outFile: join(lab.runDir, 'rx6.json'),
    pidFile: join(lab.runDir, 'probe-rx6.pid'),
  });
  stops.push(() => rx.stop());
  const tx = await startProbeSender(lab.ns('client'), {
    repo,
    marker: lab.runDir,
    to: `[${SERVER6}]:${PROBE6_PORT}`,
    intervalMs: 1,
    pidFile: join(lab.runDir, 'probe-tx6.pid'),
  });
  stops.push(() => tx.stop());
  return { rx, tx };
}

async function survivalRun(mode: Mode): Promise<SurvivalResult> {
  const name = labName();
  await labUp({ name, configDir, mode: labMode });
  const lab = new Lab(name);
  const repo = repoRoot();
  let frozenPid: number | null = null;
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const srv = await startStreamServer(lab.ns('server'), { repo, marker: lab.runDir, port: STREAM_PORT, pidFile: join(lab.runDir, 'stream-server.pid') });
    stops.push(() => srv.stop());
    const clients: (LabProcess<StreamSummary> & { connected: number })[] = [];
    let connected = 0;
    for (let i = 0, left = surviveConns; left > 0; i++, left -= CLIENT_MAX_CONNS) {
      const c = await startStreamClient(lab.ns('client'), {
        repo,
        marker: lab.runDir,
        to: `${SERVER}:${STREAM_PORT}`,
        conns: Math.min(left, CLIENT_MAX_CONNS),
        intervalMs: surviveIntervalMs,
        spread: true,
        pidFile: join(lab.runDir, `stream-client-${i}.pid`),
      });
      clients.push(c);
      stops.push(() => c.stop(20_000));
      connected += c.connected;
    }
    const active = await activeBox(lab);
    const other: LabBox = active === 'fwa' ? 'fwb' : 'fwa';
    const synced = await waitSynced(lab, other, connected, 60_000);
    console.error(
      `survival ${mode}: ${connected}/${surviveConns} connected, ${other} holds ${synced.tcp} TCP sessions after ${synced.ms} ms (${synced.applied} records applied)`,
    );
    await sleep(SURVIVE_STEADY_MS);
    const t0 = Date.now();
    frozenPid = await fail(lab, mode, active);
    const { takeoverMs } = await waitTakeover(lab, other, t0);
    await sleep(SURVIVE_AFTER_MS);
    const sums = await Promise.all(clients.map((c) => c.stop(20_000)));
    let drops: number | null = null;
    let outOfWindow: number | null = null;
    try {
      const m = await scrape(metricsSock(lab, other));
      drops = sum(m, 'tandem_dataplane_drops_total', 'reason="tcp-no-session"');
      outOfWindow = sum(m, 'tandem_dataplane_drops_total', 'reason="tcp-out-of-window"');
    } catch {
      // no metrics from the survivor
    }
    const errors: Record<string, number> = {};
    for (const sm of sums) {
      for (const c of sm.conns) {
        if (c.error === null) continue;
        const kind = c.error.startsWith('echo incomplete') ? 'echo incomplete' : c.error;
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
    }
    return {
      mode,
      conns: surviveConns,
      connected,
      syncedMs: synced.ms,
      passiveTcpSessions: synced.tcp,
      syncApplied: synced.applied,
      takeoverMs,
      survived: sums.reduce((n, sm) => n + sm.survived, 0),
      reset: sums.reduce((n, sm) => n + sm.reset, 0),
      errors,
      maxStallMs: Math.max(0, ...sums.map((sm) => sm.maxEchoGapMs)),
      newActiveTcpNoSessionDrops: drops,
      newActiveTcpOutOfWindowDrops: outOfWindow,
    };
  } finally {
    if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await labDown({ name });
  }
}

function scrape(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

function sum(text: string, family: string, label?: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family) || (label && !line.includes(label))) continue;
    if (line[family.length] !== '{' && line[family.length] !== ' ') continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function saturation(seconds: number): Promise<Record<string, number>> {
  const name = labName();
  await labUp({ name, configDir, mode: labMode });
  const lab = new Lab(name);
  try {
    const sock = (box: LabBox) => join(lab.runDir, `${box}-metrics.sock`);
    const before = { a: await scrape(sock('fwa')), b: await scrape(sock('fwb')) };
    const outs = await Promise.all(
      Array.from({ length: blasters }, () => {
        const blaster = spawn(
          'ip',
          [
            'netns',
            'exec',
            lab.ns('client'),
            process.execPath,
            join(repoRoot(), 'dist', 'bench', 'blast.js'),
            '--to',
            `${SERVER}:${BLAST_PORT}`,
            '--duration-s',
            String(seconds),
          ],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        blaster.stdout.on('data', (d) => (out += d));
        return new Promise<string>((r) => blaster.once('close', () => r(out)));
      }),
    );
    const after = { a: await scrape(sock('fwa')), b: await scrape(sock('fwb')) };
    const transitions =
      sum(after.a, 'tandem_ha_transitions_total') -
      sum(before.a, 'tandem_ha_transitions_total') +
      sum(after.b, 'tandem_ha_transitions_total') -
      sum(before.b, 'tandem_ha_transitions_total');
    const forwarded =
      sum(after.a, 'tandem_dataplane_packets_total', 'event="forwarded"') - sum(before.a, 'tandem_dataplane_packets_total', 'event="forwarded"');
    const rx = sum(after.a, 'tandem_dataplane_packets_total', 'event="rx"') - sum(before.a, 'tandem_dataplane_packets_total', 'event="rx"');
    const sent = outs.reduce((n, out) => n + ((JSON.parse(out.trim().split('\n').pop() || '{}') as { sent?: number }).sent ?? 0), 0);
    return {
      seconds,
      blasters,
      sentPps: Math.round(sent / seconds),
      rxPps: Math.round(rx / seconds),
      forwardedPps: Math.round(forwarded / seconds),
      falseFailovers: transitions,
    };
  } finally {
    await labDown({ name });
  }
}

function stats(xs: number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${f(s[0])} / ${f(med)} / ${f(s[s.length - 1])}`;
}

async function main(): Promise<void> {
  const results: RunResult[] = [];
  for (const mode of modes) {
    for (let i = 0; i < runs; i++) {
      const r = await oneRun(mode);
      results.push(r);
      const t = r.tcp
        ? `; TCP stall ${r.tcp.stallMs} ms (ended ${r.tcp.stallEndAfterFailureMs} ms after the failure, median per connection ${r.tcp.medianConnStallMs} ms), ${r.tcp.survived}/${r.tcp.conns} survived, ${r.tcp.reset} reset`
        : '';
      const v6 = r.v6 ? ` (IPv6: gap ${r.v6.gapMs.toFixed(1)} ms, lost ${r.v6.lost}/${r.v6.sent})` : '';
      console.error(
        `${mode} run ${i + 1}/${runs}: gap ${r.gapMs.toFixed(1)} ms, lost ${r.lost}/${r.sent}${v6}, takeover by API ${r.takeoverMs ?? 'none'} ms (${r.reason})${t}`,
      );
    }
  }
  const survival: SurvivalResult[] = [];
  if (surviveConns > 0) {
    for (const mode of modes) {
      for (let i = 0; i < surviveRuns; i++) {
        const r = await survivalRun(mode);
        survival.push(r);
        console.error(
          `survival ${mode} run ${i + 1}/${surviveRuns}: ${r.survived}/${r.conns} survived, ${r.reset} reset, errors ${JSON.stringify(r.errors)}, longest stall ${r.maxStallMs} ms, takeover by API ${r.takeoverMs ?? 'none'} ms`,
        );
      }
    }
  }
  const sat = saturateS > 0 ? await saturation(saturateS) : null;

  const where = labMode === 'active-active' ? `, active/active lab, the ${failWhich} fails` : '';
  console.log(`\nfailover gap (UDP probe every 1 ms, client -> server through the pair; aggressive profile${where})`);
  if (stallConns > 0)
    console.log(
      `TCP: ${stallConns} connections ${labMode === 'active-active' ? 'routed (no NAT in the active/active lab)' : 'through source NAT'} beside the probe, 1 KiB each every ${stallIntervalMs} ms; stall = longest time any connection waited for an echo`,
    );
  console.log(
    'failure        runs  gap ms min/median/max     lost probes min/median/max  takeover by API ms (median)  TCP stall ms min/median/max  TCP survived / reset',
  );
  const label = (mode: Mode) => ({ kill: 'kill -9', stop: 'SIGSTOP', cut: 'links cut', pull: 'WAN cable pulled' })[mode];
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode);
    const took = rs.map((r) => r.takeoverMs).filter((x): x is number => x !== null);
    const tcps = rs.map((r) => r.tcp).filter((t): t is NonNullable<RunResult['tcp']> => t !== null);
    const tcpCols =
      tcps.length === 0
        ? ''
        : `${stats(tcps.map((t) => t.stallMs)).padEnd(28)} ${tcps.reduce((n, t) => n + t.survived, 0)}/${tcps.reduce((n, t) => n + t.conns, 0)} / ${tcps.reduce((n, t) => n + t.reset, 0)}`;
    console.log(
      `${label(mode).padEnd(14)} ${String(rs.length).padEnd(5)} ${stats(rs.map((r) => r.gapMs)).padEnd(25)} ${stats(rs.map((r) => r.lost)).padEnd(27)} ${(stats(took) + (took.length < rs.length ? ` (${rs.length - took.length} without takeover)` : '')).padEnd(28)} ${tcpCols}`,
    );
    const v6s = rs.map((r) => r.v6).filter((v): v is NonNullable<RunResult['v6']> => v !== null);
    if (v6s.length > 0) {
      console.log(
        `${`  same, IPv6`.padEnd(14)} ${String(v6s.length).padEnd(5)} ${stats(v6s.map((v) => v.gapMs)).padEnd(25)} ${stats(v6s.map((v) => v.lost)).padEnd(27)}`,
      );
    }
  }
  if (survival.length > 0) {
    console.log(`
sessions surviving: ${surviveConns} TCP connections through source NAT, 1 KiB each every ${surviveIntervalMs} ms (staggered), synced to the passive, then the failure and ${SURVIVE_AFTER_MS / 1000} s more`);
    console.log(
      'failure        connected  synced in ms  survived       reset  other failures              longest stall ms  takeover by API ms  tcp-no-session drops on new active  tcp-out-of-window on new active',
    );
    for (const r of survival) {
      const other =
        Object.entries(r.errors)
          .filter(([k]) => k !== 'ECONNRESET' && k !== 'closed by peer' && k !== 'EPIPE')
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '0';
      console.log(
        `${label(r.mode).padEnd(14)} ${String(r.connected).padEnd(10)} ${String(r.syncedMs).padEnd(13)} ${`${r.survived}/${r.conns}`.padEnd(14)} ${String(r.reset).padEnd(6)} ${other.padEnd(27)} ${String(r.maxStallMs).padEnd(17)} ${String(r.takeoverMs ?? 'none').padEnd(19)} ${String(r.newActiveTcpNoSessionDrops ?? '-').padEnd(35)} ${r.newActiveTcpOutOfWindowDrops ?? '-'}`,
      );
    }
  }
  if (sat) {
    console.log(
      `\nsaturated dataplane for ${sat.seconds} s: ${sat.blasters} blasters, ${sat.sentPps} pps offered, active box received ${sat.rxPps} pps and forwarded ${sat.forwardedPps} pps; false failovers: ${sat.falseFailovers}`,
    );
  }
  console.log(`\n${JSON.stringify({ results, survival, saturation: sat })}`);
}

await main();
