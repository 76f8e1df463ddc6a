// FirewallStats, the stateful firewall's counters in a SharedArrayBuffer: the dataplane (single
// writer, main thread) bumps Float64 slots on its packet path, and the metrics (control worker)
// read them at scrape time. No message crosses the port for a counter: under load the capture loop
// holds messages back, and a scrape must never wait on the packet path. (The sessions themselves,
// as the operator sees them, are src/wire/session-view.ts.)
//
// FirewallStats layout (Float64 slots, host order):
//   [0]                      magic (FIREWALL_STATS_MAGIC: a buffer of something else is refused)
//   [1]                      ruleCount      policy rules, in config order
//   [2]                      natRuleCount   NAT rules, in config order
//   [3]                      tableFull      first packets dropped because the table was full (counter)
//   [4], [5]                 active/active: sessions owned by device 0, by device 1 now (gauges)
//   [6], [7]                 active/active: HA3 bytes received, sent (counters)
//   [8 + 4*p + k]            per protocol p (SESSION_PROTOCOLS order: tcp, udp, icmp, icmp6), k =
//                              0 active      sessions in the table now (gauge)
//                              1 created     sessions created (counter)
//                              2 expired     sessions removed: timeout, TCP close/RST, flush (counter)
//                              3 natPorts    NAT ports (ICMP: identifiers) allocated now (gauge)
//   [20 .. 20+ruleCount]     policy hits per rule index; the slot at index ruleCount is the
//                            default action (a first packet that matched no rule: rule -1)
//   [.. + natRuleCount]      NAT hits per NAT rule index
//
// The writers take a protocol as its name or as its IP protocol number (6, 17, 1: what the
// dataplane holds), so the dataplane's FirewallStatsSink (src/dataplane/firewall.ts) can be this
// class itself; another protocol number is ignored.
//
// Plain (non-atomic) Float64 stores and loads, like the dataplane counters in SharedState: one
// writer, aligned 8-byte slots, and a reader that tolerates a value one increment old.
import { SESSION_PROTOCOLS, type SessionProtocol } from './session-view.js';

export const FIREWALL_STATS_MAGIC = 0x7a4d_f1e5;
const HEADER_SLOTS = 8;
const TABLE_FULL_SLOT = 3;
const OWNED_SLOT = 4;
const HA3_BYTES_SLOT = 6;
const PER_PROTOCOL = 4;
const K_ACTIVE = 0;
const K_CREATED = 1;
const K_EXPIRED = 2;
const K_NAT_PORTS = 3;
const PROTOCOL_BASE = HEADER_SLOTS;
const RULE_BASE = PROTOCOL_BASE + PER_PROTOCOL * SESSION_PROTOCOLS.length;

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers") of SESSION_PROTOCOLS. */
export const IP_PROTOCOL_NUMBERS: Readonly<Record<SessionProtocol, number>> = { tcp: 6, udp: 17, icmp: 1, icmp6: 58 };

/**
 * Index of a protocol in SESSION_PROTOCOLS, from its name or its IP protocol number; -1 for any
 * other number.
 */
export function protocolIndex(protocol: SessionProtocol | number): number {
  switch (protocol) {
    case 'tcp':
    case 6:
      return 0;
    case 'udp':
    case 17:
      return 1;
    case 'icmp':
    case 1:
      return 2;
    case 'icmp6':
    case 58:
      return 3;
    default:
      return -1;
  }
}

/** Counters of one protocol, as read by the metrics. */
export interface ProtocolStats {
  active: number;
  created: number;
  expired: number;
  natPortsInUse: number;
}

export class FirewallStats {
  readonly buffer: SharedArrayBuffer;
  readonly ruleCount: number;
  readonly natRuleCount: number;
  private readonly f64: Float64Array;
  private readonly natBase: number;

  /** Bytes of a buffer for this many rules. */
  static byteLength(ruleCount: number, natRuleCount: number): number {
    return (RULE_BASE + ruleCount + 1 + natRuleCount) * 8;
  }

  /**
   * Without `buffer`: a new, zeroed layout (the dataplane's side). With one: a view of an existing
   * layout (the metrics' side), which must have been made for the same rule counts.
   */
  constructor(ruleCount: number, natRuleCount: number, buffer?: SharedArrayBuffer) {
    for (const [what, n] of [
      ['ruleCount', ruleCount],
      ['natRuleCount', natRuleCount],
    ] as const) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`FirewallStats: ${what} must be an integer >= 0, got ${n}`);
    }
    this.ruleCount = ruleCount;
    this.natRuleCount = natRuleCount;
    this.natBase = RULE_BASE + ruleCount + 1;
    const bytes = FirewallStats.byteLength(ruleCount, natRuleCount);
    if (buffer) {
      if (buffer.byteLength < bytes) {
        throw new RangeError(`FirewallStats: buffer of ${buffer.byteLength} bytes is too small for ${ruleCount} rules and ${natRuleCount} NAT rules`);
      }
      this.buffer = buffer;
      this.f64 = new Float64Array(buffer, 0, bytes / 8);
      const [magic, rules, natRules] = [this.f64[0], this.f64[1], this.f64[2]];
      if (magic !== FIREWALL_STATS_MAGIC) throw new Error('FirewallStats: the buffer does not hold firewall stats (bad magic)');
      if (rules !== ruleCount || natRules !== natRuleCount) {
        throw new Error(`FirewallStats: the buffer was made for ${rules} rules and ${natRules} NAT rules, not ${ruleCount} and ${natRuleCount}`);
      }
    } else {
      this.buffer = new SharedArrayBuffer(bytes);
      this.f64 = new Float64Array(this.buffer);
      this.f64[0] = FIREWALL_STATS_MAGIC;
      this.f64[1] = ruleCount;
      this.f64[2] = natRuleCount;
    }
  }

  /**
   * A new layout for another rule list (a commit), carrying this one's counters over so that no
   * exported counter goes backwards: the per-protocol figures and table-full drops as they are,
   * each policy and NAT rule's hits by rule name (a renamed rule is a new series and starts at 0),
   * the default action's hits. Call it and switch the dataplane to the result in one synchronous
   * step: an increment between the two would be lost.
   */
  carriedOver(
    oldRuleNames: readonly string[],
    oldNatRuleNames: readonly string[],
    ruleNames: readonly string[],
    natRuleNames: readonly string[],
  ): FirewallStats {
    if (oldRuleNames.length !== this.ruleCount || oldNatRuleNames.length !== this.natRuleCount) {
      throw new Error(
        `FirewallStats: ${oldRuleNames.length} rule names and ${oldNatRuleNames.length} NAT rule names given for stats of ${this.ruleCount} and ${this.natRuleCount}`,
      );
    }
    const next = new FirewallStats(ruleNames.length, natRuleNames.length);
    const from = this.f64;
    const to = next.f64;
    for (let i = TABLE_FULL_SLOT; i < RULE_BASE; i++) to[i] = from[i];
    const hits = firstIndexByName(oldRuleNames);
    ruleNames.forEach((name, i) => {
      const j = hits.get(name);
      if (j !== undefined) to[RULE_BASE + i] = from[RULE_BASE + j];
    });
    to[RULE_BASE + next.ruleCount] = from[RULE_BASE + this.ruleCount];
    const natHits = firstIndexByName(oldNatRuleNames);
    natRuleNames.forEach((name, i) => {
      const j = natHits.get(name);
      if (j !== undefined) to[next.natBase + i] = from[this.natBase + j];
    });
    return next;
  }

  // ---- dataplane side (the single writer)

  /** Slot of field k of a protocol, or -1 for a protocol that is not tracked. */
  private slot(protocol: SessionProtocol | number, k: number): number {
    const p = protocolIndex(protocol);
    return p < 0 ? -1 : PROTOCOL_BASE + PER_PROTOCOL * p + k;
  }

  /** A session was created (first packet allowed, or installed from the peer's sync). */
  created(protocol: SessionProtocol | number): void {
    const active = this.slot(protocol, K_ACTIVE);
    if (active < 0) return;
    this.f64[active - K_ACTIVE + K_CREATED]++;
    this.f64[active]++;
  }

  /** A session left the table (timeout, TCP close or RST, delete from the peer, flush). */
  expired(protocol: SessionProtocol | number): void {
    const active = this.slot(protocol, K_ACTIVE);
    if (active < 0) return;
    this.f64[active - K_ACTIVE + K_EXPIRED]++;
    if (this.f64[active] > 0) this.f64[active]--;
  }

  /** Active/active: the sessions each device owns now, and HA3's bytes so far (the engine's tick). */
  setPair(owned: readonly [number, number], ha3RxBytes: number, ha3TxBytes: number): void {
    this.f64[OWNED_SLOT] = owned[0];
    this.f64[OWNED_SLOT + 1] = owned[1];
    this.f64[HA3_BYTES_SLOT] = ha3RxBytes;
    this.f64[HA3_BYTES_SLOT + 1] = ha3TxBytes;
  }

  /** A first packet was dropped because the session table was full. */
  tableFull(): void {
    this.f64[TABLE_FULL_SLOT]++;
  }

  /**
   * Overrides the active count with the table's own (after a bulk sync or a flush, or
   * periodically): created/expired keep it right otherwise.
   */
  setActive(protocol: SessionProtocol | number, n: number): void {
    const i = this.slot(protocol, K_ACTIVE);
    if (i >= 0) this.f64[i] = n;
  }

  setNatPortsInUse(protocol: SessionProtocol | number, n: number): void {
    const i = this.slot(protocol, K_NAT_PORTS);
    if (i >= 0) this.f64[i] = n;
  }

  /** A first packet was decided by policy rule `rule` (index in config order), or by the default action (-1). */
  policyHit(rule: number): void {
    const i = rule < 0 ? this.ruleCount : rule;
    if (i >= 0 && i <= this.ruleCount) this.f64[RULE_BASE + i]++;
  }

  /** The default action decided a first packet (same as policyHit(-1)). */
  defaultHit(): void {
    this.f64[RULE_BASE + this.ruleCount]++;
  }

  /** A first packet matched NAT rule `rule` (index in config order). */
  natHit(rule: number): void {
    if (rule >= 0 && rule < this.natRuleCount) this.f64[this.natBase + rule]++;
  }

  // ---- metrics side (readers)

  protocol(protocol: SessionProtocol): ProtocolStats {
    const base = PROTOCOL_BASE + PER_PROTOCOL * protocolIndex(protocol);
    const f = this.f64;
    return {
      active: f[base + K_ACTIVE],
      created: f[base + K_CREATED],
      expired: f[base + K_EXPIRED],
      natPortsInUse: f[base + K_NAT_PORTS],
    };
  }

  /** First packets dropped because the table was full (all protocols). */
  tableFullDrops(): number {
    return this.f64[TABLE_FULL_SLOT];
  }

  /** Active/active: sessions owned by device 0 and by device 1 (0 in active/passive). */
  ownedSessions(): [number, number] {
    return [this.f64[OWNED_SLOT], this.f64[OWNED_SLOT + 1]];
  }

  /** Active/active: HA3 bytes received and sent (0 in active/passive). */
  ha3Bytes(): { rx: number; tx: number } {
    return { rx: this.f64[HA3_BYTES_SLOT], tx: this.f64[HA3_BYTES_SLOT + 1] };
  }

  /** Hits of policy rule `i`; i === ruleCount (or -1) is the default action. */
  policyHits(i: number): number {
    const j = i < 0 ? this.ruleCount : i;
    return j >= 0 && j <= this.ruleCount ? this.f64[RULE_BASE + j] : 0;
  }

  defaultHits(): number {
    return this.f64[RULE_BASE + this.ruleCount];
  }

  natHits(i: number): number {
    return i >= 0 && i < this.natRuleCount ? this.f64[this.natBase + i] : 0;
  }
}

/** name -> index of its first occurrence (the schema keeps rule names unique; a hand-built list may not). */
function firstIndexByName(names: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  names.forEach((n, i) => {
    if (!m.has(n)) m.set(n, i);
  });
  return m;
}
