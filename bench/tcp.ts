// bench/tcp: real TCP throughput through the firewall pair (iperf3), tandem's userspace dataplane
// with each frame I/O backend against the Linux kernel in the same lab, side by side in one run.
//
//   npm run build && node dist/bench/tcp.js [--io ring,ring-thread,ring-v3,pcap] [--streams 1,8] [--seconds 8] [--port 5401] [--out FILE]
//
// For each backend of --io, a fresh lab whose configs are deploy/lab's with `device.dataplane.io`
// set to it. An iperf3 server in the server namespace (10.0.2.10), an iperf3 client in the client
// namespace sending to it through the floating IPs and the active box (the lab policy's lab-test
// rule allows tcp/5000-5999; hide-lan source-NATs the client), once per stream count (-P).
// After the last backend, both daemons are stopped in that lab and the box that was active becomes
// a kernel firewall (bench/lib/kernel-fw.ts, as bench/dataplane does), and the same runs repeat.
// Per run: what the server received (iperf3's end.sum_received), the client's retransmits, the
// client -> server segments lost on the path (nft counters at the switch's client port and the
// server's ingress), the active daemon's CPU, the machine's CPU split, iperf3's own CPU, HA
// transitions on either box (a run with one is invalid: the traffic was not through one steady
// box), and drops: tandem's by reason, frames its box received but it never read, the kernel's
// input backlog.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, trySh } from '../src/lab/exec.js';
import { Lab, labDown, labUp, repoRoot, type LabBox } from '../src/lab/lab.js';
import { BOX_DEVICE, HOST_DEVICE, HOST_PORT, LAB_ADDR, LAB_BOXES, SW_PORT } from '../src/lab/topology.js';
import { backlogDrops, linkStats, machineCpu, metricSamples, nftCounter, processCpuS, sampleDelta, scrapeMetrics, type MachineCpu } from './lib/counters.js';
import { runIperf3Client, runningClient, startIperf3Server, type Iperf3Result, type Iperf3Server } from './lib/iperf3.js';
import { kernelFirewallUp, nftLoad } from './lib/kernel-fw.js';
import { parseIoVariants, writeLabConfigs } from './lib/io-variants.js';

// --- options --------------------------------------------------------------------------------------

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(argv.get('seconds') ?? '8');
const ios = parseIoVariants(argv.get('io') ?? 'ring,pcap');
const streamCounts = (argv.get('streams') ?? '1,8')
  .split(',')
  .filter((s) => s !== '')
  .map(Number);
// in the lab-test rule's tcp/5000-5999 (iperf3's default 5201 is outside it)
const port = Number(argv.get('port') ?? '5401');
const outFile = argv.get('out');
if (
  !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 600) ||
  streamCounts.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 128)) ||
  !(Number.isInteger(port) && port >= 5000 && port <= 5999)
) {
  console.error('usage: tcp.js [--io ring,ring-thread,ring-v3,pcap] [--streams 1,8] [--seconds 1-600] [--port 5000-5999] [--out FILE]');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const log = (line: string): void => void console.error(`bench: ${line}`);

// --- configs --------------------------------------------------------------------------------------

// --- offloads -------------------------------------------------------------------------------------

/** What each lab's check found, for the JSON report. */
const offloadReport: Array<{ lab: string; checked: number; on: string[] }> = [];

const OFFLOAD_FEATURES = ['rx-checksumming', 'tx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload'];

/** Every veth end on the client -> box -> server path: [namespace, device]. */
function pathVeths(lab: Lab): Array<[string, string]> {
  const ends: Array<[string, string]> = [];
  for (const host of ['client', 'server'] as const) ends.push([lab.ns(host), HOST_DEVICE], [lab.ns('sw'), HOST_PORT[host].port]);
  for (const box of LAB_BOXES) {
    for (const link of ['lan', 'wan'] as const) ends.push([lab.ns(box), BOX_DEVICE[link]], [lab.ns('sw'), SW_PORT[box][link]]);
  }
  return ends;
}

/**
 * The offloads still on, as "ns/dev feature". topology.ts turns them off; were GSO/GRO on, the
 * kernel row would forward 64 KiB super-frames while the daemon handles wire-size frames, and the
 * comparison would not be like for like.
 */
async function offloadsOn(lab: Lab): Promise<{ checked: number; on: string[] }> {
  const ends = pathVeths(lab);
  const on: string[] = [];
  for (const [ns, dev] of ends) {
    const { stdout } = await nsExec(ns, 'ethtool', ['-k', dev]);
    for (const line of stdout.split('\n')) {
      const [feature, value] = line.trim().split(/:\s+/);
      if (OFFLOAD_FEATURES.includes(feature) && value?.startsWith('on')) on.push(`${ns}/${dev} ${feature}`);
    }
  }
  return { checked: ends.length, on };
}

// --- segments on the path ------------------------------------------------------------------------

// Counters of the client -> server segments as they enter the switch from the client and as they
// reach the server: the difference is what the forwarder (and the switch) lost, which tells a
// retransmit after a loss from a spurious one. Not at the client's own egress: TCP hands the device
// GSO super-segments even with the veth's offloads off (they are cut up after the egress hook).
const SENT_COMMENT = 'bench-tcp-sent';
const ARRIVED_COMMENT = 'bench-tcp-arrived';

function segmentCounterRuleset(dev: string, comment: string): string {
  return `table netdev bench_tcp {
  chain count {
    type filter hook ingress device "${dev}" priority 0; policy accept;
    tcp dport ${port} counter comment "${comment}"
  }
}
`;
}

async function segmentCountersUp(lab: Lab): Promise<void> {
  await nftLoad(lab.ns('sw'), segmentCounterRuleset(HOST_PORT.client.port, SENT_COMMENT));
  await nftLoad(lab.ns('server'), segmentCounterRuleset(HOST_DEVICE, ARRIVED_COMMENT));
}

// --- one lab --------------------------------------------------------------------------------------

/** A lab the bench brought up, with its iperf3 server; down() stops both, once. */
class Stage {
  readonly lab: Lab;
  active: LabBox = 'fwa';
  /** The active box's daemon, null once the daemons are stopped for the kernel. */
  daemonPid: number | null = null;
  server: Iperf3Server | null = null;
  private downing: Promise<void> | null = null;

  constructor(readonly name: string) {
    this.lab = new Lab(name);
  }

  down(): Promise<void> {
    return (this.downing ??= (async () => {
      await this.server?.stop().catch((e: unknown) => log(`iperf3 server stop failed: ${errText(e)}`));
      // labDown also stops the daemons and, by its pid file, a server left running
      await labDown({ name: this.name }).catch((e: unknown) => log(`lab ${this.name} down failed: ${errText(e)}`));
    })());
  }
}

/** Brings up a lab with the configs in configDir (deploy/lab when undefined) and the iperf3 server. */
async function stageUp(stage: Stage, configDir: string | undefined): Promise<void> {
  await labUp({ name: stage.name, configDir });
  stage.active = (await stage.lab.boxState('fwa'))?.state === 'active' ? 'fwa' : 'fwb';
  stage.daemonPid = stage.lab.pid(stage.active);
  if (stage.daemonPid === null) throw new Error(`lab ${stage.name}: no daemon PID for ${stage.active}`);
  await segmentCountersUp(stage.lab);
  stage.server = await startIperf3Server(stage.lab.ns('server'), LAB_ADDR.server, port, stage.lab.runDir);
  const off = await offloadsOn(stage.lab);
  log(
    `lab ${stage.name}: ${stage.active} active; offloads (${OFFLOAD_FEATURES.join(', ')}) on the ${off.checked} veth ends of the path: ` +
      (off.on.length === 0 ? 'all off' : `ON: ${off.on.join('; ')}`),
  );
  offloadReport.push({ lab: stage.name, checked: off.checked, on: off.on });
}

/** Stops both daemons and makes the box that was active a kernel firewall (as bench/dataplane). */
async function kernelUp(stage: Stage): Promise<void> {
  const lab = stage.lab;
  for (const box of LAB_BOXES) if (lab.pid(box) !== null) await lab.killBox(box, 'SIGTERM', 10_000);
  stage.daemonPid = null;
  await kernelFirewallUp(lab.ns(stage.active));
  // the hosts had the virtual MACs for their gateways: forget them so they ask the kernel's lan0/wan0
  for (const host of ['client', 'server'] as const) await nsExec(lab.ns(host), 'ip', ['neigh', 'flush', 'all']);
}

// --- one run --------------------------------------------------------------------------------------

/** What a run goes through: a stage and the row's name (its daemon is stage.daemonPid, null for the kernel). */
interface Target {
  stage: Stage;
  row: string;
}

interface Snapshot {
  atMs: number;
  machine: MachineCpu;
  daemonCpuS: number;
  transitions: number;
  otherForwarded: number;
  drops: Map<string, number>;
  /** Frames the kernel dropped for a full input backlog, machine-wide (either forwarder's loss, or the hosts'). */
  backlog: number;
  /** Segments to the iperf3 port entering the switch from the client, and reaching the server. */
  sent: number;
  arrived: number;
  /** The active box's lan0 + wan0 received packets, and what its daemon read (tandem). */
  boxRx: number;
  daemonRx: number;
}

interface Row {
  row: string;
  streams: number;
  seconds: number;
  receivedMbps: number;
  sentMbps: number;
  retransmits: number;
  /** Client -> server segments sent, and those of them the server never received (lost on the path). */
  segmentsSent: number;
  segmentsLost: number;
  daemonCpuPct: number | null;
  /** Machine CPU over the run, percent of all cores. */
  machinePct: { user: number; system: number; softirq: number; idle: number };
  /** iperf3's own CPU, percent of one core. */
  iperf3CpuPct: { client: number; server: number };
  haTransitions: number;
  otherBoxForwarded: number;
  /** Drops over the run (packets): tandem's by reason, frames its box received but it never read, the kernel's backlog. */
  drops: Record<string, number>;
  valid: boolean;
}

async function snapshot(t: Target): Promise<Snapshot> {
  const lab = t.stage.lab;
  const box = t.stage.active;
  const [lan, wan, sent, arrived] = await Promise.all([
    linkStats(lab.ns(box), BOX_DEVICE.lan),
    linkStats(lab.ns(box), BOX_DEVICE.wan),
    nftCounter(lab.ns('sw'), SENT_COMMENT),
    nftCounter(lab.ns('server'), ARRIVED_COMMENT),
  ]);
  const base = { atMs: performance.now(), machine: machineCpu(), backlog: backlogDrops(), boxRx: lan.rxPackets + wan.rxPackets, sent, arrived };
  const pid = t.stage.daemonPid;
  if (pid === null) return { ...base, daemonCpuS: 0, transitions: 0, otherForwarded: 0, drops: new Map(), daemonRx: 0 };
  const other: LabBox = box === 'fwa' ? 'fwb' : 'fwa';
  const [text, otherText] = await Promise.all([
    scrapeMetrics(join(lab.runDir, `${box}-metrics.sock`)),
    scrapeMetrics(join(lab.runDir, `${other}-metrics.sock`)),
  ]);
  let transitions = 0;
  for (const m of [text, otherText]) for (const v of metricSamples(m, 'tandem_ha_transitions_total').values()) transitions += v;
  return {
    ...base,
    daemonCpuS: processCpuS(pid),
    transitions,
    otherForwarded: metricSamples(otherText, 'tandem_dataplane_packets_total').get('event="forwarded"') ?? 0,
    drops: metricSamples(text, 'tandem_dataplane_drops_total'),
    daemonRx: metricSamples(text, 'tandem_dataplane_packets_total').get('event="rx"') ?? 0,
  };
}

/** A few pings client -> server through the box: neighbours resolved, bridges' tables learned. */
async function warm(t: Target): Promise<void> {
  const ping = () =>
    trySh('ip', ['netns', 'exec', t.stage.lab.ns('client'), 'ping', '-c', '3', '-i', '0.2', '-W', '1', LAB_ADDR.server], { timeoutMs: 10_000 });
  // one retry: a neighbour entry may have been in the middle of being resolved
  const res = (await ping()) ?? (await ping());
  if (!res || / 100% packet loss/.test(res.stdout)) throw new Error(`${t.row}: the client cannot ping the server through ${t.stage.active}`);
}

function rowOf(t: Target, streams: number, r: Iperf3Result, a: Snapshot, b: Snapshot): Row {
  const tandem = t.stage.daemonPid !== null;
  const wallS = (b.atMs - a.atMs) / 1000;
  const ticks = b.machine.total - a.machine.total;
  const pct = (x: number) => Math.round((1000 * x) / ticks) / 10;
  const drops: Record<string, number> = {};
  for (const [k, v] of sampleDelta(a.drops, b.drops)) drops[k.replace(/^reason="(.*)"$/, '$1')] = v;
  // frames that reached the box but never the daemon: lost in its capture ring (tandem only)
  const unread = b.boxRx - a.boxRx - (b.daemonRx - a.daemonRx);
  if (tandem && unread > 0) drops['capture (lan0+wan0 rx - daemon rx)'] = unread;
  if (b.backlog > a.backlog) drops['kernel backlog (softnet_stat)'] = b.backlog - a.backlog;
  const haTransitions = b.transitions - a.transitions;
  return {
    row: t.row,
    streams,
    seconds: Math.round(r.seconds * 100) / 100,
    receivedMbps: Math.round(r.receivedBitsPerS / 1e5) / 10,
    sentMbps: Math.round(r.sentBitsPerS / 1e5) / 10,
    retransmits: r.retransmits,
    segmentsSent: b.sent - a.sent,
    segmentsLost: b.sent - a.sent - (b.arrived - a.arrived),
    daemonCpuPct: !tandem ? null : Math.round((1000 * (b.daemonCpuS - a.daemonCpuS)) / wallS) / 10,
    machinePct: {
      user: pct(b.machine.user - a.machine.user),
      system: pct(b.machine.system - a.machine.system),
      softirq: pct(b.machine.softirq - a.machine.softirq),
      idle: pct(b.machine.idle - a.machine.idle),
    },
    iperf3CpuPct: { client: Math.round(r.clientCpuPct), server: Math.round(r.serverCpuPct) },
    haTransitions,
    otherBoxForwarded: b.otherForwarded - a.otherForwarded,
    drops,
    valid: haTransitions === 0,
  };
}

async function measure(t: Target, streams: number): Promise<Row> {
  await warm(t);
  const a = await snapshot(t);
  const r = await runIperf3Client(t.stage.lab.ns('client'), LAB_ADDR.server, port, seconds, streams);
  const b = await snapshot(t);
  const row = rowOf(t, streams, r, a, b);
  log(`${row.row}, ${streams} stream(s): ${row.receivedMbps} Mbit/s received, ${row.retransmits} retransmits${row.valid ? '' : ' (INVALID: HA transitions)'}`);
  return row;
}

/** Every stream count on one target; a run that fails is reported and the others still run. */
async function measureAll(t: Target, rows: Row[], failures: Failure[]): Promise<void> {
  for (const streams of streamCounts) {
    try {
      rows.push(await measure(t, streams));
    } catch (err) {
      failures.push({ row: t.row, streams, error: errText(err) });
      log(`${t.row}, ${streams} stream(s): no figure (${errText(err)})`);
    }
    await sleep(500);
  }
}

// --- output ---------------------------------------------------------------------------------------

interface Failure {
  row: string;
  streams: number | null;
  error: string;
}

function printTable(rows: Row[]): void {
  console.log(`\nTCP through the firewall: iperf3 ${LAB_ADDR.client} -> ${LAB_ADDR.server}:${port} through the floating IPs, ${seconds} s per run\n`);
  console.log(
    '| forwarder | streams | received Mbit/s | retransmits | segments lost on the path | daemon CPU % | machine usr/sys/si/idle % | iperf3 client/server CPU % | HA transitions |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const m = r.machinePct;
    console.log(
      `| ${r.row} | ${r.streams} | ${r.valid ? r.receivedMbps : `${r.receivedMbps} (INVALID)`} | ${r.retransmits} | ${r.segmentsLost} of ${r.segmentsSent} | ${r.daemonCpuPct ?? '-'} | ` +
        `${m.user}/${m.system}/${m.softirq}/${m.idle} | ${r.iperf3CpuPct.client}/${r.iperf3CpuPct.server} | ${r.haTransitions} |`,
    );
  }
}

function printNotes(rows: Row[], failures: Failure[]): void {
  console.log('');
  for (const r of rows) {
    const drops = Object.entries(r.drops).sort((x, y) => y[1] - x[1]);
    if (drops.length > 0) console.log(`${r.row}, ${r.streams} stream(s): drops ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (!r.valid || r.otherBoxForwarded > 0) {
      console.log(`${r.row}, ${r.streams} stream(s): WARNING ${r.haTransitions} HA transitions; the other box forwarded ${r.otherBoxForwarded} packets`);
    }
  }
  for (const f of failures) console.log(`${f.row}${f.streams === null ? '' : `, ${f.streams} stream(s)`}: no figure (${f.error})`);
}

function printRatios(rows: Row[]): void {
  for (const io of ios) {
    for (const streams of streamCounts) {
      const t = rows.find((r) => r.row === `tandem (${io})` && r.streams === streams);
      const k = rows.find((r) => r.row === 'kernel' && r.streams === streams);
      if (!t || !k || k.receivedMbps <= 0) continue;
      const flag = t.valid && k.valid ? '' : ' (a run is INVALID)';
      console.log(
        `ratio tandem (${io}) / kernel, ${streams} stream(s): ${(t.receivedMbps / k.receivedMbps).toFixed(3)} (${t.receivedMbps} / ${k.receivedMbps} Mbit/s)${flag}`,
      );
    }
  }
}

/** The machine may be shared (other tests, builds): how busy it was over 2 s before the bench. */
async function busyBeforePct(): Promise<number> {
  const a = machineCpu();
  await sleep(2000);
  const b = machineCpu();
  return Math.round(1000 * (1 - (b.idle - a.idle) / (b.total - a.total))) / 10;
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const suffix = randomBytes(2).toString('hex');
  const configRoot = mkdtempSync(join(tmpdir(), 'tq-config-'));
  let stage: Stage | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (runningClient?.pid) runningClient.kill('SIGKILL');
      void (stage?.down() ?? Promise.resolve()).then(() => {
        rmSync(configRoot, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  const rows: Row[] = [];
  const failures: Failure[] = [];
  const busy = await busyBeforePct();
  log(`machine busy ${busy} % over 2 s before the bench (other work on the same ${availableParallelism()} cores)`);
  try {
    for (const io of ios) {
      if (stage) await stage.down();
      stage = new Stage(`tq${suffix}-${io}`);
      try {
        const dir = mkdtempSync(join(configRoot, `${io}-`));
        writeLabConfigs(dir, io);
        await stageUp(stage, dir);
      } catch (err) {
        // a backend that does not start (ring may not be ready) costs its rows, not the run
        failures.push({ row: `tandem (${io})`, streams: null, error: errText(err) });
        log(`tandem (${io}): lab did not come up (${errText(err)})`);
        await stage.down();
        stage = null;
        continue;
      }
      await measureAll({ stage, row: `tandem (${io})` }, rows, failures);
    }
    try {
      // the kernel in the last lab; if no backend came up, in a lab with deploy/lab's own configs
      if (!stage) {
        stage = new Stage(`tq${suffix}-k`);
        await stageUp(stage, undefined);
      }
      await kernelUp(stage);
      await measureAll({ stage, row: 'kernel' }, rows, failures);
    } catch (err) {
      failures.push({ row: 'kernel', streams: null, error: errText(err) });
      log(`kernel: no figures (${errText(err)})`);
    }
  } finally {
    await stage?.down();
    rmSync(configRoot, { recursive: true, force: true });
  }
  printTable(rows);
  printNotes(rows, failures);
  printRatios(rows);
  const commit = (await trySh('git', ['-C', repoRoot(), 'rev-parse', '--short', 'HEAD']))?.stdout.trim() ?? null;
  console.log(`\nmachine: ${availableParallelism()} CPUs, busy ${busy} % before the bench; tree ${commit ?? '(not a git checkout)'}`);
  if (outFile) {
    const report = {
      date: new Date().toISOString(),
      commit,
      cpus: availableParallelism(),
      busyBeforePct: busy,
      seconds,
      port,
      ios,
      streams: streamCounts,
      offloads: offloadReport,
      rows,
      failures,
    };
    writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JSON: ${outFile}`);
  }
}

await main();
