// A Pipeline with the firewall for the IPv6 path's unit tests: the lab's two interfaces, dual-stack
// (own addresses 2001:db8:1::2 and 2001:db8:2::2, floating 2001:db8:1::1, 2001:db8:2::1 and fe80::1
// on each), policy rules of the caller's, no NAT, an active (or passive) role; send() hands one
// frame in and says what it moved and sent.
import type { RouterAdvertisementConfig } from '../../../src/config/types.js';
import { parseCidr } from '../../../src/net/ipv4.js';
import { ipv6Key, parseCidr6, parseIpv6 } from '../../../src/net/ipv6.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { labRaw, sharedOf } from './firewall-helpers.js';

export const LAN_V = '02:74:64:00:01:01';
export const WAN_V = '02:74:64:00:01:02';
export const LAN_REAL = '0a:00:00:00:01:02';
export const WAN_REAL = '0a:00:00:00:02:02';
export const CLIENT_MAC = '22:00:00:00:01:0a';
export const SERVER_MAC = '22:00:00:00:02:0a';
export const CLIENT = '2001:db8:1::10';
export const SERVER = '2001:db8:2::10';
export const LAN_FLOAT = '2001:db8:1::1';
export const LAN_LL = 'fe80::1';
export const LAN = 0;
export const WAN = 1;
const NAMES = [...EVENT_COUNTERS, ...DROP_REASONS];

function itf(name: string, real: string, v: string, v4: string, v6: string, floating6: string[], mtu: number): PipelineInterface {
  const { address, prefix } = parseCidr(v4);
  const own = parseCidr6(v6);
  return {
    name,
    device: `${name}0`,
    realMac: parseMac(real),
    mac: parseMac(v),
    address,
    prefix,
    floating: [],
    address6: own.address,
    prefix6: own.prefix,
    floating6: floating6.map(parseIpv6),
    mtu,
  };
}

/** A rig's `movedBy(fn)`: the counters fn moved (by name) and the frames it sent. */
export function movedByOf(counters: Float64Array, sent: { ifIndex: number; frame: Buffer }[]) {
  return (fn: () => void) => {
    const before = counters.slice();
    const start = sent.length;
    fn();
    const moved: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) moved[NAMES[i]] = v - before[i];
    });
    return { moved, out: sent.slice(start) };
  };
}

export interface Ipv6RigOptions {
  /** false: the passive role (nothing sent). Default active. */
  active?: boolean;
  wanMtu?: number;
  wanMssClamp?: number;
  ras?: RouterAdvertisementConfig[];
  /** shared.policy.rules (the lab's zones: trust = lan, untrust = wan). */
  rules: unknown[];
}

export function makeIpv6Rig(opts: Ipv6RigOptions) {
  const raw = labRaw();
  raw.shared.policy.rules = opts.rules;
  raw.shared.nat = [];
  const shared = sharedOf(raw);
  const wan = itf('wan', WAN_REAL, WAN_V, '10.0.2.2/24', '2001:db8:2::2/64', ['2001:db8:2::1', LAN_LL], opts.wanMtu ?? 1500);
  const interfaces = [
    itf('lan', LAN_REAL, LAN_V, '10.0.1.2/24', '2001:db8:1::2/64', [LAN_FLOAT, LAN_LL], 1500),
    opts.wanMssClamp !== undefined ? { ...wan, mssClamp: opts.wanMssClamp } : wan,
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24', address6: '2001:db8:1::2/64' },
      { name: 'wan', address: '10.0.2.2/24', address6: '2001:db8:2::2/64' },
    ],
    routes: [],
  });
  const role = { role: opts.active === false ? 0 : 1, mayActAsActive: () => opts.active !== false };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = { send: (ifIndex: number, f: Uint8Array, len: number) => (sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) }), true) };
  const stats = new FirewallStats(shared.policy.rules.length, shared.nat.length);
  const p = new Pipeline(interfaces, routes, role, counters, sink, {
    neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
    firewall: { shared, stats, seed: 7 },
    routerAdvertisements: opts.ras ?? [],
  });
  const movedBy = movedByOf(counters, sent);
  const send = (ifIndex: number, f: Uint8Array, nowMs = 1000) => movedBy(() => p.handle(ifIndex, f, f.length, nowMs));
  const learn = (ifIndex: number, ip: string, mac: string) => p.v6.neighbours[ifIndex].learn(ipv6Key(parseIpv6(ip)), parseMac(mac), 0, 0);
  return { p, send, movedBy, sent, counters, learn };
}
