// NAT rules compiled for lookup, and the port allocators behind source NAT.
//
// Source NAT (translate.source) hides a zone behind the egress interface's floating IP
// ('interface-floating') or a fixed address; the session gets a fresh source port from the
// allocator of (protocol, translated address), so two inside hosts never share a 5-tuple outside.
// Destination NAT (translate.destination) publishes a floating IP (the rule's `destination`, one
// host per entry; see src/config/schema.ts) to an inside host and, optionally, port.
//
// Rule matching shares the policy's RuleMatcher: first match in config order, zone buckets,
// flat prefix and port arrays, no allocation per lookup.
//
// Active/active (compiled for a device): a source NAT rule applies only where its binding does
// (aa-path.ts natBindings: the caller says which bindings hold now), so each combination of
// bindings has its own matcher; 'interface-floating' is the egress interface's floating IP of the
// binding's owner class; and the ports come from the device's half of the range (owner.ts).
import { parseCidr, parseIpv4 } from '../net/ipv4.js';
import type { NatBinding, SharedConfig } from '../config/types.js';
import { bindingBit } from './aa-path.js';
import type { DeviceId } from './owner.js';
import { RuleMatcher, zoneIndexes, zoneList } from './policy.js';
import { isIpv4Text } from '../net/family.js';

/** First port handed out by default: below 1024 are the well-known ports (RFC 6335 6). */
export const NAT_PORT_LO = 1024;
export const NAT_PORT_HI = 65535;

/**
 * The ports of one (protocol, translated address): a bitmap with a rotating cursor. The cursor
 * moves past every port it hands out, so a freed port is reused only after the cursor has gone
 * round the whole range (a late segment of the old flow then cannot land in a new one; RFC 6056
 * section 2 and RFC 4787 REQ-1 motivate not reusing a tuple at once). Allocation is O(1)
 * amortized while the range is not nearly full: whole words of used ports are skipped 32 at a time.
 */
export class PortAllocator {
  readonly lo: number;
  readonly hi: number;
  private readonly bits: Uint32Array;
  private readonly size: number;
  /** Offset (port - lo) where the next search starts. */
  private cursor = 0;
  private used = 0;

  constructor(lo: number = NAT_PORT_LO, hi: number = NAT_PORT_HI) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || lo > hi)
      throw new RangeError(`port range ${lo}-${hi}: expected integers with 0 <= lo <= hi <= 65535`);
    this.lo = lo;
    this.hi = hi;
    this.size = hi - lo + 1;
    this.bits = new Uint32Array((this.size + 31) >>> 5);
  }

  get inUse(): number {
    return this.used;
  }

  /** A free port, now in use; -1 when every port of the range is in use. */
  allocate(): number {
    if (this.used >= this.size) return -1;
    let off = this.cursor;
    // at most one pass over the words plus the partial word we started in
    for (let steps = 0; steps <= this.size + 32;) {
      if (off >= this.size) off = 0;
      const w = off >>> 5;
      if (this.bits[w] === 0xffffffff && (off & 31) === 0) {
        off += 32;
        steps += 32;
        continue;
      }
      const bit = 1 << (off & 31);
      if ((this.bits[w] & bit) === 0) {
        this.bits[w] |= bit;
        this.used++;
        this.cursor = off + 1 >= this.size ? 0 : off + 1;
        return this.lo + off;
      }
      off++;
      steps++;
    }
    return -1; // not reached: used < size guarantees a free bit
  }

  /** Returns a port to the pool; a port outside the range or not in use is ignored. */
  free(port: number): void {
    const off = port - this.lo;
    if (!(off >= 0 && off < this.size) || !Number.isInteger(off)) return;
    const w = off >>> 5;
    const bit = 1 << (off & 31);
    if ((this.bits[w] & bit) === 0) return;
    this.bits[w] &= ~bit;
    this.used--;
  }

  /** Marks a port in use (a session learned from the peer over HA2); false when it already was. */
  reserve(port: number): boolean {
    const off = port - this.lo;
    if (!(off >= 0 && off < this.size) || !Number.isInteger(off)) return false;
    const w = off >>> 5;
    const bit = 1 << (off & 31);
    if ((this.bits[w] & bit) !== 0) return false;
    this.bits[w] |= bit;
    this.used++;
    return true;
  }

  isInUse(port: number): boolean {
    const off = port - this.lo;
    if (!(off >= 0 && off < this.size) || !Number.isInteger(off)) return false;
    return (this.bits[off >>> 5] & (1 << (off & 31))) !== 0;
  }
}

/** Does a rule bound to `bind` apply where `bits` hold? -1: every rule (active/passive). */
function bound(bind: NatBinding | undefined, bits: number): boolean {
  return bits === -1 || (bind !== undefined && (bindingBit(bind) & bits) !== 0);
}

/**
 * Active/active: per (rule, interface), the interface's first floating IP whose owner is the
 * rule's binding (the address that device, or the primary, answers for), -1 for none.
 */
function boundFloatingTable(shared: SharedConfig, interfaceNames: readonly string[]): Float64Array {
  const n = interfaceNames.length;
  const table = new Float64Array(shared.nat.length * n).fill(-1);
  shared.nat.forEach((rule, r) => {
    const bind = rule.translate.bind;
    if (bind === undefined) return;
    interfaceNames.forEach((name, i) => {
      // NAT is IPv4 only: an IPv6 floating address is never a translation
      const f = shared.floatingIps.find((fip) => fip.interface === name && fip.owner === bind && isIpv4Text(fip.address));
      if (f !== undefined) table[r * n + i] = parseCidr(f.address).address;
    });
  });
  return table;
}

/** translate.source kinds, per rule. */
const SRC_NONE = 0;
const SRC_FLOATING = 1;
const SRC_FIXED = 2;

export class CompiledNat {
  readonly ruleNames: readonly string[];
  private readonly zoneOfIf: Int32Array;
  /**
   * Rules with translate.source, indexed as the config; others never match here. Indexed by the
   * binding bits that hold (aa-path.ts natBindings): every entry is the one matcher of all source
   * rules in active/passive (bits 0), and in active/active the matcher of the rules bound to one
   * of the bits.
   */
  private readonly sourceMatchers: readonly RuleMatcher[];
  /** Rules with translate.destination, bucketed by from zone only (the destination is ours). */
  private readonly destMatcher: RuleMatcher;
  private readonly srcKind: Uint8Array;
  private readonly srcFixed: Float64Array;
  private readonly dstAddr: Float64Array;
  private readonly dstPort: Int32Array;
  /** floatingOf(ifIndex), fixed at compile time. */
  private readonly floatingOfIf: Float64Array;
  /**
   * Active/active: rule r's 'interface-floating' address on interface i at [r * interfaces + i],
   * the interface's floating IP owned by the rule's binding (-1 for none); null in active/passive.
   */
  private readonly boundFloating: Float64Array | null;
  private readonly nInterfaces: number;
  private readonly allocators = new Map<number, PortAllocator>();
  private readonly portLo: number;
  private readonly portHi: number;

  private constructor(
    shared: SharedConfig,
    interfaceNames: readonly string[],
    floatingOf: (ifIndex: number) => number,
    portLo: number,
    portHi: number,
    device: DeviceId | null,
  ) {
    const { zoneNames, ofInterface } = zoneIndexes(shared, interfaceNames);
    this.zoneOfIf = ofInterface;
    const rules = shared.nat;
    this.ruleNames = rules.map((r) => r.name);
    const nZones = zoneNames.length;
    const none: number[] = [];
    const sourceMatcher = (bits: number) =>
      new RuleMatcher(
        rules.map((r) => ({
          ...r,
          fromZones: r.translate.source === undefined || !bound(r.translate.bind, bits) ? none : zoneList(r.from, zoneNames),
          toZones: zoneList(r.to, zoneNames),
        })),
        nZones,
        nZones,
      );
    if (device === null) {
      const all = sourceMatcher(-1);
      this.sourceMatchers = Array.from({ length: 8 }, () => all);
    } else {
      this.sourceMatchers = Array.from({ length: 8 }, (_, bits) => sourceMatcher(bits));
    }
    // the destination NAT lookup happens before the route (the route depends on its answer):
    // every destination rule sits in the one "to" bucket 0
    const only = [0];
    this.destMatcher = new RuleMatcher(
      rules.map((r) => ({
        ...r,
        fromZones: r.translate.destination === undefined ? none : zoneList(r.from, zoneNames),
        toZones: only,
      })),
      nZones,
      1,
    );
    this.srcKind = Uint8Array.from(
      rules.map((r) => (r.translate.source === undefined ? SRC_NONE : r.translate.source === 'interface-floating' ? SRC_FLOATING : SRC_FIXED)),
    );
    this.srcFixed = Float64Array.from(
      rules.map((r) => (r.translate.source !== undefined && r.translate.source !== 'interface-floating' ? parseIpv4(r.translate.source) : -1)),
    );
    this.dstAddr = Float64Array.from(rules.map((r) => (r.translate.destination ? parseIpv4(r.translate.destination.address) : -1)));
    this.dstPort = Int32Array.from(rules.map((r) => r.translate.destination?.port ?? -1));
    this.floatingOfIf = Float64Array.from(interfaceNames.map((_, i) => floatingOf(i)));
    this.nInterfaces = interfaceNames.length;
    this.boundFloating = device === null ? null : boundFloatingTable(shared, interfaceNames);
    this.portLo = portLo;
    this.portHi = portHi;
  }

  /**
   * floatingOf(ifIndex) = the floating IP of that interface (first one), or -1. The source ports
   * handed out are portLo-portHi (1024-65535 unless told). `device`: compiled for that device of
   * an active/active pair (bindings, bound floating IPs; the caller narrows the port range), null
   * for active/passive.
   */
  static compile(
    shared: SharedConfig,
    interfaceNames: readonly string[],
    floatingOf: (ifIndex: number) => number,
    portLo: number = NAT_PORT_LO,
    portHi: number = NAT_PORT_HI,
    device: DeviceId | null = null,
  ): CompiledNat {
    return new CompiledNat(shared, interfaceNames, floatingOf, portLo, portHi, device);
  }

  /** Zone index of an interface (same numbering as CompiledPolicy.zoneOf), -1 when in no zone. */
  zoneOf(ifIndex: number): number {
    return ifIndex >= 0 && ifIndex < this.zoneOfIf.length ? this.zoneOfIf[ifIndex] : -1;
  }

  /**
   * Source-NAT rule for a new flow (rules with translate.source), or -1. For ICMP dstPort is the
   * type. `bindings`: active/active, the binding bits that hold (aa-path.ts natBindings); 0 in
   * active/passive.
   */
  matchSource(fromZone: number, toZone: number, proto: number, src: number, dst: number, dstPort: number, bindings = 0): number {
    return this.sourceMatchers[bindings & 7].match(fromZone, toZone, proto, src, dst, dstPort);
  }

  /** Destination-NAT rule for a new flow addressed to `dst` (typically a floating IP), or -1. */
  matchDestination(fromZone: number, proto: number, src: number, dst: number, dstPort: number): number {
    return this.destMatcher.match(fromZone, 0, proto, src, dst, dstPort);
  }

  /** Translated source address of a source rule leaving on egressIf (interface-floating or fixed), -1 if none. */
  sourceAddress(rule: number, egressIf: number): number {
    if (rule < 0 || rule >= this.srcKind.length) return -1;
    const kind = this.srcKind[rule];
    if (kind === SRC_FIXED) return this.srcFixed[rule];
    if (kind !== SRC_FLOATING || egressIf < 0 || egressIf >= this.nInterfaces) return -1;
    return this.boundFloating === null ? this.floatingOfIf[egressIf] : this.boundFloating[rule * this.nInterfaces + egressIf];
  }

  /** Translated destination address of a destination rule, -1 if none. */
  destAddress(rule: number): number {
    return rule >= 0 && rule < this.dstAddr.length ? this.dstAddr[rule] : -1;
  }

  /** Translated destination port of a destination rule; -1 = keep the packet's port. */
  destPort(rule: number): number {
    return rule >= 0 && rule < this.dstPort.length ? this.dstPort[rule] : -1;
  }

  /**
   * Takes over the allocators of the NAT compiled from the previous config, so a commit does not
   * forget which ports live sessions hold. Only when the port range is unchanged (otherwise the
   * caller re-reserves the ports of the sessions it keeps).
   */
  adoptPorts(previous: CompiledNat): void {
    if (previous.portLo !== this.portLo || previous.portHi !== this.portHi) return;
    for (const [key, a] of previous.allocators) this.allocators.set(key, a);
  }

  /** The allocator for (proto, translated address); created on first use (one allocation per pair, ever). */
  ports(proto: number, address: number): PortAllocator {
    const key = proto * 0x1_0000_0000 + (address >>> 0); // exact in a double: < 2^40
    let a = this.allocators.get(key);
    if (a === undefined) {
      a = new PortAllocator(this.portLo, this.portHi);
      this.allocators.set(key, a);
    }
    return a;
  }
}
