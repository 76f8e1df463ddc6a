// The per-frame decision for a table of crafted frames, in active, passive and lease-expired
// modes. Each case lists the counters the frame moves; nothing is ever sent unless active.
import { describe, expect, it } from 'vitest';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { formatMac, parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type ForwardStage, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { arp, buf, eth, icmpEcho, ipv4, refChecksum, udp } from './frames.js';

const LAN_REAL = '0a:00:00:00:01:02';
const WAN_REAL = '0a:00:00:00:02:02';
const LAN_V = '02:74:64:00:07:01';
const WAN_V = '02:74:64:00:07:02';
const CLIENT = '22:00:00:00:01:0a';
const SERVER = '22:00:00:00:02:0a';
const ROUTER = '22:00:00:00:02:fe';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const ZERO = '00:00:00:00:00:00';
const NAMES = [...EVENT_COUNTERS, ...DROP_REASONS];

function itf(name: string, device: string, real: string, v: string, address: string, floating: string[], mtu = 1500): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: floating.map(parseIpv4), mtu };
}

type Mode = 'active' | 'passive' | 'lease-expired';

function make(mode: Mode, opts: { routes?: { to: string; via: string; interface: string }[]; stages?: ForwardStage[]; wanMtu?: number } = {}) {
  const interfaces = [
    itf('lan', 'eth1', LAN_REAL, LAN_V, '10.0.1.2/24', ['10.0.1.1']),
    itf('wan', 'eth2', WAN_REAL, WAN_V, '10.0.2.2/24', ['10.0.2.1'], opts.wanMtu ?? 1500),
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: opts.routes ?? [],
  });
  const role: RoleSource & { setMode(m: Mode): void } = {
    role: 0,
    lease: 0,
    mayActAsActive(now: number) {
      return this.role === 1 && now < (this as unknown as { lease: number }).lease;
    },
    setMode(m: Mode) {
      (this as { role: number }).role = m === 'passive' ? 0 : 1;
      (this as unknown as { lease: number }).lease = m === 'active' ? 1e12 : 0;
    },
  } as RoleSource & { setMode(m: Mode): void; lease: number };
  role.setMode(mode);
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  let refusing = false;
  const sink = {
    send: (ifIndex: number, f: Uint8Array, len: number) => !refusing && (sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) }), true),
  };
  /** From now on the device refuses every frame (send returns false). */
  const refuse = (on: boolean) => (refusing = on);
  const p = new Pipeline(interfaces, routes, role, counters, sink, { stages: opts.stages });
  const moved = (before: Float64Array) => {
    const out: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) out[NAMES[i]] = v - before[i];
    });
    return out;
  };
  return { p, counters, sent, role, moved, refuse };
}

const NOW = 1000;
const ipFrame = (dstMac: string, o: Parameters<typeof ipv4>[0], srcMac = CLIENT) => eth(dstMac, srcMac, 0x0800, ipv4(o));
const echo = (dst: string, type = 8) => ipFrame(LAN_V, { src: '10.0.1.10', dst, proto: 1, payload: icmpEcho(type, 0x77, 1, [1, 2, 3, 4, 5, 6, 7, 8]) });
const udpTo = (dst: string, extra: Partial<Parameters<typeof ipv4>[0]> = {}, dstMac = LAN_V) =>
  ipFrame(dstMac, { src: '10.0.1.10', dst, payload: udp(5000, 53, [1, 2, 3, 4]), ...extra });

interface Case {
  name: string;
  ingress: number;
  frame: number[];
  /** Counters moved (besides rx, which the engine counts) per mode; `same` = as in active. */
  active: Record<string, number>;
  passive?: Record<string, number>;
  leaseExpired?: Record<string, number>;
  /** Pre-learn the server on wan. */
  knowServer?: boolean;
}

const P1 = { passive: 1 };
const L1 = { 'lease-expired': 1 };
const cases: Case[] = [
  { name: 'truncated frame', ingress: 0, frame: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], active: { truncated: 1 } },
  {
    name: 'own frame seen again',
    ingress: 0,
    frame: udpTo('10.0.2.10', {}, BCAST).map((b, i) => (i >= 6 && i < 12 ? parseMac(LAN_V)[i - 6] : b)),
    active: { 'own-frame': 1 },
  },
  {
    name: 'ARP request for the floating IP',
    ingress: 0,
    frame: eth(BCAST, CLIENT, 0x0806, arp(1, CLIENT, '10.0.1.10', ZERO, '10.0.1.1')),
    active: { 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 },
    passive: { 'arp-learned': 1, passive: 1 },
    leaseExpired: { 'arp-learned': 1, 'lease-expired': 1 },
  },
  {
    name: 'ARP request for a floating IP of another interface',
    ingress: 1,
    frame: eth(BCAST, SERVER, 0x0806, arp(1, SERVER, '10.0.2.10', ZERO, '10.0.1.1')),
    active: { 'arp-learned': 1, 'arp-handled': 1 },
  },
  {
    name: "ARP request for the box's own address (the kernel answers)",
    ingress: 0,
    frame: eth(BCAST, CLIENT, 0x0806, arp(1, CLIENT, '10.0.1.10', ZERO, '10.0.1.2')),
    active: { 'arp-learned': 1, 'to-kernel': 1 },
  },
  {
    name: "the peer's GARP for the floating IP",
    ingress: 0,
    frame: eth(BCAST, '02:74:64:00:07:01'.replace('01', '09'), 0x0806, arp(1, '0a:00:00:00:01:03', '10.0.1.1', ZERO, '10.0.1.1')),
    active: { 'arp-handled': 1 },
  },
  {
    name: 'ARP from outside the connected subnet is not learned',
    ingress: 0,
    frame: eth(BCAST, CLIENT, 0x0806, arp(1, CLIENT, '192.168.9.9', ZERO, '10.0.1.77')),
    active: { 'arp-handled': 1 },
  },
  {
    name: 'ARP reply to our real MAC is learned',
    ingress: 1,
    frame: eth(WAN_REAL, SERVER, 0x0806, arp(2, SERVER, '10.0.2.10', WAN_REAL, '10.0.2.2')),
    active: { 'arp-learned': 1, 'arp-handled': 1 },
  },
  // found by test/fuzz: these ARP frames moved no counter at all (uncounted drops)
  {
    name: 'ARP reply to some other MAC is not for us',
    ingress: 1,
    frame: eth('22:99:99:99:99:99', SERVER, 0x0806, arp(2, SERVER, '10.0.2.10', '22:99:99:99:99:99', '10.0.2.77')),
    active: { 'not-for-us': 1 },
  },
  {
    name: 'bad ARP (IPv6 protocol type)',
    ingress: 0,
    frame: eth(BCAST, CLIENT, 0x0806, arp(1, CLIENT, '10.0.1.10', ZERO, '10.0.1.1')).map((b, i) => (i === 16 ? 0x86 : i === 17 ? 0xdd : b)),
    active: { 'bad-arp': 1 },
  },
  {
    name: 'ICMP echo request to the floating IP',
    ingress: 0,
    frame: echo('10.0.1.1'),
    active: { 'icmp-echo-reply-sent': 1, tx: 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'ICMP echo request to the other floating IP',
    ingress: 0,
    frame: echo('10.0.2.1'),
    active: { 'icmp-echo-reply-sent': 1, tx: 1 },
    passive: P1,
    leaseExpired: L1,
  },
  { name: 'ICMP echo reply to the floating IP', ingress: 0, frame: echo('10.0.1.1', 0), active: { 'icmp-bad': 1 }, passive: P1, leaseExpired: L1 },
  { name: 'UDP to the floating IP', ingress: 0, frame: udpTo('10.0.1.1'), active: { 'to-self-other': 1 } },
  { name: "UDP to the box's own address at the virtual MAC", ingress: 0, frame: udpTo('10.0.2.2'), active: { 'to-kernel': 1 } },
  { name: "a frame to the box's real MAC", ingress: 0, frame: udpTo('10.0.1.2', {}, LAN_REAL), active: { 'to-kernel': 1 } },
  { name: 'a broadcast IPv4 frame', ingress: 0, frame: udpTo('255.255.255.255', {}, BCAST), active: { 'to-kernel': 1 } },
  { name: 'a frame to some other unicast MAC', ingress: 0, frame: udpTo('10.0.2.10', {}, '22:99:99:99:99:99'), active: { 'not-for-us': 1 } },
  {
    name: 'a zeroed IPv6 header to the virtual MAC (version 0)',
    ingress: 0,
    frame: eth(LAN_V, CLIENT, 0x86dd, new Array(40).fill(0)),
    active: { 'bad-ip6-header': 1 },
  },
  { name: 'LLDP to the virtual MAC', ingress: 0, frame: eth(LAN_V, CLIENT, 0x88cc, new Array(40).fill(0)), active: { 'bad-ethertype': 1 } },
  { name: 'bad header checksum', ingress: 0, frame: udpTo('10.0.2.10').map((b, i) => (i === 25 ? b ^ 0xff : b)), active: { 'bad-ip-checksum': 1 } },
  // options are stripped (ip-options.ts), but loose/strict source routes and malformed lists are dropped
  {
    name: 'IP options: loose source route',
    ingress: 0,
    frame: udpTo('10.0.2.10', { options: [1, 0x83, 7, 4, 10, 0, 2, 10] }),
    active: { 'ip-source-route': 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'IP options: strict source route',
    ingress: 0,
    frame: udpTo('10.0.2.10', { options: [0x89, 3, 4, 0] }),
    active: { 'ip-source-route': 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'IP options: an option running past the header',
    ingress: 0,
    frame: udpTo('10.0.2.10', { options: [1, 1, 7, 9] }),
    active: { 'ip-options': 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'IP options: a length under 2',
    ingress: 0,
    frame: udpTo('10.0.2.10', { options: [0x94, 1, 0, 0] }),
    active: { 'ip-options': 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'a first fragment: held',
    ingress: 0,
    frame: udpTo('10.0.2.10', { frag: 0x2000, payload: udp(1, 2, new Array(8).fill(0)) }),
    active: { 'fragment-held': 1 },
    passive: P1,
    leaseExpired: L1,
  },
  {
    name: 'a first fragment not a multiple of 8 bytes',
    ingress: 0,
    frame: udpTo('10.0.2.10', { frag: 0x2000, payload: udp(1, 2, [1, 2, 3]) }),
    active: { fragment: 1 },
    passive: P1,
    leaseExpired: L1,
  },
  { name: 'martian source', ingress: 0, frame: udpTo('10.0.2.10', { src: '127.0.0.1' }), active: { 'martian-source': 1 } },
  { name: 'multicast destination at the virtual MAC', ingress: 0, frame: udpTo('239.1.1.1'), active: { 'no-route': 1 } },
  { name: 'no route', ingress: 0, frame: udpTo('8.8.8.8'), active: { 'no-route': 1 }, passive: P1, leaseExpired: L1 },
  { name: 'directed broadcast of the wan subnet', ingress: 0, frame: udpTo('10.0.2.255'), active: { 'no-route': 1 }, passive: P1, leaseExpired: L1 },
  { name: 'same interface', ingress: 0, frame: udpTo('10.0.1.50'), active: { 'same-interface': 1 }, passive: P1, leaseExpired: L1 },
  // answered with ICMP time exceeded (pipeline-icmp-errors.test.ts)
  {
    name: 'TTL 1',
    ingress: 0,
    frame: udpTo('10.0.2.10', { ttl: 1 }),
    active: { 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 },
    passive: P1,
    leaseExpired: L1,
  },
  { name: 'forward, next hop known', ingress: 0, frame: udpTo('10.0.2.10'), knowServer: true, active: { forwarded: 1, tx: 1 }, passive: P1, leaseExpired: L1 },
  {
    name: 'forward, next hop unknown: queue and ask',
    ingress: 0,
    frame: udpTo('10.0.2.10'),
    active: { forwarded: 1, 'arp-queued': 1, 'arp-request-sent': 1, tx: 1 },
    passive: P1,
    leaseExpired: L1,
  },
];

describe.each(['active', 'passive', 'lease-expired'] as Mode[])('pipeline, %s', (mode) => {
  it.each(cases)('$name', (c) => {
    const t = make(mode);
    if (c.knowServer) t.p.neighbours[1].learn(parseIpv4('10.0.2.10'), parseMac(SERVER), 0, NOW);
    const before = t.counters.slice();
    t.p.handle(c.ingress, buf(c.frame), c.frame.length, NOW);
    const expected = mode === 'active' ? c.active : mode === 'passive' ? (c.passive ?? c.active) : (c.leaseExpired ?? c.active);
    expect(t.moved(before)).toEqual(expected);
    expect(t.sent.length).toBe(expected.tx ?? 0);
    if (mode !== 'active') expect(t.sent).toEqual([]);
  });
});

describe('pipeline output frames', () => {
  it('ARP reply for the floating IP comes from the virtual MAC', () => {
    const t = make('active');
    const f = eth(BCAST, CLIENT, 0x0806, arp(1, CLIENT, '10.0.1.10', ZERO, '10.0.1.1'));
    t.p.handle(0, buf(f), f.length, NOW);
    const out = t.sent[0];
    expect(out.ifIndex).toBe(0);
    expect(out.frame.subarray(0, 42)).toEqual(buf(eth(CLIENT, LAN_V, 0x0806, arp(2, LAN_V, '10.0.1.1', CLIENT, '10.0.1.10'))));
  });

  it('echo reply: addresses swapped, TTL 64, checksums valid', () => {
    const t = make('active');
    const f = echo('10.0.1.1');
    t.p.handle(0, buf(f), f.length, NOW);
    const expected = eth(
      CLIENT,
      LAN_V,
      0x0800,
      ipv4({ src: '10.0.1.1', dst: '10.0.1.10', proto: 1, ttl: 64, payload: icmpEcho(0, 0x77, 1, [1, 2, 3, 4, 5, 6, 7, 8]) }),
    );
    expect(t.sent[0].frame).toEqual(buf(expected));
  });

  it('forwarded frame: MACs rewritten, TTL - 1, header checksum equal to a full recompute, payload untouched', () => {
    const t = make('active');
    t.p.neighbours[1].learn(parseIpv4('10.0.2.10'), parseMac(SERVER), 0, NOW);
    const f = udpTo('10.0.2.10', { ttl: 17 });
    t.p.handle(0, buf(f), f.length, NOW);
    const expected = eth(SERVER, WAN_V, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', ttl: 16, payload: udp(5000, 53, [1, 2, 3, 4]) }));
    expect(t.sent[0]).toEqual({ ifIndex: 1, frame: buf(expected) });
    expect(refChecksum(t.sent[0].frame.subarray(14, 34))).toBe(0);
  });

  it('unresolved next hop: ARP request from the real MAC and own address; the reply flushes the queue', () => {
    const t = make('active', { routes: [{ to: '0.0.0.0/0', via: '10.0.2.254', interface: 'wan' }] });
    const f1 = udpTo('8.8.8.8');
    const f2 = udpTo('8.8.4.4');
    const capture = Buffer.alloc(200);
    buf(f1).copy(capture);
    t.p.handle(0, capture, f1.length, NOW);
    buf(f2).copy(capture); // the capture buffer is reused: the queue must hold copies
    t.p.handle(0, capture, f2.length, NOW);
    expect(t.sent.length).toBe(1);
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(buf(eth(BCAST, WAN_REAL, 0x0806, arp(1, WAN_REAL, '10.0.2.2', ZERO, '10.0.2.254'))));
    const reply = eth(WAN_REAL, ROUTER, 0x0806, arp(2, ROUTER, '10.0.2.254', WAN_REAL, '10.0.2.2'));
    t.p.handle(1, buf(reply), reply.length, NOW + 1);
    expect(t.sent.length).toBe(3);
    for (const [i, dst] of [
      [1, '8.8.8.8'],
      [2, '8.8.4.4'],
    ] as const) {
      expect(t.sent[i].ifIndex).toBe(1);
      expect(formatMac(t.sent[i].frame, 0)).toBe(ROUTER);
      expect(formatMac(t.sent[i].frame, 6)).toBe(WAN_V);
      expect(t.sent[i].frame.subarray(30, 34)).toEqual(buf(dst.split('.').map(Number)));
    }
    expect(t.counters[NAMES.indexOf('forwarded')]).toBe(2);
  });

  it('a frame that waits for ARP is counted once: forwarded when queued; leaving, only tx (tx-refused, tx-withheld), as a staged frame', () => {
    for (const c of [
      { name: 'sent', refuse: false, mode: 'active' as Mode, leaving: { tx: 2 } },
      { name: 'refused by the device', refuse: true, mode: 'active' as Mode, leaving: { 'tx-refused': 2 } },
      { name: 'the box turned passive meanwhile', refuse: false, mode: 'passive' as Mode, leaving: { 'tx-withheld': 2 } },
    ]) {
      const t = make('active');
      const f = udpTo('10.0.2.10');
      for (let i = 0; i < 2; i++) {
        const before = t.counters.slice();
        t.p.handle(0, buf(f), f.length, NOW);
        expect(t.moved(before), c.name).toEqual(i === 0 ? { forwarded: 1, 'arp-queued': 1, 'arp-request-sent': 1, tx: 1 } : { forwarded: 1, 'arp-queued': 1 });
      }
      t.role.setMode(c.mode);
      if (c.refuse) t.refuse(true);
      const reply = eth(WAN_REAL, SERVER, 0x0806, arp(2, SERVER, '10.0.2.10', WAN_REAL, '10.0.2.2'));
      const before = t.counters.slice();
      t.p.handle(1, buf(reply), reply.length, NOW + 1);
      // the ARP frame's own outcome (arp-handled), and the queued frames leaving: no second outcome
      expect(t.moved(before), c.name).toEqual({ 'arp-learned': 1, 'arp-handled': 1, ...c.leaving });
    }
  });

  it('unresolved next hop that never answers: retries, then drops with arp-timeout', () => {
    const t = make('active');
    const f = udpTo('10.0.2.10');
    t.p.handle(0, buf(f), f.length, NOW);
    t.p.handle(0, buf(f), f.length, NOW);
    for (let now = NOW; now < NOW + 5000; now += 5) t.p.tick(now);
    expect(t.counters[NAMES.indexOf('arp-request-sent')]).toBe(4);
    expect(t.counters[NAMES.indexOf('arp-timeout')]).toBe(2);
  });

  it('queued frames are dropped, not sent, if the box turned passive before the answer', () => {
    const t = make('active');
    const f = udpTo('10.0.2.10');
    t.p.handle(0, buf(f), f.length, NOW);
    t.role.setMode('passive');
    const reply = eth(WAN_REAL, SERVER, 0x0806, arp(2, SERVER, '10.0.2.10', WAN_REAL, '10.0.2.2'));
    t.p.handle(1, buf(reply), reply.length, NOW + 1);
    for (let now = NOW; now < NOW + 2000; now += 5) t.p.tick(now);
    expect(t.sent.length).toBe(1); // the ARP request only
    expect(t.counters[NAMES.indexOf('tx-withheld')]).toBe(1);
    expect(t.counters[NAMES.indexOf('passive')]).toBe(0);
  });

  it('oversize for the egress MTU with DF: dropped', () => {
    const t = make('active', { wanMtu: 40 });
    t.p.neighbours[1].learn(parseIpv4('10.0.2.10'), parseMac(SERVER), 0, NOW);
    const f = udpTo('10.0.2.10', { frag: 0x4000, payload: udp(1, 2, new Array(30).fill(1)) });
    t.p.handle(0, buf(f), f.length, NOW);
    expect(t.sent.filter((s) => s.ifIndex === 1)).toEqual([]);
    expect(t.counters[NAMES.indexOf('oversize')]).toBe(1);
  });

  it('oversize for the egress MTU without DF: fragments of the MTU, on 8-byte boundaries', () => {
    const t = make('active', { wanMtu: 40 });
    t.p.neighbours[1].learn(parseIpv4('10.0.2.10'), parseMac(SERVER), 0, NOW);
    const f = udpTo('10.0.2.10', { payload: udp(1, 2, new Array(30).fill(1)) });
    t.p.handle(0, buf(f), f.length, NOW);
    expect(t.sent.map((s) => s.frame.length)).toEqual([14 + 20 + 16, 14 + 20 + 16, 14 + 20 + 6]);
    expect(t.counters[NAMES.indexOf('oversize')]).toBe(0);
    expect(t.counters[NAMES.indexOf('fragmented')]).toBe(1);
    expect(t.counters[NAMES.indexOf('forwarded')]).toBe(1);
  });

  it('stages run between route lookup and rewrite, and may drop', () => {
    const seen: string[] = [];
    const stage: ForwardStage = (ctx) => {
      seen.push(`${ctx.ingress}->${ctx.egress} proto ${ctx.proto}`);
      return ctx.dst === parseIpv4('10.0.2.11') ? 'no-route' : null;
    };
    const t = make('active', { stages: [stage] });
    t.p.neighbours[1].learn(parseIpv4('10.0.2.10'), parseMac(SERVER), 0, NOW);
    const ok = udpTo('10.0.2.10');
    const denied = udpTo('10.0.2.11');
    t.p.handle(0, buf(ok), ok.length, NOW);
    t.p.handle(0, buf(denied), denied.length, NOW);
    expect(seen).toEqual(['0->1 proto 17', '0->1 proto 17']);
    expect(t.sent.length).toBe(1);
    expect(t.counters[NAMES.indexOf('no-route')]).toBe(1);
  });
});
