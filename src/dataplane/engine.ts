// Wires the dataplane: interfaces from config, the pipeline, the GARP scheduler and the capture
// handles (through the injected DataplaneIo, so this file never imports cap and runs under test
// with a fake). The worker owns one Engine.
import type { SharedConfig, TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { formatIpv4, parseCidr } from '../net/ipv4.js';
import { restartRequired, type ApplyResult } from './apply.js';
import { buildGarp } from './arp.js';
import { dropIndex, eventIndex } from '../wire/dataplane-counters.js';
import { SyncPort } from './sync-port.js';
import type { RecordRing } from '../wire/record-ring.js';
import { FirewallStats } from '../wire/firewall-stats.js';
import type { FirewallStatsSink } from './firewall.js';
import { GarpScheduler } from './garp.js';
import { formatMac, parseMac } from './packet.js';
import { Pipeline, type PipelineInterface, type PipelineOptions, type PreparedPipeline } from './pipeline.js';
import { RouteTable } from './route.js';
import { ROLE_ACTIVE, type SharedState } from '../wire/shared-state.js';
import { interfaceVirtualMac } from './vmac.js';
import type { DataplaneIo, PortStats } from './io.js';
import { DevicePorts } from './ports.js';
import { sendGate } from './send-gate.js';

export type { DataplaneIo, Port } from './io.js';

export interface InterfaceStatus {
  name: string;
  device: string;
  mac: string;
  virtualMac: string;
  address: string;
  mtu: number;
  /** The capture handle is open; when not, why (the device is down or gone) and for how long. */
  capture: { open: boolean; error: string | null; downMs: number | null; stats: PortStats | null };
}

export interface DataplaneStatus {
  role: 'active' | 'passive';
  /** The frame I/O backend: ring or pcap (device.dataplane.io). */
  io: string;
  mayActAsActive: boolean;
  interfaces: InterfaceStatus[];
  arp: { interface: string; ip: string; mac: string; ageMs: number }[];
  pending: { interface: string; ip: string; queued: number; requests: number; waitingMs: number }[];
  floatingIps: { interface: string; address: string; mac: string; announced: boolean }[];
  garp: { rounds: number; lastRoundAgoMs: number | null; bursting: boolean };
}

export interface EngineOptions extends PipelineOptions {
  /** Replay a GARP request made before the engine started (default true). */
  garpOnStart?: boolean;
  /** HA2 replication rings (with the firewall only): our changes out, the peer's in. */
  sync?: { out: RecordRing; in: RecordRing };
}

export class Engine {
  readonly pipeline: Pipeline;
  readonly sync: SyncPort | null;
  private readonly shared: SharedState;
  private readonly clock: () => number;
  private readonly ports: DevicePorts;
  private readonly counters: Float64Array;
  private readonly garp: GarpScheduler;
  private garpFrames: { ifIndex: number; frame: Uint8Array; len: number }[];
  /** The shared half the engine started with: what a commit cannot change live is compared with it. */
  private readonly running: SharedConfig;
  /** The device's own interface addresses, in engine order: the connected routes of every route table. */
  private readonly ownInterfaces: { name: string; address: string }[];
  /** roleEpoch at the last GARP round: "announced" means announced in the current role epoch. */
  private announcedEpoch = -1;
  private lastEpoch: number;
  private readonly log: Logger;
  private stopped = false;
  /** Which frame I/O backend runs (status). */
  private readonly ioKind: string;

  constructor(config: TandemConfig, shared: SharedState, io: DataplaneIo, clock: () => number, log: Logger, opts: EngineOptions = {}) {
    this.shared = shared;
    this.clock = clock;
    this.log = log;
    this.counters = shared.counters();
    // sorted: interface indexes travel in HA2 records, so both boxes must number them alike
    const names = Object.keys(config.device.interfaces).sort();
    const interfaces = pipelineInterfaces(config, names, io);
    for (const f of config.shared.floatingIps) {
      if (!names.includes(f.interface)) throw new Error(`floating IP ${f.address} names interface ${JSON.stringify(f.interface)}, not in device.interfaces`);
    }
    this.running = structuredClone(config.shared);
    this.ownInterfaces = names.map((name) => ({ name, address: config.device.interfaces[name].address }));
    const routes = RouteTable.fromConfig({ interfaces: this.ownInterfaces, routes: config.shared.routes });
    const sink = { send: (i: number, f: Uint8Array, n: number) => this.ports.send(i, f, n) };
    this.pipeline = new Pipeline(interfaces, routes, shared, this.counters, sink, opts);
    const fw = this.pipeline.firewall;
    this.sync =
      fw && opts.sync
        ? new SyncPort(opts.sync.out, opts.sync.in, fw, {
            event: (e) => this.counters[eventIndex(e)]++,
            drop: (r) => this.counters[dropIndex(r)]++,
          })
        : null;
    this.garp = new GarpScheduler({ ...config.shared.ha.garp }, shared.garpSeq, opts.garpOnStart ?? true);
    this.garpFrames = garpFramesOf(interfaces);
    this.lastEpoch = shared.roleEpoch;

    const rx = eventIndex('rx');
    const withheld = eventIndex('tx-withheld');
    const gates = interfaces.map((_, i) =>
      sendGate(
        shared,
        clock,
        () => this.pipeline.interfaces[i],
        () => this.counters[withheld]++,
      ),
    );
    const specs = interfaces.map((itf, i) => ({
      name: itf.name,
      device: itf.device,
      onFrame: (frame: Uint8Array, len: number, truncated: boolean) => {
        this.counters[rx]++;
        const now = this.clock();
        this.pollGarp(now);
        if (truncated) return this.pipeline.drop('oversize');
        this.pipeline.handle(i, frame, len, now);
      },
      // the pipeline's view of the interface now: after a device was created again, its new MAC
      opts: () => {
        const now = this.pipeline.interfaces[i];
        const virtual = sameMac(now.mac, now.realMac) ? [] : [now.mac];
        return { ownMacs: [now.realMac, now.mac], sharedMacs: virtual, extraMacs: virtual, sendGate: gates[i] };
      },
    }));
    this.ports = new DevicePorts(
      io,
      specs,
      {
        event: (e, n = 1) => (this.counters[eventIndex(e)] += n),
        drop: (r, n) => (this.counters[dropIndex(r)] += n),
        // a box that is active says again where its floating IPs are: switches may have aged them out
        reopened: () => this.garp.announce(this.clock()),
        captureOpen: (i, open) => this.shared.setCaptureOpen(i, open),
        deviceChanged: (i, facts) => this.pipeline.updateDevice(i, { mtu: facts.mtu, realMac: parseMac(facts.address) }),
      },
      log,
      clock,
    );
    this.ioKind = io.kind ?? 'custom';
  }

  /**
   * Applies a committed shared half (docs/firewall.md "Committing a new config: what changes
   * when"). Everything is compiled first; a config that does not compile changes nothing and
   * answers ok: false. Then one synchronous switch (no frame runs in between, so none sees half a
   * config), then the existing sessions are re-matched against the new policy. What cannot change
   * live is left as it started and listed in restartRequired.
   */
  applyShared(shared: SharedConfig): ApplyResult {
    const now = this.clock();
    const p = this.pipeline;
    const fw = p.firewall;
    let prepared: PreparedPipeline;
    let stats: FirewallStatsSink | null = fw?.stats ?? null;
    let garpFrames: typeof this.garpFrames;
    let restart: string[];
    try {
      const names = p.interfaces.map((i) => i.name);
      for (const f of shared.floatingIps) {
        if (!names.includes(f.interface)) throw new Error(`floating IP ${f.address} names interface ${JSON.stringify(f.interface)}, not in device.interfaces`);
      }
      // the MACs stay: capture filters and hosts' ARP caches know them (restartRequired says when they would change)
      const interfaces: PipelineInterface[] = p.interfaces.map((itf) => ({
        ...itf,
        floating: shared.floatingIps.filter((f) => f.interface === itf.name).map((f) => parseCidr(f.address).address),
      }));
      const routes = RouteTable.fromConfig({ interfaces: this.ownInterfaces, routes: shared.routes });
      prepared = p.prepare(shared, interfaces, routes);
      garpFrames = garpFramesOf(interfaces);
      restart = restartRequired(this.running, shared, names);
      if (fw && prepared.firewall && stats instanceof FirewallStats) {
        stats = stats.carriedOver(fw.policy.ruleNames, fw.nat.ruleNames, prepared.firewall.policy.ruleNames, prepared.firewall.nat.ruleNames);
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.log.warn({ err }, 'shared config not applied; the previous one keeps running');
      return { ok: false, error };
    }

    // The switch: assignments only from here on.
    const oldNatRuleNames = fw ? fw.nat.ruleNames : [];
    const before = new Set(p.floatingIps().map(({ ifIndex, ip }) => `${ifIndex}/${ip}`));
    p.commit(prepared, stats);
    this.garpFrames = garpFrames;
    this.garp.reconfigure({ ...shared.ha.garp }, now);
    const sessionsRemoved = fw ? fw.rematch(now, oldNatRuleNames) : 0;
    // a new floating IP is announced at once (while active; a passive box sends nothing)
    if (p.floatingIps().some(({ ifIndex, ip }) => !before.has(`${ifIndex}/${ip}`))) {
      this.garp.announce(now);
      this.pollGarp(now);
    }
    const ruleNames = fw ? [...fw.policy.ruleNames] : [];
    const natRuleNames = fw ? [...fw.nat.ruleNames] : [];
    this.log.info({ restartRequired: restart, sessionsRemoved, rules: ruleNames.length, natRules: natRuleNames.length }, 'shared config applied');
    return {
      ok: true,
      restartRequired: restart,
      sessionsRemoved,
      firewallBuffer: stats instanceof FirewallStats ? stats.buffer : null,
      ruleNames,
      natRuleNames,
    };
  }

  /** Timer work: GARP, ARP retries. The worker calls it every ~2 ms. */
  tick(): void {
    if (this.stopped) return;
    const now = this.clock();
    this.ports.tick(now);
    this.pollGarp(now);
    this.pipeline.tick(now);
    this.pipeline.firewall?.expire(now);
    this.sync?.tick(now);
  }

  private pollGarp(now: number): void {
    const shared = this.shared;
    const epoch = shared.roleEpoch;
    if (epoch !== this.lastEpoch) {
      this.lastEpoch = epoch;
      this.log.info({ role: shared.role === ROLE_ACTIVE ? 'active' : 'passive', epoch }, 'dataplane role changed');
      // synced sessions wait for the active's deletes; as the new active they expire on their own
      if (shared.role === ROLE_ACTIVE && this.sync) this.sync.takeOver(now);
    }
    // A box handing over leaves the virtual MACs to the new active: a GARP of its own (the rest of
    // a burst, a periodic round) would pull the switches' tables back to it mid hand-over.
    const roleActive = shared.role === ROLE_ACTIVE && !shared.handingOver;
    if (this.garp.poll(now, shared.garpSeq, roleActive, roleActive && shared.mayActAsActive(now)) === 0) return;
    const g = eventIndex('garp-sent');
    for (const f of this.garpFrames) {
      if (this.pipeline.sendRaw(f.ifIndex, f.frame, f.len)) this.counters[g]++;
    }
    this.announcedEpoch = epoch;
  }

  status(): DataplaneStatus {
    const now = this.clock();
    const p = this.pipeline;
    const announced = this.announcedEpoch === this.shared.roleEpoch && this.shared.role === ROLE_ACTIVE;
    const capture = this.ports.status(now);
    return {
      role: this.shared.role === ROLE_ACTIVE ? 'active' : 'passive',
      io: this.ioKind,
      mayActAsActive: this.shared.mayActAsActive(now),
      interfaces: p.interfaces.map((itf, i) => ({
        name: itf.name,
        device: itf.device,
        mac: formatMac(itf.realMac),
        virtualMac: formatMac(itf.mac),
        address: formatIpv4(itf.address),
        mtu: itf.mtu,
        capture: capture[i],
      })),
      arp: p.neighbours.flatMap((t, i) =>
        t.snapshot(now).map((e) => ({ interface: p.interfaces[i].name, ip: formatIpv4(e.ip), mac: formatMac(e.mac), ageMs: Math.round(e.ageMs) })),
      ),
      pending: p.neighbours.flatMap((t, i) =>
        t
          .pendingSnapshot(now)
          .map((e) => ({ interface: p.interfaces[i].name, ip: formatIpv4(e.ip), queued: e.queued, requests: e.requests, waitingMs: Math.round(e.waitingMs) })),
      ),
      floatingIps: p.floatingIps().map(({ ifIndex, ip }) => ({
        interface: p.interfaces[ifIndex].name,
        address: formatIpv4(ip),
        mac: formatMac(p.interfaces[ifIndex].mac),
        announced,
      })),
      garp: {
        rounds: this.garp.rounds,
        lastRoundAgoMs: this.garp.rounds > 0 ? Math.round(now - this.garp.lastRoundMs) : null,
        bursting: this.garp.bursting,
      },
    };
  }

  /** Closes every handle. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ports.close();
  }
}

/** The traffic interfaces as the pipeline sees them, in `names` order (their ifIndex). */
function pipelineInterfaces(config: TandemConfig, names: readonly string[], io: DataplaneIo): PipelineInterface[] {
  return names.map((name) => {
    const ic = config.device.interfaces[name];
    const realMac = io.macOf(ic.device);
    const { address, prefix } = parseCidr(ic.address);
    return {
      name,
      device: ic.device,
      realMac,
      mac: interfaceVirtualMac(config.shared, name, realMac),
      address,
      prefix,
      floating: config.shared.floatingIps.filter((f) => f.interface === name).map((f) => parseCidr(f.address).address),
      mtu: io.mtuOf(ic.device),
    };
  });
}

/** One gratuitous ARP frame per floating IP, from its interface's (virtual) MAC. */
function garpFramesOf(interfaces: readonly PipelineInterface[]): { ifIndex: number; frame: Uint8Array; len: number }[] {
  return interfaces.flatMap((itf, ifIndex) =>
    itf.floating.map((ip) => {
      const frame = new Uint8Array(64);
      const len = buildGarp(frame, itf.mac, ip);
      return { ifIndex, frame, len };
    }),
  );
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
