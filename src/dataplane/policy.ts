// The security policy, compiled when the config is applied so that a lookup for a new flow does
// not walk every rule. Rules are bucketed by (from zone, to zone, protocol class); a bucket keeps
// the rules' config order, so the first match in a bucket is the first match of the whole list.
// Prefixes and port ranges live in flat typed arrays: a lookup allocates nothing.
//
// A rule's hit counter is not kept here: match() returns the rule index and the caller counts.
import { ANY_ADDRESS, isIpv6Text } from '../net/family.js';
import { parseCidr } from '../net/ipv4.js';
import { parseService } from '../config/schema.js';
import type { SharedConfig } from '../config/types.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './packet.js';
import { PrefixSet6 } from './prefix-set6.js';

export const ACTION_ALLOW = 0;
export const ACTION_DENY = 1;
export const ACTION_REJECT = 2;

/** Protocol classes a bucket is keyed by: services name tcp, udp, icmp or any (every protocol). */
const CLASS_TCP = 0;
const CLASS_UDP = 1;
const CLASS_ICMP = 2;
const CLASS_OTHER = 3;
const CLASSES = 4;
/** The range of a class that matches every "port": also -1, which callers pass for port-less protocols. */
const ALL_LO = -0x80000000;
const ALL_HI = 0x7fffffff;

/** The service class of a protocol; the service "icmp" names ICMP in IPv4 and ICMPv6 in IPv6. */
function classOf(proto: number): number {
  return proto === IPPROTO_TCP ? CLASS_TCP : proto === IPPROTO_UDP ? CLASS_UDP : proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? CLASS_ICMP : CLASS_OTHER;
}

/**
 * Zone index of every pipeline interface: zones are numbered in the order of shared.zones (the
 * same numbering for policy and NAT, since both compile from the same shared half); -1 when the
 * interface is in no zone.
 */
export function zoneIndexes(shared: SharedConfig, interfaceNames: readonly string[]): { zoneNames: string[]; ofInterface: Int32Array } {
  const zoneNames = Object.keys(shared.zones);
  const ofInterface = new Int32Array(interfaceNames.length).fill(-1);
  interfaceNames.forEach((ifName, i) => {
    // an interface belongs to at most one zone (schema.ts checks it): the first one wins
    ofInterface[i] = zoneNames.findIndex((z) => shared.zones[z].includes(ifName));
  });
  return { zoneNames, ofInterface };
}

/** What a rule matches, as the config states it (zones already resolved to indexes). */
export interface RuleMatchSpec {
  fromZones: readonly number[];
  toZones: readonly number[];
  source: readonly string[];
  destination: readonly string[];
  service: readonly string[];
}

/**
 * An ordered rule list compiled for first-match lookup: the part policy and NAT share. Rule i of
 * the input is rule i of every answer.
 */
export class RuleMatcher {
  private readonly nFrom: number;
  private readonly nTo: number;
  /** Bucket b = ((from * nTo) + to) * CLASSES + class holds bucketRules[bucketStart[b] .. bucketStart[b + 1]). */
  private readonly bucketStart: Int32Array;
  private readonly bucketRules: Int32Array;
  /** Rule r's source prefixes are srcNet/srcMask[srcStart[r] .. srcStart[r + 1]); likewise destinations. */
  private readonly srcStart: Int32Array;
  private readonly srcNet: Uint32Array;
  private readonly srcMask: Uint32Array;
  private readonly dstStart: Int32Array;
  private readonly dstNet: Uint32Array;
  private readonly dstMask: Uint32Array;
  /** Rule r's destination port ranges for class c are portLo/portHi[portStart[r*C+c] .. portStart[r*C+c+1]). */
  private readonly portStart: Int32Array;
  private readonly portLo: Int32Array;
  private readonly portHi: Int32Array;
  /** The IPv6 halves of the rules' source and destination lists. */
  private readonly src6: PrefixSet6;
  private readonly dst6: PrefixSet6;

  constructor(rules: readonly RuleMatchSpec[], nFrom: number, nTo: number) {
    this.nFrom = nFrom;
    this.nTo = nTo;
    this.src6 = new PrefixSet6(rules.map((r) => r.source));
    this.dst6 = new PrefixSet6(rules.map((r) => r.destination));
    const nRules = rules.length;

    const src: number[][] = [];
    const dst: number[][] = [];
    const ports: number[][] = []; // per (rule, class): flat lo, hi pairs
    const inClass: boolean[][] = [];
    for (const rule of rules) {
      src.push(rule.source.flatMap(prefixPair));
      dst.push(rule.destination.flatMap(prefixPair));
      const perClass: number[][] = [[], [], [], []];
      const has = [false, false, false, false];
      for (const text of rule.service) {
        const s = parseService(text);
        if (s === null) continue; // the schema refuses it; a hand-built config cannot widen a rule
        if (s.protocol === 'any') {
          for (let c = 0; c < CLASSES; c++) {
            has[c] = true;
            perClass[c] = [ALL_LO, ALL_HI]; // every port (ICMP: every type and code)
          }
        } else if (s.protocol === 'icmp') {
          has[CLASS_ICMP] = true;
          perClass[CLASS_ICMP] = [ALL_LO, ALL_HI];
        } else if ('portLow' in s) {
          const c = s.protocol === 'tcp' ? CLASS_TCP : CLASS_UDP;
          // once a class matches every port, a narrower range adds nothing
          if (!(has[c] && perClass[c][0] === ALL_LO)) perClass[c].push(s.portLow, s.portHigh);
          has[c] = true;
        }
      }
      // protocols other than TCP/UDP/ICMP have no ports: only "any" reaches them, with the all-range
      ports.push(...perClass);
      inClass.push(has);
    }

    const s = flattenPairs(src, Uint32Array);
    [this.srcStart, this.srcNet, this.srcMask] = [s.start, s.a, s.b];
    const d = flattenPairs(dst, Uint32Array);
    [this.dstStart, this.dstNet, this.dstMask] = [d.start, d.a, d.b];
    const p = flattenPairs(ports, Int32Array);
    [this.portStart, this.portLo, this.portHi] = [p.start, p.a, p.b];

    const nBuckets = nFrom * nTo * CLASSES;
    const buckets: number[][] = Array.from({ length: nBuckets }, () => []);
    for (let r = 0; r < nRules; r++) {
      const rule = rules[r];
      for (const f of new Set(rule.fromZones)) {
        if (f < 0 || f >= nFrom) continue;
        for (const t of new Set(rule.toZones)) {
          if (t < 0 || t >= nTo) continue;
          for (let c = 0; c < CLASSES; c++) if (inClass[r][c]) buckets[(f * nTo + t) * CLASSES + c].push(r);
        }
      }
    }
    this.bucketStart = new Int32Array(nBuckets + 1);
    let n = 0;
    buckets.forEach((b, i) => {
      this.bucketStart[i] = n;
      n += b.length;
    });
    this.bucketStart[nBuckets] = n;
    this.bucketRules = Int32Array.from(buckets.flat());
  }

  /** First rule (in config order) matching the flow, or -1. dstPort: TCP/UDP port, ICMP type. */
  match(fromZone: number, toZone: number, proto: number, src: number, dst: number, dstPort: number): number {
    const b = this.bucket(fromZone, toZone, proto);
    if (b < 0) return -1;
    const c = classOf(proto);
    const end = this.bucketStart[b + 1];
    for (let i = this.bucketStart[b]; i < end; i++) {
      const r = this.bucketRules[i];
      if (
        inAny(this.srcNet, this.srcMask, this.srcStart[r], this.srcStart[r + 1], src) &&
        inAny(this.dstNet, this.dstMask, this.dstStart[r], this.dstStart[r + 1], dst) &&
        this.portIn(r * CLASSES + c, dstPort)
      )
        return r;
    }
    return -1;
  }

  /**
   * First rule matching an IPv6 flow, or -1: `addrs` holds the source (words 0-3) and the
   * destination (4-7). A rule whose source or destination list has no IPv6 entry matches none.
   */
  match6(fromZone: number, toZone: number, proto: number, addrs: ArrayLike<number>, dstPort: number): number {
    const b = this.bucket(fromZone, toZone, proto);
    if (b < 0) return -1;
    const c = classOf(proto);
    const end = this.bucketStart[b + 1];
    for (let i = this.bucketStart[b]; i < end; i++) {
      const r = this.bucketRules[i];
      if (this.src6.has(r, addrs, 0) && this.dst6.has(r, addrs, 4) && this.portIn(r * CLASSES + c, dstPort)) return r;
    }
    return -1;
  }

  /** The bucket of (from zone, to zone, protocol class), -1 when a zone is none or unknown. */
  private bucket(fromZone: number, toZone: number, proto: number): number {
    if (fromZone < 0 || fromZone >= this.nFrom || toZone < 0 || toZone >= this.nTo) return -1;
    return (fromZone * this.nTo + toZone) * CLASSES + classOf(proto);
  }

  private portIn(rc: number, port: number): boolean {
    const end = this.portStart[rc + 1];
    for (let i = this.portStart[rc]; i < end; i++) if (port >= this.portLo[i] && port <= this.portHi[i]) return true;
    return false;
  }
}

/** Lists of (a, b) pairs -> one start index per list (and an end sentinel) over two flat arrays. */
function flattenPairs<A extends Uint32Array | Int32Array>(lists: number[][], Ctor: new (n: number) => A): { start: Int32Array; a: A; b: A } {
  const start = new Int32Array(lists.length + 1);
  let n = 0;
  lists.forEach((l, i) => {
    start[i] = n;
    n += l.length / 2;
  });
  start[lists.length] = n;
  const a = new Ctor(n);
  const b = new Ctor(n);
  let k = 0;
  for (const l of lists)
    for (let j = 0; j < l.length; j += 2, k++) {
      a[k] = l[j];
      b[k] = l[j + 1];
    }
  return { start, a, b };
}

function inAny(net: Uint32Array, mask: Uint32Array, from: number, to: number, addr: number): boolean {
  for (let i = from; i < to; i++) if ((addr & mask[i]) >>> 0 === net[i]) return true;
  return false;
}

/**
 * "10.0.1.0/24" -> [network, mask]; a bare address is one host (the schema already turns it into
 * /32). This matcher is the IPv4 one: an IPv6 prefix gives no pair, so a rule whose list holds only
 * IPv6 prefixes has an empty IPv4 list and never matches an IPv4 packet (its list is not "any").
 */
function prefixPair(text: string): number[] {
  if (text === ANY_ADDRESS) return [0, 0];
  if (isIpv6Text(text)) return [];
  const { prefix } = parseCidr(text.includes('/') ? text : `${text}/32`);
  return [prefix.network, prefix.mask];
}

/** Zone names -> indexes; an unknown zone (refused by the schema) matches nothing. */
export function zoneList(names: readonly string[], zoneNames: readonly string[]): number[] {
  return names.map((n) => zoneNames.indexOf(n));
}

const ACTION_OF = { allow: ACTION_ALLOW, deny: ACTION_DENY, reject: ACTION_REJECT } as const;

export class CompiledPolicy {
  readonly ruleNames: readonly string[];
  readonly zoneNames: readonly string[];
  private readonly zoneOfIf: Int32Array;
  private readonly matcher: RuleMatcher;
  private readonly actions: Uint8Array;
  private readonly defaultAction: number;

  private constructor(shared: SharedConfig, interfaceNames: readonly string[]) {
    const { zoneNames, ofInterface } = zoneIndexes(shared, interfaceNames);
    this.zoneNames = zoneNames;
    this.zoneOfIf = ofInterface;
    const rules = shared.policy.rules;
    this.ruleNames = rules.map((r) => r.name);
    this.actions = Uint8Array.from(rules.map((r) => ACTION_OF[r.action]));
    this.defaultAction = ACTION_OF[shared.policy.default];
    this.matcher = new RuleMatcher(
      rules.map((r) => ({ ...r, fromZones: zoneList(r.from, zoneNames), toZones: zoneList(r.to, zoneNames) })),
      zoneNames.length,
      zoneNames.length,
    );
  }

  /** interfaceNames[i] = logical name of pipeline interface i (e.g. ['lan','wan']). */
  static compile(shared: SharedConfig, interfaceNames: readonly string[]): CompiledPolicy {
    return new CompiledPolicy(shared, interfaceNames);
  }

  /** Zone index of an interface, -1 when it is in no zone. */
  zoneOf(ifIndex: number): number {
    return ifIndex >= 0 && ifIndex < this.zoneOfIf.length ? this.zoneOfIf[ifIndex] : -1;
  }

  /**
   * First matching rule index for a new flow, or -1 (the default action applies). For ICMP,
   * srcPort/dstPort carry (type, code). Services name destination ports only, so srcPort is not
   * compared today; it is in the signature so a future source-port service needs no caller change.
   */
  match(fromZone: number, toZone: number, proto: number, src: number, srcPort: number, dst: number, dstPort: number): number {
    void srcPort;
    return this.matcher.match(fromZone, toZone, proto, src, dst, dstPort);
  }

  /** match() for an IPv6 flow: `addrs` holds its source (words 0-3) and destination (4-7). */
  match6(fromZone: number, toZone: number, proto: number, addrs: ArrayLike<number>, srcPort: number, dstPort: number): number {
    void srcPort;
    return this.matcher.match6(fromZone, toZone, proto, addrs, dstPort);
  }

  /** ACTION_* of a rule index, or of the default when -1. */
  action(rule: number): number {
    return rule >= 0 && rule < this.actions.length ? this.actions[rule] : this.defaultAction;
  }
}
