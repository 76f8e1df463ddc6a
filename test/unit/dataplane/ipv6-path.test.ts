// The IPv6 half of the packet path through a Pipeline with the firewall: neighbour discovery for
// the floating addresses, echo to them, forwarding with sessions and policy, next-hop resolution,
// hop limit and packet too big, and router advertisements from the active only.
import { describe, expect, it } from 'vitest';
import { ipv6Key, parseIpv6 } from '../../../src/net/ipv6.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import type { RouterAdvertisementConfig } from '../../../src/config/types.js';
import { CLIENT, CLIENT_MAC, LAN, LAN_FLOAT, LAN_LL, LAN_V, makeIpv6Rig, SERVER, SERVER_MAC, WAN, WAN_REAL, WAN_V, type Ipv6RigOptions } from './ipv6-rig.js';
import { eth6, icmp6, ip6, nsFrame as ns, tcp6, udp6, withChecksum6 } from './frames6.js';

const DEFAULT_RULES = [
  { name: 'v6-web', from: ['trust'], to: ['untrust'], source: ['2001:db8:1::/64'], destination: ['any'], service: ['tcp/80', 'icmp'], action: 'allow' },
  { name: 'v6-dns-reject', from: ['trust'], to: ['untrust'], service: ['udp/53'], action: 'reject' },
];

function rig(opts: Partial<Ipv6RigOptions> = {}) {
  return makeIpv6Rig({ rules: DEFAULT_RULES, ...opts });
}

const hex = (b: Uint8Array, off: number, n: number) => [...b.subarray(off, off + n)];
const mac = (s: string) => [...parseMac(s)];

/** A solicited neighbour advertisement for `target` with its link-layer address. */
function na(src: string, srcMac: string, dst: string, dstMac: string, target: string): Uint8Array {
  // S only when answering one node (RFC 4861 7.1.2: never to a multicast destination)
  const flags = dst.startsWith('ff') ? 0x20 : 0x60;
  const body = [flags, 0, 0, 0, ...ip6(target), 2, 1, ...mac(srcMac)];
  return eth6(dstMac, srcMac, { src, dst, next: 58, hopLimit: 255, payload: icmp6(src, dst, 136, 0, body) });
}

const syn = (hopLimit = 64) => eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: SERVER, next: 6, hopLimit, payload: tcp6(CLIENT, SERVER, 40000, 80) });

describe('IPv6 path: neighbour discovery for floating addresses', () => {
  it('the active answers a solicitation for a floating address with R, S and O set, from the virtual MAC', () => {
    const r = rig();
    const { moved, out } = r.send(LAN, ns(CLIENT, CLIENT_MAC, LAN_FLOAT));
    expect(moved).toEqual({ 'nd-advert-sent': 1, tx: 1 });
    const f = out[0].frame;
    expect(hex(f, 0, 6)).toEqual(mac(CLIENT_MAC));
    expect(hex(f, 6, 6)).toEqual(mac(LAN_V));
    expect(f[54]).toBe(136); // neighbour advertisement
    expect(f[58]).toBe(0xe0); // R, S, O
    expect(hex(f, 62, 16)).toEqual(ip6(LAN_FLOAT));
    expect(hex(f, 80, 6)).toEqual(mac(LAN_V)); // target link-layer address option
    // the solicitor's link-layer option taught us its MAC
    expect(r.p.v6.neighbours[LAN].lookup(ipv6Key(parseIpv6(CLIENT)), 1000)).not.toBeNull();
  });

  it("answers the floating link-local address too, and leaves the box's own address to the kernel", () => {
    const r = rig();
    expect(r.send(LAN, ns(CLIENT, CLIENT_MAC, LAN_LL)).moved).toEqual({ 'nd-advert-sent': 1, tx: 1 });
    expect(r.send(LAN, ns(CLIENT, CLIENT_MAC, '2001:db8:1::2')).moved).toEqual({ 'to-kernel': 1 });
    expect(r.send(LAN, ns(CLIENT, CLIENT_MAC, '2001:db8:1::99')).moved).toEqual({ 'nd-handled': 1 });
  });

  it('the passive answers nothing', () => {
    const r = rig({ active: false });
    const { moved, out } = r.send(LAN, ns(CLIENT, CLIENT_MAC, LAN_FLOAT));
    expect(moved).toEqual({ passive: 1 });
    expect(out).toEqual([]);
  });

  it('a solicitation that was routed (hop limit 64) is dropped as forged', () => {
    const r = rig();
    const f = ns(CLIENT, CLIENT_MAC, LAN_FLOAT);
    f[14 + 7] = 64;
    expect(r.send(LAN, f).moved).toEqual({ 'nd-hop-limit': 1 });
  });

  it('another node advertising a floating address is counted and changes nothing', () => {
    const r = rig();
    expect(r.send(LAN, na(CLIENT, CLIENT_MAC, 'ff02::1', '33:33:00:00:00:01', LAN_FLOAT)).moved).toEqual({ 'nd-conflict': 1 });
  });
});

describe('IPv6 path: echo and forwarding', () => {
  it('answers a ping to a floating address from the virtual MAC', () => {
    const r = rig();
    const ping = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: LAN_FLOAT, next: 58, payload: icmp6(CLIENT, LAN_FLOAT, 128, 0, [0, 7, 0, 1, 1, 2, 3, 4]) });
    const { moved, out } = r.send(LAN, ping);
    expect(moved).toEqual({ 'icmp-echo-reply-sent': 1, tx: 1 });
    expect(out[0].frame[54]).toBe(129);
    expect(hex(out[0].frame, 22, 16)).toEqual(ip6(LAN_FLOAT));
  });

  it('forwards an allowed SYN once its next hop answers the solicitation, and its reply through the session', () => {
    const r = rig();
    const first = r.send(LAN, syn());
    expect(first.moved).toMatchObject({ 'session-created': 1, forwarded: 1, 'nd-queued': 1, 'nd-solicit-sent': 1 });
    // the solicitation: from the box's own address and real MAC, to the server's solicited-node group
    const sol = first.out[0].frame;
    expect(first.out[0].ifIndex).toBe(WAN);
    expect(hex(sol, 6, 6)).toEqual(mac(WAN_REAL));
    expect(hex(sol, 22, 16)).toEqual(ip6('2001:db8:2::2'));
    expect(hex(sol, 62, 16)).toEqual(ip6(SERVER));
    const answered = r.send(WAN, na(SERVER, SERVER_MAC, '2001:db8:2::2', WAN_REAL, SERVER));
    expect(answered.moved).toEqual({ 'nd-learned': 1, 'nd-handled': 1, tx: 1 });
    const out = answered.out[0].frame;
    expect(hex(out, 0, 6)).toEqual(mac(SERVER_MAC));
    expect(hex(out, 6, 6)).toEqual(mac(WAN_V));
    expect(out[21]).toBe(63); // hop limit - 1
    // the SYN-ACK comes back through the session to the client (learned from its solicitation)
    r.learn(LAN, CLIENT, CLIENT_MAC);
    const synAck = tcp6(SERVER, CLIENT, 80, 40000);
    synAck[13] = 0x12;
    synAck[8] = 0;
    synAck[11] = 2; // ack = 2 (the SYN's seq 1 + 1)
    const fixed = eth6(WAN_V, SERVER_MAC, { src: SERVER, dst: CLIENT, next: 6, payload: reChecksum(SERVER, CLIENT, synAck) });
    expect(r.send(WAN, fixed).moved).toEqual({ forwarded: 1, tx: 1 });
    const sessions = r.p.firewall!.sessions({}, 10, 1000);
    expect(sessions.sessions[0].original).toEqual({ src: CLIENT, srcPort: 40000, dst: SERVER, dstPort: 80 });
    expect(sessions.sessions[0].state).toBe('syn-recv');
  });

  it('drops what policy denies, and rejects with ICMPv6 administratively prohibited', () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const telnet = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: SERVER, next: 6, payload: tcp6(CLIENT, SERVER, 40000, 23) });
    expect(r.send(LAN, telnet).moved).toEqual({ 'policy-deny': 1 });
    const dns = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: SERVER, next: 17, payload: udp6(CLIENT, SERVER, 5353, 53, [1, 2, 3, 4]) });
    const { moved, out } = r.send(LAN, dns);
    expect(moved).toEqual({ 'policy-reject': 1, 'reject-sent': 1, tx: 1 });
    expect(out[0].frame[54]).toBe(1); // destination unreachable
    expect(out[0].frame[55]).toBe(1); // administratively prohibited
    expect(hex(out[0].frame, 22, 16)).toEqual(ip6(LAN_FLOAT));
  });

  it('answers hop limit 1 with time exceeded, and a packet over the egress MTU with packet too big', () => {
    const r = rig({ wanMtu: 1280 });
    r.learn(WAN, SERVER, SERVER_MAC);
    const te = r.send(LAN, syn(1));
    expect(te.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expect(te.out[0].frame[54]).toBe(3);
    const big = eth6(LAN_V, CLIENT_MAC, {
      src: CLIENT,
      dst: SERVER,
      next: 58,
      payload: icmp6(CLIENT, SERVER, 128, 0, [0, 9, 0, 1, ...new Array(1400).fill(7)]),
    });
    const ptb = r.send(LAN, big);
    expect(ptb.moved).toMatchObject({ oversize: 1, 'icmp-error-sent': 1 });
    const f = ptb.out[0].frame;
    expect(f[54]).toBe(2); // packet too big
    expect((f[58] << 24) | (f[59] << 16) | (f[60] << 8) | f[61]).toBe(1280);
    expect(f.length).toBeLessThanOrEqual(14 + 1280);
  });

  it('clamps the MSS of an IPv6 SYN to the interface clamp less the 20 bytes IPv6 adds', () => {
    const r = rig({ wanMssClamp: 1360 });
    r.learn(WAN, SERVER, SERVER_MAC);
    const seg = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4];
    const f = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: SERVER, next: 6, payload: withChecksum6(CLIENT, SERVER, 6, seg, 16) });
    const { moved, out } = r.send(LAN, f);
    expect(moved).toMatchObject({ 'mss-clamped': 1, forwarded: 1 });
    const o = out[0].frame;
    expect((o[76] << 8) | o[77]).toBe(1340);
    // the checksum still verifies: recomputed from scratch, it matches what the clamp wrote
    const l4 = [...o.subarray(54, 78)];
    expect(withChecksum6(CLIENT, SERVER, 6, l4, 16)).toEqual(l4);
  });

  it('never forwards link-local or multicast destinations', () => {
    const r = rig();
    const ll = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: 'fe80::99', next: 17, payload: udp6(CLIENT, 'fe80::99', 1, 2, []) });
    expect(r.send(LAN, ll).moved).toEqual({ 'ip6-scope': 1 });
    const mc = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: 'ff05::2', next: 17, payload: udp6(CLIENT, 'ff05::2', 1, 2, []) });
    expect(r.send(LAN, mc).moved).toEqual({ 'ip6-multicast': 1 });
  });
});

describe('IPv6 path: router advertisements', () => {
  const ras: RouterAdvertisementConfig[] = [
    {
      interface: 'lan',
      prefixes: [{ prefix: '2001:db8:1::/64', onLink: true, autonomous: false, validS: 86400, preferredS: 14400 }],
      intervalS: { min: 200, max: 600 },
      routerLifetimeS: 1800,
      hopLimit: 64,
      managed: false,
      other: false,
    },
  ];

  it('the active advertises from the floating link-local address and the virtual MAC; the passive never', () => {
    const r = rig({ ras });
    r.p.tick(1000);
    const ra = r.sent.filter((s) => s.frame[54] === 134);
    expect(ra.length).toBe(1);
    const f = ra[0].frame;
    expect(hex(f, 6, 6)).toEqual(mac(LAN_V));
    expect(hex(f, 22, 16)).toEqual(ip6(LAN_LL));
    expect(hex(f, 38, 16)).toEqual(ip6('ff02::1'));
    expect((f[60] << 8) | f[61]).toBe(1800); // router lifetime
    const passive = rig({ ras, active: false });
    passive.p.tick(1000);
    passive.p.tick(100_000);
    expect(passive.sent.filter((s) => s.frame[54] === 134)).toEqual([]);
  });

  it('an orderly end of the pair sends a last advertisement with router lifetime 0', () => {
    const r = rig({ ras });
    r.p.tick(1000);
    r.p.v6.retire();
    const ra = r.sent.filter((s) => s.frame[54] === 134);
    expect(ra.length).toBe(2);
    expect((ra[1].frame[60] << 8) | ra[1].frame[61]).toBe(0);
  });
});

/** Recomputes a TCP segment's checksum after edits. */
function reChecksum(src: string, dst: string, seg: number[]): number[] {
  const m = [...seg];
  m[16] = 0;
  m[17] = 0;
  const len = m.length;
  const pseudo = [...ip6(src), ...ip6(dst), 0, 0, len >> 8, len & 255, 0, 0, 0, 6];
  let sum = 0;
  const all = [...pseudo, ...m];
  for (let i = 0; i < all.length; i += 2) sum += (all[i] << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  m[16] = c >> 8;
  m[17] = c & 255;
  return m;
}
