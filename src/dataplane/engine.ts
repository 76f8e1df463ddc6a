// Wires the dataplane: interfaces from config, the pipeline, the GARP scheduler and the capture
// handles (through the injected DataplaneIo, so this file never imports cap and runs under test
// with a fake). The worker owns one Engine. In active/active it also opens the HA3 device, one
// more handle after the traffic devices, behind an Ha3Port (ha3-port.ts).
//
// Handles are per kernel device, interfaces per logical name: a trunk's VLAN interfaces (and its
// untagged one) share the device's one handle. Received frames are demultiplexed by VLAN id
// (vlan.ts VlanDemux) into the logical interface's index, the only index the pipeline, the
// firewall, HA2 and HA3 know; frames sent on a VLAN interface get its tag at the handle (Port.send).
// The device's state (down, deleted, a new MTU or MAC) is every one of its interfaces' state.
import type { SharedConfig, TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { formatIpv4, parseCidr } from '../net/ipv4.js';
import { restartRequired, type ApplyResult } from './apply.js';
import { buildArpProbe, buildGarp } from './arp.js';
import { dropIndex, eventIndex } from '../wire/dataplane-counters.js';
import { SyncPort } from './sync-port.js';
import type { RecordRing } from '../wire/record-ring.js';
import { FirewallStats } from '../wire/firewall-stats.js';
import type { FirewallStatsSink } from './firewall.js';
import { GarpScheduler, ReclaimScheduler } from './garp.js';
import { formatMac, parseMac } from './packet.js';
import { Pipeline, type FloatingClass, type PipelineInterface, type PipelineOptions, type PreparedPipeline } from './pipeline.js';
import { RouteTable } from './route.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE, type SharedState } from '../wire/shared-state.js';
import {
  FLOATING_CLASSES,
  classAddresses,
  className,
  ownerClassName,
  interfaceArpSharing,
  interfaceClasses,
  interfaceVirtualMac,
  virtualMacsOf,
} from './vmac.js';
import type { DataplaneIo, PortStats } from './io.js';
import { DevicePorts, type PortSpec } from './ports.js';
import { VlanDemux } from './vlan.js';
import { sendGate } from './send-gate.js';
import { Ha3Port } from './ha3-port.js';
import { decisionsOf, type ActiveActiveStatus, type FloatingClassName } from '../wire/pair-status.js';
import { ha3MtuNeeded } from '../wire/ha3.js';
import { isIpv4Text, isIpv6Text } from '../net/family.js';
import { formatIpv6, ipv6FromKey, ipv6Key, isLinkLocal6, parseCidr6, solicitedNode6, type Ipv6 } from '../net/ipv6.js';
import { buildMldReport, MLD2_CHANGE_TO_EXCLUDE } from './mld.js';
import { buildNa, ND_NA_OVERRIDE, ND_NA_ROUTER } from './nd.js';

export type { DataplaneIo, Port } from './io.js';

export interface InterfaceStatus {
  name: string;
  device: string;
  /** The 802.1Q VLAN id on `device`, null for the device's untagged frames. */
  vlan: number | null;
  mac: string;
  virtualMac: string;
  address: string;
  /** The box's own IPv6 address here (device.interfaces.*.address6), null when it has none. */
  address6: string | null;
  mtu: number;
  /** The capture handle is open; when not, why (the device is down or gone) and for how long. */
  capture: { open: boolean; error: string | null; downMs: number | null; stats: PortStats | null };
  /** Active/active: each owner class's MAC here and whether this box serves the class now (empty in active/passive). */
  classes: { class: FloatingIpClass; mac: string; served: boolean }[];
}

export type { FloatingClassName } from '../wire/pair-status.js';
/** A floating IP's class in status: one owner class, or both device classes at once (`owner: shared`). */
export type FloatingIpClass = FloatingClassName | 'shared';

export interface DataplaneStatus {
  role: 'active' | 'passive';
  /** The frame I/O backend: ring or pcap (device.dataplane.io). */
  io: string;
  mayActAsActive: boolean;
  interfaces: InterfaceStatus[];
  arp: { interface: string; ip: string; mac: string; ageMs: number }[];
  pending: { interface: string; ip: string; queued: number; requests: number; waitingMs: number }[];
  /** IPv6 neighbours learned by neighbour discovery (the IPv6 ARP table). */
  neighbours6: { interface: string; ip: string; mac: string; ageMs: number }[];
  /**
   * `mac`: the MAC it answers ARP with (a shared address: this box's own class's, which answers
   * this box's share of the hosts); `class`: its owner class (null in active/passive, where the
   * active answers for all); `served`: answered now (may act as active and, in active/active, the
   * class is served; a shared address: either device class); `announced`: announced since the role
   * (or class) was taken (gratuitous ARP; a shared address: the probe of either device class).
   */
  floatingIps: { interface: string; address: string; mac: string; class: FloatingIpClass | null; served: boolean; announced: boolean }[];
  garp: { rounds: number; lastRoundAgoMs: number | null; bursting: boolean };
  /** Active/active only: this device, the primary, the classes it holds, the sessions each device owns here, the setup decisions, HA3. */
  activeActive?: ActiveActiveStatus;
}

export interface EngineOptions extends PipelineOptions {
  /** Replay a GARP request made before the engine started (default true). */
  garpOnStart?: boolean;
  /** HA2 replication rings (with the firewall only): our changes out, the peer's in. */
  sync?: { out: RecordRing; in: RecordRing };
  /**
   * Active/active (needed there): the key HA3 frames are authenticated with (the HA key), and this
   * run's epoch, the process start time in ms (the peer takes a newer epoch for a restart).
   */
  ha3?: { key: Buffer; epochMs: number };
}

export class Engine {
  readonly pipeline: Pipeline;
  readonly sync: SyncPort | null;
  private readonly shared: SharedState;
  private readonly clock: () => number;
  private readonly ports: DevicePorts;
  private readonly counters: Float64Array;
  private readonly garp: GarpScheduler;
  /** Active/active: one burst per class, started when this box gains the class (null in active/passive). */
  private readonly classGarp: { bit: number; sched: GarpScheduler }[] | null;
  /** Active/active: classes the peer's late frames claimed, announced again (null in active/passive). */
  private readonly reclaim: ReclaimScheduler | null;
  /** Active/active: servedClasses as last seen (a bit turning on starts that class's burst). */
  private lastServed: number;
  private garpFrames: GarpFrame[];
  /** The shared half the engine started with: what a commit cannot change live is compared with it. */
  private readonly running: SharedConfig;
  /** The device's own interface addresses, in engine order: the connected routes of every route table. */
  private readonly ownInterfaces: { name: string; address: string; address6?: string }[];
  /** roleEpoch at the last GARP round: "announced" means announced in the current role epoch. */
  private announcedEpoch = -1;
  /** Active/active: the classes announced in announcedEpoch since they were last gained. */
  private announcedClasses = 0;
  private lastEpoch: number;
  private readonly log: Logger;
  private stopped = false;
  /** Which frame I/O backend runs (status). */
  private readonly ioKind: string;
  /** Active/active: the HA3 link and its device (null in active/passive). */
  private readonly ha3: { port: Ha3Port; device: string; mac: Uint8Array; me: 0 | 1 } | null;
  /** Active/active: whether the peer forwarded at the last tick (its stop rearms its sessions' expiry). */
  private peerForwarding = false;
  /** Per interface (ifIndex): the index of its device's handle, and the TCI its frames leave with (0: untagged). */
  private readonly slotOf: readonly number[];
  private readonly tciOf: readonly number[];
  /** Per device handle: its interfaces' indexes. The HA3 handle, when there is one, comes after them. */
  private readonly members: readonly (readonly number[])[];
  /** Whether the last GARP poll found this box allowed to forward (active/active: a resume after a hold marks windows synced). */
  private mayActBefore = false;

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
    this.ownInterfaces = names.map((name) => {
      const ic = config.device.interfaces[name];
      return { name, address: ic.address, ...(ic.address6 !== undefined ? { address6: ic.address6 } : {}) };
    });
    const routes = RouteTable.fromConfig({ interfaces: this.ownInterfaces, routes: config.shared.routes });
    this.members = deviceMembers(interfaces);
    const slotOf: number[] = [];
    this.members.forEach((m, slot) => m.forEach((i) => (slotOf[i] = slot)));
    this.slotOf = slotOf;
    // priority bits 0: the pair does not classify traffic (802.1Q-2018 6.9.3 PCP, DEI clear)
    this.tciOf = interfaces.map((itf) => itf.vlan ?? 0);
    const sink = { send: (i: number, f: Uint8Array, n: number) => this.ports.send(this.slotOf[i], f, n, this.tciOf[i]) };
    this.pipeline = new Pipeline(interfaces, routes, shared, this.counters, sink, {
      ...withPair(config, shared, opts),
      routerAdvertisements: config.shared.routerAdvertisements,
    });
    const fw = this.pipeline.firewall;
    this.sync =
      fw && opts.sync
        ? new SyncPort(
            opts.sync.out,
            opts.sync.in,
            fw,
            { event: (e) => this.counters[eventIndex(e)]++, drop: (r) => this.counters[dropIndex(r)]++ },
            // active/active: records go both ways, and the owner of a session decides (sync-port.ts)
            config.shared.ha.mode === 'active-active'
              ? { me: config.device.id, active: () => shared.role === ROLE_ACTIVE, peerForwarding: () => shared.peerForwarding }
              : null,
          )
        : null;
    this.ha3 = this.ha3Link(config, io, interfaces, opts.ha3);
    this.garp = new GarpScheduler({ ...config.shared.ha.garp }, shared.garpSeq, opts.garpOnStart ?? true);
    // classes served before we started are announced, like a garpSeq request made then (unless told not to)
    this.lastServed = (opts.garpOnStart ?? true) || shared.role !== ROLE_ACTIVE ? 0 : shared.servedClasses;
    this.classGarp = config.shared.ha.mode === 'active-active' ? classBursts(config.shared) : null;
    this.reclaim = this.classGarp === null ? null : new ReclaimScheduler();
    this.garpFrames = garpFramesOf(interfaces);
    this.lastEpoch = shared.roleEpoch;

    const specs = this.members.map((members, slot) => this.deviceSpec(interfaces, members, slot));
    // the HA3 handle, when there is one, comes after the traffic devices: index nDev
    const nDev = this.members.length;
    this.ports = new DevicePorts(
      io,
      this.ha3 ? [...specs, this.ha3Spec(this.ha3.device)] : specs,
      {
        event: (e, n = 1) => (this.counters[eventIndex(e)] += n),
        drop: (r, n) => (this.counters[dropIndex(r)] += n),
        // a box that is active says again where its floating IPs are: switches may have aged them out
        reopened: (slot) => slot < nDev && this.garp.announce(this.clock()),
        // a trunk's state is each of its VLAN interfaces' (the link monitor reads the device too)
        captureOpen: (slot, open) => slot < nDev && this.members[slot].forEach((i) => this.shared.setCaptureOpen(i, open)),
        deviceChanged: (slot, facts) => {
          if (slot >= nDev) return this.ha3MtuChanged(facts.mtu);
          for (const i of this.members[slot]) this.pipeline.updateDevice(i, { mtu: facts.mtu, realMac: parseMac(facts.address) });
        },
      },
      log,
      clock,
    );
    this.ioKind = io.kind ?? 'custom';
  }

  /**
   * The handle of one kernel device: its frames demultiplexed by VLAN to its interfaces (`members`,
   * their indexes), judged at flush time by a gate that knows every one of their virtual MACs.
   */
  private deviceSpec(interfaces: readonly PipelineInterface[], members: readonly number[], slot: number): PortSpec {
    const rx = eventIndex('rx');
    const withheld = eventIndex('tx-withheld');
    const itfsNow = (): PipelineInterface[] => this.members[slot].map((i) => this.pipeline.interfaces[i]);
    const demux = new VlanDemux(members.map((i) => ({ ifIndex: i, vlan: interfaces[i].vlan ?? null })));
    const gate = sendGate(this.shared, this.clock, itfsNow, () => this.counters[withheld]++);
    return {
      name: members.map((i) => interfaces[i].name).join('+'),
      device: interfaces[members[0]].device,
      onFrame: (frame, len, truncated, vlan = 0) => {
        this.counters[rx]++;
        const now = this.clock();
        this.pollGarp(now);
        if (truncated) return this.pipeline.drop('oversize');
        const i = demux.classify(frame, len, vlan);
        if (i < 0) return this.pipeline.drop(demux.reason);
        this.pipeline.handle(i, frame, demux.len, now);
      },
      // the pipeline's view of the device's interfaces now: after a device was created again, its
      // new MAC (active/active: every class's MAC, served or not: a class may be taken at any moment)
      opts: () => {
        const now = itfsNow();
        const virtual = now.flatMap(virtualMacsOf);
        const own = now.flatMap((itf) => (virtualMacsOf(itf).length > 0 ? virtualMacsOf(itf) : [itf.mac]));
        return { ownMacs: [now[0].realMac, ...own], sharedMacs: virtual, extraMacs: virtual, sendGate: gate };
      },
    };
  }

  /**
   * Active/active: the HA3 link on device.ha.ha3 (null in active/passive). Refuses to start without
   * what it needs: the device, the key, the HA2 rings (INSERT installs sessions as HA2 does), and a
   * device MTU that carries the largest traffic frame in its envelope.
   */
  private ha3Link(config: TandemConfig, io: DataplaneIo, interfaces: readonly PipelineInterface[], ha3: EngineOptions['ha3']): Engine['ha3'] {
    if (config.shared.ha.mode !== 'active-active') return null;
    const device = config.device.ha.ha3?.device;
    if (device === undefined) throw new Error('active-active needs device.ha.ha3: the HA3 link to the peer');
    if (ha3 === undefined) throw new Error('active-active needs the HA key for HA3');
    const sync = this.sync;
    if (sync === null) throw new Error('active-active needs the firewall and its HA2 rings');
    const largest = Math.max(...interfaces.map((i) => i.mtu));
    const mtu = io.mtuOf(device);
    if (mtu < ha3MtuNeeded(largest)) {
      throw new Error(
        `HA3 device ${device} has MTU ${mtu}; it must be at least ${ha3MtuNeeded(largest)} to carry a frame of the largest traffic MTU (${largest}) in its envelope`,
      );
    }
    const mac = io.macOf(device);
    const port = new Ha3Port({
      key: ha3.key,
      me: config.device.id,
      epochMs: ha3.epochMs,
      mac,
      send: (f, n) => this.ports.send(this.members.length, f, n),
      pipeline: this.pipeline,
      install: (r) => sync.upsert(r),
      event: (e) => this.counters[eventIndex(e)]++,
      drop: (r) => this.counters[dropIndex(r)]++,
    });
    this.pipeline.peer = port;
    return { port, device, mac, me: config.device.id };
  }

  /** The HA3 device's handle: every frame to the Ha3Port. */
  private ha3Spec(device: string): PortSpec {
    const mac = this.ha3!.mac;
    return {
      name: 'ha3',
      device,
      onFrame: (frame, len, truncated) => {
        if (truncated) return this.pipeline.drop('ha3-length');
        this.ha3!.port.receive(frame, len, this.clock());
      },
      opts: () => ({ ownMacs: [mac] }),
    };
  }

  /** The HA3 device's MTU changed under us: too small for the traffic is worth a warning (frames will not fit). */
  private ha3MtuChanged(mtu: number): void {
    const need = ha3MtuNeeded(Math.max(...this.pipeline.interfaces.map((i) => i.mtu)));
    if (mtu < need) this.log.warn({ device: this.ha3?.device, mtu, need }, 'HA3 device MTU below what the traffic interfaces need');
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
      const interfaces: PipelineInterface[] = p.interfaces.map((itf) => withFloating(itf, shared));
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
    // (an address that changed class is new too: its new class's MAC has not announced it)
    const key = ({ ifIndex, ip, bit }: { ifIndex: number; ip: number; bit: number }): string => `${ifIndex}/${ip}/${bit}`;
    const before = new Set(p.floatingIps().map(key));
    p.commit(prepared, stats);
    this.garpFrames = garpFrames;
    this.garp.reconfigure({ ...shared.ha.garp }, now);
    for (const g of this.classGarp ?? []) g.sched.reconfigure({ ...shared.ha.garp, periodicS: 0 }, now);
    const sessionsRemoved = fw ? fw.rematch(now, oldNatRuleNames) : 0;
    // a new floating IP is announced at once (while active; a passive box sends nothing)
    if (p.floatingIps().some((f) => !before.has(key(f)))) {
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
    if (this.ha3 !== null) this.pairTick(now);
  }

  /** Active/active timer work: HA3's, and the peer's sessions once it stops forwarding. */
  private pairTick(now: number): void {
    const port = this.ha3!.port;
    port.tick(now);
    // the metrics' figures (FirewallStats: read at scrape time, never asked of this thread)
    const fw = this.pipeline.firewall;
    const owned = fw?.ownedSessions();
    if (fw?.stats instanceof FirewallStats && owned) fw.stats.setPair(owned, port.bytes.rx, port.bytes.tx);
    const forwarding = this.shared.peerForwarding;
    if (forwarding === this.peerForwarding) return;
    this.peerForwarding = forwarding;
    this.log.info(
      { peerForwarding: forwarding },
      forwarding ? 'the peer forwards: its sessions go to it over HA3' : 'the peer stopped forwarding: its sessions are adopted here',
    );
    this.pipeline.firewall?.peerForwardingChanged(forwarding);
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
    const mayAct = roleActive && shared.mayActAsActive(now);
    // active/active: forwarding resumes after a hold (a stall, a lease run out): the peer may
    // have adopted and forwarded our sessions meanwhile, so their TCP windows may lag
    if (mayAct && !this.mayActBefore && this.ha3 !== null) this.pipeline.firewall?.windowsMayLag();
    this.mayActBefore = mayAct;
    // active/active: a round covers the classes served now but those in a burst of their own
    // (active/passive frames have class 0 and always go)
    const served = this.classGarp === null ? 0 : shared.servedClasses;
    const bursting = this.classGarp === null ? 0 : this.startClassBursts(now, shared.role === ROLE_ACTIVE ? served : 0);
    if (this.garp.poll(now, shared.garpSeq, roleActive, mayAct) !== 0) this.sendGarp(served & ~bursting, epoch);
    if (bursting !== 0) this.pollClassBursts(now, served, roleActive, mayAct, epoch);
    if (this.reclaim !== null) {
      this.reclaim.claimed(this.pipeline.takeClaimedClasses() & this.reclaimable());
      const due = this.reclaim.poll(now, roleActive ? served : 0, mayAct);
      if (due !== 0) this.sendGarp(due, epoch);
    }
  }

  /**
   * Active/active: a class this box starts serving (servedClasses counts only while the role is
   * active: the control writes it before the role) is announced at once, alone, from its MAC. A
   * class it stops serving is not announced: the pipeline stops answering for it on the next frame.
   * Returns the classes with a burst under way.
   */
  private startClassBursts(now: number, served: number): number {
    const gained = served & ~this.lastServed;
    this.lastServed = served;
    this.announcedClasses &= served;
    let bursting = 0;
    for (const g of this.classGarp ?? []) {
      if ((gained & g.bit) !== 0) g.sched.announce(now);
      if (g.sched.bursting) bursting |= g.bit;
    }
    return bursting;
  }

  /**
   * Active/active: the classes a peer's frame from their MAC must be answered for: this box's own
   * device class (the peer announces it only when it wrongly took this box for down), and the
   * primary's while this box is the primary (a split brain's moment). Never the peer's own device
   * class, even while this box serves it as the survivor: the peer announcing it is the peer
   * coming back, before HA1 has said so, and answering it would only make both boxes speak for
   * the class until the hand-back (the chaos bench's dual-active frames).
   */
  private reclaimable(): number {
    const me = this.ha3?.me ?? 0;
    return (me === 0 ? CLASS_DEVICE0 : CLASS_DEVICE1) | (this.shared.primaryId === me ? CLASS_PRIMARY : 0);
  }

  /** The rounds of class bursts due now; a class no longer served (or a box no longer active) cancels its burst. */
  private pollClassBursts(now: number, served: number, roleActive: boolean, mayAct: boolean, epoch: number): void {
    for (const g of this.classGarp ?? []) {
      if (!g.sched.bursting) continue;
      if (g.sched.poll(now, 0, roleActive && (served & g.bit) !== 0, mayAct) !== 0) this.sendGarp(g.bit, epoch);
    }
  }

  /** One round: the GARP frames of class 0 (active/passive) and of the classes in `classes` (served ones). */
  private sendGarp(classes: number, epoch: number): void {
    const g = eventIndex('garp-sent');
    const na = eventIndex('na-announce-sent');
    const mld = eventIndex('mld-report-sent');
    for (const f of this.garpFrames) {
      if (f.bit !== 0 && (f.bit & classes) === 0) continue;
      if (this.pipeline.sendRaw(f.ifIndex, f.frame, f.len)) this.counters[f.mld === true ? mld : f.na === true ? na : g]++;
    }
    if (this.announcedEpoch !== epoch) this.announcedClasses = 0;
    this.announcedClasses |= classes;
    this.announcedEpoch = epoch;
  }

  status(): DataplaneStatus {
    const now = this.clock();
    const p = this.pipeline;
    const announced = this.announcedEpoch === this.shared.roleEpoch && this.shared.role === ROLE_ACTIVE;
    const mayAct = this.shared.mayActAsActive(now);
    const served = this.shared.servedClasses;
    const capture = this.ports.status(now);
    return {
      role: this.shared.role === ROLE_ACTIVE ? 'active' : 'passive',
      io: this.ioKind,
      mayActAsActive: this.shared.mayActAsActive(now),
      interfaces: p.interfaces.map((itf, i) => ({
        name: itf.name,
        device: itf.device,
        vlan: itf.vlan ?? null,
        mac: formatMac(itf.realMac),
        virtualMac: formatMac(itf.mac),
        address: formatIpv4(itf.address),
        address6: itf.address6 !== undefined ? formatIpv6(itf.address6) : null,
        mtu: itf.mtu,
        capture: capture[this.slotOf[i]],
        classes: (itf.classes ?? []).map((c) => ({ class: className(c.bit), mac: formatMac(c.mac), served: mayAct && (served & c.bit) !== 0 })),
      })),
      arp: p.neighbours.flatMap((t, i) =>
        t.snapshot(now).map((e) => ({ interface: p.interfaces[i].name, ip: formatIpv4(e.ip), mac: formatMac(e.mac), ageMs: Math.round(e.ageMs) })),
      ),
      pending: p.neighbours.flatMap((t, i) =>
        t
          .pendingSnapshot(now)
          .map((e) => ({ interface: p.interfaces[i].name, ip: formatIpv4(e.ip), queued: e.queued, requests: e.requests, waitingMs: Math.round(e.waitingMs) })),
      ),
      neighbours6: p.v6.neighbours.flatMap((t, i) => t.snapshot(now).map((e) => ({ interface: p.interfaces[i].name, ...neighbour6(e) }))),
      floatingIps: [...this.floatingStatus(mayAct, served, announced), ...this.floating6Status(mayAct, served, announced)],
      garp: this.garpStatus(now),
      ...this.pairStatus(now),
    };
  }

  private floatingStatus(mayAct: boolean, served: number, announced: boolean): DataplaneStatus['floatingIps'] {
    const p = this.pipeline;
    return p.floatingIps().map(({ ifIndex, ip, bit }) => {
      const itf = p.interfaces[ifIndex];
      const cls = bit === 0 ? undefined : itf.classes?.find((c) => c.bit === bit);
      return {
        interface: itf.name,
        address: formatIpv4(ip),
        mac: formatMac(cls?.mac ?? itf.mac),
        class: bit === 0 ? null : className(bit),
        served: mayAct && (bit === 0 || (served & bit) !== 0),
        announced: announced && (bit === 0 || (this.announcedClasses & bit) !== 0),
      };
    });
  }

  /** The floating IPv6 addresses: answered by neighbour discovery, announced by unsolicited advertisements (active/active: per class). */
  private floating6Status(mayAct: boolean, served: number, announced: boolean): DataplaneStatus['floatingIps'] {
    return this.pipeline.interfaces.flatMap((itf): DataplaneStatus['floatingIps'] => {
      const classes = itf.classes ?? [];
      if (classes.length === 0) {
        return (itf.floating6 ?? []).map((ip) => ({
          interface: itf.name,
          address: formatIpv6(ip),
          mac: formatMac(itf.mac),
          class: null,
          served: mayAct,
          announced,
        }));
      }
      return classes.flatMap((c) =>
        (c.floating6 ?? []).map((ip) => ({
          interface: itf.name,
          address: formatIpv6(ip),
          mac: formatMac(c.mac),
          class: className(c.bit),
          served: mayAct && (served & c.bit) !== 0,
          announced: announced && (this.announcedClasses & c.bit) !== 0,
        })),
      );
    });
  }

  /** GARP rounds sent (active/active: the class bursts' too), the last one's age, whether a burst runs. */
  private garpStatus(now: number): DataplaneStatus['garp'] {
    const all = [this.garp, ...(this.classGarp ?? []).map((g) => g.sched)];
    const rounds = all.reduce((n, s) => n + s.rounds, 0);
    const last = Math.max(...all.map((s) => s.lastRoundMs));
    return { rounds, lastRoundAgoMs: rounds > 0 ? Math.round(now - last) : null, bursting: all.some((s) => s.bursting) };
  }

  private pairStatus(now: number): Pick<DataplaneStatus, 'activeActive'> {
    const owned = this.pipeline.firewall?.ownedSessions() ?? null;
    if (this.ha3 === null || owned === null) return {};
    const ha3 = { device: this.ha3.device, open: this.ports.isOpen(this.members.length), ...this.ha3.port.status(now) };
    const sh = this.shared;
    return {
      activeActive: {
        device: this.ha3.me,
        primary: sh.primaryId === 1 ? 1 : 0,
        peerForwarding: sh.peerForwarding,
        sessionsOwned: owned,
        classes: this.classStatus(now),
        decisions: decisionsOf(this.counters),
        ha3,
      },
    };
  }

  /**
   * Active/active: each owner class, whether this box holds it now, and its addresses. Held means
   * answered, so only while the box may act as active (the same rule as floatingIps[].served).
   */
  private classStatus(now: number): ActiveActiveStatus['classes'] {
    const mayAct = this.shared.mayActAsActive(now);
    const served = mayAct ? this.shared.servedClasses : 0;
    const accepted = mayAct ? this.shared.acceptedClasses : 0;
    const fips = this.pipeline.floatingIps();
    return FLOATING_CLASSES.map((bit) => ({
      class: ownerClassName(bit),
      served: (served & bit) !== 0,
      handingBack: (accepted & bit) !== 0 && (served & bit) === 0,
      addresses: fips.filter((f) => f.bit === bit).map((f) => ({ interface: this.pipeline.interfaces[f.ifIndex].name, address: formatIpv4(f.ip) })),
    }));
  }

  /** Closes every handle. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // the pair ends with this box: hosts forget it as their IPv6 router (sent once, if not yet)
    if (this.shared.retiring) this.pipeline.v6.retire();
    this.ports.close();
  }
}

/** Active/active: the firewall learns which device it is and where the pair's view is read. */
function withPair(config: TandemConfig, shared: SharedState, options: EngineOptions): PipelineOptions {
  // the device's ICMP error rate limit; a test's own icmpRate wins
  const opts = { ...options, icmpRate: { ...config.device.dataplane?.icmpErrors, ...options.icmpRate } };
  if (config.shared.ha.mode !== 'active-active' || opts.firewall === undefined) return opts;
  return { ...opts, firewall: { ...opts.firewall, aa: { me: config.device.id, pair: shared } } };
}

/** The IPv4 floating addresses of an interface: the IPv4 pipeline's (IPv6 ones are the IPv6 path's). */
function floatingIpv4(shared: SharedConfig, ifName: string): SharedConfig['floatingIps'] {
  return shared.floatingIps.filter((f) => f.interface === ifName && isIpv4Text(f.address));
}

/** The IPv6 floating addresses of an interface (global and link-local), for the IPv6 path. */
function floatingIpv6(shared: SharedConfig, ifName: string): Ipv6[] {
  return shared.floatingIps.filter((f) => f.interface === ifName && isIpv6Text(f.address)).map((f) => parseCidr6(f.address).address);
}

/** The traffic interfaces as the pipeline sees them, in `names` order (their ifIndex). */
function pipelineInterfaces(config: TandemConfig, names: readonly string[], io: DataplaneIo): PipelineInterface[] {
  return names.map((name) => {
    const ic = config.device.interfaces[name];
    const realMac = io.macOf(ic.device);
    const { address, prefix } = parseCidr(ic.address);
    const classes = interfaceClasses(config.shared, name, realMac);
    const arpSharing = interfaceArpSharing(config.shared, name);
    return {
      name,
      device: ic.device,
      ...(ic.vlan !== undefined ? { vlan: ic.vlan } : {}),
      realMac,
      mac: interfaceVirtualMac(config.shared, name, realMac, config.device.id),
      address,
      prefix,
      floating: floatingIpv4(config.shared, name).map((f) => parseCidr(f.address).address),
      ...(ic.address6 !== undefined ? { address6: parseCidr6(ic.address6).address, prefix6: parseCidr6(ic.address6).prefix } : {}),
      floating6: floatingIpv6(config.shared, name),
      mtu: io.mtuOf(ic.device),
      ...(ic.mssClamp !== undefined ? { mssClamp: ic.mssClamp } : {}),
      ...(classes.length > 0 ? { classes } : {}),
      ...(arpSharing !== undefined ? { arpSharing } : {}),
    };
  });
}

/**
 * The interfaces of each kernel device (one handle each), in the order their devices first appear
 * among the interfaces: a device's untagged interface and its VLANs are one group.
 */
function deviceMembers(interfaces: readonly PipelineInterface[]): number[][] {
  const byDevice = new Map<string, number[]>();
  interfaces.forEach((itf, i) => {
    const group = byDevice.get(itf.device);
    if (group === undefined) byDevice.set(itf.device, [i]);
    else group.push(i);
  });
  return [...byDevice.values()];
}

/**
 * The interface with a committed shared half's floating IPs. Its MACs stay (capture filters and
 * hosts' ARP caches know them), and so does whether it has classes: the mode is taken at start.
 */
function withFloating(itf: PipelineInterface, shared: SharedConfig): PipelineInterface {
  const here = floatingIpv4(shared, itf.name);
  const { arpSharing: _before, ...rest } = itf;
  const next: PipelineInterface = { ...rest, floating: here.map((f) => parseCidr(f.address).address), floating6: floatingIpv6(shared, itf.name) };
  if (itf.classes === undefined || itf.classes.length === 0) return next;
  const mine = shared.floatingIps.filter((f) => f.interface === itf.name);
  const classes = itf.classes.map((c) => ({ ...c, ...classAddresses(mine, c.bit) }));
  // the shared addresses and their split follow the commit (a new method moves hosts: pipeline.ts arpShared)
  const arpSharing = interfaceArpSharing(shared, itf.name);
  return { ...next, classes, ...(arpSharing !== undefined ? { arpSharing } : {}) };
}

/** Active/active: a burst scheduler per class, started by the engine only (no garpSeq, no periodic round). */
function classBursts(shared: SharedConfig): { bit: number; sched: GarpScheduler }[] {
  return FLOATING_CLASSES.map((bit) => ({ bit, sched: new GarpScheduler({ ...shared.ha.garp, periodicS: 0 }, 0, false) }));
}

interface GarpFrame {
  ifIndex: number;
  /** An unsolicited neighbour advertisement (IPv6) rather than a gratuitous ARP. */
  na?: boolean;
  /** An MLD report (IPv6) joining the floating addresses' solicited-node groups. */
  mld?: boolean;
  /** Its class (active/active), 0 in active/passive. */
  bit: number;
  frame: Uint8Array;
  len: number;
}

/**
 * One gratuitous ARP frame per floating IP, from its interface's (virtual) MAC; in active/active
 * from its class's MAC, tagged with the class. A shared address (ARP load sharing) gets an ARP
 * probe from each device class's MAC instead, tagged with that class: the box taking a class moves
 * the switches' entry for its MAC, and the hosts keep the MAC their share was given (a gratuitous
 * ARP would move every host that knows the address to one MAC, and undo the split).
 */
/**
 * The IPv6 gratuitous ARP (RFC 9568 6.4.2): an unsolicited neighbour advertisement for a floating
 * IPv6 address to all nodes, from the virtual MAC, R=1 (a router: hosts keep the pair as their
 * default router), S=0, O=1 (override what caches hold), target link-layer address the virtual MAC.
 */
function naFrameOf(ifIndex: number, mac: Uint8Array, ip: Ipv6, bit = 0): GarpFrame {
  const frame = new Uint8Array(128);
  return { ifIndex, bit, na: true, frame, len: buildNa(frame, mac, ip, ND_NA_ROUTER | ND_NA_OVERRIDE, null, null) };
}

/**
 * The MLDv2 report that joins the solicited-node groups of an interface's floating IPv6
 * addresses, from the floating link-local address and the virtual MAC (RFC 3810 5.2.13): a switch
 * snooping MLD then sends neighbour solicitations for them to the active's port. None without a
 * floating link-local address (a report needs a link-local source).
 */
function mldFramesOf(ifIndex: number, itf: PipelineInterface): GarpFrame[] {
  const floating = itf.floating6 ?? [];
  const source = floating.find((a) => isLinkLocal6(a));
  if (source === undefined) return [];
  return [mldFrameOf(ifIndex, 0, itf.mac, source, floating)];
}

/**
 * Active/active: one MLD report per class with floating IPv6 addresses, from its MAC, joining its
 * addresses' groups, so a snooping switch sends each class's solicitations to the box serving it;
 * the source is the interface's floating link-local address, whichever class it is in.
 */
function classMldFramesOf(ifIndex: number, itf: PipelineInterface, c: FloatingClass): GarpFrame[] {
  const source = (itf.floating6 ?? []).find((a) => isLinkLocal6(a));
  const floating = c.floating6 ?? [];
  if (source === undefined || floating.length === 0) return [];
  return [mldFrameOf(ifIndex, c.bit, c.mac, source, floating)];
}

function mldFrameOf(ifIndex: number, bit: number, mac: Uint8Array, source: Ipv6, floating: readonly Ipv6[]): GarpFrame {
  const groups = [...new Map(floating.map((a) => [ipv6Key(solicitedNode6(a)), solicitedNode6(a)])).values()];
  const frame = new Uint8Array(128 + 20 * groups.length);
  return { ifIndex, bit, mld: true, frame, len: buildMldReport(frame, mac, source, groups, groups.length, MLD2_CHANGE_TO_EXCLUDE) };
}

function garpFramesOf(interfaces: readonly PipelineInterface[]): GarpFrame[] {
  const frameOf = (ifIndex: number, bit: number, mac: Uint8Array, ip: number, build = buildGarp): GarpFrame => {
    const frame = new Uint8Array(64);
    return { ifIndex, bit, frame, len: build(frame, mac, ip) };
  };
  return interfaces.flatMap((itf, ifIndex) => {
    if (itf.classes === undefined || itf.classes.length === 0) {
      return [
        ...itf.floating.map((ip) => frameOf(ifIndex, 0, itf.mac, ip)),
        ...(itf.floating6 ?? []).map((ip) => naFrameOf(ifIndex, itf.mac, ip)),
        ...mldFramesOf(ifIndex, itf),
      ];
    }
    const shared = itf.arpSharing?.addresses ?? [];
    return itf.classes.flatMap((c) => [
      ...c.floating.map((ip) => frameOf(ifIndex, c.bit, c.mac, ip)),
      ...(c.bit === CLASS_PRIMARY ? [] : shared.map((ip) => frameOf(ifIndex, c.bit, c.mac, ip, buildArpProbe))),
      ...(c.floating6 ?? []).map((ip) => naFrameOf(ifIndex, c.mac, ip, c.bit)),
      ...classMldFramesOf(ifIndex, itf, c),
    ]);
  });
}

/** A neighbour table entry of the IPv6 path, for status. */
function neighbour6(e: { ip: string; mac: Uint8Array; ageMs: number }): { ip: string; mac: string; ageMs: number } {
  const w = new Uint32Array(4);
  ipv6FromKey(e.ip, w);
  return { ip: formatIpv6(w), mac: formatMac(e.mac), ageMs: Math.round(e.ageMs) };
}
