// Longest-prefix match over IPv6: the connected prefixes (device.interfaces.*.address6) and the
// static IPv6 routes (shared.routes with an IPv6 `to`). As route.ts for IPv4, a short list sorted
// by prefix length and scanned until the first match; lookups do not allocate.
import { inPrefix6, isCidr6, parseCidr6, parseIpv6, type Ipv6, type Prefix6 } from '../net/ipv6.js';

export interface Route6Entry {
  readonly prefix: Prefix6;
  /** Index of the egress interface in the engine's interface list. */
  readonly ifIndex: number;
  /** Next-hop gateway (often link-local), or null for a connected prefix (the next hop is the destination). */
  readonly via: Ipv6 | null;
  readonly source: 'connected' | 'static';
}

export interface Route6Input {
  /** Logical interfaces in engine order (index = ifIndex), with their IPv6 address if any. */
  interfaces: { name: string; address6?: string }[];
  /** shared.routes: the IPv6 ones are taken, the IPv4 ones left to route.ts. */
  routes: { to: string; via: string; interface: string }[];
}

export class RouteTable6 {
  /** Longest prefix first; for equal prefixes, connected before static, then config order. */
  readonly entries: readonly Route6Entry[];

  constructor(entries: Route6Entry[]) {
    this.entries = entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => b.e.prefix.length - a.e.prefix.length || (a.e.source === b.e.source ? 0 : a.e.source === 'connected' ? -1 : 1) || a.i - b.i)
      .map((x) => x.e);
  }

  static fromConfig(input: Route6Input): RouteTable6 {
    const idx = new Map(input.interfaces.map((itf, i) => [itf.name, i]));
    const entries: Route6Entry[] = [];
    input.interfaces.forEach((itf, i) => {
      if (itf.address6 !== undefined) entries.push({ prefix: parseCidr6(itf.address6).prefix, ifIndex: i, via: null, source: 'connected' });
    });
    for (const r of input.routes) {
      if (!isCidr6(r.to)) continue;
      const ifIndex = idx.get(r.interface);
      if (ifIndex === undefined) throw new Error(`route to ${r.to} names unknown interface ${JSON.stringify(r.interface)}`);
      entries.push({ prefix: parseCidr6(r.to).prefix, ifIndex, via: parseIpv6(r.via), source: 'static' });
    }
    return new RouteTable6(entries);
  }

  /** The most specific entry covering the address at `off` of `words`, or null. */
  lookup(words: ArrayLike<number>, off = 0): Route6Entry | null {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      if (inPrefix6(words, off, entries[i].prefix)) return entries[i];
    }
    return null;
  }
}
