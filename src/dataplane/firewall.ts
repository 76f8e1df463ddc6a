// The stateful firewall stage of the packet path: session lookup, TCP state, policy, NAT.
//
//   packet (validated IPv4, no options, active box)
//    -> L4 ports (TCP/UDP ports; ICMP echo: the identifier, on the requester's side of the tuple)
//    -> ICMP error? match the session of the packet it quotes, translate outer and quoted headers
//    -> session lookup (both directions, O(1))
//         hit:  TCP state step (a segment that fits no state is dropped), TCP sequence window
//               (tcp-window.ts: outside it dropped as shared.sessions.tcpWindowCheck says),
//               expiry, counters, NAT: rewrite to the reverse of the other direction's tuple;
//               replication told of a state change, and again when the session's last record
//               is half its timeout old or a side's sequence moved TCP_SYNC_STRIDE since
//         miss: only a SYN opens a TCP session; to a floating IP only a published (DNAT) service
//               goes on (ping and the rest are the pipeline's local business); zones from the
//               ingress interface and the route of the (translated) destination; policy (first
//               match, pre-NAT addresses, post-NAT zone); reject answers RST / ICMP unreachable;
//               source NAT allocates a port; the session is created with both tuples
//
// A session holds the original tuple (as the first packet arrived) and the reply tuple (what the
// answer will look like after NAT). Any packet of direction d leaves as the reverse of the other
// direction's tuple, so one rule covers source NAT, destination NAT and both.
//
// Active/active (docs/active-active.md; constructed with a FirewallPair): every session has an
// owner (its flags' SESSION_FLAG_OWNER1), and aa-path.ts says where each packet goes: here, or
// to the peer over HA3 (FW_PEER with peerFlags: a packet of the peer's session, a first packet
// the peer sets up, a packet matching nothing here). The checks sit behind one `aa !== null`
// each, so active/passive runs the path it always did.
import type { ActiveActiveConfig, SharedConfig } from '../config/types.js';
import { HA3_FLAG_MISS, HA3_FLAG_SETUP } from '../wire/ha3.js';
import { SESSION_FLAG_SPLIT, SESSION_FLAG_V6 } from '../wire/session-record.js';
import { knownPath, missPath, natBindings, ownerOf, PATH_HERE, PATH_MISMATCH, PATH_PEER, setupPath, withOwner } from './aa-path.js';
import { fold6, natPortRange, ownerDevice, setupDevice, type DeviceId, type PairView } from './owner.js';
import { listSessions, type SessionFilter, type SessionList } from '../wire/session-view.js';
import { sessionViews } from './firewall-view.js';
import type { DropReason, EventCounter } from '../wire/dataplane-counters.js';
import { parseIcmpError, rewriteQuotedDestination, rewriteQuotedSource, type QuotedFlow } from './icmp-error.js';
import { CompiledNat, NAT_PORT_HI, NAT_PORT_LO } from './nat.js';
import {
  ETH_HLEN,
  ETH_SRC,
  ICMP_CODE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ID,
  ICMP_REDIRECT,
  IP_DST,
  IP_HLEN,
  IP_PROTO,
  IP_SRC,
  IP_TOTLEN,
  IP_TTL,
  IPH_DST,
  IPH_SRC,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  L4_DPORT,
  L4_OFF,
  L4_SPORT,
  TCP_FLAGS,
  isIcmpErrorType,
  l4MinLen,
  readFlowPorts,
  readU16,
  readU32,
  type FlowPorts,
} from './packet.js';
import type { PipelineInterface } from './pipeline-interface.js';
import { ACTION_ALLOW, ACTION_DENY, ACTION_REJECT, CompiledPolicy } from './policy.js';
import { buildIcmpUnreachable, buildTcpReset } from './reject.js';
import { buildTcpReset6 } from './reject6.js';
import { buildIcmp6Error, ICMP6_UNREACH_ADMIN } from './icmp6-build.js';
import { newQuotedFlow6, parseQuoted6, type QuotedFlow6 } from './icmp6-error.js';
import {
  ICMP6_DST_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  IP6_DST,
  IP6_HLEN,
  IP6_HLIM,
  IP6_PLEN,
  IP6_SRC,
  isIcmp6ErrorType,
  l4MinLen6,
  readFlowPorts6,
} from './packet6.js';
import { ipv6Key, readIpv6 } from '../net/ipv6.js';
import type { Route6Entry } from './route6.js';
import type { NewSession } from './session-table.js';
import type { Address6Fields } from '../wire/session-record.js';
import { rewriteAddress, rewriteDestination, rewriteIcmpId, rewriteSource } from './rewrite.js';
import type { RouteEntry, RouteTable } from './route.js';
import { DIR_ORIGINAL, DIR_REPLY, refreshMs, SessionTable } from './session-table.js';
import { FLOW_ESTABLISHED, FLOW_NEW } from './flow-state.js';
import { TCP_NONE, TCP_RST, tcpOpen, tcpStep, tcpTimeoutS } from './tcp-state.js';
import { emptySegment, readTcpSegment, TCP_SYNC_STRIDE, tcpQuotedInWindow, tcpWindowStep, WIN_OK, WIN_RST_INEXACT } from './tcp-window.js';

export const FW_DROP = 0; //    dropped (and counted) or answered by a reject
export const FW_FORWARD = 1; // go on to routing and transmission (the frame may have been rewritten)
export const FW_LOCAL = 2; //   addressed to a floating IP and no session or published service: local handling
export const FW_PEER = 3; //    active/active: to the peer over HA3, as it arrived (with Firewall.peerFlags)

/** Active/active: the pair as the control plane last described it (a SharedState, or a stand-in in tests). */
export interface PairSource {
  /** The peer's dataplane forwards (it is active-*): its sessions go to it over HA3. */
  readonly peerForwarding: boolean;
  /** The active-primary's device id. */
  readonly primaryId: number;
}

/** Active/active: which device this box is, and where the pair's view is read (on each decision). */
export interface FirewallPair {
  me: DeviceId;
  pair: PairSource;
}

/**
 * A session this box set up for the peer to own waits for the owner's delete, as one synced over
 * HA2 does (sync-port.ts): its packets go to the owner, so nothing here would keep it alive.
 */
const PEER_OWNED_EXPIRY_MS = 10 * 24 * 3600 * 1000;

/** Sessions expired per tick at most: bounds the work done between frames. */
const EXPIRE_BUDGET = 4096;
/** Slots whose expiry is rearmed per tick once the peer stops forwarding (a million in 62 ticks). */
const REARM_BUDGET = 16384;

/** What the firewall reports to; the pipeline's counters and, optionally, the per-rule stats. */
export interface FirewallHooks {
  drop(reason: DropReason): void;
  event(name: EventCounter): void;
  /** Sends a frame (a reject answer) out of an interface. */
  emit(ifIndex: number, frame: Uint8Array, len: number): boolean;
  /**
   * The packet's TTL runs out here (the firewall counts it as ttl-exceeded): the pipeline answers
   * ICMP time exceeded. The frame is as it arrived. Absent: nothing is sent.
   */
  timeExceeded?(ingress: number, frame: Uint8Array, len: number, nowMs: number): void;
  /**
   * A reject answer to `dst` may be sent now: the ICMP errors' rate limit (icmp-rate.ts), so a
   * flood at a reject rule cannot make the box a reflector. Absent: always.
   */
  answerAllowed?(dst: number, nowMs: number): boolean;
  /** The address an ICMP answer sent on `ingress` comes from (the pipeline's choice for errors). Absent: the first floating one. */
  answerSource?(ingress: number): number;
  /** The IPv6 address an ICMPv6 answer sent on `ingress` comes from; null: none to send from. Absent: the first floating IPv6 one. */
  answerSource6?(ingress: number): Uint32Array | null;
}

/** Told of every session change on this box (HA2 replication listens; see sync-port.ts). */
export interface SessionListener {
  created(slot: number, nowMs: number): void;
  changed(slot: number, nowMs: number): void;
  /** Before the table forgets the session. */
  removed(slot: number, nowMs: number): void;
}

/** Per-protocol and per-rule figures for the metrics (src/wire/firewall-stats.ts). */
export interface FirewallStatsSink {
  created(proto: number): void;
  expired(proto: number): void;
  tableFull(): void;
  policyHit(rule: number): void;
  natHit(rule: number): void;
  setNatPortsInUse(proto: number, n: number): void;
}

/**
 * A firewall configuration compiled from a new shared half and not yet in use (see
 * Firewall.prepare): building it may throw, switching to it (Firewall.commit) does not.
 */
export interface PreparedFirewall {
  readonly interfaces: readonly PipelineInterface[];
  readonly routes: RouteTable;
  readonly policy: CompiledPolicy;
  readonly nat: CompiledNat;
  readonly floatingAll: Set<number>;
  readonly floating6: Set<string>;
  readonly timeouts: SharedConfig['sessions'];
  /** Active/active's settings (null in active/passive). */
  readonly activeActive: ActiveActiveConfig | null;
}

/**
 * The packet process() is deciding on, read once from its headers and handed on to the steps that
 * follow (one object, reused: no allocation per packet). Ports as the session table keys them
 * (readFlowPorts; 0 for a protocol without ports).
 */
interface Packet extends FlowPorts {
  proto: number;
  /** IPv4: the addresses. IPv6: their low words (the whole addresses are in `addr`). */
  src: number;
  dst: number;
  /** TCP: the control bits FIN to URG; 0 otherwise. */
  tcpFlags: number;
  /** An IPv6 packet (process6). */
  v6: boolean;
  /** Offset of the L4 header in the frame, and the end of the IP packet (before any padding). */
  l4: number;
  end: number;
  /** IPv6: the source address (words 0-3) and the destination (4-7), as SessionTable.lookup6 takes them. */
  readonly addr: Uint32Array;
}

/** What NAT makes of a new flow: the reply tuple's addresses and ports, and the rule to record. */
interface FlowNat {
  /** The destination after DNAT (the reply's source), and its port. */
  dst: number;
  dstPort: number;
  /** The source after SNAT (the reply's destination), and its port. */
  src: number;
  srcPort: number;
  /** The NAT rule recorded with the session (the DNAT rule, else the SNAT rule), -1 for none. */
  rule: number;
  /** The port SNAT allocated (-1: none), freed again when the session cannot be created. */
  allocated: number;
}

/** ICMP sessions are opened by echo requests only: a rematch sees them as type 8, code 0. */
const REMATCH_ICMP_TYPE = ICMP_ECHO_REQUEST;
const REMATCH_ICMP_CODE = 0;

export class Firewall {
  readonly table: SessionTable;
  // Everything below that comes from the shared config is set only by commit() (the constructor
  // commits the first configuration), as a whole, between two frames, so no frame sees part of one
  // config and part of another.
  private policy_!: CompiledPolicy;
  private nat_!: CompiledNat;
  private interfaces!: readonly PipelineInterface[];
  private routes!: RouteTable;
  private stats_!: FirewallStatsSink | null;
  private floatingAll!: Set<number>;
  /** Every floating IPv6 address (ipv6Key). */
  private floating6!: Set<string>;
  /** The timeouts of new sessions, and of existing ones from their next packet. */
  private timeouts!: SharedConfig['sessions'];
  private aaCfg: ActiveActiveConfig | null = null;
  private readonly hooks: FirewallHooks;
  /** Active/active: this device and the pair's view (null: active/passive, fixed for the process). */
  private readonly aa: FirewallPair | null;
  /** The pair as of the current decision (pairView() refreshes it; reused: no allocation). */
  private readonly view: PairView = { me: 0, peerUp: false, primary: 0 };
  /** Active/active: live sessions owned by device 0 and device 1. */
  private readonly owned = [0, 0];
  /** Active/active: the next slot whose expiry rearmPeerSessions looks at; -1 when it has nothing to do. */
  private rearmAt = -1;
  /** With FW_PEER: the HA3 flags the frame crosses with (HA3_FLAG_SETUP, HA3_FLAG_MISS, or 0 for its owner). */
  peerFlags = 0;
  /**
   * With FW_FORWARD, active/active: the slot of the session this packet created while the peer
   * forwards and deferMs > 0 (its first packet waits for the peer's acknowledgement); else -1.
   */
  deferSlot = -1;
  private readonly pkt: Packet = { proto: 0, src: 0, srcPort: 0, dst: 0, dstPort: 0, tcpFlags: 0, v6: false, l4: 0, end: 0, addr: new Uint32Array(8) };
  private readonly q: QuotedFlow = { proto: 0, src: 0, srcPort: 0, dst: 0, dstPort: 0, innerL3: 0 };
  private readonly q6: QuotedFlow6 = newQuotedFlow6();
  /** The reversed quoted tuple of an ICMPv6 error, as lookup6 takes it. */
  private readonly key6 = new Uint32Array(8);
  /** The TCP segment being checked against its session's window (reused). */
  private readonly seg = emptySegment();
  /** The translation of the new flow fresh() is opening, one step at a time (reused: no allocation per flow). */
  private readonly flowNat: FlowNat = { dst: 0, dstPort: 0, src: 0, srcPort: 0, rule: -1, allocated: -1 };
  private readonly tx = new Uint8Array(1600);
  /** process() rewrote the frame by its session's NAT (translate): untranslate() may undo it. */
  private translated = false;
  private readonly onExpire: (slot: number) => void;
  /** Set by process() when it returns FW_FORWARD for a new flow: its route (saves a lookup). */
  route: RouteEntry | null = null;
  /** Set by process6() when it returns FW_FORWARD for a new flow: its route. */
  route6: Route6Entry | null = null;
  listener: SessionListener | null = null;
  private expireNowMs = 0;

  /**
   * seed: of the session index's hash; random per process so that tuples cannot be chosen to
   * collide. aa: active/active (the mode is fixed at start: shared.ha.mode needs a restart).
   */
  constructor(
    shared: SharedConfig,
    interfaces: readonly PipelineInterface[],
    routes: RouteTable,
    hooks: FirewallHooks,
    stats: FirewallStatsSink | null = null,
    seed?: number,
    aa: FirewallPair | null = null,
  ) {
    this.hooks = hooks;
    this.aa = aa;
    if (aa !== null) this.view.me = aa.me;
    this.commit(Firewall.compile(shared, interfaces, routes, aa?.me ?? null), stats);
    this.table = new SessionTable({ capacity: shared.sessions.max, seed });
    this.onExpire = (slot) => this.release(slot);
  }

  get policy(): CompiledPolicy {
    return this.policy_;
  }
  get nat(): CompiledNat {
    return this.nat_;
  }
  /** Active/active's settings now (a commit may change them), null in active/passive. */
  get activeActive(): ActiveActiveConfig | null {
    return this.aaCfg;
  }
  /** Where the per-protocol and per-rule figures go (replaced by a commit that re-numbers the rules). */
  get stats(): FirewallStatsSink | null {
    return this.stats_;
  }

  /** me: the device of an active/active pair (its NAT bindings and port half), null in active/passive. */
  private static compile(shared: SharedConfig, interfaces: readonly PipelineInterface[], routes: RouteTable, me: DeviceId | null): PreparedFirewall {
    const floatingAll = new Set<number>();
    for (const itf of interfaces) for (const f of itf.floating) floatingAll.add(f);
    const floating6 = new Set<string>();
    for (const itf of interfaces) for (const f of itf.floating6 ?? []) floating6.add(ipv6Key(f));
    const names = interfaces.map((i) => i.name);
    const floatingOf = (i: number) => (interfaces[i]?.floating.length ? interfaces[i].floating[0] : -1);
    // active/active: each device its own half of the ports, so the two never hand out one translation
    const ports = me === null ? { lo: NAT_PORT_LO, hi: NAT_PORT_HI } : natPortRange(me, NAT_PORT_LO, NAT_PORT_HI);
    const aa = shared.ha.activeActive;
    return {
      interfaces,
      routes,
      policy: CompiledPolicy.compile(shared, names),
      nat: CompiledNat.compile(shared, names, floatingOf, ports.lo, ports.hi, me),
      floatingAll,
      floating6,
      timeouts: { ...shared.sessions },
      activeActive: me === null ? null : { ...aa, ipHash: { ...aa.ipHash } },
    };
  }

  /**
   * Compiles a new shared half for these interfaces (with their new floating IPs) and routes.
   * Throws on a config it cannot compile; changes nothing either way. The new NAT takes over the
   * live port allocators, so a port a session holds is never handed out twice.
   */
  prepare(shared: SharedConfig, interfaces: readonly PipelineInterface[], routes: RouteTable): PreparedFirewall {
    if (interfaces.length !== this.interfaces.length)
      throw new Error(`a commit cannot change the interfaces (${this.interfaces.length} before, ${interfaces.length} now)`);
    const next = Firewall.compile(shared, interfaces, routes, this.aa?.me ?? null);
    next.nat.adoptPorts(this.nat_);
    return next;
  }

  /** Switches to a prepared configuration (and, when the rules were re-numbered, to new stats). Never throws. */
  commit(next: PreparedFirewall, stats: FirewallStatsSink | null): void {
    this.interfaces = next.interfaces;
    this.routes = next.routes;
    this.policy_ = next.policy;
    this.nat_ = next.nat;
    this.floatingAll = next.floatingAll;
    this.floating6 = next.floating6;
    this.timeouts = next.timeouts;
    this.aaCfg = next.activeActive;
    this.stats_ = stats;
  }

  /**
   * After a commit: every session (ours and those adopted from the peer) is looked up in the new
   * policy by its original tuple as it first arrived (pre-NAT), the zones of its interfaces and
   * its service, as PAN-OS's "rematch sessions" does. A session still allowed keeps its NAT
   * translation and now names the rule that allows it; one no longer allowed is removed (counted
   * as 'policy-rematch' and, on the active, replicated to the peer as a delete). `oldNatRuleNames`
   * re-numbers each session's NAT rule by name (-1 when the rule is gone; the translation stays).
   * Returns how many sessions were removed.
   */
  rematch(nowMs: number, oldNatRuleNames: readonly string[]): number {
    const t = this.table;
    const policy = this.policy_;
    const natIndex = new Map<string, number>();
    this.nat_.ruleNames.forEach((n, i) => {
      if (!natIndex.has(n)) natIndex.set(n, i);
    });
    const natRemap = Int32Array.from(oldNatRuleNames, (n) => natIndex.get(n) ?? -1);
    const slots = new Int32Array(t.size);
    let n = 0;
    t.forEach((slot) => {
      if (n < slots.length) slots[n++] = slot;
    });
    let removed = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i];
      const rule = this.rematchRule(slot);
      if (policy.action(rule) !== ACTION_ALLOW) {
        this.listener?.removed(slot, nowMs);
        this.removeSession(slot);
        this.hooks.drop('policy-rematch');
        removed++;
        continue;
      }
      t.setRuleId(slot, rule);
      const nat = t.natRuleId(slot);
      if (nat >= 0) t.setNatRuleId(slot, nat < natRemap.length ? natRemap[nat] : -1);
      // a no-op when the allocators were adopted; re-reserves the port when they could not be
      this.reservePort(slot);
    }
    return removed;
  }

  /** The rule that allows a live session's original tuple now (rematch). */
  private rematchRule(slot: number): number {
    const t = this.table;
    const policy = this.policy_;
    const proto = t.proto(slot);
    const from = policy.zoneOf(t.ingress(slot));
    const to = policy.zoneOf(t.egress(slot));
    if (t.isV6(slot)) {
      const k = this.key6;
      t.address6(slot, DIR_ORIGINAL, 0, k, 0);
      t.address6(slot, DIR_ORIGINAL, 1, k, 4);
      const echo = proto === IPPROTO_ICMPV6;
      return policy.match6(from, to, proto, k, echo ? ICMP6_ECHO_REQUEST : t.srcPort(slot, DIR_ORIGINAL), echo ? 0 : t.dstPort(slot, DIR_ORIGINAL));
    }
    const icmp = proto === IPPROTO_ICMP;
    const src = t.src(slot, DIR_ORIGINAL);
    const dst = t.dst(slot, DIR_ORIGINAL);
    return policy.match(
      from,
      to,
      proto,
      src,
      icmp ? REMATCH_ICMP_TYPE : t.srcPort(slot, DIR_ORIGINAL),
      dst,
      icmp ? REMATCH_ICMP_CODE : t.dstPort(slot, DIR_ORIGINAL),
    );
  }

  /**
   * One validated IPv4 packet (IHL 5) from `ingress`, on the active box. Returns FW_*. ha3Flags:
   * active/active, the HA3 flags of a packet the peer carried here (it arrived on the peer's
   * `ingress`); -1 for one that arrived on our own interface.
   */
  process(ingress: number, frame: Uint8Array, len: number, nowMs: number, ha3Flags = -1): number {
    this.route = null;
    this.deferSlot = -1;
    this.translated = false;
    const p = this.pkt;
    const proto = frame[IP_PROTO];
    p.proto = proto;
    p.v6 = false;
    p.l4 = L4_OFF;
    p.end = ETH_HLEN + readU16(frame, IP_TOTLEN);
    p.src = readU32(frame, IP_SRC);
    p.dst = readU32(frame, IP_DST);
    if (readU16(frame, IP_TOTLEN) - IP_HLEN < l4MinLen(proto)) return this.dropped('l4-truncated');
    p.tcpFlags = proto === IPPROTO_TCP ? frame[L4_OFF + TCP_FLAGS] & 0x3f : 0;
    if (!readFlowPorts(frame, L4_OFF, proto, p)) {
      if (proto === IPPROTO_ICMP) return this.icmpOther(frame, len, nowMs, ha3Flags);
      // a protocol without ports: its flows are told apart by their addresses alone
      p.srcPort = 0;
      p.dstPort = 0;
    }

    const h = this.table.lookup(proto, p.src, p.srcPort, p.dst, p.dstPort);
    if (h >= 0) {
      const slot = h >> 1;
      const dir = h & 1;
      // A session's packets come in where its direction enters: the original on its ingress, the
      // reply on its egress. Anything else is a spoof from the wrong side (e.g. a RST guessed from
      // the outside to tear down an inside flow) and must not touch the session.
      if (ingress !== (dir === DIR_ORIGINAL ? this.table.ingress(slot) : this.table.egress(slot))) return this.dropped('wrong-interface');
      if (this.aa !== null && !this.mayProcess(slot, ha3Flags >= 0, nowMs)) return FW_PEER;
      // a packet that cannot be forwarded changes nothing in its session (state, expiry, counters)
      if (frame[IP_TTL] <= 1) return this.ttlExceeded(ingress, frame, len, nowMs);
      return this.known(slot, dir, frame, len, nowMs);
    }
    return this.fresh(ingress, frame, len, nowMs, ha3Flags);
  }

  /**
   * One IPv6 packet from `ingress`, on the active box, its extension headers walked by the
   * pipeline: the upper layer `proto` starts at `l4`. Returns FW_* (FW_FORWARD: the route is in
   * route6). IPv6 is never translated. ha3Flags: as process()'s.
   */
  process6(ingress: number, frame: Uint8Array, len: number, nowMs: number, l4: number, proto: number, ha3Flags = -1): number {
    this.route = null;
    this.route6 = null;
    this.deferSlot = -1;
    this.translated = false;
    const p = this.pkt;
    p.proto = proto;
    p.v6 = true;
    p.l4 = l4;
    p.end = ETH_HLEN + IP6_HLEN + readU16(frame, IP6_PLEN);
    readIpv6(frame, IP6_SRC, p.addr, 0);
    readIpv6(frame, IP6_DST, p.addr, 4);
    p.src = p.addr[3];
    p.dst = p.addr[7];
    if (p.end - l4 < l4MinLen6(proto)) return this.dropped('l4-truncated');
    p.tcpFlags = proto === IPPROTO_TCP ? frame[l4 + TCP_FLAGS] & 0x3f : 0;
    if (!readFlowPorts6(frame, l4, proto, p)) {
      if (proto === IPPROTO_ICMPV6) return this.icmp6Other(frame, len, nowMs, ha3Flags);
      p.srcPort = 0;
      p.dstPort = 0;
    }
    const h = this.table.lookup6(proto, p.addr, p.srcPort, p.dstPort);
    if (h < 0) return this.fresh(ingress, frame, len, nowMs, ha3Flags);
    const slot = h >> 1;
    const dir = h & 1;
    if (ingress !== (dir === DIR_ORIGINAL ? this.table.ingress(slot) : this.table.egress(slot))) return this.dropped('wrong-interface');
    if (this.aa !== null && !this.mayProcess(slot, ha3Flags >= 0, nowMs)) return FW_PEER;
    if (frame[IP6_HLIM] <= 1) return this.ttlExceeded(ingress, frame, len, nowMs);
    return this.known(slot, dir, frame, len, nowMs);
  }

  /** The packet is an ICMP (ICMPv6) echo reply. */
  private isEchoReply(frame: Uint8Array): boolean {
    const p = this.pkt;
    if (p.v6) return p.proto === IPPROTO_ICMPV6 && frame[p.l4] === ICMP6_ECHO_REPLY;
    return p.proto === IPPROTO_ICMP && frame[L4_OFF] === ICMP_ECHO_REPLY;
  }

  /** The packet is addressed to a floating address (of its family). */
  private toFloating(): boolean {
    const p = this.pkt;
    return p.v6 ? this.floating6.has(ipv6Key(p.addr, 4)) : this.floatingAll.has(p.dst);
  }

  /** The IPv6 address words of the packet's session-to-be (no NAT: the reply is the original reversed). */
  private addressWords(): Pick<NewSession, Address6Fields> {
    const a = this.pkt.addr;
    return {
      origSrcW0: a[0],
      origSrcW1: a[1],
      origSrcW2: a[2],
      origDstW0: a[4],
      origDstW1: a[5],
      origDstW2: a[6],
      replySrcW0: a[4],
      replySrcW1: a[5],
      replySrcW2: a[6],
      replyDstW0: a[0],
      replyDstW1: a[1],
      replyDstW2: a[2],
    };
  }

  /**
   * A new IPv6 flow (after fresh()'s state checks): to a floating address it is the pipeline's
   * (no destination NAT for IPv6); route, hop limit, policy; the session is created untranslated.
   */
  private fresh6(ingress: number, frame: Uint8Array, len: number, nowMs: number, state: number, ha3Flags: number): number {
    if (this.toFloating()) return FW_LOCAL;
    // active/active: the setup device runs the policy (a floating address's own business stays here)
    if (this.aa !== null && !this.setsUpHere(ha3Flags >= 0)) return FW_PEER;
    const p = this.pkt;
    const route = this.routes.v6.lookup(p.addr, 4);
    if (route === null) return this.dropped('no-route');
    const egress = route.ifIndex;
    if (egress === ingress) return this.dropped('same-interface');
    if (frame[IP6_HLIM] <= 1) return this.ttlExceeded(ingress, frame, len, nowMs);
    const fromZone = this.policy_.zoneOf(ingress);
    const toZone = this.policy_.zoneOf(egress);
    const icmp = p.proto === IPPROTO_ICMPV6;
    const rule = this.policy_.match6(fromZone, toZone, p.proto, p.addr, icmp ? frame[p.l4] : p.srcPort, icmp ? frame[p.l4 + ICMP_CODE] : p.dstPort);
    this.stats_?.policyHit(rule);
    const action = this.policy_.action(rule);
    if (action === ACTION_DENY) return this.dropped('policy-deny');
    if (action === ACTION_REJECT) {
      this.reject(ingress, frame, len, nowMs);
      return this.dropped('policy-reject');
    }
    const f = this.flowNat;
    f.dst = p.dst;
    f.dstPort = p.dstPort;
    f.src = p.src;
    f.srcPort = p.srcPort;
    f.rule = -1;
    f.allocated = -1;
    const verdict = this.open(ingress, egress, frame, len, nowMs, state, rule, ha3Flags >= 0);
    if (verdict === FW_FORWARD) this.route6 = route;
    return verdict;
  }

  // ---- active/active: which box processes the packet (aa-path.ts) ----

  /** The pair as it is now: the control plane may change it between any two packets. */
  private pairView(): PairView {
    const v = this.view;
    const pair = this.aa!.pair;
    v.peerUp = pair.peerForwarding;
    v.primary = (pair.primaryId & 1) as DeviceId;
    return v;
  }

  /**
   * A packet of a known session: false when its owner is the peer, which forwards (FW_PEER). A
   * session whose owner does not forward is adopted: ours from now on, which its update tells
   * the peer.
   */
  private mayProcess(slot: number, fromPeer: boolean, nowMs: number): boolean {
    const view = this.pairView();
    const path = knownPath(view, ownerOf(this.table.flags(slot)), fromPeer);
    if (path === PATH_HERE) return true;
    if (path === PATH_PEER) {
      this.peerFlags = 0;
      return false;
    }
    if (path === PATH_MISMATCH) {
      this.hooks.event('ha3-owner-mismatch');
      this.table.setFlags(slot, this.table.flags(slot) | SESSION_FLAG_SPLIT);
      return true;
    }
    this.setOwner(slot, view.me);
    this.hooks.event('session-adopted');
    this.replicate(slot, nowMs, false);
    return true;
  }

  /** A packet that matches no session and cannot open one: to the peer, which may hold it, or dropped. */
  private noSession(reason: DropReason, ha3Flags: number): number {
    if (this.aa !== null && missPath(this.pairView(), ha3Flags >= 0) === PATH_PEER) {
      this.peerFlags = HA3_FLAG_MISS;
      return FW_PEER;
    }
    return this.dropped(reason);
  }

  /** A new flow: set up here (true), or by the peer (false: FW_PEER with HA3_FLAG_SETUP). */
  private setsUpHere(fromPeer: boolean): boolean {
    const view = this.pairView();
    const p = this.pkt;
    // an IPv6 flow's addresses hash whole (their low words alone would put a /96 on one device)
    const setup = fromPeer
      ? view.me
      : p.v6
        ? setupDevice(this.aaCfg!, view, view.me, fold6(p.addr, 0), fold6(p.addr, 4))
        : setupDevice(this.aaCfg!, view, view.me, p.src, p.dst);
    if (setupPath(view, setup, fromPeer) === PATH_PEER) {
      this.peerFlags = HA3_FLAG_SETUP;
      return false;
    }
    this.hooks.event('setup-local');
    return true;
  }

  /** A session's owner changes (adoption): its flags, and the count of each device's sessions. */
  private setOwner(slot: number, owner: DeviceId): void {
    const flags = this.table.flags(slot);
    this.owned[ownerOf(flags)]--;
    this.owned[owner]++;
    // adopted: the peer forwarded it until now, and may go on with its copy if it comes back
    this.table.setFlags(slot, withOwner(flags, owner) | SESSION_FLAG_SPLIT);
  }

  /** Active/active: live sessions owned by device 0 and by device 1; null in active/passive. */
  ownedSessions(): [number, number] | null {
    return this.aa === null ? null : [this.owned[0], this.owned[1]];
  }

  /**
   * Active/active: the peer stopped (or started again) forwarding. Once it stops, its sessions
   * here, which waited for its deletes (no expiry of their own), get their protocol timeout from
   * now, a slice of the table per expire() (a million at once would stall the packet path just
   * when it takes the peer's traffic over); they are adopted at their next packet.
   */
  peerForwardingChanged(forwarding: boolean): void {
    // either way, one box forwarded what the other had processed: the windows may lag
    this.windowsMayLag();
    this.rearmAt = forwarding || this.aa === null ? -1 : 0;
  }

  /**
   * Another box may have forwarded the segments of sessions in this table (a take-over, the peer
   * adopting ours while it took us for down, our own forwarding held and resumed): every TCP
   * side's window is checked with the synced slack until its next segment here (tcp-window.ts).
   */
  windowsMayLag(): void {
    this.table.markWindowsSynced();
  }

  /** The next slice of peerForwardingChanged's work. */
  private rearmPeerSessions(nowMs: number): void {
    const t = this.table;
    const me = this.aa!.me;
    const end = Math.min(t.capacity, this.rearmAt + REARM_BUDGET);
    for (let slot = this.rearmAt; slot < end; slot++) {
      if (t.isLive(slot) && ownerOf(t.flags(slot)) !== me) t.setExpires(slot, nowMs + this.timeoutS(t.proto(slot), t.state(slot)) * 1000);
    }
    this.rearmAt = end >= t.capacity ? -1 : end;
  }

  /**
   * Active/active: a session the peer told us of (HA3 INSERT) is ours to own: it lives by our
   * timeouts rather than waiting for a delete, as the peer's copy does.
   */
  ownerOfInserted(slot: number, nowMs: number): void {
    const t = this.table;
    if (this.aa === null || ownerOf(t.flags(slot)) !== this.aa.me) return;
    t.setExpires(slot, nowMs + this.timeoutS(t.proto(slot), t.state(slot)) * 1000);
  }

  /**
   * ICMP other than echo: an error goes with the session of the packet it quotes; the rest (and
   * redirects: a host's routing is not steered from outside) is a floating IP's local business or
   * dropped.
   */
  private icmpOther(frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): number {
    const type = frame[L4_OFF];
    if (type !== ICMP_REDIRECT && isIcmpErrorType(type)) return this.icmpError(frame, len, nowMs, ha3Flags);
    if (this.floatingAll.has(this.pkt.dst)) return FW_LOCAL;
    return this.dropped('icmp-unsupported');
  }

  /** Removes expired sessions (bounded work per call) and frees their NAT ports. */
  expire(nowMs: number): number {
    this.expireNowMs = nowMs;
    if (this.rearmAt >= 0) this.rearmPeerSessions(nowMs);
    return this.table.expire(nowMs, EXPIRE_BUDGET, this.onExpire);
  }

  /** Removes one session now (HA2 delete, clear): frees its NAT port, tells the stats. */
  /**
   * A synced state change's flags. Active/active: the record may move the session to the other
   * owner (the peer adopted it), and the count of each device's sessions follows, or removing it
   * later takes it off the wrong device's count (a negative count in status).
   */
  setSessionFlags(slot: number, flags: number): void {
    if (this.aa !== null) {
      this.owned[ownerOf(this.table.flags(slot))]--;
      this.owned[ownerOf(flags)]++;
    }
    this.table.setFlags(slot, flags);
  }

  removeSession(slot: number): void {
    if (this.aa !== null) this.owned[ownerOf(this.table.flags(slot))]--;
    this.releasePort(slot);
    this.stats_?.expired(this.table.proto(slot));
    this.table.remove(slot);
  }

  /** The seconds a session in `state` of `proto` lives after its last packet. */
  timeoutS(proto: number, state: number): number {
    if (proto === IPPROTO_TCP) return tcpTimeoutS(state, this.timeouts);
    return proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? this.timeouts.icmpS : this.timeouts.udpS;
  }

  // ---- established sessions: the fast path ----

  private known(slot: number, dir: number, frame: Uint8Array, len: number, nowMs: number): number {
    const t = this.table;
    const p = this.pkt;
    const state = t.state(slot);
    let next = state;
    if (p.proto === IPPROTO_TCP) {
      next = tcpStep(state, dir, p.tcpFlags);
      if (next < 0) return this.dropped('tcp-invalid');
      next = this.tcpWindow(slot, dir, state, next, frame);
      if (next < 0) return FW_DROP;
    } else if (dir === DIR_REPLY && state === FLOW_NEW) {
      next = FLOW_ESTABLISHED;
    }
    const timeoutMs = this.timeoutS(p.proto, next) * 1000;
    // the expiry first: a record built now carries it
    t.setExpires(slot, nowMs + timeoutMs);
    if (next !== state) {
      t.setState(slot, next);
      this.replicate(slot, nowMs, false);
    } else if (this.listener !== null && this.refreshDue(slot, dir, timeoutMs, nowMs)) {
      this.replicate(slot, nowMs, false);
    }
    t.count(slot, dir, len);
    // IPv6 is never translated (NAT is IPv4 only)
    if (!p.v6) this.translate(slot, dir, frame);
    return FW_FORWARD;
  }

  /**
   * The sequence window check of a segment whose flags step the session from `state` to `next`
   * (tcp-window.ts): the state to go on with, or -1 when it is dropped (counted). A reset inside
   * the window but not at the expected sequence passes and closes nothing.
   */
  private tcpWindow(slot: number, dir: number, state: number, next: number, frame: Uint8Array): number {
    const seg = this.seg;
    if (!readTcpSegment(frame, this.pkt.l4, this.pkt.end, seg)) {
      this.hooks.drop('tcp-invalid');
      return -1;
    }
    const v = tcpWindowStep(this.table.windows, slot, dir, state, seg);
    if (v === WIN_OK) return next;
    let mode = this.timeouts.tcpWindowCheck;
    if (mode === 'off') return next;
    // active/active: a session both boxes forwarded is seen here only in part
    if (mode === 'strict' && (this.table.flags(slot) & SESSION_FLAG_SPLIT) !== 0) mode = 'loose';
    if (v === WIN_RST_INEXACT) {
      this.hooks.event('tcp-rst-in-window');
      return state;
    }
    if (mode === 'loose' && (seg.flags & TCP_RST) === 0) {
      this.hooks.event('tcp-out-of-window-passed');
      return next;
    }
    this.hooks.drop('tcp-out-of-window');
    return -1;
  }

  /**
   * A session whose state did not change is replicated again when its last record is half its
   * timeout old (the passive's copy expires on its own: sync-port.ts) or, for TCP, when this
   * side's sequence moved TCP_SYNC_STRIDE since (the survivor's window state lags by no more).
   */
  private refreshDue(slot: number, dir: number, timeoutMs: number, nowMs: number): boolean {
    const t = this.table;
    if (nowMs - t.syncedMs(slot) >= refreshMs(timeoutMs)) return true;
    return this.pkt.proto === IPPROTO_TCP && t.seqSinceSync(slot, dir) >= TCP_SYNC_STRIDE;
  }

  /** Tells replication of a new or changed session, and notes when (the refresh and the stride start again). */
  private replicate(slot: number, nowMs: number, created: boolean): void {
    const l = this.listener;
    if (l === null) return;
    this.table.markSynced(slot, nowMs);
    if (created) l.created(slot, nowMs);
    else l.changed(slot, nowMs);
  }

  /** Rewrites the packet of direction `dir` into the reverse of the other direction's tuple. */
  private translate(slot: number, dir: number, frame: Uint8Array): void {
    this.translated = true;
    const t = this.table;
    const p = this.pkt;
    const o = 1 - dir;
    const nsrc = t.dst(slot, o);
    const nsp = t.dstPort(slot, o);
    const ndst = t.src(slot, o);
    const ndp = t.srcPort(slot, o);
    if (p.proto === IPPROTO_ICMP) {
      if (nsrc !== p.src) rewriteAddress(frame, ETH_HLEN, IPH_SRC, nsrc);
      if (ndst !== p.dst) rewriteAddress(frame, ETH_HLEN, IPH_DST, ndst);
      // the identifier is the source "port" of a request and the destination "port" of a reply
      if (nsp !== p.srcPort) rewriteIcmpId(frame, L4_OFF, nsp);
      else if (ndp !== p.dstPort) rewriteIcmpId(frame, L4_OFF, ndp);
      return;
    }
    if (nsrc !== p.src || nsp !== p.srcPort) rewriteSource(frame, ETH_HLEN, p.proto, nsrc, nsp);
    if (ndst !== p.dst || ndp !== p.dstPort) rewriteDestination(frame, ETH_HLEN, p.proto, ndst, ndp);
  }

  /**
   * Undoes the translation process() just applied to `frame` (it returned FW_FORWARD, and the
   * pipeline cannot send the packet on: too big for the egress MTU): addresses and ports back as
   * the packet arrived, checksums fixed, so an ICMP error about it quotes what its sender sent
   * (as Linux's conntrack translates the quote of an error the router itself sends). A no-op
   * when process() translated nothing (an ICMP error's quote is never undone: it gets no error).
   */
  untranslate(frame: Uint8Array): void {
    if (!this.translated) return;
    this.translated = false;
    const p = this.pkt;
    const proto = p.proto;
    if (readU32(frame, IP_SRC) !== p.src || this.portAt(frame, L4_SPORT) !== p.srcPort) rewriteSource(frame, ETH_HLEN, proto, p.src, p.srcPort);
    if (readU32(frame, IP_DST) !== p.dst || this.portAt(frame, L4_DPORT) !== p.dstPort) rewriteDestination(frame, ETH_HLEN, proto, p.dst, p.dstPort);
  }

  /** The frame's TCP/UDP port at `off` (L4_SPORT, L4_DPORT), an echo's identifier on its side of the tuple, else 0. */
  private portAt(frame: Uint8Array, off: number): number {
    const proto = this.pkt.proto;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return readU16(frame, L4_OFF + off);
    if (proto !== IPPROTO_ICMP) return 0;
    const echo = off === L4_SPORT ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
    return frame[L4_OFF] === echo ? readU16(frame, L4_OFF + ICMP_ID) : 0;
  }

  /** The packet's TTL runs out here: counted, and answered by the pipeline (time exceeded). */
  private ttlExceeded(ingress: number, frame: Uint8Array, len: number, nowMs: number): number {
    this.hooks.drop('ttl-exceeded');
    this.hooks.timeExceeded?.(ingress, frame, len, nowMs);
    return FW_DROP;
  }

  // ---- new flows ----

  /**
   * The first packet of a flow no session knows: only a SYN opens a TCP session, and an echo reply
   * none. Destination NAT, route, policy, source NAT, then the session with both tuples.
   */
  private fresh(ingress: number, frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): number {
    const p = this.pkt;
    let state: number;
    if (p.proto === IPPROTO_TCP) {
      state = tcpOpen(p.tcpFlags, false);
      if (state < 0) return this.noSession('tcp-no-session', ha3Flags);
      if (!readTcpSegment(frame, p.l4, p.end, this.seg)) return this.dropped('tcp-invalid');
    } else if (this.isEchoReply(frame)) {
      if (this.toFloating()) return FW_LOCAL;
      return this.noSession('icmp-no-session', ha3Flags);
    } else {
      state = FLOW_NEW;
    }
    if (p.v6) return this.fresh6(ingress, frame, len, nowMs, state, ha3Flags);

    // Destination NAT: only a published service of a floating IP goes on from here.
    const fromZone = this.policy_.zoneOf(ingress);
    if (!this.destinationNat(fromZone)) return FW_LOCAL;
    // active/active: the setup device runs the policy and NAT (a floating IP's own business stays here)
    if (this.aa !== null && !this.setsUpHere(ha3Flags >= 0)) return FW_PEER;

    const route = this.routes.lookup(this.flowNat.dst);
    if (route === null) return this.dropped('no-route');
    const egress = route.ifIndex;
    if (egress === ingress) return this.dropped('same-interface');
    // before anything is allocated: a packet that cannot be forwarded opens no session
    if (frame[IP_TTL] <= 1) return this.ttlExceeded(ingress, frame, len, nowMs);
    const toZone = this.policy_.zoneOf(egress);

    const rule = this.policyRule(fromZone, toZone, frame);
    const action = this.policy_.action(rule);
    if (action === ACTION_DENY) return this.dropped('policy-deny');
    if (action === ACTION_REJECT) {
      this.reject(ingress, frame, len, nowMs);
      return this.dropped('policy-reject');
    }

    if (!this.sourceNat(fromZone, toZone, egress)) return this.dropped('nat-exhausted');
    if (this.flowNat.rule >= 0) this.stats_?.natHit(this.flowNat.rule);

    const verdict = this.open(ingress, egress, frame, len, nowMs, state, rule, ha3Flags >= 0);
    if (verdict === FW_FORWARD) this.route = route;
    return verdict;
  }

  /**
   * Destination NAT of a new flow: a floating IP is reached only as a published service (false:
   * none matches, local handling). Sets flowNat's dst, dstPort and rule.
   */
  private destinationNat(fromZone: number): boolean {
    const { proto, src, dst, dstPort } = this.pkt;
    const f = this.flowNat;
    f.dst = dst;
    f.dstPort = dstPort;
    f.rule = -1;
    if (!this.floatingAll.has(dst)) return true;
    const r = this.nat_.matchDestination(fromZone, proto, src, dst, dstPort);
    if (r < 0) return false;
    f.dst = this.nat_.destAddress(r);
    const port = this.nat_.destPort(r);
    if (port >= 0 && proto !== IPPROTO_ICMP) f.dstPort = port;
    f.rule = r;
    return true;
  }

  /** Policy sees the packet as it arrived (pre-NAT addresses), with the zone it will leave by. */
  private policyRule(fromZone: number, toZone: number, frame: Uint8Array): number {
    const { proto, src, srcPort, dst, dstPort } = this.pkt;
    const icmp = proto === IPPROTO_ICMP;
    const rule = this.policy_.match(fromZone, toZone, proto, src, icmp ? frame[L4_OFF] : srcPort, dst, icmp ? frame[L4_OFF + ICMP_CODE] : dstPort);
    this.stats_?.policyHit(rule);
    return rule;
  }

  /**
   * Source NAT of a new flow: the egress interface's floating IP (or a fixed address) and a fresh
   * port. Sets flowNat's src, srcPort and allocated (and rule, when no DNAT rule took it); false
   * when the address has no port left.
   */
  private sourceNat(fromZone: number, toZone: number, egress: number): boolean {
    const { proto, src, srcPort } = this.pkt;
    const f = this.flowNat;
    f.src = src;
    f.srcPort = srcPort;
    f.allocated = -1;
    const s = this.nat_.matchSource(fromZone, toZone, proto, src, f.dst, f.dstPort, this.aa === null ? 0 : natBindings(this.pairView()));
    if (s < 0) return true;
    const addr = this.nat_.sourceAddress(s, egress);
    if (addr < 0) return true;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_ICMP) {
      f.allocated = this.nat_.ports(proto, addr).allocate();
      if (f.allocated < 0) return false;
      f.srcPort = f.allocated;
    }
    f.src = addr;
    if (f.rule < 0) f.rule = s;
    else this.stats_?.natHit(s);
    return true;
  }

  /**
   * Creates the session of an allowed new flow (translated as flowNat says) and passes its first
   * packet on. fromPeer: active/active, the first packet reached the peer (which may then own it).
   */
  private open(ingress: number, egress: number, frame: Uint8Array, len: number, nowMs: number, state: number, rule: number, fromPeer: boolean): number {
    const { proto, src, srcPort, dst, dstPort } = this.pkt;
    const f = this.flowNat;
    const owner = this.aa === null ? 0 : this.newOwner(fromPeer);
    const mine = this.aa === null || owner === this.aa.me;
    const slot = this.table.create({
      proto,
      origSrc: src,
      origSrcPort: srcPort,
      origDst: dst,
      origDstPort: dstPort,
      replySrc: f.dst,
      replySrcPort: proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? 0 : f.dstPort,
      replyDst: f.src,
      replyDstPort: f.srcPort,
      state,
      expiresMs: nowMs + (mine ? this.timeoutS(proto, state) * 1000 : PEER_OWNED_EXPIRY_MS),
      nowMs,
      ruleId: rule,
      natRuleId: f.rule,
      ingress,
      egress,
      flags: withOwner(0, owner) | (this.pkt.v6 ? SESSION_FLAG_V6 : 0),
      ...(this.pkt.v6 ? this.addressWords() : null),
    });
    if (slot < 0) {
      if (f.allocated >= 0) this.nat_.ports(proto, f.src).free(f.allocated);
      if (this.table.size >= this.table.capacity) {
        this.stats_?.tableFull();
        return this.dropped('session-table-full');
      }
      return this.dropped('session-conflict');
    }
    // the SYN starts the originator's side of the window (fresh() read it)
    if (proto === IPPROTO_TCP) tcpWindowStep(this.table.windows, slot, DIR_ORIGINAL, TCP_NONE, this.seg);
    this.hooks.event('session-created');
    this.stats_?.created(proto);
    if (this.aa !== null) this.openedPaired(slot, owner);
    this.replicate(slot, nowMs, true);
    if (f.allocated >= 0) this.stats_?.setNatPortsInUse(proto, this.nat_.ports(proto, f.src).inUse);
    this.table.count(slot, DIR_ORIGINAL, len);
    this.translate(slot, DIR_ORIGINAL, frame);
    return FW_FORWARD;
  }

  /** Active/active: the owner of a session set up here (owner.ts), its first packet having reached us or the peer. */
  private newOwner(fromPeer: boolean): DeviceId {
    const view = this.pairView();
    return ownerDevice(this.aaCfg!, view, fromPeer ? ((1 - view.me) as DeviceId) : view.me);
  }

  /** Active/active: a session just created is counted for its owner, and its first packet held while the peer learns of it. */
  private openedPaired(slot: number, owner: DeviceId): void {
    this.owned[owner]++;
    if (this.view.peerUp && this.aaCfg!.deferMs > 0) this.deferSlot = slot;
  }

  // ---- ICMP errors ----

  /**
   * An ICMP error travels in one direction of a session and quotes a packet that went the other
   * way (as it was transmitted, i.e. translated). The receiver must see its own packet quoted, and
   * the error addressed to itself.
   */
  private icmpError(frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): number {
    const q = this.q;
    if (!parseIcmpError(frame, len, ETH_HLEN, q)) return this.dropped('icmp-bad');
    const h = this.table.lookup(q.proto, q.dst, q.dstPort, q.src, q.srcPort);
    if (h < 0) return this.noSession('icmp-no-session', ha3Flags);
    const slot = h >> 1;
    // the error goes where the session's packets go: its owner translates it
    if (this.aa !== null && !this.mayProcess(slot, ha3Flags >= 0, nowMs)) return FW_PEER;
    const dir = h & 1;
    const o = 1 - dir;
    const t = this.table;
    // a TCP segment quoted by an error must lie in its side's window (as pf checks): a blind
    // error (a forged unreachable or fragmentation needed) must guess the sequence too
    if (q.proto === IPPROTO_TCP && this.timeouts.tcpWindowCheck === 'strict' && !this.quotedInWindow(frame, q, slot, o)) {
      return this.dropped('tcp-out-of-window');
    }
    const want = { src: t.src(slot, o), srcPort: t.srcPort(slot, o), dst: t.dst(slot, o), dstPort: t.dstPort(slot, o) };
    if (want.src !== q.src || want.srcPort !== q.srcPort) rewriteQuotedSource(frame, q, want.src, want.srcPort);
    if (want.dst !== q.dst || want.dstPort !== q.dstPort) rewriteQuotedDestination(frame, q, want.dst, want.dstPort);
    // The far host itself may have sent the error: it then speaks as the address its peer knows.
    const outerSrc = readU32(frame, IP_SRC);
    if (outerSrc === t.src(slot, dir) && outerSrc !== t.dst(slot, o)) rewriteAddress(frame, ETH_HLEN, IPH_SRC, t.dst(slot, o));
    if (readU32(frame, IP_DST) !== want.src) rewriteAddress(frame, ETH_HLEN, IPH_DST, want.src);
    t.count(slot, dir, len);
    return FW_FORWARD;
  }

  /** The sequence number of the TCP segment an ICMP error quotes fits side `dir` of the session (or cannot be read). */
  private quotedInWindow(frame: Uint8Array, q: QuotedFlow, slot: number, dir: number): boolean {
    const l4 = q.innerL3 + ((frame[q.innerL3] & 0x0f) << 2);
    if (q.quoteEnd === undefined || l4 + 8 > q.quoteEnd) return true;
    return tcpQuotedInWindow(this.table.windows, slot, dir, readU32(frame, l4 + 4));
  }

  /** ICMPv6 other than echo: an error goes with its session; the rest is a floating address's business or dropped. */
  private icmp6Other(frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): number {
    const type = frame[this.pkt.l4];
    if (isIcmp6ErrorType(type)) return this.icmpError6(frame, len, nowMs, ha3Flags);
    if (this.toFloating()) return FW_LOCAL;
    return this.dropped('icmp-unsupported');
  }

  /**
   * An ICMPv6 error (packet too big, unreachable, time exceeded, parameter problem) goes with the
   * session of the packet it quotes, which went the other way. Nothing is translated in IPv6.
   */
  private icmpError6(frame: Uint8Array, len: number, nowMs: number, ha3Flags: number): number {
    const q = this.q6;
    const p = this.pkt;
    if (!parseQuoted6(frame, p.l4, p.end, q)) return this.dropped('icmp-bad');
    const k = this.key6;
    k.set(q.dst, 0);
    k.set(q.src, 4);
    const h = this.table.lookup6(q.proto, k, q.dstPort, q.srcPort);
    if (h < 0) return this.noSession('icmp-no-session', ha3Flags);
    const slot = h >> 1;
    // the error goes where the session's packets go: to its owner
    if (this.aa !== null && !this.mayProcess(slot, ha3Flags >= 0, nowMs)) return FW_PEER;
    const dir = h & 1;
    // a TCP segment quoted by an error must lie in its side's window (see icmpError)
    if (q.proto === IPPROTO_TCP && this.timeouts.tcpWindowCheck === 'strict' && q.innerL4 + 8 <= p.end) {
      if (!tcpQuotedInWindow(this.table.windows, slot, 1 - dir, readU32(frame, q.innerL4 + 4))) return this.dropped('tcp-out-of-window');
    }
    this.table.count(slot, dir, len);
    return FW_FORWARD;
  }

  // ---- rejects ----

  private reject(ingress: number, frame: Uint8Array, len: number, nowMs: number): void {
    const itf = this.interfaces[ingress];
    const peerMac = frame.subarray(ETH_SRC, ETH_SRC + 6);
    const p = this.pkt;
    // RFC 9293 3.10.7.1: never answer a reset with a reset
    if (p.proto === IPPROTO_TCP && (p.tcpFlags & TCP_RST) !== 0) return;
    // (IPv6: the limiter's per-source bucket is keyed by the source's low word)
    if (this.hooks.answerAllowed !== undefined && !this.hooks.answerAllowed(p.src, nowMs)) {
      return this.hooks.event('reject-rate-limited');
    }
    let n: number;
    if (p.v6) n = this.rejectAnswer6(ingress, frame, len, peerMac);
    else if (p.proto === IPPROTO_TCP) n = buildTcpReset(this.tx, frame, len, itf.mac, peerMac);
    else {
      const from = this.hooks.answerSource?.(ingress) ?? (itf.floating.length > 0 ? itf.floating[0] : itf.address);
      n = buildIcmpUnreachable(this.tx, frame, len, from, itf.mac, peerMac);
    }
    if (n > 0 && this.hooks.emit(ingress, this.tx, n)) this.hooks.event('reject-sent');
  }

  /** The answer to a rejected IPv6 packet: a RST for TCP, else ICMPv6 administratively prohibited. Its length, 0 for none. */
  private rejectAnswer6(ingress: number, frame: Uint8Array, len: number, peerMac: Uint8Array): number {
    const itf = this.interfaces[ingress];
    const p = this.pkt;
    if (p.proto === IPPROTO_TCP) return buildTcpReset6(this.tx, frame, p.l4, p.end, itf.mac, peerMac);
    const from = this.hooks.answerSource6 !== undefined ? this.hooks.answerSource6(ingress) : (itf.floating6?.[0] ?? null);
    if (from === null) return 0;
    return buildIcmp6Error(this.tx, frame, len, ICMP6_DST_UNREACH, ICMP6_UNREACH_ADMIN, 0, from, itf.mac, peerMac);
  }

  // ---- expiry ----

  /** Called for each expiring session before the table forgets it. */
  private release(slot: number): void {
    if (this.aa !== null) this.owned[ownerOf(this.table.flags(slot))]--;
    this.listener?.removed(slot, this.expireNowMs);
    this.releasePort(slot);
    this.hooks.event('session-expired');
    this.stats_?.expired(this.table.proto(slot));
  }

  /** Frees the NAT port a source-translated session holds. */
  private releasePort(slot: number): void {
    const ports = this.sourceNatPorts(slot);
    if (ports === null) return;
    const proto = this.table.proto(slot);
    ports.free(this.table.dstPort(slot, DIR_REPLY));
    this.stats_?.setNatPortsInUse(proto, ports.inUse);
  }

  /** A session installed from the peer (HA2): counted like one of ours, its NAT port reserved. */
  adoptSession(slot: number): void {
    if (this.aa !== null) this.owned[ownerOf(this.table.flags(slot))]++;
    this.stats_?.created(this.table.proto(slot));
    this.reservePort(slot);
  }

  /** Keeps a synced session's NAT port from being handed out again on this box. */
  reservePort(slot: number): void {
    const ports = this.sourceNatPorts(slot);
    if (ports === null) return;
    ports.reserve(this.table.dstPort(slot, DIR_REPLY));
    this.stats_?.setNatPortsInUse(this.table.proto(slot), ports.inUse);
  }

  /**
   * The allocator of a source-translated session (its reply comes back to a port allocated on the
   * NAT address, reply.dst:reply.dstPort), or null when the source is not translated.
   */
  private sourceNatPorts(slot: number): ReturnType<CompiledNat['ports']> | null {
    const t = this.table;
    const proto = t.proto(slot);
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_ICMP) return null;
    const natAddr = t.dst(slot, DIR_REPLY);
    if (natAddr === t.src(slot, DIR_ORIGINAL) && t.dstPort(slot, DIR_REPLY) === t.srcPort(slot, DIR_ORIGINAL)) return null;
    return this.nat_.ports(proto, natAddr);
  }

  // ---- operator view ----

  /** The answer to a sessions listing (GET /v1/sessions): firewall-view.ts. */
  sessions(filter: SessionFilter, limit: number, nowMs: number): SessionList {
    const names = { interfaces: this.interfaces, rules: this.policy_.ruleNames, natRules: this.nat_.ruleNames, paired: this.aa !== null };
    return listSessions(sessionViews(this.table, names, nowMs), this.table.size, filter, limit);
  }

  private dropped(reason: DropReason): number {
    this.hooks.drop(reason);
    return FW_DROP;
  }
}
