// bench/ha3-share: for each active/active session setup method and session owner, the share of the
// lab's packets and bytes that cross HA3, read from both boxes' dataplane counters.
//
//   npm run build && node dist/bench/ha3-share.js [--setups first-packet,ip-modulo,ip-hash,primary]
//       [--owners first-packet,primary] [--seconds 5] [--udp-pps 2000] [--flows 1000]
//       [--profile aggressive] [--name PREFIX] [--out FILE]
//
// Per combination a fresh active/active lab whose configs are deploy/lab/active-active's with
// shared.ha.activeActive.sessionSetup and sessionOwner set (a copy handed to labUp as configDir;
// deploy/ stays as shipped). Load, from both clients at once for --seconds (client out through
// device 0, client2 through device 1, the server answering each through the other box):
//   tcp  one iperf3 stream per client to its own iperf3 server (client -> server data; the
//        server's ACKs take the other box)
//   udp  trafgen per client at --udp-pps, --flows source ports cycled (so --flows new sessions
//        per client, each a setup decision, then established flows), to a sink on the server
// Counters, both boxes, over the run: packets and bytes the hosts' traffic brought in (lan0 +
// wan0 rx), packets carried to the peer over HA3 by why (to-owner, setup-to-peer, miss-to-peer),
// HA3 bytes sent (GET /v1/status: every HA3 frame, envelope, HELLOs, INSERTs and ACKs included),
// sessions set up on each box (setup-local), held first packets (defer-acked, defer-timeout).
// Share of packets = packets carried to the peer / packets in; share of bytes = HA3 bytes sent /
// bytes in.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActiveActiveConfig } from '../src/config/types.js';
import { trySh } from '../src/lab/exec.js';
import { Lab, labDown, labUp, repoRoot, type LabBox, type LabHost } from '../src/lab/lab.js';
import { HOST_DEVICE, LAB_ADDR, LAB_BOXES } from '../src/lab/topology.js';
import {
  AA_OWNERS,
  AA_SETUPS,
  pairCounters,
  pairDelta,
  TIMERS_PROFILES,
  warmAndGatewayMac,
  writeLabConfigsFor,
  type PairCounters,
  type TimersProfile,
} from './lib/aa-lab.js';
import { linkMac } from './lib/counters.js';
import { runIperf3Client, runningClients, startIperf3Server } from './lib/iperf3.js';
import { sinkUp } from './lib/sink.js';
import { runTrafgen, trafgenConfig } from './lib/trafgen.js';

type Setup = ActiveActiveConfig['sessionSetup'];
type Owner = ActiveActiveConfig['sessionOwner'];

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const list = <T extends string>(key: string, all: readonly T[]): T[] => (argv.get(key) ?? all.join(',')).split(',').filter((s) => s !== '') as T[];
const setups = list('setups', AA_SETUPS);
const owners = list('owners', AA_OWNERS);
const seconds = Number(argv.get('seconds') ?? '5');
const udpPps = Number(argv.get('udp-pps') ?? '2000');
const flows = Number(argv.get('flows') ?? '1000');
const profile = argv.get('profile') as TimersProfile | undefined;
const outFile = argv.get('out');
if (
  setups.length === 0 ||
  setups.some((s) => !AA_SETUPS.includes(s)) ||
  owners.length === 0 ||
  owners.some((o) => !AA_OWNERS.includes(o)) ||
  !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 600) ||
  !(Number.isInteger(udpPps) && udpPps >= 0 && udpPps <= 1_000_000) ||
  !(Number.isInteger(flows) && flows >= 1 && flows <= 10_000) ||
  (profile !== undefined && !TIMERS_PROFILES.includes(profile))
) {
  console.error(
    `usage: ha3-share.js [--setups ${AA_SETUPS.join(',')}] [--owners ${AA_OWNERS.join(',')}] [--seconds 1-600] [--udp-pps 0-1000000] [--flows 1-10000] [--profile recommended|aggressive] [--name PREFIX] [--out FILE]`,
  );
  process.exit(2);
}

const HOSTS: readonly LabHost[] = ['client', 'client2'];
const IPERF_PORTS = [5401, 5402] as const;
const UDP_DPORT = 5999;
const SPORT_BASE = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const log = (line: string): void => void console.error(`bench: ${line}`);

interface Row {
  setup: Setup;
  owner: Owner;
  primary: LabBox | null;
  tcpMbps: number[];
  packetsIn: number;
  bytesIn: number;
  toOwner: number;
  setupToPeer: number;
  missToPeer: number;
  ha3Bytes: number;
  ha3Frames: number;
  setupLocal: Record<LabBox, number>;
  deferAcked: number;
  deferTimeout: number;
  haTransitions: number;
  drops: Record<string, number>;
}

async function udpConfigs(lab: Lab): Promise<string[]> {
  const cfgs: string[] = [];
  for (const [g, h] of HOSTS.entries()) {
    const cfg = join(lab.runDir, `trafgen-ha3-${g}.cfg`);
    const [dstMac, srcMac] = [await warmAndGatewayMac(lab, h), await linkMac(lab.ns(h), HOST_DEVICE)];
    const stream = { srcMac, dstMac, src: LAB_ADDR[h], dst: LAB_ADDR.server, dport: UDP_DPORT, sportBase: SPORT_BASE + g * 10_000, flows, frameBytes: 128 };
    writeFileSync(cfg, trafgenConfig(stream), { mode: 0o600 });
    cfgs.push(cfg);
  }
  return cfgs;
}

/** Both clients' TCP and (unless --udp-pps 0) UDP at once; resolves with each client's TCP Mbit/s. */
async function load(lab: Lab, cfgs: string[]): Promise<number[]> {
  const tcp = Promise.all(HOSTS.map((h, g) => runIperf3Client(lab.ns(h), LAB_ADDR.server, IPERF_PORTS[g], seconds, 1)));
  const udp = udpPps > 0 ? Promise.all(HOSTS.map((h, g) => runTrafgen(lab.ns(h), HOST_DEVICE, cfgs[g], seconds, 1, udpPps))) : Promise.resolve([]);
  const [rs] = await Promise.all([tcp, udp]);
  return rs.map((r) => Math.round(r.receivedBitsPerS / 1e5) / 10);
}

function rowOf(setup: Setup, owner: Owner, primary: LabBox | null, tcpMbps: number[], d: PairCounters): Row {
  const sum = (f: (b: LabBox) => number) => LAB_BOXES.reduce((n, b) => n + f(b), 0);
  const drops: Record<string, number> = {};
  for (const b of LAB_BOXES) for (const [k, v] of d[b].drops) drops[`${b} ${k}`] = v;
  return {
    setup,
    owner,
    primary,
    tcpMbps,
    packetsIn: sum((b) => d[b].trafficRxPackets),
    bytesIn: sum((b) => d[b].trafficRxBytes),
    toOwner: sum((b) => d[b].events['to-owner']),
    setupToPeer: sum((b) => d[b].events['setup-to-peer']),
    missToPeer: sum((b) => d[b].events['miss-to-peer']),
    ha3Bytes: sum((b) => d[b].ha3TxBytes),
    ha3Frames: sum((b) => d[b].ha3TxFrames),
    setupLocal: { fwa: d.fwa.events['setup-local'], fwb: d.fwb.events['setup-local'] },
    deferAcked: sum((b) => d[b].events['defer-acked']),
    deferTimeout: sum((b) => d[b].events['defer-timeout']),
    haTransitions: sum((b) => d[b].transitions),
    drops,
  };
}

async function oneRun(name: string, setup: Setup, owner: Owner): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ha3-share-'));
  try {
    writeLabConfigsFor(dir, 'active-active', { aa: { sessionSetup: setup, sessionOwner: owner }, profile });
    await labUp({ name, mode: 'active-active', configDir: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lab = new Lab(name);
  for (const [g, port] of IPERF_PORTS.entries()) await startIperf3Server(lab.ns('server'), LAB_ADDR.server, port, lab.runDir, `-${g}`);
  await sinkUp(lab.ns('server'), HOST_DEVICE, UDP_DPORT, UDP_DPORT);
  const cfgs = await udpConfigs(lab); // also warms both clients' paths
  const primary = (await lab.boxState('fwa'))?.state === 'active-primary' ? 'fwa' : (await lab.boxState('fwb'))?.state === 'active-primary' ? 'fwb' : null;
  const a = await pairCounters(lab);
  const tcpMbps = await load(lab, cfgs);
  await sleep(300); // HA3 and the counters settle
  const row = rowOf(setup, owner, primary, tcpMbps, pairDelta(a, await pairCounters(lab)));
  log(
    `setup ${setup}, owner ${owner}: ${pct(row.toOwner + row.setupToPeer + row.missToPeer, row.packetsIn)} of packets crossed HA3, HA transitions ${row.haTransitions}`,
  );
  return row;
}

const pct = (x: number, of: number): string => (of > 0 ? `${((100 * x) / of).toFixed(1)} %` : '-');

function print(rows: Row[]): void {
  console.log(
    `\nHA3 share: client (device 0) and client2 (device 1) at once for ${seconds} s, each: 1 iperf3 TCP stream to the server` +
      (udpPps > 0 ? `, and ${udpPps} pps of UDP over ${flows} flows (128-byte frames)` : '') +
      '; the server answers each through the other box\n',
  );
  console.log(
    '| setup | owner | primary | TCP Mbit/s client / client2 | packets in | to HA3: to-owner / setup-to-peer / miss-to-peer | share of packets | HA3 bytes / bytes in | share of bytes | set up on fwa / fwb | defer acked / timeout | HA transitions |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const crossed = r.toOwner + r.setupToPeer + r.missToPeer;
    console.log(
      `| ${r.setup} | ${r.owner} | ${r.primary ?? '?'} | ${r.tcpMbps.join(' / ')} | ${r.packetsIn} | ${r.toOwner} / ${r.setupToPeer} / ${r.missToPeer} | ${pct(crossed, r.packetsIn)} | ` +
        `${r.ha3Bytes} / ${r.bytesIn} | ${pct(r.ha3Bytes, r.bytesIn)} | ${r.setupLocal.fwa} / ${r.setupLocal.fwb} | ${r.deferAcked} / ${r.deferTimeout} | ${r.haTransitions}${r.haTransitions > 0 ? ' (INVALID)' : ''} |`,
    );
  }
  for (const r of rows) {
    const drops = Object.entries(r.drops).sort((x, y) => y[1] - x[1]);
    if (drops.length > 0) console.log(`${r.setup}/${r.owner}: drops ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  const prefix = argv.get('name') ?? `bn${randomBytes(1).toString('hex')}`;
  let current: string | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of runningClients) c.kill('SIGKILL');
      void (current ? labDown({ name: current }) : Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const rows: Row[] = [];
  const failures: string[] = [];
  let n = 0;
  for (const setup of setups) {
    for (const owner of owners) {
      current = `${prefix}${n++}`;
      try {
        rows.push(await oneRun(current, setup, owner));
      } catch (err) {
        failures.push(`setup ${setup}, owner ${owner}: ${errText(err)}`);
        log(`setup ${setup}, owner ${owner}: no figure (${errText(err)})`);
      } finally {
        await labDown({ name: current }).catch((e: unknown) => log(`lab ${current} down failed: ${errText(e)}`));
        current = null;
      }
    }
  }
  print(rows);
  for (const f of failures) console.log(`no figure: ${f}`);
  const commit = (await trySh('git', ['-C', repoRoot(), 'rev-parse', '--short', 'HEAD']))?.stdout.trim() ?? null;
  console.log(`machine: ${availableParallelism()} CPUs; tree ${commit ?? '(not a git checkout)'}; timers ${profile ?? 'as shipped (aggressive)'}`);
  if (outFile) {
    writeFileSync(
      outFile,
      `${JSON.stringify({ date: new Date().toISOString(), commit, seconds, udpPps, flows, profile: profile ?? null, rows, failures }, null, 2)}\n`,
    );
    console.log(`JSON: ${outFile}`);
  }
}

await main();
