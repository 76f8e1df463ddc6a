// The IPv6 half of the packet path (docs/ipv6.md): what Pipeline.handle gives every IPv6 frame.
//
//   frame -> validate, walk the extension headers (packet6.ts: limits, RH0, unknown headers)
//         -> neighbour discovery (nd.ts): solicitations for floating addresses answered from the
//            virtual MAC (R=1, S=1), advertisements resolve next hops, solicitations from routers
//            heard, router solicitations hurry the next advertisement; the rest is the kernel's
//         -> fragment? reassembly (ipv6-fragments.ts): the firewall decides the whole datagram,
//            its fragments leave as they came
//         -> to a floating address: echo answered, the rest refused (no destination NAT in IPv6)
//         -> forwarded: firewall (sessions, policy), route, hop limit (time exceeded), MTU
//            (packet too big: IPv6 routers never fragment), next hop resolved by solicitation
//
// Router advertisements leave only from the active, from the interface's floating link-local
// address and virtual MAC, so hosts' default router is the pair, never one node (ra-schedule.ts
// says when). The takeover's unsolicited advertisements are built beside the gratuitous ARPs
// (engine.ts garpFramesOf), so they follow the same burst, refresh and re-announce rules.
//
// Active/active (docs/active-active.md "IPv6"): each floating IPv6 address belongs to an owner
// class and is answered, with that class's MAC, by the box serving the class; router
// advertisements follow their link-local source's class. Packets whose session (or setup) is the
// peer's cross HA3 as IPv4 ones do (the firewall decides, FW_PEER), a reassembled datagram as the
// fragments it came in; the peer's packets enter at handlePeer.
import type { RouterAdvertisementConfig } from '../config/types.js';
import { ipv6Equal, ipv6FromKey, ipv6Key, isLinkLocal6, isMulticast6, isUnspecified6, parseCidr6, readIpv6, type Ipv6 } from '../net/ipv6.js';
import type { DropReason, EventCounter } from '../wire/dataplane-counters.js';
import { ROLE_ACTIVE } from '../wire/shared-state.js';
import { Firewall, FW_DROP, FW_LOCAL, FW_PEER } from './firewall.js';
import type { ReassemblyLimits } from './frag-table.js';
import { buildIcmp6Error, echoReply6InPlace, ICMP6_ERROR_MAX_FRAME, ICMP6_TIMXCEED_REASS, ICMP6_TIMXCEED_TRANSIT } from './icmp6-build.js';
import type { IcmpRateLimiter } from './icmp-rate.js';
import { Fragments6, walkDrop6 } from './ipv6-fragments.js';
import { buildNaReply, buildNs, buildRa, isNdType, newNdMessage, parseNd, type RaParams } from './nd.js';
import { NeighbourTable, type NeighbourOptions } from './neighbours.js';
import { copyMac, ETH_DST, ETH_HLEN, ETH_SRC, isGroupMac, macEquals } from './packet.js';
import {
  forwardDrop6,
  ICMP6_ECHO_REQUEST,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_TIME_EXCEEDED,
  IP6_DST,
  IP6_HLIM,
  IP6_SRC,
  ipv6End,
  NH_ICMPV6,
  NH_TCP,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_REDIRECT,
  ND_ROUTER_SOLICIT,
  newIpv6Walk,
  validateIpv6,
  walkIpv6,
} from './packet6.js';
import type { FloatingClass, PipelineInterface } from './pipeline-interface.js';
import { RaSchedule } from './ra-schedule.js';
import { clampMssAt } from './tcp-mss.js';
import { isFragment6 } from './reassembly6.js';
import type { Route6Entry, RouteTable6 } from './route6.js';

/** How much longer an IPv6 header is than an option-less IPv4 one: the MSS clamp's difference. */
const IPV6_MSS_EXTRA = 20;

/** What the IPv6 path needs of the pipeline around it. */
export interface Ipv6Host {
  interfaces(): readonly PipelineInterface[];
  routes(): RouteTable6;
  readonly firewall: Firewall | null;
  readonly limiter: IcmpRateLimiter;
  drop(reason: DropReason): void;
  event(name: EventCounter): void;
  /** Sends and counts (tx or send-failed). */
  emit(ifIndex: number, frame: Uint8Array, len: number): boolean;
  /** Sends without counting (frames whose outcome was counted when queued). */
  send(ifIndex: number, frame: Uint8Array, len: number): boolean;
  /** The gate before sending for the active role (counts passive / lease-expired when closed). */
  gate(nowMs: number): boolean;
  mayActAsActive(nowMs: number): boolean;
  /** The active role, and whether this box is handing the virtual MACs over to the peer. */
  role(): number;
  handingOver(): boolean;
  /** The whole pair ends with this box's stop (router lifetime 0 is due). */
  retiring(): boolean;
  /** The frame's destination MAC is this box's (virtual) MAC on the interface. */
  toUs(ifIndex: number, frame: Uint8Array): boolean;
  /** Active/active: the floating-address classes this box serves now (0 in active/passive). */
  servedClasses(): number;
  /** Active/active: the packet to the peer over HA3 with `flags` (FW_PEER), its outcome counted there. */
  toPeer(flags: number, ifIndex: number, frame: Uint8Array, len: number, nowMs: number): void;
  /** The same for a reassembled datagram: its fragments as they came. */
  fragmentsToPeer(flags: number, ifIndex: number, fragments: readonly Uint8Array[], nowMs: number): void;
  /** Active/active: holds a new session's first packet until the peer holds the session (PeerLink.defer); false: send it now. */
  defer(slot: number, egress: number, nextHop: Uint32Array, frame: Uint8Array, len: number, nowMs: number): boolean;
}

/** Router advertisements on one interface. */
interface RaHere {
  readonly sched: RaSchedule;
  readonly params: RaParams;
  readonly source: Ipv6;
  /** Active/active: the class of `source`, whose server advertises, from `mac`; 0 in active/passive (the active does, from the interface's MAC). */
  readonly bit: number;
  readonly mac: Uint8Array | null;
}

export class Ipv6Path {
  readonly neighbours: NeighbourTable<string>[];
  private floatingOn: Set<string>[] = [];
  /** Active/active, per interface: each floating IPv6 address's class (null: active/passive). */
  private classOn: (Map<string, FloatingClass> | null)[] = [];
  /** Every floating IPv6 address, 4 words each, for the per-packet test. */
  private floatingWords = new Uint32Array(0);
  /** Per egress: its last next hop and that hop's neighbour-table key. */
  private readonly lastHop: ({ words: Uint32Array; key: string } | undefined)[] = [];
  private ownOn: (string | null)[] = [];
  private ra: (RaHere | null)[] = [];
  private readonly walk = newIpv6Walk();
  private readonly nd = newNdMessage();
  /** The packet's source (words 0-3) and destination (4-7). */
  private readonly addrs = new Uint32Array(8);
  /** A next hop being resolved. */
  private readonly hop = new Uint32Array(4);
  private readonly tx = new Uint8Array(1600);
  private readonly errTx = new Uint8Array(ICMP6_ERROR_MAX_FRAME + 64);
  private readonly peerMac = new Uint8Array(6);
  private tickIf = 0;
  /** The last advertisements (lifetime 0) went out: nothing more is advertised. */
  private retired = false;
  private tickNowMs = 0;
  private readonly onRequestCb: (key: string) => void;
  private readonly onTimeoutCb: (key: string, frames: number) => void;
  private readonly onTimeoutCount: (frames: number) => void;
  /** Fragments held until their datagram is whole (ipv6-fragments.ts). */
  readonly frags: Fragments6;
  private readonly onFragTimeoutCb: (frame: Uint8Array, len: number, ingress: number) => void;

  constructor(
    private readonly host: Ipv6Host,
    count: number,
    neighbourOpts: Partial<NeighbourOptions> | undefined,
    onTimeoutCount: (frames: number) => void,
    reassembly?: Partial<ReassemblyLimits>,
  ) {
    this.neighbours = Array.from({ length: count }, () => new NeighbourTable<string>(neighbourOpts));
    this.frags = new Fragments6(host, reassembly);
    // RFC 8200 4.5: time exceeded, code 1, when the first fragment had come (it is quoted)
    this.onFragTimeoutCb = (frame, len, ingress) => {
      if (ingress >= count || !this.host.mayActAsActive(this.tickNowMs)) return;
      readIpv6(frame, IP6_SRC, this.addrs, 0);
      this.icmpError(ingress, frame, len, ICMP6_TIME_EXCEEDED, ICMP6_TIMXCEED_REASS, 0, this.tickNowMs);
    };
    this.onTimeoutCount = onTimeoutCount;
    this.onRequestCb = (key) => {
      if (!this.host.mayActAsActive(this.tickNowMs)) return;
      ipv6FromKey(key, this.hop);
      this.sendNs(this.tickIf, this.hop, null);
    };
    this.onTimeoutCb = (_key, frames) => this.onTimeoutCount(frames);
  }

  /** The interfaces' floating and own addresses, and the router advertisements, from a (new) config. */
  commit(interfaces: readonly PipelineInterface[], ras: readonly RouterAdvertisementConfig[], nowMs: number): void {
    this.floatingOn = interfaces.map((itf) => new Set((itf.floating6 ?? []).map((a) => ipv6Key(a))));
    this.floatingWords = Uint32Array.from(interfaces.flatMap((itf) => (itf.floating6 ?? []).flatMap((a) => [...a])));
    this.ownOn = interfaces.map((itf) => (itf.address6 !== undefined ? ipv6Key(itf.address6) : null));
    this.classOn = interfaces.map(classesOf6);
    const before = this.ra;
    this.ra = interfaces.map((itf, i) => {
      const cfg = ras.find((r) => r.interface === itf.name);
      const source = (itf.floating6 ?? []).find((a) => isLinkLocal6(a));
      if (cfg === undefined || source === undefined) return null;
      const intervals = { minIntervalMs: cfg.intervalS.min * 1000, maxIntervalMs: cfg.intervalS.max * 1000 };
      const sched = before[i]?.sched ?? new RaSchedule(intervals);
      if (before[i] !== null && before[i] !== undefined) sched.reconfigure(intervals, nowMs);
      const cls = this.classOn[i]?.get(ipv6Key(source));
      return { sched, params: raParams(cfg), source, bit: cls?.bit ?? 0, mac: cls?.mac ?? null };
    });
  }

  /** An IPv6 frame (EtherType checked; not our own, not from our virtual MAC). */
  handle(ifIndex: number, frame: Uint8Array, len: number, nowMs: number): void {
    const host = this.host;
    if (!this.parse(frame, len)) return;
    const w = this.walk;
    if (w.proto === NH_ICMPV6 && w.fragOff < 0) {
      const type = frame[w.l4];
      if (type === ND_REDIRECT) return host.drop('icmp-unsupported');
      if (isNdType(type)) return this.neighbourDiscovery(ifIndex, frame, nowMs);
    }
    const itf = host.interfaces()[ifIndex];
    if (!host.toUs(ifIndex, frame)) {
      if (isGroupMac(frame, ETH_DST) || macEquals(frame, ETH_DST, itf.realMac)) return host.event('to-kernel');
      return host.drop('not-for-us');
    }
    this.toUs(ifIndex, itf, frame, len, nowMs, -1);
  }

  /**
   * Active/active: an IPv6 frame the peer carried over HA3 (DATA with `flags`), as it arrived on
   * its interface `ifIndex`: processed here as if it had arrived on ours, never sent back.
   */
  handlePeer(ifIndex: number, flags: number, frame: Uint8Array, len: number, nowMs: number): void {
    if (!this.parse(frame, len)) return;
    const w = this.walk;
    // neighbour discovery is each link's own: the peer never carries it
    if (w.proto === NH_ICMPV6 && w.fragOff < 0 && isNdType(frame[w.l4])) return this.host.drop('ha3-bad-payload');
    this.toUs(ifIndex, this.host.interfaces()[ifIndex], frame, len, nowMs, flags);
  }

  /** Validates the frame and walks its headers into `walk`, its addresses into `addrs`; false: dropped (counted). */
  private parse(frame: Uint8Array, len: number): boolean {
    const bad = validateIpv6(frame, len);
    if (bad !== null) return (this.host.drop(bad), false);
    const w = this.walk;
    const walked = walkIpv6(frame, ETH_HLEN, ipv6End(frame, ETH_HLEN), w);
    if (walked !== null) return (this.host.drop(walkDrop6(frame, walked, w)), false);
    readIpv6(frame, IP6_SRC, this.addrs, 0);
    readIpv6(frame, IP6_DST, this.addrs, 4);
    return true;
  }

  /** A parsed packet addressed to us (our MAC, or carried by the peer): the kernel's, dropped, a fragment, or whole. */
  private toUs(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): void {
    const a = this.addrs;
    const own = itf.address6;
    if (own !== undefined && ipv6Equal(a, 4, own, 0)) return this.host.event('to-kernel');
    if (isMulticast6(a, 4)) return this.host.drop('ip6-multicast');
    if (isFragment6(frame, this.walk)) return this.fragment(ifIndex, frame, nowMs, ha3Flags);
    this.whole(ifIndex, itf, frame, len, nowMs, ha3Flags);
  }

  /**
   * A whole packet (never fragmented, or reassembled) to us: `walk` and `addrs` are its.
   * ha3Flags: those of a packet the peer carried here, -1 for our own.
   */
  private whole(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number, ha3Flags = -1): void {
    const host = this.host;
    const w = this.walk;
    const a = this.addrs;
    if (this.isFloating(a, 4)) return this.local(ifIndex, itf, frame, len, nowMs);
    const scope = forwardDrop6(a, 0, a, 4);
    if (scope !== null) return host.drop(scope);
    if (!host.gate(nowMs)) return;
    const fw = host.firewall;
    if (fw === null) return this.forward(ifIndex, frame, len, nowMs, null, -1);
    const verdict = fw.process6(ifIndex, frame, len, nowMs, w.l4, w.proto, ha3Flags);
    if (verdict === FW_DROP) return;
    if (verdict === FW_LOCAL) return this.local(ifIndex, itf, frame, len, nowMs);
    if (verdict === FW_PEER) return this.toPeer(fw.peerFlags, ifIndex, frame, len, nowMs);
    this.forward(ifIndex, frame, len, nowMs, fw.route6, fw.deferSlot);
  }

  /** Active/active: to the peer, as it arrived (a reassembled datagram: as its fragments). */
  private toPeer(flags: number, ifIndex: number, frame: Uint8Array, len: number, nowMs: number): void {
    const originals = this.frags.originals;
    if (originals !== null) return this.host.fragmentsToPeer(flags, ifIndex, originals, nowMs);
    this.host.toPeer(flags, ifIndex, frame, len, nowMs);
  }

  /**
   * A fragment: held, or dropped with its datagram, or the last piece: the datagram is decided
   * whole, and while it is, `frags.originals` holds its fragments, which leave in its place.
   * Neighbour discovery in fragments is never taken (RFC 6980).
   */
  private fragment(ifIndex: number, frame: Uint8Array, nowMs: number, ha3Flags = -1): void {
    const host = this.host;
    if (!host.gate(nowMs)) return;
    const frags = this.frags;
    const whole = frags.push(ifIndex, frame, this.walk, nowMs, ha3Flags);
    if (whole === null) return;
    const ra = frags.reassembler;
    const w = this.walk;
    const bad = walkIpv6(whole, ETH_HLEN, ra.outLen, w);
    if (bad !== null) return host.drop(bad);
    if (w.proto === NH_ICMPV6 && isNdType(whole[w.l4])) return host.drop('nd-bad');
    frags.originals = ra.outFragments;
    try {
      this.whole(ra.outIngress, host.interfaces()[ra.outIngress], whole, ra.outLen, nowMs, ra.outFlags);
    } finally {
      frags.originals = null;
    }
  }

  /** To a floating address: an echo request is answered (by the active), the rest refused. */
  private local(ifIndex: number, itf: PipelineInterface, frame: Uint8Array, len: number, nowMs: number): void {
    const w = this.walk;
    if (w.proto !== NH_ICMPV6 || w.fragOff >= 0 || frame[w.l4] !== ICMP6_ECHO_REQUEST) return this.host.drop('to-self-other');
    if (!this.host.gate(nowMs)) return;
    const bad = echoReply6InPlace(frame, this.host.handingOver() ? itf.realMac : itf.mac);
    if (bad !== null) return this.host.drop(bad);
    // the reply to a ping that came in fragments is as long: in fragments when it does not fit
    if (len - ETH_HLEN > itf.mtu) {
      if (this.frags.sendFragmented(ifIndex, frame, len, itf.mtu)) this.host.event('icmp-echo-reply-sent');
      return;
    }
    if (this.host.emit(ifIndex, frame, len)) this.host.event('icmp-echo-reply-sent');
  }

  /**
   * Routes, checks hop limit and MTU, resolves the next hop and sends. `known`: the firewall's
   * route of a new flow; `defer`: the slot of the session this first packet opened, when it waits
   * for the peer (active/active), else -1.
   */
  private forward(ingress: number, frame: Uint8Array, len: number, nowMs: number, known: Route6Entry | null, defer: number): void {
    const host = this.host;
    const a = this.addrs;
    const route = known ?? host.routes().lookup(a, 4);
    if (route === null) return host.drop('no-route');
    if (route.ifIndex === ingress) return host.drop('same-interface');
    const originals = this.frags.originals;
    if (originals === null) return void this.leave(ingress, route, frame, len, nowMs, true, defer);
    // a reassembled datagram leaves as the fragments it came in, each checked as a packet; counted once
    let left = false;
    for (const f of originals) left = this.leave(ingress, route, f, f.length, nowMs, false) || left;
    if (left) host.event('forwarded');
  }

  /** One packet out by `route`: hop limit, MTU, MACs, next hop. `counted`: its forwarded outcome is counted here. False when dropped. */
  private leave(ingress: number, route: Route6Entry, frame: Uint8Array, len: number, nowMs: number, counted: boolean, defer = -1): boolean {
    const host = this.host;
    const a = this.addrs;
    const egress = route.ifIndex;
    if (frame[IP6_HLIM] <= 1) {
      host.drop('ttl-exceeded');
      this.icmpError(ingress, frame, len, ICMP6_TIME_EXCEEDED, ICMP6_TIMXCEED_TRANSIT, 0, nowMs);
      return false;
    }
    const out = host.interfaces()[egress];
    // IPv6 routers never fragment (RFC 8200 5): the sender learns the path MTU from packet too big
    if (len - ETH_HLEN > out.mtu) {
      host.drop('oversize');
      this.icmpError(ingress, frame, len, ICMP6_PACKET_TOO_BIG, 0, out.mtu, nowMs);
      return false;
    }
    frame[IP6_HLIM]--;
    if (out.mssClamp !== undefined || host.interfaces()[ingress].mssClamp !== undefined) this.clampMss(ingress, out, frame);
    copyMac(frame, ETH_SRC, host.handingOver() ? out.realMac : out.mac);
    const hop = this.hop;
    if (route.via !== null) hop.set(route.via);
    else {
      // the destination (a view of it would allocate per packet)
      hop[0] = a[4];
      hop[1] = a[5];
      hop[2] = a[6];
      hop[3] = a[7];
    }
    // held until the peer holds the session: its outcome now, as for a frame queued for a neighbour
    if (defer >= 0 && host.defer(defer, egress, hop, frame, len, nowMs)) {
      if (counted) host.event('forwarded');
      return true;
    }
    return this.toNextHop(egress, hop, frame, len, nowMs, counted);
  }

  /**
   * Active/active: a first packet held for the peer (PeerLink.defer) leaves now. It was counted as
   * forwarded when held: leaving, it counts as a staged frame does (the pipeline checked the gate).
   */
  releaseHeld(egress: number, hop: Uint32Array, frame: Uint8Array, len: number, nowMs: number): void {
    const host = this.host;
    const table = this.neighbours[egress];
    const key = this.hopKey(egress, hop);
    const n = table.lookup(key, nowMs);
    if (n !== null) {
      copyMac(frame, ETH_DST, n.mac);
      return host.event(host.send(egress, frame, len) ? 'tx' : 'tx-refused');
    }
    const r = table.enqueue(key, frame, len, nowMs);
    if (r === 'arp-queue-full') return host.drop('nd-queue-full');
    host.event('nd-queued');
    if (r === 'request') this.sendNs(egress, hop, null);
  }

  /** The address at `off` of `words` is a floating address (word compares: no key built per packet). */
  private isFloating(words: ArrayLike<number>, off: number): boolean {
    const all = this.floatingWords;
    for (let i = 0; i < all.length; i += 4) {
      if (all[i + 3] === words[off + 3] && all[i] === words[off] && all[i + 1] === words[off + 1] && all[i + 2] === words[off + 2]) return true;
    }
    return false;
  }

  /**
   * The neighbour table's key of a next hop: the same hop as the egress's last one (most traffic
   * goes to one router or a few hosts) reuses its key instead of building a string per packet.
   */
  private hopKey(egress: number, hop: Ipv6): string {
    const last = this.lastHop[egress];
    if (last !== undefined && ipv6Equal(last.words, 0, hop, 0)) return last.key;
    const key = ipv6Key(hop);
    this.lastHop[egress] = { words: Uint32Array.from(hop), key };
    return key;
  }

  /** Sends a forwarded frame to its next hop's MAC, or queues it and solicits the next hop; false when it could not. */
  private toNextHop(egress: number, hop: Ipv6, frame: Uint8Array, len: number, nowMs: number, counted: boolean): boolean {
    const host = this.host;
    const table = this.neighbours[egress];
    const key = this.hopKey(egress, hop);
    const n = table.lookup(key, nowMs);
    if (n !== null) {
      copyMac(frame, ETH_DST, n.mac);
      const sent = host.emit(egress, frame, len);
      if (sent && counted) host.event('forwarded');
      if (table.wantsRefresh(n, nowMs)) this.sendNs(egress, hop, n.mac);
      return sent;
    }
    const r = table.enqueue(key, frame, len, nowMs);
    if (r === 'arp-queue-full') return (host.drop('nd-queue-full'), false);
    if (counted) host.event('forwarded');
    host.event('nd-queued');
    if (r === 'request') this.sendNs(egress, hop, null);
    return true;
  }

  /** The firewall found the packet's hop limit run out (it counted ttl-exceeded): time exceeded back to its source. */
  timeExceeded(ingress: number, frame: Uint8Array, len: number, nowMs: number): void {
    this.icmpError(ingress, frame, len, ICMP6_TIME_EXCEEDED, ICMP6_TIMXCEED_TRANSIT, 0, nowMs);
  }

  /**
   * A TCP SYN crossing an interface with mssClamp: the clamp is for IPv4 (MTU - 40); an IPv6
   * header is 20 bytes longer, so the same path takes an MSS 20 lower (PAN-OS's separate IPv6 MSS
   * adjustment, derived here).
   */
  private clampMss(ingress: number, out: PipelineInterface, frame: Uint8Array): void {
    const w = this.walk;
    if (w.proto !== NH_TCP || w.fragOff >= 0) return;
    const mss = Math.min(out.mssClamp ?? 0xffff, this.host.interfaces()[ingress].mssClamp ?? 0xffff) - IPV6_MSS_EXTRA;
    if (clampMssAt(frame, w.l4, ipv6End(frame, ETH_HLEN), mss)) this.host.event('mss-clamped');
  }

  /**
   * An ICMPv6 error about `frame` back out of `ingress` (to the MAC it came from), from the
   * interface's floating address (the one hosts know the pair by), rate-limited as IPv4's.
   */
  private icmpError(ingress: number, frame: Uint8Array, len: number, type: number, code: number, param: number, nowMs: number): void {
    const host = this.host;
    const itf = host.interfaces()[ingress];
    const from = errorSource6(itf, isLinkLocal6(this.addrs, 0));
    if (from === null) return;
    copyMac(this.peerMac, 0, frame, ETH_SRC);
    const n = buildIcmp6Error(this.errTx, frame, len, type, code, param, from, host.handingOver() ? itf.realMac : itf.mac, this.peerMac);
    if (n === 0) return;
    // the bucket of the error's destination (the offending packet's source), keyed by its low word
    if (!host.limiter.allow(this.addrs[3], nowMs)) return host.event('icmp-error-rate-limited');
    if (!host.send(ingress, this.errTx, n)) return host.event('tx-refused');
    host.event('tx');
    host.event('icmp-error-sent');
  }

  // ---- neighbour discovery ----

  private neighbourDiscovery(ifIndex: number, frame: Uint8Array, nowMs: number): void {
    const host = this.host;
    const itf = host.interfaces()[ifIndex];
    // ND comes to a group MAC, our virtual MAC or our real one (answers to our own solicitations)
    if (!isGroupMac(frame, ETH_DST) && !host.toUs(ifIndex, frame) && !macEquals(frame, ETH_DST, itf.realMac)) return host.drop('not-for-us');
    const m = this.nd;
    const bad = parseNd(frame, ETH_HLEN, this.walk, m);
    if (bad !== null) return host.drop(bad);
    if (m.type === ND_NEIGHBOR_SOLICIT) return this.solicitation(ifIndex, itf, nowMs);
    if (m.type === ND_NEIGHBOR_ADVERT) return this.advertisement(ifIndex, frame, nowMs);
    if (m.type === ND_ROUTER_SOLICIT) {
      const ra = this.ra[ifIndex];
      if (ra !== null && ra.sched.running) ra.sched.solicited(nowMs);
    }
    host.event('nd-handled');
  }

  /** A neighbour solicitation: its sender learned (RFC 4861 7.2.3), a floating target answered by the active. */
  private solicitation(ifIndex: number, itf: PipelineInterface, nowMs: number): void {
    const host = this.host;
    const m = this.nd;
    if (!isUnspecified6(m.src) && m.hasLla && !this.isFloating(m.src, 0)) this.learn(ifIndex, ipv6Key(m.src), m.lla, 0, nowMs, false);
    const target = ipv6Key(m.target);
    if (target === this.ownOn[ifIndex]) return host.event('to-kernel');
    if (!this.floatingOn[ifIndex].has(target)) return host.event('nd-handled');
    if (!host.gate(nowMs)) return;
    if (host.handingOver()) return host.event('nd-handled');
    let mac = itf.mac;
    const cls = this.classOn[ifIndex]?.get(target);
    if (cls !== undefined) {
      // active/active: the class's MAC answers, on the box serving the class; the peer answers the rest
      if ((host.servedClasses() & cls.bit) === 0) return host.event('nd-handled');
      mac = cls.mac;
    }
    const n = buildNaReply(this.tx, m, mac, true);
    if (n > 0 && host.emit(ifIndex, this.tx, n)) host.event('nd-advert-sent');
  }

  /** A neighbour advertisement: a next hop we asked for, or one we know, updated (RFC 4861 7.2.5). */
  private advertisement(ifIndex: number, frame: Uint8Array, nowMs: number): void {
    const m = this.nd;
    const target = ipv6Key(m.target);
    // another node speaking for a floating address (the peer's frames from the virtual MAC never get here)
    if (this.isFloating(m.target, 0)) return this.host.event('nd-conflict');
    const table = this.neighbours[ifIndex];
    // unsolicited news of a node we never asked for teaches nothing (7.2.5: silently discarded)
    if (!table.isPending(target) && table.lookup(target, nowMs) === null) return this.host.event('nd-handled');
    if (m.hasLla) this.learn(ifIndex, target, m.lla, 0, nowMs, true);
    else this.learn(ifIndex, target, frame, ETH_SRC, nowMs, true);
    // the frame's one outcome (learning is an event beside it, as for ARP)
    this.host.event('nd-handled');
  }

  private learn(ifIndex: number, key: string, buf: Uint8Array, off: number, nowMs: number, counted: boolean): void {
    const table = this.neighbours[ifIndex];
    const refusedBefore = table.refused;
    const waiting = table.learn(key, buf, off, nowMs);
    if (counted) this.host.event(table.refused === refusedBefore ? 'nd-learned' : 'nd-table-full');
    if (waiting !== null) this.flush(ifIndex, waiting, buf, off, nowMs);
  }

  /** Frames that waited for a next hop now learned: counted forwarded when queued, now tx / tx-refused / tx-withheld. */
  private flush(ifIndex: number, waiting: Uint8Array[], mac: Uint8Array, off: number, nowMs: number): void {
    const host = this.host;
    for (let i = 0; i < waiting.length; i++) {
      if (!host.mayActAsActive(nowMs)) {
        host.event('tx-withheld');
        continue;
      }
      const f = waiting[i];
      copyMac(f, ETH_DST, mac, off);
      host.event(host.send(ifIndex, f, f.length) ? 'tx' : 'tx-refused');
    }
  }

  /**
   * "Who has `target`?": multicast to its solicited-node group, or unicast to `mac` (a refresh).
   * From the box's own address and real MAC when it has one (the answer comes back to it, as
   * for ARP), else from the floating link-local address and virtual MAC.
   */
  private sendNs(ifIndex: number, target: Ipv6, mac: Uint8Array | null): void {
    const itf = this.host.interfaces()[ifIndex];
    const own = itf.address6;
    const src = own ?? errorSource6(itf, true);
    if (src === null) return;
    const n = buildNs(this.tx, own !== undefined ? itf.realMac : itf.mac, src, target, mac);
    if (n > 0 && this.host.emit(ifIndex, this.tx, n)) this.host.event('nd-solicit-sent');
  }

  // ---- timers ----

  /** Next-hop retries and timeouts; router advertisements due (the active's only). */
  tick(nowMs: number): void {
    this.tickNowMs = nowMs;
    for (let i = 0; i < this.neighbours.length; i++) {
      this.tickIf = i;
      this.neighbours[i].tick(nowMs, this.onRequestCb, this.onTimeoutCb);
    }
    this.frags.tick(nowMs, this.onFragTimeoutCb);
    const host = this.host;
    if (host.retiring()) return this.retire();
    const forwarding = host.role() === ROLE_ACTIVE && !host.handingOver() && host.mayActAsActive(nowMs);
    for (let i = 0; i < this.ra.length; i++) {
      const ra = this.ra[i];
      if (ra === null) continue;
      // active/active: the box serving the source address's class advertises
      const active = forwarding && (ra.bit === 0 || (host.servedClasses() & ra.bit) !== 0);
      // a new active starts the fast initial sequence: hosts hear it at once (RFC 4861 6.2.4)
      if (active && !ra.sched.running) ra.sched.start(nowMs);
      else if (!active && ra.sched.running) ra.sched.stop();
      if (active && ra.sched.due(nowMs)) this.sendRa(i, ra, ra.params);
    }
  }

  private sendRa(ifIndex: number, ra: RaHere, params: RaParams): void {
    const itf = this.host.interfaces()[ifIndex];
    const n = buildRa(this.tx, ra.mac ?? itf.mac, ra.source, null, null, params);
    if (n > 0 && this.host.emit(ifIndex, this.tx, n)) this.host.event('ra-sent');
  }

  /**
   * The pair stops for good (an orderly shutdown with no peer to take over): one last
   * advertisement with router lifetime 0 on each interface, so hosts drop the pair as their
   * default router at once (RFC 4861 6.2.5). Never on a failover: the peer takes the address over.
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    for (let i = 0; i < this.ra.length; i++) {
      const ra = this.ra[i];
      if (ra === null || !ra.sched.running) continue;
      this.sendRa(i, ra, { ...ra.params, routerLifetimeS: 0 });
      ra.sched.stop();
    }
  }
}

/**
 * The source of an error or solicitation sent on `itf`: its first global floating address (the
 * one hosts know the pair by), or its link-local floating one when `linkLocal` (an answer to a
 * link-local source) or there is no global one; else the box's own address; null when none.
 */
function errorSource6(itf: PipelineInterface, linkLocal: boolean): Ipv6 | null {
  const floating = itf.floating6 ?? [];
  const ll = floating.find((a) => isLinkLocal6(a));
  const global = floating.find((a) => !isLinkLocal6(a));
  if (linkLocal) return ll ?? global ?? itf.address6 ?? null;
  return global ?? itf.address6 ?? ll ?? null;
}

/** Active/active: an interface's floating IPv6 addresses by key, with their class (null: active/passive). */
function classesOf6(itf: PipelineInterface): Map<string, FloatingClass> | null {
  const classes = itf.classes ?? [];
  if (classes.length === 0) return null;
  return new Map(classes.flatMap((c) => (c.floating6 ?? []).map((a) => [ipv6Key(a), c] as const)));
}

function raParams(cfg: RouterAdvertisementConfig): RaParams {
  return {
    hopLimit: cfg.hopLimit,
    managed: cfg.managed,
    other: cfg.other,
    routerLifetimeS: cfg.routerLifetimeS,
    reachableMs: 0,
    retransMs: 0,
    ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    prefixes: cfg.prefixes.map((p) => {
      const { prefix } = parseCidr6(p.prefix);
      return { prefix: prefix.network, length: prefix.length, onLink: p.onLink, autonomous: p.autonomous, validS: p.validS, preferredS: p.preferredS };
    }),
  };
}
