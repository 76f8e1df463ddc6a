// bench/aggregate: the pair's aggregate forwarding rate in active/active (both clients loading at
// once, each through its own box) against one box forwarding in active/passive, side by side in
// one run.
//
//   npm run build && node dist/bench/aggregate.js [--seconds 8] [--load tcp,udp] [--streams 1]
//       [--frame 1400] [--flows 100] [--ap-nat off] [--modes active-passive,active-active] [--profile aggressive]
//       [--name PREFIX] [--out FILE]
//
// Per mode a fresh lab (active/passive: deploy/lab's configs, source NAT off unless --ap-nat on, so
// that both modes route without translation; active/active: deploy/lab/active-active's as
// shipped). Two generators load at once: in active/active one in the client namespace (out through
// device 0) and one in client2 (out through device 1); in active/passive both in the client
// namespace (the lab has no client2), so the same two generators load the one active box.
//   tcp  an iperf3 client per generator (--streams each) to its own iperf3 server on the server
//        (ports 5401 and 5402); figure: what the servers received.
//   udp  a trafgen per generator (one process each, --frame bytes, --flows source ports each) to
//        its gateway's MAC; the server's ingress counts and drops it (bench/lib/sink.ts); figure:
//        what arrived at the server.
// The lab's answers take the other box in active/active (asymmetric: TCP's ACKs cross HA3 to the
// session's owner); UDP is one way. Every process of the run (both daemons, the generators, the
// iperf3 servers, the switch's bridging in softirq) shares this machine's cores: the figures are
// what the pair does on this machine, printed with the machine's CPU split, not the pair's
// capacity on separate hardware.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trySh } from '../src/lab/exec.js';
import { Lab, labDown, labUp, repoRoot, type LabBox, type LabHost, type LabMode } from '../src/lab/lab.js';
import { HOST_DEVICE, LAB_ADDR, LAB_BOXES, LAB_MODES } from '../src/lab/topology.js';
import { pairCounters, pairDelta, TIMERS_PROFILES, warmAndGatewayMac, writeLabConfigsFor, type PairCounters, type TimersProfile } from './lib/aa-lab.js';
import { linkMac, machineCpu, type MachineCpu } from './lib/counters.js';
import { runIperf3Client, runningClients, startIperf3Server, type Iperf3Result } from './lib/iperf3.js';
import { sinkCount, sinkUp } from './lib/sink.js';
import { runningGenerator, runTrafgen, trafgenConfig } from './lib/trafgen.js';

// --- options --------------------------------------------------------------------------------------

type Load = 'tcp' | 'udp';
const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(argv.get('seconds') ?? '8');
const loads = (argv.get('load') ?? 'tcp,udp').split(',').filter((s) => s !== '') as Load[];
const streams = Number(argv.get('streams') ?? '1');
const frameBytes = Number(argv.get('frame') ?? '1400');
const flows = Number(argv.get('flows') ?? '100');
const apNat = (argv.get('ap-nat') ?? 'off') === 'on';
const modes = (argv.get('modes') ?? LAB_MODES.join(',')).split(',').filter((s) => s !== '') as LabMode[];
const outFile = argv.get('out');
/** --profile recommended: the labs' timers relaxed, for a machine busy with other work (the labs ship aggressive). */
const profile = argv.get('profile') as TimersProfile | undefined;
if (
  !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 600) ||
  loads.length === 0 ||
  loads.some((l) => l !== 'tcp' && l !== 'udp') ||
  !(Number.isInteger(streams) && streams >= 1 && streams <= 64) ||
  !(Number.isInteger(flows) && flows >= 1 && flows <= 10_000) ||
  modes.length === 0 ||
  modes.some((m) => !LAB_MODES.includes(m)) ||
  (profile !== undefined && !TIMERS_PROFILES.includes(profile))
) {
  console.error(
    'usage: aggregate.js [--seconds 1-600] [--load tcp,udp] [--streams 1-64] [--frame 64-1518] [--flows 1-10000] [--ap-nat off|on] [--modes active-passive,active-active] [--profile recommended|aggressive] [--name PREFIX] [--out FILE]',
  );
  process.exit(2);
}

const IPERF_PORTS = [5401, 5402] as const;
const UDP_DPORT = 5999;
/** Source ports of generator g: SPORT_BASE + g * 10000 .. + flows - 1 (distinct flows per generator). */
const SPORT_BASE = 10_000;
const DRAIN_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const log = (line: string): void => void console.error(`bench: ${line}`);

/** The two generators' hosts in a mode (active/passive has no client2). */
const generatorHosts = (mode: LabMode): [LabHost, LabHost] => (mode === 'active-active' ? ['client', 'client2'] : ['client', 'client']);

// --- one run ------------------------------------------------------------------------------------

interface Row {
  mode: LabMode;
  load: Load;
  hosts: string;
  seconds: number;
  /** Per generator: Mbit/s received (tcp: iperf3's server side; udp: the generator's offer). */
  perGeneratorMbps: number[];
  /** What reached the server, all generators together. */
  aggregateMbps: number;
  aggregateKpps: number | null;
  retransmits: number | null;
  boxes: Record<LabBox, { forwardedKpps: number; cpuPct: number; ha3Frames: number }>;
  machinePct: { user: number; system: number; softirq: number; idle: number };
  haTransitions: number;
  drops: Record<string, number>;
}

interface Measured {
  wallS: number;
  perGeneratorMbps: number[];
  aggregateMbps: number;
  aggregateKpps: number | null;
  retransmits: number | null;
}

async function tcpLoad(lab: Lab, hosts: LabHost[]): Promise<Measured> {
  const t0 = performance.now();
  const rs: Iperf3Result[] = await Promise.all(hosts.map((h, g) => runIperf3Client(lab.ns(h), LAB_ADDR.server, IPERF_PORTS[g], seconds, streams)));
  const mbps = rs.map((r) => Math.round(r.receivedBitsPerS / 1e5) / 10);
  return {
    wallS: (performance.now() - t0) / 1000,
    perGeneratorMbps: mbps,
    aggregateMbps: Math.round(mbps.reduce((a, b) => a + b, 0) * 10) / 10,
    aggregateKpps: null,
    retransmits: rs.reduce((n, r) => n + r.retransmits, 0),
  };
}

async function udpLoad(lab: Lab, hosts: LabHost[]): Promise<Measured> {
  const cfgs: string[] = [];
  for (const [g, h] of hosts.entries()) {
    const cfg = join(lab.runDir, `trafgen-aggregate-${g}.cfg`);
    const dstMac = await warmAndGatewayMac(lab, h);
    const srcMac = await linkMac(lab.ns(h), HOST_DEVICE);
    writeFileSync(
      cfg,
      trafgenConfig({ srcMac, dstMac, src: LAB_ADDR[h], dst: LAB_ADDR.server, dport: UDP_DPORT, sportBase: SPORT_BASE + g * 10_000, flows, frameBytes }),
      { mode: 0o600 },
    );
    cfgs.push(cfg);
  }
  const sink0 = await sinkCount(lab.ns('server'));
  const t0 = performance.now();
  const runs = await Promise.all(hosts.map((h, g) => runTrafgen(lab.ns(h), HOST_DEVICE, cfgs[g], seconds, 1)));
  const wallS = (performance.now() - t0) / 1000;
  await sleep(DRAIN_MS);
  const arrived = (await sinkCount(lab.ns('server'))) - sink0;
  const mbit = (frames: number) => Math.round((frames * frameBytes * 8) / wallS / 1e5) / 10;
  return {
    wallS,
    perGeneratorMbps: runs.map((r) => mbit(r.sent)),
    aggregateMbps: mbit(arrived),
    aggregateKpps: Math.round(arrived / wallS / 100) / 10,
    retransmits: null,
  };
}

function rowOf(mode: LabMode, load: Load, m: Measured, d: PairCounters, ca: MachineCpu, cb: MachineCpu): Row {
  const ticks = cb.total - ca.total;
  const pct = (x: number) => Math.round((1000 * x) / ticks) / 10;
  const box = (b: LabBox) => ({
    forwardedKpps: Math.round(d[b].events.forwarded / m.wallS / 100) / 10,
    cpuPct: Math.round((1000 * d[b].cpuS) / m.wallS) / 10,
    ha3Frames: d[b].ha3TxFrames,
  });
  const drops: Record<string, number> = {};
  for (const b of LAB_BOXES) for (const [k, v] of d[b].drops) drops[`${b} ${k}`] = v;
  return {
    mode,
    load,
    hosts: generatorHosts(mode).join(' + '),
    seconds: Math.round(m.wallS * 100) / 100,
    perGeneratorMbps: m.perGeneratorMbps,
    aggregateMbps: m.aggregateMbps,
    aggregateKpps: m.aggregateKpps,
    retransmits: m.retransmits,
    boxes: { fwa: box('fwa'), fwb: box('fwb') },
    machinePct: { user: pct(cb.user - ca.user), system: pct(cb.system - ca.system), softirq: pct(cb.softirq - ca.softirq), idle: pct(cb.idle - ca.idle) },
    haTransitions: d.fwa.transitions + d.fwb.transitions,
    drops,
  };
}

async function measure(lab: Lab, mode: LabMode, load: Load): Promise<Row> {
  const hosts = generatorHosts(mode);
  for (const h of new Set(hosts)) await warmAndGatewayMac(lab, h);
  const a = await pairCounters(lab);
  const ca = machineCpu();
  const m = load === 'tcp' ? await tcpLoad(lab, hosts) : await udpLoad(lab, hosts);
  const cb = machineCpu();
  const b = await pairCounters(lab);
  const row = rowOf(mode, load, m, pairDelta(a, b), ca, cb);
  log(`${mode} ${load}: ${row.aggregateMbps} Mbit/s at the server (${row.perGeneratorMbps.join(' + ')}), HA transitions ${row.haTransitions}`);
  return row;
}

// --- one lab per mode -------------------------------------------------------------------------------

async function runMode(mode: LabMode, name: string, rows: Row[], failures: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-aggregate-'));
  try {
    writeLabConfigsFor(dir, mode, { nat: mode === 'active-active' || apNat, profile });
    await labUp({ name, mode, configDir: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lab = new Lab(name);
  const servers = [];
  for (const [g, port] of IPERF_PORTS.entries()) servers.push(await startIperf3Server(lab.ns('server'), LAB_ADDR.server, port, lab.runDir, `-${g}`));
  await sinkUp(lab.ns('server'), HOST_DEVICE, UDP_DPORT, UDP_DPORT);
  const states = await Promise.all(LAB_BOXES.map(async (b) => `${b} ${(await lab.boxState(b))?.state ?? '?'}`));
  log(`lab ${name} (${mode}): ${states.join(', ')}`);
  for (const load of loads) {
    try {
      rows.push(await measure(lab, mode, load));
    } catch (err) {
      failures.push(`${mode} ${load}: ${errText(err)}`);
      log(`${mode} ${load}: no figure (${errText(err)})`);
    }
    await sleep(500);
  }
  for (const s of servers) await s.stop();
}

// --- output ---------------------------------------------------------------------------------------

function printTable(rows: Row[]): void {
  console.log(
    `\naggregate forwarding: two generators at once for ${seconds} s per run (tcp: iperf3 x${streams} stream(s) each; udp: trafgen ${frameBytes}-byte frames, ${flows} flows each)\n`,
  );
  console.log(
    '| mode | load | generators | at server Mbit/s (per generator) | kpps | retransmits | fwa fwd kpps / CPU % | fwb fwd kpps / CPU % | HA3 frames fwa / fwb | machine usr/sys/si/idle % | HA transitions |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const m = r.machinePct;
    const bx = (b: LabBox) => `${r.boxes[b].forwardedKpps} / ${r.boxes[b].cpuPct}`;
    console.log(
      `| ${r.mode} | ${r.load} | ${r.hosts} | ${r.aggregateMbps} (${r.perGeneratorMbps.join(' + ')}) | ${r.aggregateKpps ?? '-'} | ${r.retransmits ?? '-'} | ${bx('fwa')} | ${bx('fwb')} | ` +
        `${r.boxes.fwa.ha3Frames} / ${r.boxes.fwb.ha3Frames} | ${m.user}/${m.system}/${m.softirq}/${m.idle} | ${r.haTransitions}${r.haTransitions > 0 ? ' (INVALID)' : ''} |`,
    );
  }
  console.log('');
  for (const r of rows) {
    const drops = Object.entries(r.drops).sort((x, y) => y[1] - x[1]);
    if (drops.length > 0) console.log(`${r.mode} ${r.load}: drops ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  for (const load of loads) {
    const ap = rows.find((r) => r.mode === 'active-passive' && r.load === load);
    const aa = rows.find((r) => r.mode === 'active-active' && r.load === load);
    if (ap && aa && ap.aggregateMbps > 0) {
      console.log(
        `ratio active/active / active/passive, ${load}: ${(aa.aggregateMbps / ap.aggregateMbps).toFixed(2)} (${aa.aggregateMbps} / ${ap.aggregateMbps} Mbit/s)`,
      );
    }
  }
  console.log(
    `(both daemons, both generators, the iperf3 servers and the switch share this machine's ${availableParallelism()} CPUs: a ratio near 1 says the machine, not the pair, is the bound; the machine's idle % says how near)`,
  );
}

async function busyBeforePct(): Promise<number> {
  const a = machineCpu();
  await sleep(2000);
  const b = machineCpu();
  return Math.round(1000 * (1 - (b.idle - a.idle) / (b.total - a.total))) / 10;
}

async function main(): Promise<void> {
  // the lab names: the prefix (--name, default bn + 2 hex digits) and p or a per mode
  const prefix = argv.get('name') ?? `bn${randomBytes(1).toString('hex')}`;
  let current: string | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of runningClients) c.kill('SIGKILL');
      if (runningGenerator?.pid) runningGenerator.kill('SIGINT');
      void (current ? labDown({ name: current }) : Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const busy = await busyBeforePct();
  log(`machine busy ${busy} % over 2 s before the bench (other work on the same ${availableParallelism()} cores)`);
  const rows: Row[] = [];
  const failures: string[] = [];
  for (const mode of modes) {
    current = `${prefix}${mode === 'active-active' ? 'a' : 'p'}`;
    try {
      await runMode(mode, current, rows, failures);
    } catch (err) {
      failures.push(`${mode}: ${errText(err)}`);
      log(`${mode}: no figures (${errText(err)})`);
    } finally {
      await labDown({ name: current }).catch((e: unknown) => log(`lab ${current} down failed: ${errText(e)}`));
      current = null;
    }
  }
  printTable(rows);
  for (const f of failures) console.log(`no figure: ${f}`);
  const commit = (await trySh('git', ['-C', repoRoot(), 'rev-parse', '--short', 'HEAD']))?.stdout.trim() ?? null;
  console.log(
    `machine: ${availableParallelism()} CPUs, busy ${busy} % before the bench; tree ${commit ?? '(not a git checkout)'}; active/passive source NAT ${apNat ? 'on' : 'off'}; timers ${profile ?? 'as shipped (aggressive)'}`,
  );
  if (outFile) {
    writeFileSync(
      outFile,
      `${JSON.stringify({ date: new Date().toISOString(), commit, cpus: availableParallelism(), busyBeforePct: busy, seconds, loads, streams, frameBytes, flows, apNat, rows, failures }, null, 2)}\n`,
    );
    console.log(`JSON: ${outFile}`);
  }
}

await main();
