// The per-frame decision. One call per received frame; no allocation on the forwarding path
// (frames are rewritten in place in the capture buffer and sent synchronously), no I/O but the
// injected FrameSink, time as an argument.
//
//   frame in
//    -> own frame?                       (count, ignore)
//    -> ARP: learn the sender; request for a floating IP of this interface -> reply (active only;
//                                        active/active: only for a served class, from its MAC)
//    -> L2: for our (virtual) MAC?       (kernel's MAC / link broadcast -> kernel; else not-for-us;
//                                        active/active: a served class's MAC)
//    -> IPv4 validate                    (truncated, bad-ip-header, bad-ip-checksum)
//    -> to the box's own address         -> kernel
//    -> to a floating IP                 -> ICMP echo reply (active only) / to-self-other
//    -> gate: may act as active?         (passive / lease-expired)
//    -> IP options stripped              (ip-source-route, ip-options: ip-options.ts)
//    -> fragment? reassembly             (held until whole, frag-*: reassembly.ts); the whole
//                                        datagram goes on as one packet, in the reassembler's buffer
//    -> route lookup                     (no-route, same-interface), TTL, MTU (ICMP time exceeded,
//                                        fragmentation needed for DF: icmp-error-send.ts)
//    -> stages                           <- session lookup, policy, NAT go here (ForwardStage)
//    -> TCP MSS clamp of SYNs (an interface's mssClamp: tcp-mss.ts)
//    -> TTL decrement + incremental checksum, source MAC = egress virtual MAC
//    -> larger than the egress MTU, DF clear: fragments (fragment.ts)
//    -> next-hop MAC from the ARP table, or queue + ARP request
//    -> frame out on the egress handle
//
// Active/active: the firewall may answer FW_PEER (the frame goes to the peer over HA3, as it
// arrived: PeerLink.forward), and a new session's first packet may wait for the peer to hold the
// session (PeerLink.defer; releaseHeld sends it on). Frames the peer carried here enter at the
// IPv4 step (handlePeer), as if they had arrived on the interface it names.
import { inPrefix, type Prefix } from '../net/ipv4.js';
import { ARP_SHA, ARPOP_REQUEST, arpSenderIp, arpTargetIp, buildArpReply, buildArpRequest, checkArp } from './arp.js';
import { arpShareDevice, servesDevice } from './arp-share.js';
import { checksumUpdate16 } from '../net/checksum.js';
import { dropIndex, eventIndex, type DropReason, type EventCounter } from '../wire/dataplane-counters.js';
import { echoReplyInPlace } from './icmp.js';
import { ICMP_TIMXCEED_INTRANS, ICMP_TIMXCEED_REASS, ICMP_UNREACH_NEEDFRAG } from './icmp-error-build.js';
import { buildFragment, fragmentCount } from './fragment.js';
import { checkIpOptions, OPTS_OK, OPTS_SOURCE_ROUTE, stripIpOptions } from './ip-options.js';
import { MAX_DATAGRAM, RA_DONE, RA_DUPLICATE, RA_HELD, Reassembler, type ReassemblyLimits } from './reassembly.js';
import { IcmpErrorSender } from './icmp-error-send.js';
import { IcmpRateLimiter, type IcmpRateOptions } from './icmp-rate.js';
import { NeighbourTable, type NeighbourOptions } from './neighbours.js';
import { clampMss } from './tcp-mss.js';
import {
  ETH_DST,
  ETH_HLEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ICMP_DEST_UNREACH,
  ICMP_TIME_EXCEEDED,
  IP_CSUM,
  IP_DF,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TTL,
  IP_HLEN,
  IP_VHL,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  copyMac,
  isBroadcastMac,
  isFragment,
  isGroupMac,
  isMartianSource,
  isNonUnicastDestination,
  macEquals,
  readU16,
  readU32,
  validateIpv4,
  writeU16,
} from './packet.js';
import type { RouteEntry, RouteTable } from './route.js';
import type { SharedConfig } from '../config/types.js';
import { Firewall, FW_DROP, FW_LOCAL, FW_PEER, type FirewallPair, type FirewallStatsSink, type PreparedFirewall } from './firewall.js';
import { HA3_FLAG_MISS, HA3_FLAG_SETUP } from '../wire/ha3.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, ROLE_ACTIVE } from '../wire/shared-state.js';
import type { ArpLoadSharingConfig } from '../config/types.js';
import type { FloatingClass, PipelineInterface } from './pipeline-interface.js';
import { Ipv6Path, type Ipv6Host } from './ipv6-path.js';
import { ETHERTYPE_IPV6 } from './packet6.js';
import type { RouterAdvertisementConfig } from '../config/types.js';
import { CLASS_SHARED, deviceClass } from './vmac.js';

export type { FloatingClass, PipelineInterface } from './pipeline-interface.js';

/** Where frames go out. Synchronous; false when the device refused the frame. */
export interface FrameSink {
  send(ifIndex: number, frame: Uint8Array, len: number): boolean;
}

/** What the gate reads: a SharedState, or a stand-in in tests. */
export interface RoleSource {
  readonly role: number;
  mayActAsActive(nowMs: number): boolean;
  /** A planned hand-over is under way: forward, but leave the virtual MACs to the new active. */
  readonly handingOver?: boolean;
  /** During a hand-over: the new active's gratuitous ARP arrived on `ifIndex` (see SharedState). */
  markPeerAnnounced?(ifIndex: number, allMask: number, nowMs: number): void;
  /**
   * Active/active: the floating-address classes this box serves now (CLASS_* bits), read only for
   * interfaces that have classes (never in active/passive); absent = none.
   */
  readonly servedClasses?: number;
  /** Active/active: classes whose frames are still taken though no longer served (the hand-back hold); absent = none. */
  readonly acceptedClasses?: number;
  /** The pair ends: this box stops with no peer to take over (SharedState.retiring); absent = never. */
  readonly retiring?: boolean;
}

/**
 * The packet being forwarded, handed to each stage. One object, reused for every frame: stages
 * must not keep it. Fields are valid for the duration of the call.
 */
export interface ForwardContext {
  frame: Uint8Array;
  len: number;
  nowMs: number;
  ingress: number;
  egress: number;
  route: RouteEntry | null;
  src: number;
  dst: number;
  proto: number;
}

/**
 * A forwarding stage between route lookup and rewrite (session lookup, policy, NAT in later
 * versions). Returns a drop reason to drop the packet, or null to pass it on. A stage may rewrite
 * the frame (NAT) and must then fix the checksums itself; it may change ctx.egress/ctx.route.
 */
export type ForwardStage = (ctx: ForwardContext) => DropReason | null;

export interface PipelineOptions {
  neighbours?: Partial<NeighbourOptions>;
  stages?: ForwardStage[];
  /**
   * The stateful firewall (sessions, policy, NAT); without it the pipeline only routes. `aa`:
   * active/active (this device, the pair's view).
   */
  firewall?: { shared: SharedConfig; stats?: FirewallStatsSink | null; seed?: number; aa?: FirewallPair };
  /** The rate limit of the ICMP errors the box sends (icmp-rate.ts; defaults there, seed random). */
  icmpRate?: Partial<IcmpRateOptions>;
  /** Fragment reassembly's limits (reassembly.ts REASSEMBLY_DEFAULTS). */
  reassembly?: Partial<ReassemblyLimits>;
  /** IPv6 fragment reassembly's limits (reassembly6.ts REASSEMBLY6_DEFAULTS). */
  reassembly6?: Partial<ReassemblyLimits>;
  /** shared.routerAdvertisements at start (a commit brings its own). */
  routerAdvertisements?: readonly RouterAdvertisementConfig[];
}

/** Active/active: the way to the peer over HA3 (the engine's Ha3Port). */
export interface PeerLink {
  /**
   * Carries a frame, as it arrived on our interface `ingress`, to the peer (HA3 DATA with `flags`).
   * False when it could not (counted there: ha3-down, send-failed).
   */
  forward(flags: number, ingress: number, frame: Uint8Array, len: number, nowMs: number): boolean;
  /**
   * The first packet of the new session `slot`, ready to leave on `egress` for `nextHop`: the peer
   * is told of the session (HA3 INSERT) and the frame is held (copied) until it answers or deferMs
   * passes, then handed to releaseHeld. False when it was not held: send it now. An IPv6 packet's
   * next hop is `nextHop6` (4 words; `nextHop` unused).
   */
  defer(slot: number, egress: number, nextHop: number, frame: Uint8Array, len: number, nowMs: number, nextHop6?: Uint32Array | null): boolean;
}

/**
 * What a commit replaces in the pipeline, compiled and not yet in use (Pipeline.prepare): the
 * interfaces with their new floating IPs, the routes, the firewall's rules.
 */
export interface PreparedPipeline {
  readonly interfaces: readonly PipelineInterface[];
  readonly routes: RouteTable;
  readonly firewall: PreparedFirewall | null;
  /** Absent: none. */
  readonly routerAdvertisements?: readonly RouterAdvertisementConfig[];
}

export class Pipeline {
  readonly neighbours: readonly NeighbourTable[];
  // The shared config's part (interfaces' floating IPs, routes) is replaced as a whole by
  // commit(), between two frames.
  private interfaces_: readonly PipelineInterface[];
  private routes: RouteTable;
  private readonly role: RoleSource;
  private readonly counters: Float64Array;
  private readonly sink: FrameSink;
  private readonly stages: ForwardStage[];
  /** Null when the pipeline only routes (tests of v1 behaviour). */
  readonly firewall: Firewall | null;
  /** Every floating IP, any interface. */
  private floatingAll = new Set<number>();
  /** Floating IPs per interface. */
  private floatingOn: Set<number>[];
  /** Bit i set when interface i carries floating IPs: where a hand-over waits for the peer's GARP. */
  private floatingMask = 0;
  /**
   * Active/active, per interface: the classes whose MACs are ours to answer to while served (null:
   * active/passive's one MAC, `mac`; also with virtual MACs off, where every class has the real MAC).
   */
  private classMacs: (readonly FloatingClass[] | null)[];
  /** Active/active, per interface: the class of each floating IP (null in active/passive). */
  private classOf: (Map<number, FloatingClass> | null)[];
  /** Active/active, per interface: its shared addresses and their two device classes (null: none). */
  private sharingOf: (SharingHere | null)[];
  /** The box's own kernel addresses. */
  private readonly ownAddresses = new Set<number>();
  /** Active/active: classes we serve whose MAC the peer sent from since takeClaimedClasses (the engine announces them again). */
  private claimedClasses = 0;
  /** Scratch frame for ARP replies and requests (60 bytes is enough; room to spare). */
  private readonly tx = new Uint8Array(128);
  private readonly ctx: ForwardContext = {
    frame: new Uint8Array(0),
    len: 0,
    nowMs: 0,
    ingress: 0,
    egress: 0,
    route: null,
    src: 0,
    dst: 0,
    proto: 0,
  };
  private readonly onRequestCb: (ip: number) => void;
  private readonly onTimeoutCb: (ip: number, frames: number) => void;
  private tickIf = 0;
  private tickNowMs = 0;
  /** Active/active: the HA3 link (the engine sets it once the link is open). */
  peer: PeerLink | null = null;
  /** Time exceeded and fragmentation needed (RFC 1812 4.3.2), rate-limited. */
  readonly icmpErrors: IcmpErrorSender;
  /** Active/active: the class of this box's own floating addresses (0: active/passive, or not known). */
  private readonly ownClass: number;
  /** IPv6 (ipv6-path.ts): neighbour discovery, router advertisements, forwarding. */
  readonly v6: Ipv6Path;
  /** IPv4 fragments held until their datagram is whole. */
  readonly reassembler: Reassembler;
  /** Scratch for the fragments of a packet larger than the egress MTU (one at a time: sent or copied at once). */
  private readonly fragTx = new Uint8Array(ETH_HLEN + MAX_DATAGRAM);
  private readonly onFragTimeoutCb: (frame: Uint8Array, len: number, ingress: number, flags: number, first: boolean) => void;

  constructor(interfaces: PipelineInterface[], routes: RouteTable, role: RoleSource, counters: Float64Array, sink: FrameSink, opts: PipelineOptions = {}) {
    this.interfaces_ = interfaces;
    this.routes = routes;
    this.role = role;
    this.counters = counters;
    this.sink = sink;
    this.stages = opts.stages ?? [];
    this.neighbours = interfaces.map(() => new NeighbourTable(opts.neighbours));
    this.floatingOn = interfaces.map((itf) => new Set(itf.floating));
    this.floatingMask = maskOf(interfaces);
    this.classMacs = interfaces.map(classMacsOf);
    this.classOf = interfaces.map(classOfIps);
    this.sharingOf = interfaces.map(sharingHere);
    for (const itf of interfaces) {
      for (const f of itf.floating) this.floatingAll.add(f);
      this.ownAddresses.add(itf.address);
    }
    this.onRequestCb = (ip) => {
      if (this.role.mayActAsActive(this.tickNowMs)) this.sendArpRequest(this.tickIf, ip);
    };
    this.onTimeoutCb = (_ip, frames) => {
      this.counters[dropIndex('arp-timeout')] += frames;
    };
    const limiter = new IcmpRateLimiter({ seed: (Math.random() * 0x100000000) >>> 0, ...opts.icmpRate });
    this.icmpErrors = new IcmpErrorSender(
      limiter,
      (i, f, n) => this.sink.send(i, f, n),
      (e) => this.event(e),
    );
    this.ownClass = opts.firewall?.aa ? deviceClass(opts.firewall.aa.me) : 0;
    this.reassembler = new Reassembler(opts.reassembly);
    this.onFragTimeoutCb = (frame, len, ingress, _flags, first) => {
      this.drop('frag-timeout');
      // RFC 792/1812: time exceeded (reassembly) only when the first fragment came, it is quoted
      if (first && this.role.mayActAsActive(this.tickNowMs) && ingress < this.interfaces_.length) {
        this.icmpError(ingress, frame, len, ICMP_TIME_EXCEEDED, ICMP_TIMXCEED_REASS, 0, this.tickNowMs);
      }
    };
    this.v6 = new Ipv6Path(
      this.ipv6Host(),
      interfaces.length,
      opts.neighbours,
      (frames) => {
        this.counters[dropIndex('nd-timeout')] += frames;
      },
      opts.reassembly6,
    );
    this.v6.commit(interfaces, opts.routerAdvertisements ?? [], 0);
    this.firewall = opts.firewall
      ? new Firewall(
          opts.firewall.shared,
          interfaces,
          routes,
          {
            drop: (r) => this.drop(r),
            event: (e) => this.event(e),
            emit: (i, f, n) => this.emit(i, f, n),
            timeExceeded: (i, f, n, now) => (readU16(f, ETH_TYPE) === ETHERTYPE_IPV6 ? this.v6.timeExceeded(i, f, n, now) : this.timeExceeded(i, f, n, now)),
            answerAllowed: (dst, now) => this.icmpErrors.limiter.allow(dst, now),
            answerSource: (i) => this.errorSource(this.interfaces_[i]),
          },
          opts.firewall.stats ?? null,
          opts.firewall.seed,
          opts.firewall.aa ?? null,
        )
      : null;
  }

  /** What the IPv6 path reads and calls of this pipeline. */
  private ipv6Host(): Ipv6Host {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the firewall is made after the IPv6 path: read it when used
    const pipeline = this;
    return {
      interfaces: () => this.interfaces_,
      routes: () => this.routes.v6,
      get firewall() {
        return pipeline.firewall;
      },
      limiter: this.icmpErrors.limiter,
      drop: (r) => this.drop(r),
      event: (e) => this.event(e),
      emit: (i, f, n) => this.emit(i, f, n),
      send: (i, f, n) => this.sink.send(i, f, n),
      gate: (now) => this.gate(now),
      mayActAsActive: (now) => this.role.mayActAsActive(now),
      role: () => this.role.role,
      handingOver: () => this.role.handingOver === true,
      retiring: () => this.role.retiring === true,
      toUs: (i, f) => this.toUs(i, this.interfaces_[i], f),
      servedClasses: () => this.role.servedClasses ?? 0,
      toPeer: (flags, i, f, n, now) => this.toPeer(flags, i, f, n, now),
      fragmentsToPeer: (flags, i, frags, now) => this.fragmentsToPeer6(flags, i, frags, now),
      defer: (slot, egress, hop, f, n, now) => this.peer !== null && this.peer.defer(slot, egress, 0, f, n, now, hop),
    };
  }

  /** Index in the list = ifIndex. */
  get interfaces(): readonly PipelineInterface[] {
    return this.interfaces_;
  }

  /**
   * Compiles what a new shared half changes here: `interfaces` are the current ones with their
   * new floating IPs (same names, order, MACs), `routes` the new table. Throws on a config that
   * cannot be compiled; changes nothing either way.
   */
  prepare(shared: SharedConfig, interfaces: readonly PipelineInterface[], routes: RouteTable): PreparedPipeline {
    if (interfaces.length !== this.interfaces_.length || interfaces.some((itf, i) => itf.name !== this.interfaces_[i].name)) {
      throw new Error('a commit cannot change the interfaces: they are device config');
    }
    return {
      interfaces,
      routes,
      firewall: this.firewall ? this.firewall.prepare(shared, interfaces, routes) : null,
      routerAdvertisements: shared.routerAdvertisements ?? [],
    };
  }

  /** Switches to a prepared configuration. Never throws (see Firewall.commit for `stats`). */
  commit(next: PreparedPipeline, stats: FirewallStatsSink | null): void {
    this.interfaces_ = next.interfaces;
    this.routes = next.routes;
    this.floatingOn = next.interfaces.map((itf) => new Set(itf.floating));
    this.floatingMask = maskOf(next.interfaces);
    this.classMacs = next.interfaces.map(classMacsOf);
    this.classOf = next.interfaces.map(classOfIps);
    this.sharingOf = next.interfaces.map(sharingHere);
    const all = new Set<number>();
    for (const itf of next.interfaces) for (const f of itf.floating) all.add(f);
    this.floatingAll = all;
    this.v6.commit(next.interfaces, next.routerAdvertisements ?? [], this.tickNowMs);
    if (this.firewall && next.firewall) this.firewall.commit(next.firewall, stats);
  }

  /**
   * The kernel device behind interface i changed (its MTU, or its MAC after it was created again).
   * The virtual MAC and everything the shared config sets stay.
   */
  updateDevice(i: number, facts: { mtu: number; realMac: Uint8Array }): void {
    const old = this.interfaces_[i];
    const follow = (m: Uint8Array): Uint8Array => (m === old.realMac || macEquals(m, 0, old.realMac) ? facts.realMac : m);
    const next: PipelineInterface = { ...old, mtu: facts.mtu, realMac: facts.realMac, mac: follow(old.mac) };
    if (old.classes !== undefined) Object.assign(next, { classes: old.classes.map((c) => ({ ...c, mac: follow(c.mac) })) });
    this.interfaces_ = this.interfaces_.map((itf, j) => (j === i ? next : itf));
    this.classMacs[i] = classMacsOf(next);
    this.classOf[i] = classOfIps(next);
    this.sharingOf[i] = sharingHere(next);
  }

  /** Every drop site calls this. */
  drop(reason: DropReason): void {
    this.counters[dropIndex(reason)]++;
  }

  private event(name: EventCounter): void {
    this.counters[eventIndex(name)]++;
  }

  /** Sends and counts ('tx' or 'send-failed'). */
  private emit(ifIndex: number, frame: Uint8Array, len: number): boolean {
    if (this.sink.send(ifIndex, frame, len)) {
      this.event('tx');
      return true;
    }
    this.drop('send-failed');
    return false;
  }

  /**
   * The gate before anything is sent on behalf of the active role. Counts 'passive' or
   * 'lease-expired' when closed.
   */
  private gate(nowMs: number): boolean {
    if (this.role.mayActAsActive(nowMs)) return true;
    this.drop(this.role.role === ROLE_ACTIVE ? 'lease-expired' : 'passive');
    return false;
  }

  /** The per-frame entry point. `frame` may be the capture buffer: it is rewritten in place. */
  handle(ifIndex: number, frame: Uint8Array, len: number, nowMs: number): void {
    const itf = this.interfaces_[ifIndex];
    if (len < ETH_HLEN) return this.drop('truncated');
    const type = readU16(frame, ETH_TYPE);
    if (macEquals(frame, ETH_SRC, itf.realMac)) return this.event('own-frame');
    const fromClass = this.classMacAt(ifIndex, frame, ETH_SRC);
    if (macEquals(frame, ETH_SRC, itf.mac) || fromClass !== null) {
      // from the virtual MAC (active/active: a class's, the pair's) but not from us: the new active
      // announcing it while we hand over
      if (type === ETHERTYPE_ARP && this.role.handingOver) return this.arp(ifIndex, itf, frame, len, nowMs);
      // active/active: the peer sent from a class we serve; the switches now send its frames there
      if (fromClass !== null && this.role.role === ROLE_ACTIVE && ((this.role.servedClasses ?? 0) & fromClass.bit) !== 0) {
        this.claimedClasses |= fromClass.bit;
        return this.event('class-claimed');
      }
      return this.event('own-frame');
    }
    if (type === ETHERTYPE_ARP) return this.arp(ifIndex, itf, frame, len, nowMs);
    if (type === ETHERTYPE_IPV6) return this.v6.handle(ifIndex, frame, len, nowMs);

    if (!this.toUs(ifIndex, itf, frame)) {
      if (isGroupMac(frame, ETH_DST) || macEquals(frame, ETH_DST, itf.realMac)) return this.event('to-kernel');
      return this.drop('not-for-us');
    }
    if (type !== ETHERTYPE_IPV4) return this.drop('bad-ethertype');
    const bad = validateIpv4(frame, len);
    if (bad !== null) return this.drop(bad);
    this.ipv4(ifIndex, itf, frame, len, nowMs, -1);
  }

  /**
   * Active/active: a frame the peer carried over HA3 (DATA with `flags`), as it arrived on its
   * interface `ifIndex`: processed here as if it had arrived on ours, and never sent back.
   */
  handlePeer(ifIndex: number, flags: number, frame: Uint8Array, len: number, nowMs: number): void {
    const itf = this.interfaces_[ifIndex];
    // both boxes number their interfaces alike (sorted names): another index is a broken peer
    if (itf === undefined) return this.drop('ha3-bad-payload');
    if (len < ETH_HLEN) return this.drop('truncated');
    const type = readU16(frame, ETH_TYPE);
    if (type === ETHERTYPE_IPV6) return this.v6.handlePeer(ifIndex, flags, frame, len, nowMs);
    if (type !== ETHERTYPE_IPV4) return this.drop('bad-ethertype');
    const bad = validateIpv4(frame, len);
    if (bad !== null) return this.drop(bad);
    this.ipv4(ifIndex, itf, frame, len, nowMs, flags);
  }

  /** A validated IPv4 packet; ha3Flags: the HA3 flags of one the peer carried here, -1 for our own. */
  private ipv4(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): void {
    const dst = readU32(frame, IP_DST);
    if (this.ownAddresses.has(dst)) return this.event('to-kernel');
    const fw = this.firewall;
    if (fw === null && this.floatingAll.has(dst)) return this.toFloating(ifIndex, itf, frame, len, nowMs);
    const src = readU32(frame, IP_SRC);
    if (isMartianSource(src)) return this.drop('martian-source');
    if (isNonUnicastDestination(dst)) return this.drop('no-route');
    if (!this.gate(nowMs)) return;
    if (frame[IP_VHL] !== 0x45) {
      len = this.options(frame);
      if (len === 0) return;
    }
    if (isFragment(frame)) return this.fragment(ifIndex, frame, len, nowMs, ha3Flags);
    this.decide(ifIndex, frame, len, nowMs, ha3Flags);
  }

  /** IPv4 options (ip-options.ts): the packet's new length once stripped, 0 when dropped. */
  private options(frame: Uint8Array): number {
    const hlen = (frame[IP_VHL] & 0x0f) << 2;
    const verdict = checkIpOptions(frame, hlen);
    if (verdict !== OPTS_OK) {
      this.drop(verdict === OPTS_SOURCE_ROUTE ? 'ip-source-route' : 'ip-options');
      return 0;
    }
    this.event('ip-options-stripped');
    return stripIpOptions(frame, hlen);
  }

  /** A fragment: held, or dropped with its datagram, or the last piece: the whole datagram goes on. */
  private fragment(ifIndex: number, frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): void {
    const ra = this.reassembler;
    const r = ra.push(frame, len, ifIndex, ha3Flags, nowMs);
    // a datagram held was given up for this one's room (an event: this frame has its own outcome)
    if (ra.evicted !== null) this.event(ra.evicted);
    if (r === RA_HELD) return this.event('fragment-held');
    if (r === RA_DUPLICATE) return this.event('fragment-duplicate');
    if (r !== RA_DONE) return this.drop(ra.reason);
    this.event('reassembled');
    this.decide(ra.outIngress, ra.out, ra.outLen, nowMs, ra.outFlags);
  }

  /** A whole (reassembled or never fragmented), option-less packet, on an active box. */
  private decide(ifIndex: number, frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): void {
    const fw = this.firewall;
    const itf = this.interfaces_[ifIndex];
    if (fw !== null) {
      // Sessions first: replies to source NAT and published services are addressed to a floating IP.
      const verdict = fw.process(ifIndex, frame, len, nowMs, ha3Flags);
      if (verdict === FW_DROP) return;
      if (verdict === FW_LOCAL) return this.toFloating(ifIndex, itf, frame, len, nowMs);
      if (verdict === FW_PEER) return this.toPeer(fw.peerFlags, ifIndex, frame, len, nowMs);
      // a new flow's route was looked up by the firewall, for the translated destination
      return this.forward(ifIndex, frame, len, nowMs, readU32(frame, IP_SRC), readU32(frame, IP_DST), fw.route, fw.deferSlot);
    }
    this.forward(ifIndex, frame, len, nowMs, readU32(frame, IP_SRC), readU32(frame, IP_DST), null, -1);
  }

  /** Active/active: the frame goes to the peer over HA3, untouched; its outcome says why. */
  private toPeer(flags: number, ifIndex: number, frame: Uint8Array, len: number, nowMs: number): void {
    if (this.peer === null) return this.drop('ha3-down');
    if (readU16(frame, ETH_TYPE) === ETHERTYPE_IPV6) {
      // never larger than it arrived (IPv6 reassembled datagrams go as their own fragments: ipv6-path.ts)
      if (this.peer.forward(flags, ifIndex, frame, len, nowMs)) this.peerEvent(flags);
      return;
    }
    const mtu = this.interfaces_[ifIndex].mtu;
    // a reassembled datagram: fragments again, of the size that arrived on `ifIndex` (HA3's MTU
    // is at least every traffic MTU plus its overhead); the peer reassembles them
    if (len - ETH_HLEN > mtu) {
      if (!this.fragmentsToPeer(flags, ifIndex, frame, mtu, nowMs)) return;
    } else if (!this.peer.forward(flags, ifIndex, frame, len, nowMs)) return;
    this.peerEvent(flags);
  }

  /** The outcome of a packet carried to the peer, by why it went. */
  private peerEvent(flags: number): void {
    this.event(flags === HA3_FLAG_SETUP ? 'setup-to-peer' : flags === HA3_FLAG_MISS ? 'miss-to-peer' : 'to-owner');
  }

  /** Active/active: an IPv6 datagram's fragments, as they arrived, to the peer (which reassembles them); one outcome. */
  private fragmentsToPeer6(flags: number, ifIndex: number, fragments: readonly Uint8Array[], nowMs: number): void {
    if (this.peer === null) return this.drop('ha3-down');
    for (const f of fragments) if (!this.peer.forward(flags, ifIndex, f, f.length, nowMs)) return;
    this.peerEvent(flags);
  }

  /** The fragments of `frame` (larger than `mtu`) to the peer over HA3; false when one did not leave (counted there). */
  private fragmentsToPeer(flags: number, ifIndex: number, frame: Uint8Array, mtu: number, nowMs: number): boolean {
    const n = fragmentCount(frame, mtu);
    for (let k = 0; k < n; k++) {
      const flen = buildFragment(this.fragTx, frame, mtu, k);
      if (!this.peer!.forward(flags, ifIndex, this.fragTx, flen, nowMs)) return false;
    }
    this.event('fragmented');
    return true;
  }

  private toFloating(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number): void {
    if (frame[IP_PROTO] !== IPPROTO_ICMP) return this.drop('to-self-other');
    if (!this.gate(nowMs)) return;
    const bad = echoReplyInPlace(frame, this.role.handingOver ? itf.realMac : itf.mac);
    if (bad !== null) return this.drop(bad);
    // the reply to a ping that came in fragments goes back in fragments, straight to the sender's MAC
    if (len - ETH_HLEN > itf.mtu && frame[IP_VHL] === 0x45) {
      const n = fragmentCount(frame, itf.mtu);
      for (let k = 0; k < n; k++) if (!this.emit(ifIndex, this.fragTx, buildFragment(this.fragTx, frame, itf.mtu, k))) return;
      this.event('fragmented');
      return this.event('icmp-echo-reply-sent');
    }
    if (this.emit(ifIndex, frame, len)) this.event('icmp-echo-reply-sent');
  }

  /**
   * `known`: the route of `dst` when the caller has it already (null: look it up). `defer`: the
   * slot of the session this first packet created, when it waits for the peer (-1: no wait).
   */
  private forward(ingress: number, frame: Uint8Array, len: number, nowMs: number, src: number, dst: number, known: RouteEntry | null, defer: number): void {
    let route = known ?? this.routes.lookup(dst);
    if (route === null) return this.drop('no-route');
    // RFC 2644: directed broadcasts are not forwarded by default.
    if (route.via === 0 && isSubnetBroadcast(dst, route.prefix)) return this.drop('no-route');
    let egress = route.ifIndex;
    if (egress === ingress) return this.drop('same-interface');
    if (frame[IP_TTL] <= 1) {
      this.drop('ttl-exceeded');
      return this.timeExceeded(ingress, frame, len, nowMs);
    }

    const stages = this.stages;
    if (stages.length > 0) {
      const ctx = this.ctx;
      ctx.frame = frame;
      ctx.len = len;
      ctx.nowMs = nowMs;
      ctx.ingress = ingress;
      ctx.egress = egress;
      ctx.route = route;
      ctx.src = src;
      ctx.dst = dst;
      ctx.proto = frame[IP_PROTO];
      for (let i = 0; i < stages.length; i++) {
        const reason = stages[i](ctx);
        if (reason !== null) return this.drop(reason);
      }
      egress = ctx.egress;
      route = ctx.route ?? route;
      len = ctx.len;
    }

    const out = this.interfaces_[egress];
    const big = len - ETH_HLEN > out.mtu;
    if (big && ((readU16(frame, IP_FRAG) & IP_DF) !== 0 || out.mtu < IP_HLEN + 8)) return this.oversize(ingress, frame, len, out.mtu, nowMs);
    if (out.mssClamp !== undefined || this.interfaces_[ingress].mssClamp !== undefined) this.clampMss(ingress, out, frame);

    // TTL - 1: the TTL/protocol word loses 0x0100 (RFC 1624 incremental update of the checksum).
    const oldWord = readU16(frame, IP_TTL);
    const newWord = oldWord - 0x100;
    writeU16(frame, IP_TTL, newWord);
    writeU16(frame, IP_CSUM, checksumUpdate16(readU16(frame, IP_CSUM), oldWord, newWord));
    copyMac(frame, ETH_SRC, this.role.handingOver ? out.realMac : out.mac);

    const nextHop = route.via !== 0 ? route.via : readU32(frame, IP_DST);
    if (big) return this.sendFragments(egress, nextHop, frame, out.mtu, nowMs);
    // its outcome, as for a frame queued for ARP: what happens when it leaves is counted then
    if (defer >= 0 && this.peer !== null && this.peer.defer(defer, egress, nextHop, frame, len, nowMs)) return this.event('forwarded');
    const table = this.neighbours[egress];
    const n = table.lookup(nextHop, nowMs);
    if (n !== null) {
      copyMac(frame, ETH_DST, n.mac);
      if (this.emit(egress, frame, len)) this.event('forwarded');
      if (table.wantsRefresh(n, nowMs)) this.sendArpRequest(egress, nextHop);
      return;
    }
    const r = table.enqueue(nextHop, frame, len, nowMs);
    if (r === 'arp-queue-full') return this.drop('arp-queue-full');
    // Its outcome, as for a frame staged for sending: what happens when it leaves the queue (flush,
    // or arp-timeout) is counted as events, never as a second outcome.
    this.event('forwarded');
    this.event('arp-queued');
    if (r === 'request') this.sendArpRequest(egress, nextHop);
  }

  /**
   * A packet larger than the egress MTU, DF clear, rewritten for egress: it leaves as fragments
   * (fragment.ts), one outcome (forwarded) for the packet, tx for each fragment. Not held for the
   * peer's acknowledgement (active/active defer): a fragmented first packet leaves at once.
   */
  private sendFragments(egress: number, nextHop: number, frame: Uint8Array, mtu: number, nowMs: number): void {
    const table = this.neighbours[egress];
    const n = table.lookup(nextHop, nowMs);
    const count = fragmentCount(frame, mtu);
    for (let k = 0; k < count; k++) {
      const flen = buildFragment(this.fragTx, frame, mtu, k);
      if (n !== null) {
        copyMac(this.fragTx, ETH_DST, n.mac);
        this.emit(egress, this.fragTx, flen);
        continue;
      }
      const r = table.enqueue(nextHop, this.fragTx, flen, nowMs);
      if (r === 'arp-queue-full') return this.drop('arp-queue-full');
      if (r === 'request') this.sendArpRequest(egress, nextHop);
    }
    this.event('forwarded');
    this.event('fragmented');
  }

  /** A TCP SYN crossing an interface with mssClamp: its MSS lowered to the smaller of the two ends' clamps. */
  private clampMss(ingress: number, out: PipelineInterface, frame: Uint8Array): void {
    const mss = Math.min(out.mssClamp ?? 0xffff, this.interfaces_[ingress].mssClamp ?? 0xffff);
    if (frame[IP_PROTO] === IPPROTO_TCP && clampMss(frame, ETH_HLEN, mss)) this.event('mss-clamped');
  }

  /**
   * A packet larger than the egress MTU with DF set: ICMP fragmentation needed with the MTU, the
   * signal path MTU discovery waits for (RFC 1191). (Without DF it is fragmented: sendFragments;
   * only an MTU too small for any fragment drops it without an answer.)
   */
  private oversize(ingress: number, frame: Uint8Array, len: number, mtu: number, nowMs: number): void {
    this.drop('oversize');
    if ((readU16(frame, IP_FRAG) & IP_DF) === 0) return;
    // the sender must find its own packet in the quote: as it was before the firewall's NAT
    this.firewall?.untranslate(frame);
    this.icmpError(ingress, frame, len, ICMP_DEST_UNREACH, ICMP_UNREACH_NEEDFRAG, mtu, nowMs);
  }

  /** A packet whose TTL runs out here (counted as ttl-exceeded by the caller): ICMP time exceeded. */
  private timeExceeded(ingress: number, frame: Uint8Array, len: number, nowMs: number): void {
    this.firewall?.untranslate(frame);
    this.icmpError(ingress, frame, len, ICMP_TIME_EXCEEDED, ICMP_TIMXCEED_INTRANS, 0, nowMs);
  }

  /**
   * An ICMP error about `frame` back out of `ingress`, from the box's address there and the MAC
   * its forwarded frames leave from. Refused here, beside the builder's refusals: a packet to or
   * from a directed broadcast (RFC 1812 4.3.2.7), which the builder cannot tell from a host.
   */
  private icmpError(ingress: number, frame: Uint8Array, len: number, type: number, code: number, mtu: number, nowMs: number): void {
    const itf = this.interfaces_[ingress];
    if (isSubnetBroadcast(readU32(frame, IP_SRC), itf.prefix) || this.isDirectedBroadcast(readU32(frame, IP_DST))) return;
    const mac = this.role.handingOver ? itf.realMac : itf.mac;
    this.icmpErrors.answer(ingress, frame, len, type, code, mtu, this.errorSource(itf), mac, nowMs);
  }

  /**
   * The source of an error sent on `itf`: its floating address, the one hosts there know the box
   * by (the traceroute hop, the same on either box). Active/active: this box's own device class's,
   * else one of a class it serves, else the interface's own address.
   */
  private errorSource(itf: PipelineInterface): number {
    const classes = itf.classes;
    if (classes === undefined || classes.length === 0) return itf.floating.length > 0 ? itf.floating[0] : itf.address;
    const served = this.role.servedClasses ?? 0;
    let any = -1;
    for (let i = 0; i < classes.length; i++) {
      const c = classes[i];
      if (c.floating.length === 0) continue;
      if (c.bit === this.ownClass) return c.floating[0];
      if (any < 0 && (served & c.bit) !== 0) any = c.floating[0];
    }
    return any >= 0 ? any : itf.address;
  }

  /** `dst` is the broadcast address of a connected subnet (forward() drops those as no-route). */
  private isDirectedBroadcast(dst: number): boolean {
    const route = this.routes.lookup(dst);
    return route !== null && route.via === 0 && isSubnetBroadcast(dst, route.prefix);
  }

  private arp(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number): void {
    const op = checkArp(frame, len);
    if (op === 'truncated' || op === 'bad-arp') return this.drop(op);
    const broadcast = isBroadcastMac(frame, ETH_DST);
    const toUs = this.toUs(ifIndex, itf, frame);
    // Our own requests leave from the real MAC: their replies come back to it.
    if (!broadcast && !toUs && !macEquals(frame, ETH_DST, itf.realMac)) return this.drop('not-for-us');

    const spa = arpSenderIp(frame);
    const tpa = arpTargetIp(frame);
    // Learn the sender when it is a host of the connected subnet: not a probe (0.0.0.0), not our
    // own or floating addresses (the peer's gratuitous ARP for a floating IP teaches nothing), not
    // a group MAC.
    if (spa !== 0 && inPrefix(spa, itf.prefix) && !this.ownAddresses.has(spa) && !this.floatingAll.has(spa) && !isGroupMac(frame, ARP_SHA)) {
      const table = this.neighbours[ifIndex];
      const refusedBefore = table.refused;
      const waiting = table.learn(spa, frame, ARP_SHA, nowMs);
      this.event(table.refused === refusedBefore ? 'arp-learned' : 'arp-table-full');
      if (waiting !== null) this.flush(ifIndex, waiting, frame, nowMs);
    }

    // The new active's announcement of our floating IP (request or reply) while we hand over: the
    // proof that the switches now send this interface's traffic to the peer.
    if (spa === tpa && this.role.handingOver && this.floatingOn[ifIndex].has(spa)) {
      this.role.markPeerAnnounced?.(ifIndex, this.floatingMask, nowMs);
    }

    // Every ARP frame ends in one counter (the fuzzers check that each frame in is accounted for).
    if (op !== ARPOP_REQUEST || !(broadcast || toUs)) return this.event('arp-handled');
    if (tpa === itf.address) return this.event('to-kernel');
    if (!this.floatingOn[ifIndex].has(tpa)) return this.event('arp-handled');
    if (spa === tpa) return this.event('arp-handled'); // an announcement for our floating IP (the peer's GARP): nothing to answer
    if (!this.gate(nowMs)) return;
    if (this.role.handingOver) return this.event('arp-handled');
    const sharing = this.sharingOf[ifIndex];
    if (sharing !== null && sharing.addresses.has(tpa)) return this.arpShared(ifIndex, sharing, frame, broadcast, spa, tpa);
    let mac = itf.mac;
    const classes = this.classOf[ifIndex];
    if (classes !== null) {
      // active/active: the class's MAC answers, on the box serving the class; the peer answers the rest
      const cls = classes.get(tpa);
      if (cls === undefined || ((this.role.servedClasses ?? 0) & cls.bit) === 0) return this.event('arp-handled');
      mac = cls.mac;
    }
    const n = buildArpReply(this.tx, frame, mac, tpa);
    if (this.emit(ifIndex, this.tx, n)) this.event('arp-reply-sent');
  }

  /** Active/active: the classes claimed by the peer's frames since the last call (class-claimed). */
  takeClaimedClasses(): number {
    const c = this.claimedClasses;
    this.claimedClasses = 0;
    return c;
  }

  /**
   * ARP load sharing (arp-share.ts): the requester's device's class answers, with that class's MAC,
   * on the box serving it; the peer answers the rest. A request unicast to a class's MAC this box
   * serves (a host re-checking its cache) reached this box alone: it is answered here whatever the
   * requester's device, naming that device's class's MAC, so a host that holds another MAC (a
   * commit changed the method) moves to its own instead of losing the address. Such a reply leaves
   * from the MAC the request came to: the switches must never learn a class here that this box
   * does not serve.
   */
  private arpShared(ifIndex: number, sharing: SharingHere, frame: Uint8Array, broadcast: boolean, spa: number, tpa: number): void {
    const served = this.role.servedClasses ?? 0;
    const device = arpShareDevice(sharing.assign, spa);
    const cls = sharing.device[device];
    let from = cls.mac;
    if (!servesDevice(served, device)) {
      const to = broadcast ? null : this.classMacAt(ifIndex, frame, ETH_DST);
      if (to === null || (served & to.bit) === 0) return this.event('arp-handled');
      from = to.mac;
    }
    const n = buildArpReply(this.tx, frame, cls.mac, tpa);
    copyMac(this.tx, ETH_SRC, from);
    if (this.emit(ifIndex, this.tx, n)) this.event('arp-reply-sent');
  }

  /**
   * Is the frame's destination our MAC on the interface? Active/passive: the one (virtual) MAC.
   * Active/active: a class's MAC while this box serves the class; frames to the others are the
   * peer's (they reach us when a switch floods them).
   */
  private toUs(ifIndex: number, itf: PipelineInterface, frame: Uint8Array): boolean {
    if (this.classMacs[ifIndex] === null) return macEquals(frame, ETH_DST, itf.mac);
    const cls = this.classMacAt(ifIndex, frame, ETH_DST);
    return cls !== null && (((this.role.servedClasses ?? 0) | (this.role.acceptedClasses ?? 0)) & cls.bit) !== 0;
  }

  /** Active/active: the class whose MAC is at frame[off] on this interface (null: none, or active/passive). */
  private classMacAt(ifIndex: number, frame: Uint8Array, off: number): FloatingClass | null {
    const classes = this.classMacs[ifIndex];
    if (classes === null) return null;
    for (let i = 0; i < classes.length; i++) if (macEquals(frame, off, classes[i].mac)) return classes[i];
    return null;
  }

  /**
   * Sends frames that waited for a next hop now learned (MAC at ARP_SHA of `arpFrame`). They were
   * counted as forwarded when queued: leaving, they count as staged frames do (tx, or tx-refused
   * when the device refuses one, tx-withheld when the box may no longer act as active).
   */
  private flush(ifIndex: number, waiting: Uint8Array[], arpFrame: Uint8Array, nowMs: number): void {
    if (!this.role.mayActAsActive(nowMs)) {
      this.counters[eventIndex('tx-withheld')] += waiting.length;
      return;
    }
    for (let i = 0; i < waiting.length; i++) {
      const f = waiting[i];
      copyMac(f, ETH_DST, arpFrame, ARP_SHA);
      this.event(this.sink.send(ifIndex, f, f.length) ? 'tx' : 'tx-refused');
    }
  }

  /**
   * Active/active: a first packet PeerLink.defer held leaves now (the peer acknowledged its
   * session, or deferMs passed). It was counted as forwarded when held: leaving, it counts as a
   * staged frame does (tx, tx-refused, tx-withheld), or waits for its next hop's ARP answer.
   */
  releaseHeld(egress: number, nextHop: number, frame: Uint8Array, len: number, nowMs: number, nextHop6: Uint32Array | null = null): void {
    if (!this.role.mayActAsActive(nowMs)) return this.event('tx-withheld');
    if (nextHop6 !== null) return this.v6.releaseHeld(egress, nextHop6, frame, len, nowMs);
    const table = this.neighbours[egress];
    const n = table.lookup(nextHop, nowMs);
    if (n !== null) {
      copyMac(frame, ETH_DST, n.mac);
      return this.event(this.sink.send(egress, frame, len) ? 'tx' : 'tx-refused');
    }
    const r = table.enqueue(nextHop, frame, len, nowMs);
    if (r === 'arp-queue-full') return this.drop('arp-queue-full');
    this.event('arp-queued');
    if (r === 'request') this.sendArpRequest(egress, nextHop);
  }

  /** "Who has `ip`?" from the interface's real MAC and own address (the replies come back to it). */
  private sendArpRequest(ifIndex: number, ip: number): void {
    const itf = this.interfaces_[ifIndex];
    const n = buildArpRequest(this.tx, itf.realMac, itf.address, ip);
    if (this.emit(ifIndex, this.tx, n)) this.event('arp-request-sent');
  }

  /** Timer work: ARP retries and timeouts. Call every few ms. */
  tick(nowMs: number): void {
    this.tickNowMs = nowMs;
    for (let i = 0; i < this.neighbours.length; i++) {
      this.tickIf = i;
      this.neighbours[i].tick(nowMs, this.onRequestCb, this.onTimeoutCb);
    }
    if (this.reassembler.inFlight > 0) this.reassembler.expire(nowMs, this.onFragTimeoutCb);
    this.v6.tick(nowMs);
  }

  /** Every floating IP with the index of its interface and its class (active/active; 0 in active/passive). */
  floatingIps(): { ifIndex: number; ip: number; bit: number }[] {
    const out: { ifIndex: number; ip: number; bit: number }[] = [];
    this.interfaces.forEach((itf, ifIndex) => itf.floating.forEach((ip) => out.push({ ifIndex, ip, bit: this.classBitOf(ifIndex, ip) })));
    return out;
  }

  /** A floating IP's class bits: one class, CLASS_SHARED (both device classes), 0 in active/passive. */
  private classBitOf(ifIndex: number, ip: number): number {
    if (this.sharingOf[ifIndex]?.addresses.has(ip) === true) return CLASS_SHARED;
    return this.classOf[ifIndex]?.get(ip)?.bit ?? 0;
  }

  /** Sends `frame` as is on `ifIndex` (GARP); counts tx/send-failed. */
  sendRaw(ifIndex: number, frame: Uint8Array, len: number): boolean {
    return this.emit(ifIndex, frame, len);
  }
}

/** `addr` is the all-ones host of `prefix` (a /31 or /32 has none: RFC 3021). */
function isSubnetBroadcast(addr: number, prefix: Prefix): boolean {
  const host = (addr & ~prefix.mask) >>> 0;
  return prefix.length < 31 && host === ~prefix.mask >>> 0;
}

/** Active/active: the interface's classes when their MACs are not the real one (see Pipeline.classMacs). */
function classMacsOf(itf: PipelineInterface): readonly FloatingClass[] | null {
  const classes = itf.classes ?? [];
  return classes.some((c) => !macEquals(c.mac, 0, itf.realMac)) ? classes : null;
}

/** Active/active: floating IP -> its class, on one interface. */
function classOfIps(itf: PipelineInterface): Map<number, FloatingClass> | null {
  const classes = itf.classes ?? [];
  if (classes.length === 0) return null;
  return new Map(classes.flatMap((c) => c.floating.map((ip) => [ip, c] as const)));
}

/** Active/active: an interface's shared addresses, with the classes of device 0 and 1 that answer them. */
interface SharingHere {
  readonly addresses: ReadonlySet<number>;
  readonly assign: ArpLoadSharingConfig;
  /** Indexed by device id. */
  readonly device: readonly [FloatingClass, FloatingClass];
}

function sharingHere(itf: PipelineInterface): SharingHere | null {
  const sharing = itf.arpSharing;
  if (sharing === undefined || sharing.addresses.length === 0) return null;
  const d0 = itf.classes?.find((c) => c.bit === CLASS_DEVICE0);
  const d1 = itf.classes?.find((c) => c.bit === CLASS_DEVICE1);
  // shared addresses come with the device classes (vmac.ts interfaceClasses): without them, nobody answers
  if (d0 === undefined || d1 === undefined) return null;
  return { addresses: new Set(sharing.addresses), assign: sharing.assign, device: [d0, d1] };
}

/** Interfaces (bit = index, the first 31) that carry floating IPs. */
function maskOf(interfaces: readonly PipelineInterface[]): number {
  let mask = 0;
  interfaces.forEach((itf, i) => {
    if (itf.floating.length > 0 && i < 31) mask |= 1 << i;
  });
  return mask;
}
