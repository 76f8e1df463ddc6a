// The pipeline's floating addresses in active/active (docs/active-active.md "Floating addresses and
// virtual MACs"), with a stand-in for the pair view: this box is device 0; it answers ARP for a
// class's addresses, with the class's MAC, only while it serves the class; it accepts frames sent
// to a served class's MAC only; it forwards from its own class's MAC whatever MAC a frame came in on.
import { describe, expect, it } from 'vitest';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { formatMac, parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { sendGate } from '../../../src/dataplane/send-gate.js';
import { parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE, ROLE_PASSIVE } from '../../../src/wire/shared-state.js';
import { arp, buf, eth, icmpEcho, ipv4, udp } from './frames.js';
import type { ArpLoadSharingConfig } from '../../../src/config/types.js';
import { arpShareDevice } from '../../../src/dataplane/arp-share.js';
import { CLASS_SHARED } from '../../../src/dataplane/vmac.js';
import { formatIpv4 } from '../../../src/net/ipv4.js';

const LAN_REAL = '0a:00:00:00:01:02';
const WAN_REAL = '0a:00:00:00:02:02';
const LAN_D0 = '02:74:64:01:07:01';
const LAN_D1 = '02:74:64:02:07:01';
const LAN_PR = '02:74:64:03:07:01';
const WAN_D0 = '02:74:64:01:07:02';
const WAN_D1 = '02:74:64:02:07:02';
const WAN_PR = '02:74:64:03:07:02';
const CLIENT = '22:00:00:00:01:0a';
const SERVER = '22:00:00:00:02:0a';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const ZERO = '00:00:00:00:00:00';
const NAMES = [...EVENT_COUNTERS, ...DROP_REASONS];
const NOW = 1000;

/** lan: 10.0.1.1 device 0's, 10.0.1.4 device 1's, 10.0.1.5 the primary's; wan: 10.0.2.1 device 0's, 10.0.2.4 device 1's. */
const FLOATING: Record<string, [number, string[]][]> = {
  lan: [
    [CLASS_DEVICE0, ['10.0.1.1']],
    [CLASS_DEVICE1, ['10.0.1.4']],
    [CLASS_PRIMARY, ['10.0.1.5']],
  ],
  wan: [
    [CLASS_DEVICE0, ['10.0.2.1']],
    [CLASS_DEVICE1, ['10.0.2.4']],
    [CLASS_PRIMARY, []],
  ],
};

/** ARP load sharing (owner shared): lan's 10.0.1.9, when a test asks for it. */
const SHARED_GW = '10.0.1.9';

function itf(name: string, real: string, macs: string[], address: string, virtualMacs = true, sharing?: ArpLoadSharingConfig): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  const classes = FLOATING[name].map(([bit, ips], i) => ({ bit, mac: parseMac(virtualMacs ? macs[i] : real), floating: ips.map(parseIpv4) }));
  const shared = sharing !== undefined && name === 'lan' ? [parseIpv4(SHARED_GW)] : [];
  return {
    name,
    device: `${name}0`,
    realMac: parseMac(real),
    mac: classes[0].mac, // this box is device 0: its own class's MAC
    address: a,
    prefix,
    floating: [...classes.flatMap((c) => c.floating), ...shared],
    mtu: 1500,
    classes,
    ...(shared.length > 0 && sharing !== undefined ? { arpSharing: { addresses: shared, assign: sharing } } : {}),
  };
}

interface PairView extends RoleSource {
  role: number;
  servedClasses: number;
  acceptedClasses?: number;
  handingOver: boolean;
  lease: number;
}

function make(opts: { served?: number; virtualMacs?: boolean; sharing?: ArpLoadSharingConfig } = {}) {
  const interfaces = [
    itf('lan', LAN_REAL, [LAN_D0, LAN_D1, LAN_PR], '10.0.1.2/24', opts.virtualMacs, opts.sharing),
    itf('wan', WAN_REAL, [WAN_D0, WAN_D1, WAN_PR], '10.0.2.2/24', opts.virtualMacs),
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [{ to: '0.0.0.0/0', via: '10.0.2.254', interface: 'wan' }],
  });
  const role: PairView = {
    role: ROLE_ACTIVE,
    servedClasses: opts.served ?? CLASS_DEVICE0,
    handingOver: false,
    lease: 1e12,
    mayActAsActive(now: number) {
      return this.role === ROLE_ACTIVE && now < this.lease;
    },
  };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = { send: (ifIndex: number, f: Uint8Array, len: number) => (sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) }), true) };
  const p = new Pipeline(interfaces, routes, role, counters, sink);
  /** Counters moved by handling `frame` on `ifIndex`. */
  const handle = (ifIndex: number, frame: number[]) => {
    const before = counters.slice();
    p.handle(ifIndex, buf(frame), frame.length, NOW);
    const out: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) out[NAMES[i]] = v - before[i];
    });
    return out;
  };
  return { p, role, sent, handle };
}

const whoHas = (ip: string, dst = BCAST) => eth(dst, CLIENT, 0x0806, arp(1, CLIENT, '10.0.1.10', ZERO, ip));
const replyFrom = (mac: string, ip: string) => buf(eth(CLIENT, mac, 0x0806, arp(2, mac, ip, CLIENT, '10.0.1.10')));
const udpVia = (dstMac: string, dst = '10.0.2.10', srcMac = CLIENT) =>
  eth(dstMac, srcMac, 0x0800, ipv4({ src: '10.0.1.10', dst, ttl: 9, payload: udp(5000, 53, [1, 2, 3, 4]) }));

describe('active/active ARP for the floating addresses', () => {
  it("serving device 0's class only: answers its addresses with its MAC, leaves device 1's and the primary's to the peer", () => {
    const t = make({ served: CLASS_DEVICE0 });
    expect(t.handle(0, whoHas('10.0.1.1'))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_D0, '10.0.1.1'));
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.handle(0, whoHas('10.0.1.5'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.sent.length).toBe(1);
  });

  it("gaining device 1's class: its addresses are answered from its MAC at once; losing it: no longer", () => {
    const t = make({ served: CLASS_DEVICE0 });
    t.role.servedClasses = CLASS_DEVICE0 | CLASS_DEVICE1;
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_D1, '10.0.1.4'));
    expect(t.handle(0, whoHas('10.0.1.1'))).toMatchObject({ 'arp-reply-sent': 1 });
    expect(t.sent[1].frame.subarray(0, 42)).toEqual(replyFrom(LAN_D0, '10.0.1.1'));
    t.role.servedClasses = CLASS_DEVICE0;
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.sent.length).toBe(2);
  });

  it("the primary's addresses from the primary's MAC, while the class is served", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_PRIMARY });
    expect(t.handle(0, whoHas('10.0.1.5'))).toMatchObject({ 'arp-reply-sent': 1 });
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_PR, '10.0.1.5'));
  });

  it('a served class is answered only while the box may act as active', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    t.role.role = ROLE_PASSIVE;
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, passive: 1 });
    t.role.role = ROLE_ACTIVE;
    t.role.lease = 0;
    expect(t.handle(0, whoHas('10.0.1.1'))).toEqual({ 'arp-learned': 1, 'lease-expired': 1 });
    expect(t.sent).toEqual([]);
  });

  it("a request unicast to a class's MAC (a host checking its cache) is ours only while the class is served", () => {
    const t = make({ served: CLASS_DEVICE0 });
    expect(t.handle(0, whoHas('10.0.1.4', LAN_D1))).toEqual({ 'not-for-us': 1 });
    t.role.servedClasses = CLASS_DEVICE0 | CLASS_DEVICE1;
    expect(t.handle(0, whoHas('10.0.1.4', LAN_D1))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
  });

  it("the peer's gratuitous ARP for its class teaches nothing and is not answered", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const garp = eth(BCAST, '0a:00:00:00:01:03', 0x0806, arp(1, LAN_D1, '10.0.1.4', ZERO, '10.0.1.4'));
    expect(t.handle(0, garp)).toEqual({ 'arp-handled': 1 });
    expect(t.sent).toEqual([]);
  });

  it('with virtual MACs off every class answers with the real MAC, still only while served', () => {
    const t = make({ served: CLASS_DEVICE0, virtualMacs: false });
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.handle(0, whoHas('10.0.1.1'))).toMatchObject({ 'arp-reply-sent': 1 });
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_REAL, '10.0.1.1'));
  });
});

describe('active/active ARP load sharing (owner shared)', () => {
  const MODULO: ArpLoadSharingConfig = { method: 'ip-modulo', seed: 0 };
  const EVEN = '10.0.1.10'; // device 0's host by ip-modulo
  const ODD = '10.0.1.11'; // device 1's
  const HOST_MAC = (ip: string) => `22:00:00:00:01:${Number(ip.split('.')[3]).toString(16).padStart(2, '0')}`;
  const ask = (from: string, dst = BCAST) => eth(dst, HOST_MAC(from), 0x0806, arp(1, HOST_MAC(from), from, ZERO, SHARED_GW));
  /** A reply sent, as [Ethernet dst, Ethernet src, ARP sender MAC, ARP sender IP, ARP target IP]. */
  const reply = (f: Buffer) => [formatMac(f, 0), formatMac(f, 6), formatMac(f, 22), formatIpv4(f.readUInt32BE(28)), formatIpv4(f.readUInt32BE(38))];

  it("serving device 0's class: answers device 0's hosts with its MAC, leaves device 1's to the peer", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_PRIMARY, sharing: MODULO });
    expect(t.handle(0, ask(EVEN))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
    expect(reply(t.sent[0].frame)).toEqual([HOST_MAC(EVEN), LAN_D0, LAN_D0, SHARED_GW, EVEN]);
    expect(t.handle(0, ask(ODD))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.sent.length).toBe(1);
  });

  it("serving device 1's class: the other half, with device 1's MAC", () => {
    const t = make({ served: CLASS_DEVICE1, sharing: MODULO });
    expect(t.handle(0, ask(EVEN))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.handle(0, ask(ODD))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
    expect(reply(t.sent[0].frame)).toEqual([HOST_MAC(ODD), LAN_D1, LAN_D1, SHARED_GW, ODD]);
  });

  it("the survivor (both device classes) answers every host, each with its own device's MAC: no host's cache changes", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 | CLASS_PRIMARY, sharing: MODULO });
    t.handle(0, ask(EVEN));
    t.handle(0, ask(ODD));
    expect(t.sent.map((x) => reply(x.frame))).toEqual([
      [HOST_MAC(EVEN), LAN_D0, LAN_D0, SHARED_GW, EVEN],
      [HOST_MAC(ODD), LAN_D1, LAN_D1, SHARED_GW, ODD],
    ]);
  });

  it('ip-hash: the answer follows the seeded hash of the requester', () => {
    const cfg: ArpLoadSharingConfig = { method: 'ip-hash', seed: 42 };
    const t = make({ served: CLASS_DEVICE0, sharing: cfg });
    for (let i = 10; i < 40; i++) {
      const host = `10.0.1.${i}`;
      const answered = t.handle(0, ask(host))['arp-reply-sent'] === 1;
      expect(answered, host).toBe(arpShareDevice(cfg, parseIpv4(host)) === 0);
    }
  });

  it("a request unicast to a served class's MAC reached this box alone: answered with the requester's device's MAC, from the MAC it came to", () => {
    const t = make({ served: CLASS_DEVICE0, sharing: MODULO });
    // device 1's host holding device 0's MAC (a commit changed the method): told its own MAC
    expect(t.handle(0, ask(ODD, LAN_D0))).toEqual({ 'arp-learned': 1, 'arp-reply-sent': 1, tx: 1 });
    expect(reply(t.sent[0].frame)).toEqual([HOST_MAC(ODD), LAN_D0, LAN_D1, SHARED_GW, ODD]);
    expect(t.handle(0, ask(EVEN, LAN_D0))).toMatchObject({ 'arp-reply-sent': 1 });
    expect(reply(t.sent[1].frame)).toEqual([HOST_MAC(EVEN), LAN_D0, LAN_D0, SHARED_GW, EVEN]);
    // unicast to a class this box does not serve: the peer's
    expect(t.handle(0, ask(ODD, LAN_D1))).toEqual({ 'not-for-us': 1 });
    expect(t.sent.length).toBe(2);
  });

  it("a class in the hand-back hold (accepted, not served): its hosts' requests are left to the peer, broadcast or unicast", () => {
    const t = make({ served: CLASS_DEVICE0, sharing: MODULO });
    t.role.acceptedClasses = CLASS_DEVICE1;
    expect(t.handle(0, ask(ODD))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.handle(0, ask(ODD, LAN_D1))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    expect(t.sent).toEqual([]);
  });

  it('answered only while the box may act as active', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1, sharing: MODULO });
    t.role.role = ROLE_PASSIVE;
    expect(t.handle(0, ask(EVEN))).toEqual({ 'arp-learned': 1, passive: 1 });
    expect(t.sent).toEqual([]);
  });

  it("the peer's probe for the shared address (from a class MAC) is the pair's own; frames to the device MACs are taken as for any class", () => {
    const t = make({ served: CLASS_DEVICE0, sharing: MODULO });
    expect(t.handle(0, eth(BCAST, LAN_D1, 0x0806, arp(1, LAN_D1, '0.0.0.0', ZERO, SHARED_GW)))).toEqual({ 'own-frame': 1 });
    t.p.neighbours[1].learn(parseIpv4('10.0.2.254'), parseMac(SERVER), 0, NOW);
    expect(t.handle(0, udpVia(LAN_D0, '8.8.8.8'))).toEqual({ forwarded: 1, tx: 1 });
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
  });

  it('lists the shared address with both device classes; a commit that changes the method moves the hosts', () => {
    const t = make({ served: CLASS_DEVICE0, sharing: MODULO });
    expect(t.p.floatingIps().find((f) => f.ip === parseIpv4(SHARED_GW))).toEqual({ ifIndex: 0, ip: parseIpv4(SHARED_GW), bit: CLASS_SHARED });
    const cfg: ArpLoadSharingConfig = { method: 'ip-hash', seed: 7 };
    // an even host (device 0's by ip-modulo) that the hash gives to device 1
    const host = Array.from({ length: 20 }, (_, i) => `10.0.1.${10 + 2 * i}`).find((h) => arpShareDevice(cfg, parseIpv4(h)) === 1)!;
    expect(t.handle(0, ask(host))).toMatchObject({ 'arp-reply-sent': 1 });
    const next = t.p.interfaces.map((i) => (i.arpSharing ? { ...i, arpSharing: { ...i.arpSharing, assign: cfg } } : i));
    t.p.commit({ interfaces: next, routes: RouteTable.fromConfig({ interfaces: [], routes: [] }), firewall: null }, null);
    t.sent.length = 0;
    expect(t.handle(0, ask(host))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
  });
});

describe('active/active layer 2', () => {
  const knowRouter = (t: ReturnType<typeof make>) => t.p.neighbours[1].learn(parseIpv4('10.0.2.254'), parseMac(SERVER), 0, NOW);

  it("a frame to an unserved class's MAC is not for us; once the class is served it is forwarded", () => {
    const t = make({ served: CLASS_DEVICE0 });
    knowRouter(t);
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
    expect(t.handle(0, udpVia(LAN_PR, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
    t.role.servedClasses = CLASS_DEVICE0 | CLASS_DEVICE1;
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ forwarded: 1, tx: 1 });
    t.role.servedClasses = CLASS_DEVICE0;
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
  });

  it('a class handed to the peer a moment ago (accepted): its frames are still forwarded, its ARP is left to the peer', () => {
    const t = make({ served: CLASS_DEVICE0 });
    knowRouter(t);
    t.role.acceptedClasses = CLASS_DEVICE1;
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ forwarded: 1, tx: 1 });
    expect(t.handle(0, whoHas('10.0.1.4'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    t.role.acceptedClasses = 0;
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
  });

  it("its own class's MAC is ours only while served too", () => {
    const t = make({ served: CLASS_DEVICE1 });
    knowRouter(t);
    expect(t.handle(0, udpVia(LAN_D0, '8.8.8.8'))).toEqual({ 'not-for-us': 1 });
    expect(t.handle(0, udpVia(LAN_D1, '8.8.8.8'))).toEqual({ forwarded: 1, tx: 1 });
  });

  it("forwarded frames leave from this box's own class's MAC, whatever class's MAC they came in on", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 | CLASS_PRIMARY });
    knowRouter(t);
    for (const mac of [LAN_D0, LAN_D1, LAN_PR]) t.handle(0, udpVia(mac, '8.8.8.8'));
    expect(t.sent.map((s) => [s.ifIndex, formatMac(s.frame, 6), formatMac(s.frame, 0)])).toEqual([
      [1, WAN_D0, SERVER],
      [1, WAN_D0, SERVER],
      [1, WAN_D0, SERVER],
    ]);
  });

  it('an echo reply for a floating IP leaves from the own class MAC too', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const ping = eth(LAN_D1, CLIENT, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.1.4', proto: 1, payload: icmpEcho(8, 1, 1, [1, 2, 3, 4]) }));
    expect(t.handle(0, ping)).toEqual({ 'icmp-echo-reply-sent': 1, tx: 1 });
    expect(formatMac(t.sent[0].frame, 6)).toBe(LAN_D0);
  });

  it('ARP requests for a next hop leave from the real MAC and the own address, as in active/passive', () => {
    const t = make({ served: CLASS_DEVICE0 });
    expect(t.handle(0, udpVia(LAN_D0, '8.8.8.8'))).toEqual({ forwarded: 1, 'arp-queued': 1, 'arp-request-sent': 1, tx: 1 });
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(buf(eth(BCAST, WAN_REAL, 0x0806, arp(1, WAN_REAL, '10.0.2.2', ZERO, '10.0.2.254'))));
  });

  it("frames from any class's MAC are the pair's own (the peer's flooded frames, its announcements)", () => {
    const t = make({ served: CLASS_DEVICE0 });
    expect(t.handle(0, udpVia(CLIENT, '10.0.1.10', LAN_D1))).toEqual({ 'own-frame': 1 });
    expect(t.handle(0, eth(BCAST, LAN_PR, 0x0806, arp(1, LAN_PR, '10.0.1.5', ZERO, '10.0.1.5')))).toEqual({ 'own-frame': 1 });
  });

  it('a frame from the MAC of a class this box serves came from the peer: the class is claimed, for the engine to announce again', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const garpFrom = (mac: string, ip: string) => eth(BCAST, mac, 0x0806, arp(1, mac, ip, ZERO, ip));
    expect(t.handle(0, garpFrom(LAN_D0, '10.0.1.1'))).toEqual({ 'class-claimed': 1 });
    // a class served as the survivor too: the peer announced it late, or before we heard it forward
    expect(t.handle(0, garpFrom(LAN_D1, '10.0.1.4'))).toEqual({ 'class-claimed': 1 });
    expect(t.p.takeClaimedClasses()).toBe(CLASS_DEVICE0 | CLASS_DEVICE1);
    expect(t.p.takeClaimedClasses()).toBe(0);
    // a class not served (this box tentative, or the class the peer's): the peer's own frames
    t.role.servedClasses = CLASS_DEVICE1;
    expect(t.handle(0, garpFrom(LAN_D0, '10.0.1.1'))).toEqual({ 'own-frame': 1 });
    expect(t.p.takeClaimedClasses()).toBe(0);
    expect(t.sent).toEqual([]);
  });

  it('the real MAC and broadcasts still go to the kernel, whatever is served', () => {
    const t = make({ served: 0 });
    expect(t.handle(0, udpVia(LAN_REAL, '10.0.1.2'))).toEqual({ 'to-kernel': 1 });
    expect(t.handle(0, udpVia(BCAST, '255.255.255.255'))).toEqual({ 'to-kernel': 1 });
  });

  it('with virtual MACs off, frames to the real MAC are forwarded as in active/passive', () => {
    const t = make({ served: CLASS_DEVICE0, virtualMacs: false });
    knowRouter(t);
    expect(t.handle(0, udpVia(LAN_REAL, '8.8.8.8'))).toEqual({ forwarded: 1, tx: 1 });
    expect(formatMac(t.sent[0].frame, 6)).toBe(WAN_REAL);
  });
});

describe('active/active: the pipeline follows a commit and a device created again', () => {
  it('an address moved to another class is answered by its new class only', () => {
    const t = make({ served: CLASS_DEVICE0 });
    const moved = t.p.interfaces.map((i) => ({
      ...i,
      classes: i.classes!.map((c) => ({
        ...c,
        floating: c.bit === CLASS_DEVICE1 ? [...c.floating, parseIpv4('10.0.1.1')] : c.floating.filter((ip) => ip !== parseIpv4('10.0.1.1')),
      })),
    }));
    t.p.commit({ interfaces: moved, routes: RouteTable.fromConfig({ interfaces: [], routes: [] }), firewall: null }, null);
    expect(t.handle(0, whoHas('10.0.1.1'))).toEqual({ 'arp-learned': 1, 'arp-handled': 1 });
    t.role.servedClasses = CLASS_DEVICE1;
    t.handle(0, whoHas('10.0.1.1'));
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_D1, '10.0.1.1'));
    expect(t.p.floatingIps().filter((f) => f.ifIndex === 0)).toEqual([
      { ifIndex: 0, ip: parseIpv4('10.0.1.1'), bit: CLASS_DEVICE1 },
      { ifIndex: 0, ip: parseIpv4('10.0.1.4'), bit: CLASS_DEVICE1 },
      { ifIndex: 0, ip: parseIpv4('10.0.1.5'), bit: CLASS_PRIMARY },
    ]);
  });

  it('with virtual MACs off, a new real MAC becomes every class MAC', () => {
    const t = make({ served: CLASS_DEVICE0, virtualMacs: false });
    t.p.updateDevice(0, { mtu: 1500, realMac: parseMac('0a:00:00:00:01:99') });
    expect(t.p.interfaces[0].classes!.map((c) => formatMac(c.mac))).toEqual(['0a:00:00:00:01:99', '0a:00:00:00:01:99', '0a:00:00:00:01:99']);
    t.handle(0, whoHas('10.0.1.1'));
    expect(formatMac(t.sent[0].frame, 6)).toBe('0a:00:00:00:01:99');
  });

  it('class MACs survive a new real MAC', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    t.p.updateDevice(0, { mtu: 1500, realMac: parseMac('0a:00:00:00:01:99') });
    t.handle(0, whoHas('10.0.1.4'));
    expect(t.sent[0].frame.subarray(0, 42)).toEqual(replyFrom(LAN_D1, '10.0.1.4'));
  });
});

describe('active/passive ignores the pair view', () => {
  it('answers every floating IP with the one MAC, whatever servedClasses says', () => {
    const t = make({ served: 0 });
    const ap = t.p.interfaces.map(({ classes: _classes, ...rest }) => ({
      ...rest,
      mac: parseMac(rest.name === 'lan' ? '02:74:64:00:07:01' : '02:74:64:00:07:02'),
    }));
    const p = new Pipeline(ap, RouteTable.fromConfig({ interfaces: [], routes: [] }), t.role, new Float64Array(COUNTER_COUNT), {
      send: (i, f, n) => (t.sent.push({ ifIndex: i, frame: Buffer.from(f.subarray(0, n)) }), true),
    });
    for (const ip of ['10.0.1.1', '10.0.1.4', '10.0.1.5']) p.handle(0, buf(whoHas(ip)), whoHas(ip).length, NOW);
    expect(t.sent.map((x) => x.frame.subarray(0, 42))).toEqual(['10.0.1.1', '10.0.1.4', '10.0.1.5'].map((ip) => replyFrom('02:74:64:00:07:01', ip)));
    expect(p.floatingIps().map((f) => f.bit)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('active/active send gate', () => {
  it("withholds a frame staged from any class's MAC once the box is no longer active", () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const withheld: string[] = [];
    const gate = sendGate(
      t.role,
      () => NOW,
      () => [t.p.interfaces[0]],
      () => withheld.push('x'),
    );
    t.role.role = ROLE_PASSIVE;
    expect(gate.changed()).toBe(true);
    for (const mac of [LAN_D0, LAN_D1, LAN_PR]) expect(gate.fix(buf(eth(CLIENT, mac, 0x0806, new Array(46).fill(0))), 0, 60)).toBe(false);
    expect(gate.fix(buf(eth(CLIENT, LAN_REAL, 0x0806, new Array(46).fill(0))), 0, 60)).toBe(true);
    expect(withheld.length).toBe(3);
  });

  it('moves a frame staged from a class MAC to the real MAC when a hand-over began', () => {
    const t = make({ served: CLASS_DEVICE0 | CLASS_DEVICE1 });
    const gate = sendGate(
      t.role,
      () => NOW,
      () => [t.p.interfaces[0]],
      () => undefined,
    );
    t.role.handingOver = true;
    const f = buf(eth(CLIENT, LAN_D1, 0x0806, new Array(46).fill(0)));
    expect(gate.fix(f, 0, 60)).toBe(true);
    expect(formatMac(f, 6)).toBe(LAN_REAL);
  });
});
