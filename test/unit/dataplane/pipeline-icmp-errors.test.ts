// The ICMP errors the pipeline sends as a router (RFC 1812 4.3.2): time exceeded for a TTL that
// runs out here, fragmentation needed (RFC 1191) for a DF packet over the egress MTU, back out of
// the ingress interface to the MAC the packet came from, from the floating address there, the
// quote as the sender sent it (before NAT), rate limited per source. Driven through the lab's
// firewall config (firewall-helpers.ts) and, for routing alone, a bare pipeline.
import { describe, expect, it } from 'vitest';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE } from '../../../src/wire/shared-state.js';
import { makeActiveActive } from './aa-helpers.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  IPPROTO_UDP,
  LAN,
  LAN_FLOAT,
  LAN_REAL,
  LAN_V,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  WAN_REAL,
  WAN_V,
  badChecksums,
  frame,
  icmpErrorPacket,
  labRaw,
  makeRig,
  sharedOf,
  tcpPacket,
  udpPacket,
  view,
} from './firewall-helpers.js';
import { ipv4 } from './frames.js';

const NOW = 1_000_000;
const lab = () => sharedOf(labRaw());
const fromClient = (packet: number[]) => frame(LAN_V, CLIENT_MAC, packet);
const fromServer = (packet: number[]) => frame(WAN_V, SERVER_MAC, packet);
const L3 = 14;
const M = L3 + 20;
const u16 = (f: Uint8Array, o: number) => (f[o] << 8) | f[o + 1];

/** Sets the DF bit of an IPv4 packet built by the helpers, fixing its header checksum. */
function withDf(packet: number[]): number[] {
  const p = [...packet];
  p[6] |= 0x40;
  p[10] = 0;
  p[11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 255;
  return p;
}

/** The ICMP error `out` must be: from `from` and the ingress's virtual MAC, to the sender, quoting `sent`'s header and 8 bytes. */
function expectError(
  out: Buffer,
  o: { type: number; code: number; mtu?: number; from: string; to: string; toMac: string; fromMac: string; sent: Buffer },
): void {
  const v = view(out);
  expect(v).toMatchObject({ dstMac: o.toMac, srcMac: o.fromMac, src: o.from, dst: o.to, proto: 1, ttl: 64, icmpType: o.type, icmpCode: o.code });
  expect(badChecksums(out)).toEqual([]);
  expect(u16(out, M + 4)).toBe(0);
  expect(u16(out, M + 6)).toBe(o.mtu ?? 0);
  const ihl = (o.sent[L3] & 15) * 4;
  expect(u16(out, L3 + 2)).toBe(20 + 8 + ihl + 8);
  expect(Buffer.from(out.subarray(M + 8, M + 8 + ihl + 8))).toEqual(o.sent.subarray(L3, L3 + ihl + 8));
}

describe('time exceeded (RFC 1812 5.3.1)', () => {
  it('a new flow with TTL 1: time exceeded to the sender out of the ingress interface, from its floating address; no session', () => {
    const r = makeRig(lab());
    const sent = fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 33434, data: new Array(24).fill(0), ttl: 1 }));
    const res = r.send(LAN, Buffer.from(sent), NOW);
    expect(res.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expect(res.out).toHaveLength(1);
    expect(res.out[0].ifIndex).toBe(LAN);
    expectError(res.out[0].frame, { type: 11, code: 0, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
    expect(r.fw.table.size).toBe(0);
  });

  it('a TTL 1 packet of a source-NATed session: the quote is the packet as the client sent it, the session untouched', () => {
    const r = makeRig(lab());
    const syn = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags: SYN, seq: 1 })), NOW);
    const P = view(syn.out[0].frame).sport;
    r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | ACK, seq: 70, ack: 2 })), NOW + 1);
    const before = r.fw.sessions({ protocol: 'tcp' }, 10, NOW + 2).sessions[0];
    const sent = fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags: ACK, seq: 2, ack: 71, ttl: 1 }));
    const res = r.send(LAN, Buffer.from(sent), NOW + 2);
    expect(res.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expectError(res.out[0].frame, { type: 11, code: 0, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
    const after = r.fw.sessions({ protocol: 'tcp' }, 10, NOW + 2).sessions[0];
    expect(after.packets).toEqual(before.packets);
    expect(after.state).toBe(before.state);
  });

  it('from the other side (a reply with TTL 1): quoted as the server sent it (to the NAT address), from the wan floating address', () => {
    const r = makeRig(lab());
    const out = r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data: [1] })), NOW);
    const P = view(out.out[0].frame).sport;
    const sent = fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P, data: [2, 3], ttl: 1 }));
    const res = r.send(WAN, Buffer.from(sent), NOW + 1);
    expect(res.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expect(res.out[0].ifIndex).toBe(WAN);
    expectError(res.out[0].frame, { type: 11, code: 0, from: WAN_FLOAT, to: SERVER, toMac: SERVER_MAC, fromMac: WAN_V, sent });
  });

  it('never about an ICMP error with TTL 1 (translated for its session, then counted, not answered)', () => {
    const r = makeRig(lab());
    r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data: [1] })), NOW);
    // the client's port unreachable about the server's datagram, as the client received it
    const quoted = udpPacket({ src: SERVER, dst: CLIENT, sport: 5000, dport: 5353, data: [1] }).slice(0, 28);
    const err = fromClient(icmpErrorPacket(CLIENT, SERVER, 3, 3, quoted, 1));
    expect(r.send(LAN, err, NOW + 1)).toEqual({ moved: { 'ttl-exceeded': 1 }, out: [] });
  });

  it('never to a directed broadcast (a new flow to the wan subnet broadcast with TTL 1)', () => {
    const r = makeRig(lab());
    const res = r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: '10.0.2.255', sport: 5353, dport: 5000, data: [1], ttl: 1 })), NOW);
    expect(res).toEqual({ moved: { 'ttl-exceeded': 1 }, out: [] });
  });

  it('a flood from one source: 20 errors at once, then 10 a second; every packet counted as ttl-exceeded', () => {
    const r = makeRig(lab());
    const sent = fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 33434, data: [0], ttl: 1 }));
    const total: Record<string, number> = {};
    const add = (m: Record<string, number>) => Object.entries(m).forEach(([k, v]) => (total[k] = (total[k] ?? 0) + v));
    for (let i = 0; i < 100; i++) add(r.send(LAN, Buffer.from(sent), NOW).moved);
    expect(total).toEqual({ 'ttl-exceeded': 100, 'icmp-error-sent': 20, 'icmp-error-rate-limited': 80, tx: 20 });
    const later: Record<string, number> = {};
    for (let i = 0; i < 100; i++) Object.entries(r.send(LAN, Buffer.from(sent), NOW + 1000).moved).forEach(([k, v]) => (later[k] = (later[k] ?? 0) + v));
    expect(later['icmp-error-sent']).toBe(10);
    expect(r.p.icmpErrors.limiter.suppressed).toBe(170);
  });
});

describe('fragmentation needed (RFC 1191)', () => {
  /** The lab rig with wan's MTU lowered to 1400, as a device-changed event does. */
  function rig1400() {
    const r = makeRig(lab());
    r.p.updateDevice(WAN, { mtu: 1400, realMac: parseMac(WAN_REAL) });
    return r;
  }
  const big = (ttl = 64) => udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data: new Array(1400).fill(7), ttl });

  it('a DF packet over the egress MTU: fragmentation needed with the MTU, quoting the packet before NAT', () => {
    const r = rig1400();
    const sent = fromClient(withDf(big()));
    const res = r.send(LAN, Buffer.from(sent), NOW);
    expect(res.moved).toEqual({ 'session-created': 1, oversize: 1, 'icmp-error-sent': 1, tx: 1 });
    expect(res.out).toHaveLength(1);
    expect(res.out[0].ifIndex).toBe(LAN);
    expectError(res.out[0].frame, { type: 3, code: 4, mtu: 1400, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
  });

  it('a DF TCP segment of an established session: the quote keeps the client port (no NAT port leaks out)', () => {
    const r = rig1400();
    const syn = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40001, dport: 80, flags: SYN, seq: 1 })), NOW);
    const P = view(syn.out[0].frame).sport;
    r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | ACK, seq: 70, ack: 2 })), NOW + 1);
    const sent = fromClient(
      withDf(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40001, dport: 80, flags: ACK, seq: 2, ack: 71, data: new Array(1400).fill(1) })),
    );
    const res = r.send(LAN, Buffer.from(sent), NOW + 2);
    expect(res.moved).toEqual({ oversize: 1, 'icmp-error-sent': 1, tx: 1 });
    expectError(res.out[0].frame, { type: 3, code: 4, mtu: 1400, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
    expect(view(res.out[0].frame.subarray(M + 8 - L3)).sport).toBe(40001);
  });

  it('without DF: fragmented to the MTU (fragment.ts), no error', () => {
    const r = rig1400();
    const res = r.send(LAN, fromClient(big()), NOW);
    expect(res.moved).toEqual({ 'session-created': 1, forwarded: 1, fragmented: 1, tx: 2 });
    expect(res.out.map((o) => [o.ifIndex, o.frame.length])).toEqual([
      [WAN, 14 + 1400 - 4],
      [WAN, 14 + 20 + 1408 - 1376],
    ]);
  });

  it('a DF packet that fits the MTU is forwarded', () => {
    const r = rig1400();
    const fits = udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data: new Array(1372).fill(7) });
    const res = r.send(LAN, fromClient(withDf(fits)), NOW);
    expect(res.moved).toEqual({ 'session-created': 1, forwarded: 1, tx: 1 });
    expect(res.out[0].ifIndex).toBe(WAN);
  });
});

// ---- routing alone (no firewall) and the refusals the pipeline adds ----

function itf(name: string, real: string, v: string, address: string, floating: string[], mtu = 1500): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device: `${name}0`, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: floating.map(parseIpv4), mtu };
}

function bare(opts: { lanFloating?: string[]; active?: boolean; handingOver?: boolean; refuse?: boolean } = {}) {
  const interfaces = [
    itf('lan', LAN_REAL, LAN_V, '10.0.1.2/24', opts.lanFloating ?? [LAN_FLOAT]),
    itf('wan', WAN_REAL, WAN_V, '10.0.2.2/24', [WAN_FLOAT], 1400),
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [],
  });
  const role: RoleSource = { role: opts.active === false ? 0 : 1, mayActAsActive: () => opts.active !== false, handingOver: opts.handingOver };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = {
    send: (i: number, f: Uint8Array, n: number) => opts.refuse !== true && (sent.push({ ifIndex: i, frame: Buffer.from(f.subarray(0, n)) }), true),
  };
  const p = new Pipeline(interfaces, routes, role, counters, sink, { neighbours: { reachableMs: 1e12, refreshMs: 1e12 } });
  p.neighbours[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
  const names = [...EVENT_COUNTERS, ...DROP_REASONS];
  const handle = (ifIndex: number, f: Buffer) => {
    const before = counters.slice();
    const start = sent.length;
    p.handle(ifIndex, f, f.length, NOW);
    const moved: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) moved[names[i]] = v - before[i];
    });
    return { moved, out: sent.slice(start) };
  };
  return { p, handle };
}

const udpFrom = (src: string, o: { ttl?: number; df?: boolean; size?: number; dst?: string } = {}) => {
  const pkt = udpPacket({ src, dst: o.dst ?? SERVER, sport: 1, dport: 2, data: new Array(o.size ?? 4).fill(0), ttl: o.ttl });
  return fromClient(o.df === true ? withDf(pkt) : pkt);
};

describe('routing alone', () => {
  it('TTL 1 and TTL 0: time exceeded; TTL 2 is forwarded', () => {
    const t = bare();
    for (const ttl of [0, 1]) {
      const sent = udpFrom(CLIENT, { ttl });
      const res = t.handle(LAN, sent);
      expect(res.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
      expectError(res.out[0].frame, { type: 11, code: 0, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
    }
    expect(t.handle(LAN, udpFrom(CLIENT, { ttl: 2 })).moved).toEqual({ forwarded: 1, tx: 1 });
  });

  it('DF over the MTU: fragmentation needed with 1400; the TTL is as it arrived in the quote', () => {
    const t = bare();
    const sent = udpFrom(CLIENT, { df: true, size: 1400, ttl: 9 });
    const res = t.handle(LAN, sent);
    expect(res.moved).toEqual({ oversize: 1, 'icmp-error-sent': 1, tx: 1 });
    expectError(res.out[0].frame, { type: 3, code: 4, mtu: 1400, from: LAN_FLOAT, to: CLIENT, toMac: CLIENT_MAC, fromMac: LAN_V, sent });
    expect(res.out[0].frame[M + 8 + 8]).toBe(9);
  });

  it('an interface without a floating address: from its own address', () => {
    const t = bare({ lanFloating: [] });
    const res = t.handle(LAN, udpFrom(CLIENT, { ttl: 1 }));
    expect(view(res.out[0].frame).src).toBe('10.0.1.2');
  });

  it('during a hand-over: from the real MAC, as forwarded frames then are', () => {
    const t = bare({ handingOver: true });
    const res = t.handle(LAN, udpFrom(CLIENT, { ttl: 1 }));
    expect(view(res.out[0].frame).srcMac).toBe(LAN_REAL);
  });

  it('never: passive, a source that is the ingress subnet broadcast, a directed broadcast destination', () => {
    expect(bare({ active: false }).handle(LAN, udpFrom(CLIENT, { ttl: 1 }))).toEqual({ moved: { passive: 1 }, out: [] });
    const t = bare();
    expect(t.handle(LAN, udpFrom('10.0.1.255', { ttl: 1 }))).toEqual({ moved: { 'ttl-exceeded': 1 }, out: [] });
    expect(t.handle(LAN, udpFrom(CLIENT, { ttl: 5, dst: '10.0.2.255' }))).toEqual({ moved: { 'no-route': 1 }, out: [] });
  });

  it('a device that refuses the error: tx-refused, the outcome stays ttl-exceeded', () => {
    const t = bare({ refuse: true });
    expect(t.handle(LAN, udpFrom(CLIENT, { ttl: 1 })).moved).toEqual({ 'ttl-exceeded': 1, 'tx-refused': 1 });
  });
});

describe('unchanged', () => {
  it('a quote with IP options is not possible here: the pipeline strips options before (ip-options.ts)', () => {
    const t = bare();
    const f = fromClient(ipv4({ src: CLIENT, dst: SERVER, ttl: 1, proto: IPPROTO_UDP, options: [1, 1, 1, 0], payload: [0, 1, 0, 2, 0, 8, 0, 0] }));
    const res = t.handle(LAN, f);
    expect(res.moved).toEqual({ 'ip-options-stripped': 1, 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expect(res.out[0].frame[14 + 20 + 8]).toBe(0x45); // the quoted header: no options
  });
});

describe('active/active: the source address of an error', () => {
  const LAN_D0 = '02:74:64:01:07:01';
  const LAN_D1 = '02:74:64:02:07:01';
  const LAN_PR = '02:74:64:03:07:01';
  const WAN_D0 = '02:74:64:01:07:02';
  const WAN_PR = '02:74:64:03:07:02';

  /** lan: 10.0.1.1 device 0's, 10.0.1.4 device 1's, 10.0.1.5 the primary's; wan: 10.0.2.1 device 0's, none for the primary. */
  function box(me: 0 | 1, served: number, withFirewall: boolean) {
    const classes = (list: [number, string, string[]][]) => list.map(([bit, mac, ips]) => ({ bit, mac: parseMac(mac), floating: ips.map(parseIpv4) }));
    const lanClasses = classes([
      [CLASS_DEVICE0, LAN_D0, ['10.0.1.1']],
      [CLASS_DEVICE1, LAN_D1, ['10.0.1.4']],
      [CLASS_PRIMARY, LAN_PR, ['10.0.1.5']],
    ]);
    const wanClasses = classes([
      [CLASS_DEVICE0, WAN_D0, ['10.0.2.1']],
      [CLASS_PRIMARY, WAN_PR, []],
    ]);
    const lan = { ...itf('lan', LAN_REAL, me === 0 ? LAN_D0 : LAN_D1, '10.0.1.2/24', ['10.0.1.1', '10.0.1.4', '10.0.1.5']), classes: lanClasses };
    const wan = { ...itf('wan', WAN_REAL, WAN_D0, '10.0.2.2/24', ['10.0.2.1']), classes: wanClasses };
    const routes = RouteTable.fromConfig({
      interfaces: [
        { name: 'lan', address: '10.0.1.2/24' },
        { name: 'wan', address: '10.0.2.2/24' },
      ],
      routes: [],
    });
    const role: RoleSource = { role: ROLE_ACTIVE, mayActAsActive: () => true, servedClasses: served };
    const sent: Buffer[] = [];
    const sink = { send: (_i: number, f: Uint8Array, n: number) => (sent.push(Buffer.from(f.subarray(0, n))), true) };
    const firewall = withFirewall ? { shared: makeActiveActive(lab()), aa: { me, pair: { peerForwarding: false, primaryId: me } } } : undefined;
    const p = new Pipeline([lan, wan], routes, role, new Float64Array(COUNTER_COUNT), sink, { firewall });
    const ttl1 = (ifIndex: number, dstMac: string, srcMac: string, src: string, dst: string) => {
      const f = frame(dstMac, srcMac, udpPacket({ src, dst, sport: 1, dport: 5000, data: [0], ttl: 1 }));
      p.handle(ifIndex, f, f.length, NOW);
      return sent.length > 0 ? view(sent[sent.length - 1]) : null;
    };
    return { ttl1, sent };
  }

  it("this box's own device class's address, though it serves the other's too", () => {
    expect(box(1, CLASS_DEVICE0 | CLASS_DEVICE1, true).ttl1(LAN, LAN_D0, CLIENT_MAC, CLIENT, SERVER)).toMatchObject({ src: '10.0.1.4', srcMac: LAN_D1 });
    expect(box(0, CLASS_DEVICE0 | CLASS_DEVICE1, true).ttl1(LAN, LAN_D1, CLIENT_MAC, CLIENT, SERVER)).toMatchObject({ src: '10.0.1.1', srcMac: LAN_D0 });
  });

  it('else one of a served class; else the interface address', () => {
    expect(box(0, CLASS_PRIMARY, false).ttl1(LAN, LAN_PR, CLIENT_MAC, CLIENT, SERVER)).toMatchObject({ src: '10.0.1.5' });
    expect(box(0, CLASS_PRIMARY, false).ttl1(WAN, WAN_PR, SERVER_MAC, SERVER, CLIENT)).toMatchObject({ src: '10.0.2.2', dst: SERVER });
  });
});
