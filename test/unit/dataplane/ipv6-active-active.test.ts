// IPv6 in active/active (docs/active-active.md "IPv6"): each floating IPv6 address is answered by
// neighbour discovery with its class's MAC on the box serving the class; packets whose setup or
// session is the peer's cross HA3 as IPv4 ones do; the peer's IPv6 frames are processed here;
// a new session's first packet waits for the peer (defer) with its IPv6 next hop; router
// advertisements follow their link-local source's class.
import { describe, expect, it } from 'vitest';
import type { ActiveActiveConfig, RouterAdvertisementConfig } from '../../../src/config/types.js';
import { parseCidr } from '../../../src/net/ipv4.js';
import { ipv6Key, parseCidr6, parseIpv6 } from '../../../src/net/ipv6.js';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, ROLE_ACTIVE } from '../../../src/wire/shared-state.js';
import { HA3_FLAG_SETUP } from '../../../src/wire/ha3.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { interfaceClasses, interfaceVirtualMac } from '../../../src/dataplane/vmac.js';
import type { DeviceId } from '../../../src/dataplane/owner.js';
import { aaConfig } from './aa-helpers.js';
import { eth6, icmp6, ip6, nsFrame, tcp6 } from './frames6.js';
import { movedByOf } from './ipv6-rig.js';

const LAN = 0;
const WAN = 1;
// group 1; lan is floating interface 1, wan 2; class codes 1 (device 0) and 2 (device 1)
const LAN_D0 = '02:74:64:01:01:01';
const LAN_D1 = '02:74:64:02:01:01';
const WAN_D0 = '02:74:64:01:01:02';
const WAN_D1 = '02:74:64:02:01:02';
const LAN_REAL = '0a:00:00:00:01:02';
const WAN_REAL = '0a:00:00:00:02:02';
const CLIENT_MAC = '22:00:00:00:01:0a';
const SERVER_MAC = '22:00:00:00:02:0a';
const CLIENT = '2001:db8:1::10';
const CLIENT_ODD = '2001:db8:1::11';
const SERVER = '2001:db8:2::10';
const mac = (s: string) => [...parseMac(s)];
const bytes = (b: Uint8Array, off: number, n: number) => [...b.subarray(off, off + n)];

const FLOATING6 = [
  { interface: 'lan', address: '2001:db8:1::1/64', owner: 0 as const },
  { interface: 'lan', address: '2001:db8:1::4/64', owner: 1 as const },
  { interface: 'lan', address: 'fe80::1/64', owner: 0 as const },
  { interface: 'wan', address: '2001:db8:2::1/64', owner: 0 as const },
  { interface: 'wan', address: '2001:db8:2::4/64', owner: 1 as const },
];

interface RigOptions {
  me?: DeviceId;
  served?: number;
  aa?: Partial<ActiveActiveConfig>;
  ras?: RouterAdvertisementConfig[];
}

/** Device `me` of an active/active pair, dual-stack, the peer forwarding, a fake HA3 link. */
function rig(opts: RigOptions = {}) {
  const me = opts.me ?? 0;
  const config = aaConfig(me, { sessionSetup: 'ip-modulo', deferMs: 0, ...opts.aa });
  const shared = config.shared;
  shared.floatingIps = [...shared.floatingIps, ...FLOATING6];
  shared.nat = [];
  const itf = (name: string, real: string, v4: string, v6: string): PipelineInterface => {
    const realMac = parseMac(real);
    const classes = interfaceClasses(shared, name, realMac);
    const own = parseCidr6(v6);
    return {
      name,
      device: `${name}0`,
      realMac,
      mac: interfaceVirtualMac(shared, name, realMac, me),
      ...parseCidr(v4),
      floating: classes.flatMap((c) => c.floating),
      address6: own.address,
      prefix6: own.prefix,
      floating6: classes.flatMap((c) => c.floating6 ?? []),
      mtu: 1500,
      classes,
    };
  };
  const interfaces = [itf('lan', LAN_REAL, '10.0.1.2/24', '2001:db8:1::2/64'), itf('wan', WAN_REAL, '10.0.2.2/24', '2001:db8:2::2/64')];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24', address6: '2001:db8:1::2/64' },
      { name: 'wan', address: '10.0.2.2/24', address6: '2001:db8:2::2/64' },
    ],
    routes: [],
  });
  const role = { role: ROLE_ACTIVE, servedClasses: opts.served ?? (me === 0 ? CLASS_DEVICE0 : CLASS_DEVICE1), mayActAsActive: () => true };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = { send: (i: number, f: Uint8Array, n: number) => (sent.push({ ifIndex: i, frame: Buffer.from(f.subarray(0, n)) }), true) };
  const p = new Pipeline(interfaces, routes, role, counters, sink, {
    neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
    firewall: { shared, stats: new FirewallStats(shared.policy.rules.length, 0), seed: 7, aa: { me, pair: { peerForwarding: true, primaryId: 0 } } },
    routerAdvertisements: opts.ras ?? [],
  });
  p.v6.neighbours[LAN].learn(ipv6Key(parseIpv6(CLIENT)), parseMac(CLIENT_MAC), 0, 0);
  p.v6.neighbours[WAN].learn(ipv6Key(parseIpv6(SERVER)), parseMac(SERVER_MAC), 0, 0);
  const forwarded: { flags: number; ingress: number; frame: Buffer }[] = [];
  const deferred: { slot: number; egress: number; hop: number[] | null }[] = [];
  let hold = false;
  p.peer = {
    forward: (flags, ingress, f, n) => (forwarded.push({ flags, ingress, frame: Buffer.from(f.subarray(0, n)) }), true),
    defer: (slot, egress, _hop, _f, _n, _now, hop6) => (deferred.push({ slot, egress, hop: hop6 ? [...hop6] : null }), hold),
  };
  const movedBy = movedByOf(counters, sent);
  return {
    p,
    role,
    forwarded,
    deferred,
    holdFirstPackets: () => (hold = true),
    movedBy,
    send: (i: number, f: Uint8Array, now = 1000) => movedBy(() => p.handle(i, f, f.length, now)),
    fromPeer: (i: number, flags: number, f: Uint8Array, now = 1000) => movedBy(() => p.handlePeer(i, flags, f, f.length, now)),
    tick: (now: number) => movedBy(() => p.tick(now)),
  };
}

const syn = (dstMac: string, src = CLIENT, sport = 40000) => eth6(dstMac, CLIENT_MAC, { src, dst: SERVER, next: 6, payload: tcp6(src, SERVER, sport, 80) });

describe('active/active IPv6: neighbour discovery by class', () => {
  it("answers a served class's address with that class's MAC, and leaves the peer's class to the peer", () => {
    const r = rig();
    const { moved, out } = r.send(LAN, nsFrame(CLIENT, CLIENT_MAC, '2001:db8:1::1'));
    expect(moved).toEqual({ 'nd-advert-sent': 1, tx: 1 });
    expect(bytes(out[0].frame, 6, 6)).toEqual(mac(LAN_D0));
    expect(bytes(out[0].frame, 80, 6)).toEqual(mac(LAN_D0)); // the target link-layer address
    expect(r.send(LAN, nsFrame(CLIENT, CLIENT_MAC, '2001:db8:1::4')).moved).toEqual({ 'nd-handled': 1 });
  });

  it("the survivor serving both classes answers the peer's address with the peer's class MAC", () => {
    const r = rig({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const { out } = r.send(LAN, nsFrame(CLIENT, CLIENT_MAC, '2001:db8:1::4'));
    expect(bytes(out[0].frame, 6, 6)).toEqual(mac(LAN_D1));
    expect(bytes(out[0].frame, 80, 6)).toEqual(mac(LAN_D1));
  });

  it("takes frames sent to a served class's MAC only", () => {
    const r = rig();
    expect(r.send(LAN, syn(LAN_D1)).moved).toEqual({ 'not-for-us': 1 });
    r.role.servedClasses |= CLASS_DEVICE1;
    expect(r.send(LAN, syn(LAN_D1)).moved).toMatchObject({ forwarded: 1 });
  });
});

describe('active/active IPv6: who processes a packet', () => {
  it('sets up a flow whose setup device is this box, from its own class MAC, and holds nothing with deferMs 0', () => {
    const r = rig();
    const { moved, out } = r.send(LAN, syn(LAN_D0));
    expect(moved).toMatchObject({ 'setup-local': 1, 'session-created': 1, forwarded: 1, tx: 1 });
    expect(out[0].ifIndex).toBe(WAN);
    expect(bytes(out[0].frame, 6, 6)).toEqual(mac(WAN_D0));
    expect(r.forwarded).toEqual([]);
  });

  it("carries a flow the peer sets up (ip-modulo: an odd source is device 1's) over HA3 with SETUP, untouched", () => {
    const r = rig();
    const f = syn(LAN_D0, CLIENT_ODD);
    const { moved, out } = r.send(LAN, f);
    expect(moved).toEqual({ 'setup-to-peer': 1 });
    expect(out).toEqual([]);
    expect(r.forwarded).toHaveLength(1);
    expect(r.forwarded[0]).toMatchObject({ flags: HA3_FLAG_SETUP, ingress: LAN });
    expect([...r.forwarded[0].frame]).toEqual([...f]);
  });

  it("the peer's IPv6 frame is processed here: the session is set up and forwarded, never sent back", () => {
    const r = rig({ me: 1 });
    const { moved, out } = r.fromPeer(LAN, HA3_FLAG_SETUP, syn(LAN_D0, CLIENT_ODD));
    expect(moved).toMatchObject({ 'session-created': 1, forwarded: 1, tx: 1 });
    expect(out[0].ifIndex).toBe(WAN);
    expect(bytes(out[0].frame, 6, 6)).toEqual(mac(WAN_D1));
    expect(r.forwarded).toEqual([]);
  });

  it("a packet of the peer's session goes to its owner; the peer's ND is never taken from HA3", () => {
    const b = rig({ me: 1 });
    b.fromPeer(LAN, HA3_FLAG_SETUP, syn(LAN_D0, CLIENT_ODD));
    // box 1 owns the session (first-packet owner: the packet reached box 0, so box 0 owns it)
    const reply = eth6(WAN_D1, SERVER_MAC, { src: SERVER, dst: CLIENT_ODD, next: 6, payload: tcp6(SERVER, CLIENT_ODD, 80, 40000) });
    reply[14 + 40 + 13] = 0x12; // SYN+ACK (the checksum is not checked by the firewall)
    const { moved } = b.send(WAN, reply);
    expect(moved).toEqual({ 'to-owner': 1 });
    expect(b.forwarded[0]).toMatchObject({ flags: 0, ingress: WAN });
    expect(b.fromPeer(LAN, 0, nsFrame(CLIENT, CLIENT_MAC, '2001:db8:1::4')).moved).toEqual({ 'ha3-bad-payload': 1 });
  });

  it('holds a first packet for the peer with its IPv6 next hop (defer), counted forwarded once', () => {
    const r = rig({ aa: { deferMs: 20 } });
    r.holdFirstPackets();
    const { moved, out } = r.send(LAN, syn(LAN_D0));
    expect(moved).toMatchObject({ 'session-created': 1, forwarded: 1 });
    expect(moved.tx).toBeUndefined();
    expect(out).toEqual([]);
    expect(r.deferred).toEqual([{ slot: expect.any(Number), egress: WAN, hop: [...parseIpv6(SERVER)] }]);
    // released (the peer's ACK, or deferMs passed): to the server's MAC, learned by neighbour discovery
    const f = syn(WAN_D0);
    const released = r.movedBy(() => r.p.releaseHeld(WAN, 0, f, f.length, 1001, parseIpv6(SERVER)));
    expect(released.moved).toEqual({ tx: 1 });
    expect(bytes(released.out[0].frame, 0, 6)).toEqual(mac(SERVER_MAC));
  });
});

describe('active/active IPv6: router advertisements follow their source address', () => {
  const RAS: RouterAdvertisementConfig[] = [
    {
      interface: 'lan',
      intervalS: { min: 3, max: 4 },
      hopLimit: 64,
      managed: false,
      other: false,
      routerLifetimeS: 1800,
      prefixes: [{ prefix: '2001:db8:1::/64', onLink: true, autonomous: true, validS: 86400, preferredS: 14400 }],
    },
  ];

  it("the box serving fe80::1's class (device 0's) advertises from that class's MAC; the other does not", () => {
    const a = rig({ ras: RAS });
    const { moved, out } = a.tick(1000);
    expect(moved).toMatchObject({ 'ra-sent': 1 });
    const ra = out.find((o) => o.frame[54] === 134)!;
    expect(bytes(ra.frame, 6, 6)).toEqual(mac(LAN_D0));
    expect(bytes(ra.frame, 22, 16)).toEqual(ip6('fe80::1'));
    const b = rig({ me: 1, ras: RAS });
    expect(b.tick(1000).moved['ra-sent']).toBeUndefined();
    // device 1 takes device 0's class over: it advertises, from device 0's class MAC
    b.role.servedClasses |= CLASS_DEVICE0;
    const taken = b.tick(1001).out.find((o) => o.frame[54] === 134)!;
    expect(bytes(taken.frame, 6, 6)).toEqual(mac(LAN_D0));
  });
});

describe('active/active IPv6: an echo to a floating address', () => {
  it('is answered by the box it reached', () => {
    const r = rig();
    const body = [0, 1, 0, 1, 1, 2, 3, 4];
    const f = eth6(LAN_D0, CLIENT_MAC, { src: CLIENT, dst: '2001:db8:1::1', next: 58, payload: icmp6(CLIENT, '2001:db8:1::1', 128, 0, body) });
    expect(r.send(LAN, f).moved).toEqual({ 'icmp-echo-reply-sent': 1, tx: 1 });
  });
});
