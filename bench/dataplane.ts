// bench/dataplane: packets per second forwarded through the active box, tandem's userspace
// dataplane against the Linux kernel on the same namespaces and veths, side by side in one run.
//
//   npm run build && node dist/bench/dataplane.js [--seconds 10] [--sizes 64,1400] [--flows 1000] [--generators 1] [--io ring,pcap]
//
// One lab per frame I/O variant of --io (both daemons, deploy/lab's configs with device.dataplane
// set as bench/lib/io-variants.ts says; rows `tandem-<variant>`). An nft counter on the server's ingress counts and
// drops the stream (bench/lib/sink.ts). For each frame size, trafgen in the client namespace sends
// UDP 10.0.1.10:{10000..10000+flows-1} -> 10.0.2.10:5999 (the lab-test rule allows it; one source
// port per flow, cycled, so a stateful dataplane runs on established sessions, not on one) to the
// lan virtual MAC, for --seconds. Then both daemons are stopped and the box that was active becomes
// a kernel firewall (bench/lib/kernel-fw.ts: ip_forward, the floating IPs as kernel addresses,
// nftables stateful rules equivalent to the lab policy, masquerade), and the same streams run to
// its lan0 MAC. Counters are read with nothing in flight, before and after each run:
//   offered    client eth0 tx packets
//   at box     the box's lan0 rx packets (what the bridge delivered to it)
//   forwarded  tandem: tandem_dataplane_packets_total{event="forwarded"}; kernel: the lab-test rule's counter
//   at server  the server's ingress counter
// and drops by reason (tandem's counters; frames the box's lan0 received but the daemon never read
// are the capture ring's loss), the daemon's CPU and RSS, and the machine's CPU split.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, trySh } from '../src/lab/exec.js';
import { Lab, labDown, labUp, type LabBox } from '../src/lab/lab.js';
import { BOX_DEVICE, HOST_DEVICE, LAB_ADDR } from '../src/lab/topology.js';
import {
  backlogDrops,
  linkMac,
  linkStats,
  machineCpu,
  metricSamples,
  nftCounter,
  processCpuS,
  processRssMiB,
  sampleDelta,
  scrapeMetrics,
  type LinkStats,
  type MachineCpu,
} from './lib/counters.js';
import { kernelFirewallUp } from './lib/kernel-fw.js';
import { parseIoVariants, writeLabConfigs, type IoVariant } from './lib/io-variants.js';
import { sinkCount, sinkUp } from './lib/sink.js';
import { runningGenerator, runTrafgen, trafgenConfig, wireBytes } from './lib/trafgen.js';

const DPORT = 5999;
const SPORT_BASE = 10_000;
/** The lan virtual MAC of the lab's group 1 (src/dataplane/vmac.ts: 02:74:64:00:<group>:<n>, lan is n=1). */
const LAN_VMAC = '02:74:64:00:01:01';
/** Time for queues and capture rings to drain after the generator stops, before counters are read. */
const DRAIN_MS = 500;

/**
 * tandem-<io variant>; kernel: the lab's veths as built; kernel-rps: lan0's receive processing
 * steered to the CPUs the generator is not pinned to.
 */
type Forwarder = `tandem-${IoVariant}` | 'kernel' | 'kernel-rps';
const isTandem = (f: Forwarder): boolean => f.startsWith('tandem');

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const seconds = Number(argv.get('seconds') ?? '10');
const sizes = (argv.get('sizes') ?? '64,1400')
  .split(',')
  .filter((s) => s !== '')
  .map(Number);
const flows = Number(argv.get('flows') ?? '1000');
const generators = Number(argv.get('generators') ?? '1');
const ios = parseIoVariants(argv.get('io') ?? 'ring,pcap');
if (!(seconds > 0 && seconds <= 600) || sizes.some((s) => !Number.isInteger(s)) || !(flows >= 1 && flows <= 50_000) || !(generators >= 1 && generators <= 64)) {
  console.error('usage: dataplane.js [--seconds 1-600] [--sizes 64,1400] [--flows 1-50000] [--generators N] [--io ring,ring-thread,ring-v3,pcap]');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Snapshot {
  client: LinkStats;
  boxLan: LinkStats;
  boxWan: LinkStats;
  server: LinkStats;
  sink: number;
  forwarded: number;
  daemonRx: number;
  /** The other box's forwarded packets and both boxes' HA transitions (tandem only). */
  otherForwarded: number;
  transitions: number;
  drops: Map<string, number>;
  daemonCpuS: number;
  machine: MachineCpu;
  backlogDrops: number;
}

interface Result {
  forwarder: Forwarder;
  frameBytes: number;
  seconds: number;
  offeredPps: number;
  atBoxPps: number;
  forwardedPps: number;
  wanOutPps: number;
  atServerPps: number;
  atServerMbps: number;
  /** Drops by reason, packets per second over the run. */
  dropsPps: Record<string, number>;
  daemonCpuPct: number | null;
  /** The daemon's CPU time (all threads) per frame it forwarded, microseconds. */
  cpuUsPerFrame: number | null;
  daemonRssMiB: number | null;
  /** RSS when the run began: with daemonRssMiB, whether memory stayed flat under saturation. */
  daemonRssBeforeMiB: number | null;
  /** Machine CPU over the run, percent of all cores: user, system, softirq, idle. */
  machinePct: { user: number; system: number; softirq: number; idle: number };
  generatorSent: number;
  /** tandem: packets the other (passive) box forwarded, and HA transitions on either box, during the run. */
  otherBoxForwarded: number;
  haTransitions: number;
}

class Bench {
  /** The lab being measured: one per I/O variant, the last one also for the kernel rows. */
  lab: Lab;
  box: LabBox = 'fwa';
  forwarder: Forwarder = 'tandem-ring';
  daemonPid: number | null = null;
  clientMac = '';

  constructor(readonly name: string) {
    this.lab = new Lab(name);
  }

  private async snapshot(): Promise<Snapshot> {
    const boxNs = this.lab.ns(this.box);
    const [client, boxLan, boxWan, server, sink] = await Promise.all([
      linkStats(this.lab.ns('client'), HOST_DEVICE),
      linkStats(boxNs, BOX_DEVICE.lan),
      linkStats(boxNs, BOX_DEVICE.wan),
      linkStats(this.lab.ns('server'), HOST_DEVICE),
      sinkCount(this.lab.ns('server')),
    ]);
    let forwarded: number;
    let daemonRx = 0;
    let drops = new Map<string, number>();
    let daemonCpuS = 0;
    let otherForwarded = 0;
    let transitions = 0;
    if (isTandem(this.forwarder)) {
      const other: LabBox = this.box === 'fwa' ? 'fwb' : 'fwa';
      const [text, otherText] = await Promise.all([
        scrapeMetrics(join(this.lab.runDir, `${this.box}-metrics.sock`)),
        scrapeMetrics(join(this.lab.runDir, `${other}-metrics.sock`)),
      ]);
      const events = metricSamples(text, 'tandem_dataplane_packets_total');
      forwarded = events.get('event="forwarded"') ?? 0;
      daemonRx = events.get('event="rx"') ?? 0;
      drops = metricSamples(text, 'tandem_dataplane_drops_total');
      daemonCpuS = processCpuS(this.daemonPid!);
      otherForwarded = metricSamples(otherText, 'tandem_dataplane_packets_total').get('event="forwarded"') ?? 0;
      for (const t of [text, otherText]) for (const v of metricSamples(t, 'tandem_ha_transitions_total').values()) transitions += v;
    } else {
      forwarded = await nftCounter(boxNs, 'lab-test');
    }
    return {
      client,
      boxLan,
      boxWan,
      server,
      sink,
      forwarded,
      daemonRx,
      otherForwarded,
      transitions,
      drops,
      daemonCpuS,
      machine: machineCpu(),
      backlogDrops: backlogDrops(),
    };
  }

  /** A few pings client -> server through the box: neighbours resolved, bridges' tables learned. */
  async warm(): Promise<void> {
    const res = await trySh('ip', ['netns', 'exec', this.lab.ns('client'), 'ping', '-c', '3', '-i', '0.2', '-W', '1', LAB_ADDR.server], { timeoutMs: 10_000 });
    if (!res || !/ 0% packet loss/.test(res.stdout)) {
      // one retry: a neighbour entry may have been in the middle of being resolved
      const again = await trySh('ip', ['netns', 'exec', this.lab.ns('client'), 'ping', '-c', '3', '-i', '0.2', '-W', '1', LAB_ADDR.server], {
        timeoutMs: 10_000,
      });
      if (!again || / 100% packet loss/.test(again.stdout)) throw new Error(`${this.forwarder}: client cannot ping the server through ${this.box}`);
    }
  }

  async measure(frameBytes: number, dstMac: string): Promise<Result> {
    const cfg = join(this.lab.runDir, `trafgen-${this.forwarder}-${frameBytes}.cfg`);
    writeFileSync(
      cfg,
      trafgenConfig({ srcMac: this.clientMac, dstMac, src: LAB_ADDR.client, dst: LAB_ADDR.server, dport: DPORT, sportBase: SPORT_BASE, flows, frameBytes }),
      { mode: 0o600 },
    );
    await this.warm();
    const rssBefore = isTandem(this.forwarder) ? processRssMiB(this.daemonPid!) : null;
    const a = await this.snapshot();
    const run = await runTrafgen(this.lab.ns('client'), HOST_DEVICE, cfg, seconds, generators);
    await sleep(DRAIN_MS);
    const b = await this.snapshot();
    const s = run.wallMs / 1000;
    const pps = (n: number) => Math.round(n / s);
    const dropsPps: Record<string, number> = {};
    for (const [k, v] of sampleDelta(a.drops, b.drops)) dropsPps[k.replace(/^reason="(.*)"$/, '$1')] = pps(v);
    const lanRx = b.boxLan.rxPackets - a.boxLan.rxPackets;
    if (isTandem(this.forwarder)) {
      // what reached lan0 but never reached the daemon: lost in the capture ring (libpcap's
      // ps_drop; the daemon's rx also counts wan0, quiet but for ARP during the run)
      const unread = lanRx - (b.daemonRx - a.daemonRx);
      if (unread > 0) dropsPps['capture-ring (lan0 rx - daemon rx)'] = pps(unread);
    } else {
      const notFwd = lanRx - (b.forwarded - a.forwarded);
      if (notFwd > 0) dropsPps['not forwarded (lan0 rx - rule counter)'] = pps(notFwd);
    }
    const backlog = b.backlogDrops - a.backlogDrops;
    if (backlog > 0) dropsPps['kernel backlog (softnet_stat)'] = pps(backlog);
    const rxDropped = b.boxLan.rxDropped - a.boxLan.rxDropped;
    if (rxDropped > 0) dropsPps['lan0 rx dropped'] = pps(rxDropped);
    const cpuTicks = b.machine.total - a.machine.total;
    const pct = (x: number) => Math.round((1000 * x) / cpuTicks) / 10;
    const atServer = b.sink - a.sink;
    return {
      forwarder: this.forwarder,
      frameBytes,
      seconds: Math.round(s * 100) / 100,
      offeredPps: pps(b.client.txPackets - a.client.txPackets),
      atBoxPps: pps(lanRx),
      forwardedPps: pps(b.forwarded - a.forwarded),
      wanOutPps: pps(b.boxWan.txPackets - a.boxWan.txPackets),
      atServerPps: pps(atServer),
      // on the wire: the frame with its FCS, as Ethernet's rate counts it (preamble and gap not included)
      atServerMbps: Math.round((atServer * frameBytes * 8) / s / 1e5) / 10,
      dropsPps,
      daemonCpuPct: isTandem(this.forwarder) ? Math.round((1000 * (b.daemonCpuS - a.daemonCpuS)) / s) / 10 : null,
      cpuUsPerFrame:
        isTandem(this.forwarder) && b.forwarded > a.forwarded ? Math.round((1e7 * (b.daemonCpuS - a.daemonCpuS)) / (b.forwarded - a.forwarded)) / 10 : null,
      daemonRssMiB: isTandem(this.forwarder) ? Math.round(processRssMiB(this.daemonPid!)) : null,
      daemonRssBeforeMiB: rssBefore === null ? null : Math.round(rssBefore),
      machinePct: {
        user: pct(b.machine.user - a.machine.user),
        system: pct(b.machine.system - a.machine.system),
        softirq: pct(b.machine.softirq - a.machine.softirq),
        idle: pct(b.machine.idle - a.machine.idle),
      },
      generatorSent: run.sent,
      otherBoxForwarded: b.otherForwarded - a.otherForwarded,
      haTransitions: b.transitions - a.transitions,
    };
  }
}

function kpps(x: number): string {
  return (x / 1000).toFixed(1);
}

function print(results: Result[]): void {
  console.log(
    `\ndataplane forwarding: ${seconds} s per run, ${flows} UDP flows ${LAB_ADDR.client}:${SPORT_BASE}-${SPORT_BASE + flows - 1} -> ${LAB_ADDR.server}:${DPORT}, trafgen x${generators} in the client namespace`,
  );
  console.log(
    'frame B  forwarder         offered kpps  at box kpps  forwarded kpps  at server kpps  at server Mbit/s  daemon CPU %  CPU us/frame  RSS MiB start-end  machine usr/sys/si/idle %',
  );
  for (const r of results) {
    console.log(
      [
        String(r.frameBytes).padEnd(8),
        r.forwarder.padEnd(17),
        kpps(r.offeredPps).padEnd(13),
        kpps(r.atBoxPps).padEnd(12),
        kpps(r.forwardedPps).padEnd(15),
        kpps(r.atServerPps).padEnd(15),
        String(r.atServerMbps).padEnd(17),
        (r.daemonCpuPct === null ? '-' : String(r.daemonCpuPct)).padEnd(13),
        (r.cpuUsPerFrame === null ? '-' : String(r.cpuUsPerFrame)).padEnd(13),
        (r.daemonRssMiB === null ? '-' : `${r.daemonRssBeforeMiB}-${r.daemonRssMiB}`).padEnd(18),
        `${r.machinePct.user}/${r.machinePct.system}/${r.machinePct.softirq}/${r.machinePct.idle}`,
      ].join(' '),
    );
    const drops = Object.entries(r.dropsPps)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]);
    if (drops.length > 0) console.log(`         drops pps: ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (r.haTransitions > 0 || r.otherBoxForwarded > 0) {
      console.log(`         WARNING: ${r.haTransitions} HA transitions during the run; the other box forwarded ${r.otherBoxForwarded} packets`);
    }
  }
  for (const size of sizes) {
    for (const t of results.filter((r) => isTandem(r.forwarder) && r.frameBytes === size)) {
      for (const kind of ['kernel', 'kernel-rps'] as const) {
        const k = results.find((r) => r.forwarder === kind && r.frameBytes === size);
        if (k && k.atServerPps > 0) {
          console.log(
            `ratio ${t.forwarder} / ${kind}, ${size}-byte frames (received at server): ${(t.atServerPps / k.atServerPps).toFixed(2)} (${kpps(t.atServerPps)} / ${kpps(k.atServerPps)} kpps)`,
          );
        }
      }
    }
  }
}

async function main(): Promise<void> {
  const name = `bd${randomBytes(2).toString('hex')}`;
  const bench = new Bench(name);
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaning ??= labDown({ name }).catch((e: unknown) => console.error(`bench: lab down failed: ${e instanceof Error ? e.message : String(e)}`)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (runningGenerator?.pid) runningGenerator.kill('SIGINT');
      void cleanup().then(() => process.exit(130));
    });
  }
  const results: Result[] = [];
  // the machine may be shared (other tests, builds): say how busy it was before the bench began
  const idle0 = machineCpu();
  await sleep(2000);
  const idle1 = machineCpu();
  const busyBeforePct = Math.round(1000 * (1 - (idle1.idle - idle0.idle) / (idle1.total - idle0.total))) / 10;
  console.error(`bench: machine busy ${busyBeforePct} % over 2 s before the bench (other work on the same cores)`);
  try {
    let lab = bench.lab;
    let tandemActive: LabBox = 'fwa';
    for (const [i, io] of ios.entries()) {
      // one lab per variant, the previous one down first; the last one stays for the kernel rows
      if (i > 0) await labDown({ name });
      const dir = mkdtempSync(join(tmpdir(), `bench-dataplane-${io}-`));
      try {
        writeLabConfigs(dir, io);
        await labUp({ name, configDir: dir });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      bench.lab = lab = new Lab(name);
      bench.forwarder = `tandem-${io}`;
      tandemActive = (await lab.boxState('fwa'))?.state === 'active' ? 'fwa' : 'fwb';
      bench.box = tandemActive;
      bench.daemonPid = lab.pid(tandemActive);
      if (bench.daemonPid === null) throw new Error(`no PID for ${tandemActive}`);
      bench.clientMac = await linkMac(lab.ns('client'), HOST_DEVICE);
      await sinkUp(lab.ns('server'), HOST_DEVICE, DPORT, DPORT);
      console.error(
        `bench: lab ${name} (io ${io}), ${tandemActive} active (daemon pid ${bench.daemonPid}); frames ${sizes.map((b) => `${b} B (${wireBytes(b)} on the veth)`).join(', ')}`,
      );
      for (const size of sizes) {
        const r = await bench.measure(size, LAN_VMAC);
        results.push(r);
        console.error(`bench: tandem-${io} ${size} B: offered ${kpps(r.offeredPps)} kpps, at server ${kpps(r.atServerPps)} kpps`);
      }
    }

    // the kernel on the same box and veths: daemons stopped, the box routes and filters itself
    for (const box of ['fwa', 'fwb'] as const) await lab.killBox(box, 'SIGTERM', 10_000);
    bench.forwarder = 'kernel';
    bench.daemonPid = null;
    const boxNs = lab.ns(tandemActive);
    await kernelFirewallUp(boxNs);
    // hosts had the virtual MACs for their gateways: forget them so they ask the kernel's lan0/wan0
    for (const host of ['client', 'server'] as const) await nsExec(lab.ns(host), 'ip', ['neigh', 'flush', 'all']);
    const lanMac = await linkMac(boxNs, BOX_DEVICE.lan);
    for (const size of sizes) {
      const r = await bench.measure(size, lanMac);
      results.push(r);
      console.error(`bench: kernel ${size} B: offered ${kpps(r.offeredPps)} kpps, at server ${kpps(r.atServerPps)} kpps`);
    }
    // A veth hands a frame to its peer in the sender's context: without RPS the kernel forwards on
    // the generator's CPU and never uses the other one, while tandem's daemon runs on it. With RPS
    // on lan0, the forwarding runs on the CPUs trafgen (pinned to 0..generators-1) leaves free.
    const cpus = availableParallelism();
    const mask = ((1 << cpus) - 1) & ~((1 << generators) - 1);
    if (mask !== 0 && cpus <= 30) {
      await nsExec(boxNs, 'sh', ['-c', `echo ${mask.toString(16)} > /sys/class/net/${BOX_DEVICE.lan}/queues/rx-0/rps_cpus`]);
      bench.forwarder = 'kernel-rps';
      for (const size of sizes) {
        // trafgen sometimes refuses to start with RPS on (TX_RING flush EAGAIN): the row is
        // reported missing rather than losing the whole run
        try {
          const r = await bench.measure(size, lanMac);
          results.push(r);
          console.error(
            `bench: kernel with RPS (mask ${mask.toString(16)}) ${size} B: offered ${kpps(r.offeredPps)} kpps, at server ${kpps(r.atServerPps)} kpps`,
          );
        } catch (err) {
          console.error(`bench: kernel with RPS ${size} B: no figure (${err instanceof Error ? err.message : String(err)})`);
        }
      }
    }
  } finally {
    await cleanup();
  }
  print(results);
  console.log(`machine busy ${busyBeforePct} % before the bench (${availableParallelism()} CPUs)`);
  console.log(`\n${JSON.stringify({ seconds, flows, generators, busyBeforePct, results })}`);
}

await main();
