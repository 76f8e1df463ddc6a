// Longest-prefix match over the connected subnets (device.interfaces addresses) and the static
// routes (shared.routes). v1 holds a handful of prefixes, so a list sorted by prefix length,
// scanned until the first match, is both simple and fast; lookups do not allocate.
import { inPrefix, parseCidr, parseIpv4, type Prefix } from '../net/ipv4.js';
import { RouteTable6 } from './route6.js';
import { isIpv6Text } from '../net/family.js';

export interface RouteEntry {
  prefix: Prefix;
  /** Index of the egress interface in the engine's interface list. */
  ifIndex: number;
  /** Next-hop gateway, or 0 for a connected subnet (the next hop is the destination itself). */
  via: number;
  /** Where it came from, for status and logs. */
  source: 'connected' | 'static';
}

export interface RouteInput {
  /** Logical interface names, in engine order (their index is ifIndex). */
  interfaces: { name: string; address: string; address6?: string }[];
  routes: { to: string; via: string; interface: string }[];
}

export class RouteTable {
  /** Sorted: longest prefix first; for equal prefixes, connected before static, then config order. */
  readonly entries: readonly RouteEntry[];
  /** The IPv6 routes (route6.ts): one table per family, built from the same config. */
  readonly v6: RouteTable6;

  constructor(entries: RouteEntry[], v6: RouteTable6 = new RouteTable6([])) {
    this.v6 = v6;
    this.entries = entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => b.e.prefix.length - a.e.prefix.length || (a.e.source === b.e.source ? 0 : a.e.source === 'connected' ? -1 : 1) || a.i - b.i)
      .map((x) => x.e);
  }

  static fromConfig(input: RouteInput): RouteTable {
    const idx = new Map(input.interfaces.map((itf, i) => [itf.name, i]));
    const entries: RouteEntry[] = input.interfaces.map((itf, i) => ({
      prefix: parseCidr(itf.address).prefix,
      ifIndex: i,
      via: 0,
      source: 'connected' as const,
    }));
    for (const r of input.routes) {
      // this is the IPv4 table: IPv6 routes are for the IPv6 path to look up
      if (isIpv6Text(r.to)) continue;
      const ifIndex = idx.get(r.interface);
      if (ifIndex === undefined) throw new Error(`route to ${r.to} names unknown interface ${JSON.stringify(r.interface)}`);
      entries.push({ prefix: parseCidr(r.to).prefix, ifIndex, via: parseIpv4(r.via), source: 'static' });
    }
    return new RouteTable(entries, RouteTable6.fromConfig(input));
  }

  /** The most specific entry covering `dst`, or null. */
  lookup(dst: number): RouteEntry | null {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      if (inPrefix(dst, entries[i].prefix)) return entries[i];
    }
    return null;
  }
}
