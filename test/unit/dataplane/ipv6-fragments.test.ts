// IPv6 fragments through a Pipeline with the firewall (ipv6-fragments.ts, ipv6-path.ts): the
// datagram is reassembled and decided whole, and what leaves is its original fragments, each as
// it came (hop limit - 1, MACs rewritten); a rule on the port drops every fragment; a later
// fragment alone never passes; the timeout answers with time exceeded code 1; a fragmented ping to
// a floating address is answered in fragments.
import { describe, expect, it } from 'vitest';
import { ETH_HLEN, parseMac } from '../../../src/dataplane/packet.js';
import { ipv6End, newIpv6Walk, walkIpv6 } from '../../../src/dataplane/packet6.js';
import { RA_DONE, Reassembler6 } from '../../../src/dataplane/reassembly6.js';
import { CLIENT, CLIENT_MAC, LAN, LAN_FLOAT, LAN_V, makeIpv6Rig, SERVER, SERVER_MAC, WAN, WAN_V } from './ipv6-rig.js';
import { eth6, ext, frag, icmp6, ip6, udp6 } from './frames6.js';

const NOW = 1000;

function rig(opts: { active?: boolean; wanMtu?: number } = {}) {
  const rules = [
    { name: 'v6-udp', from: ['trust'], to: ['untrust'], source: ['2001:db8:1::/64'], destination: ['any'], service: ['udp/5000'], action: 'allow' },
  ];
  return makeIpv6Rig({ rules, ...opts });
}

const mac = (s: string) => [...parseMac(s)];

/** `upper` (an upper layer of protocol `next`) cut into fragments of `step` bytes, as frames from the client to `dst`. */
function fragments(upper: number[], next: number, step: number, o: { dst?: string; id?: number; hopLimit?: number } = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < upper.length; off += step) {
    const more = off + step < upper.length;
    const payload = [...frag(next, off, more, o.id ?? 0x1234), ...upper.slice(off, off + step)];
    out.push(eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: o.dst ?? SERVER, next: 44, hopLimit: o.hopLimit ?? 64, payload }));
  }
  return out;
}

const udpTo = (port: number, n = 3000) =>
  udp6(
    CLIENT,
    SERVER,
    40000,
    port,
    Array.from({ length: n }, (_, i) => (i * 13) & 255),
  );

/** `f` as the pair forwards it: to the server's MAC from the WAN virtual MAC, hop limit - 1. */
function forwardedAs(f: Uint8Array): number[] {
  const x = [...f];
  x.splice(0, 12, ...mac(SERVER_MAC), ...mac(WAN_V));
  x[21]--;
  return x;
}

describe('IPv6 path: fragments', () => {
  it('a fragmented UDP datagram the policy allows leaves as its original fragments, in the order they came', () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const frags = fragments(udpTo(5000), 17, 1232);
    expect(frags).toHaveLength(3);
    expect(r.send(LAN, frags[2]).moved).toEqual({ 'fragment-held': 1 });
    expect(r.send(LAN, frags[0]).moved).toEqual({ 'fragment-held': 1 });
    const last = r.send(LAN, frags[1]);
    expect(last.moved).toEqual({ reassembled: 1, 'session-created': 1, forwarded: 1, tx: 3 });
    expect(last.out.map((o) => o.ifIndex)).toEqual([WAN, WAN, WAN]);
    expect(last.out.map((o) => [...o.frame])).toEqual([frags[2], frags[0], frags[1]].map(forwardedAs));
    // the session is the datagram's: a later datagram of the flow passes through it
    const again = fragments(udpTo(5000), 17, 1232, { id: 0x5678 });
    for (const f of again.slice(0, 2)) r.send(LAN, f);
    expect(r.send(LAN, again[2]).moved).toEqual({ reassembled: 1, forwarded: 1, tx: 3 });
  });

  it("a rule that denies the datagram's port drops all its fragments", () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const frags = fragments(udpTo(6000), 17, 1232);
    r.send(LAN, frags[0]);
    r.send(LAN, frags[1]);
    const last = r.send(LAN, frags[2]);
    expect(last.moved).toEqual({ reassembled: 1, 'policy-deny': 1 });
    expect(last.out).toEqual([]);
  });

  it('a later fragment alone never passes, even of a flow with a session; it times out without an error', () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const frags = fragments(udpTo(5000), 17, 1232);
    for (const f of frags) r.send(LAN, f);
    // the same flow's next datagram, its first fragment lost
    const later = fragments(udpTo(5000), 17, 1232, { id: 99 });
    expect(r.send(LAN, later[1]).moved).toEqual({ 'fragment-held': 1 });
    expect(r.send(LAN, later[2]).moved).toEqual({ 'fragment-held': 1 });
    expect(r.movedBy(() => r.p.tick(NOW + 59_999)).moved).toEqual({});
    const t = r.movedBy(() => r.p.tick(NOW + 60_000));
    expect(t.moved).toEqual({ 'frag-timeout': 1 });
    expect(t.out).toEqual([]);
    expect(r.p.v6.frags.reassembler.inFlight).toBe(0);
  });

  it('time exceeded, code 1, to the source 60 s after a first fragment that was never completed', () => {
    const r = rig();
    const first = fragments(udpTo(5000), 17, 1232)[0];
    r.send(LAN, first);
    const t = r.movedBy(() => r.p.tick(NOW + 60_000));
    expect(t.moved).toEqual({ 'frag-timeout': 1, 'icmp-error-sent': 1, tx: 1 });
    const err = t.out[0].frame;
    expect(t.out[0].ifIndex).toBe(LAN);
    expect([...err.subarray(0, 6)]).toEqual(mac(CLIENT_MAC));
    expect([err[54], err[55]]).toEqual([3, 1]);
    expect([...err.subarray(38, 54)]).toEqual(ip6(CLIENT));
    expect([...err.subarray(62, 62 + 40)]).toEqual([...first.subarray(14, 54)]); // the first fragment quoted
  });

  it('a fragment larger than the egress MTU is answered with packet too big, as any packet', () => {
    const r = rig({ wanMtu: 1280 });
    r.learn(WAN, SERVER, SERVER_MAC);
    const frags = fragments(udpTo(5000, 2000), 17, 1400);
    r.send(LAN, frags[0]);
    const last = r.send(LAN, frags[1]);
    // the first fragment (1448 bytes) is too big, the last (616) leaves
    expect(last.moved).toEqual({ reassembled: 1, 'session-created': 1, oversize: 1, 'icmp-error-sent': 1, forwarded: 1, tx: 2 });
    expect(last.out[0].ifIndex).toBe(LAN);
    expect(last.out[0].frame[54]).toBe(2);
    expect([...last.out[1].frame]).toEqual(forwardedAs(frags[1]));
  });

  it('each fragment keeps its own hop limit: one at 1 is answered with time exceeded, the others leave', () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const frags = fragments(udpTo(5000), 17, 1232);
    frags[1][21] = 1;
    for (const f of frags.slice(0, 2)) r.send(LAN, f);
    const last = r.send(LAN, frags[2]);
    expect(last.moved).toEqual({ reassembled: 1, 'session-created': 1, 'ttl-exceeded': 1, 'icmp-error-sent': 1, forwarded: 1, tx: 3 });
    expect(last.out.filter((o) => o.ifIndex === WAN).map((o) => [...o.frame])).toEqual([frags[0], frags[2]].map(forwardedAs));
  });

  it('a ping in fragments to a floating address is answered in fragments of the ingress MTU', () => {
    const r = rig();
    const body = Array.from({ length: 3000 }, (_, i) => i & 255);
    const ping = icmp6(CLIENT, LAN_FLOAT, 128, 0, [0, 7, 0, 1, ...body]);
    const frags = fragments(ping, 58, 1232, { dst: LAN_FLOAT });
    r.send(LAN, frags[0]);
    r.send(LAN, frags[1]);
    const last = r.send(LAN, frags[2]);
    expect(last.moved).toEqual({ reassembled: 1, fragmented: 1, 'icmp-echo-reply-sent': 1, tx: 3 });
    expect(last.out.every((o) => o.ifIndex === LAN && o.frame.length <= 14 + 1500)).toBe(true);
    // put together again, the reply is an echo reply from the floating address with the same data
    const ra = new Reassembler6();
    const w = newIpv6Walk();
    const results = last.out.map((o) => {
      expect(walkIpv6(o.frame, ETH_HLEN, ipv6End(o.frame, ETH_HLEN), w)).toBeNull();
      return ra.push(o.frame, w, 0, 0);
    });
    expect(results.at(-1)).toBe(RA_DONE);
    const reply = [...ra.out.subarray(0, ra.outLen)];
    const expected = eth6(CLIENT_MAC, LAN_V, { src: LAN_FLOAT, dst: CLIENT, next: 58, payload: icmp6(LAN_FLOAT, CLIENT, 129, 0, [0, 7, 0, 1, ...body]) });
    expect(reply).toEqual([...expected]);
  });

  it('a first fragment whose header chain is cut before the upper layer is tiny (RFC 7112)', () => {
    const r = rig();
    // a destination options header of 16 bytes, 8 of them in the first fragment
    const upper = [...ext(17, [1, 12, ...new Array(12).fill(0)]), ...udpTo(5000, 8)];
    const first = eth6(LAN_V, CLIENT_MAC, { src: CLIENT, dst: SERVER, next: 44, payload: [...frag(60, 0, true), ...upper.slice(0, 8)] });
    expect(r.send(LAN, first).moved).toEqual({ 'frag-tiny': 1 });
  });

  it('an atomic fragment (RFC 6946) is a whole packet: forwarded at once, fragment header and all', () => {
    const r = rig();
    r.learn(WAN, SERVER, SERVER_MAC);
    const [atomic] = fragments(udpTo(5000, 100), 17, 2000);
    const expected = forwardedAs(atomic); // the pipeline rewrites the frame it was given in place
    const res = r.send(LAN, atomic);
    expect(res.moved).toEqual({ 'session-created': 1, forwarded: 1, tx: 1 });
    expect([...res.out[0].frame]).toEqual(expected);
  });

  it('the passive holds no fragments', () => {
    const r = rig({ active: false });
    expect(r.send(LAN, fragments(udpTo(5000), 17, 1232)[0]).moved).toEqual({ passive: 1 });
    expect(r.p.v6.frags.reassembler.inFlight).toBe(0);
  });
});
