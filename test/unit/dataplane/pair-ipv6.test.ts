// Two engines of an active/active pair carrying IPv6 (docs/active-active.md "IPv6"): the HA3
// INSERT and ACK of an IPv6 session (its whole addresses), an asymmetric flow whose answers cross
// HA3 to the session's owner, a setup by the peer, and the IPv6 session the peer holds after HA2.
import { describe, expect, it } from 'vitest';
import type { TandemConfig } from '../../../src/config/types.js';
import { ipv6Key, parseIpv6 } from '../../../src/net/ipv6.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { aaConfig } from './aa-helpers.js';
import { makePair, type Box } from './pair-rig.js';
import { eth6, tcp6, udp6 } from './frames6.js';

const CLIENT = '2001:db8:1::10';
const CLIENT_ODD = '2001:db8:1::11';
const SERVER = '2001:db8:2::10';
const CLIENT_MAC = '22:00:00:00:01:0a';
const SERVER_MAC = '22:00:00:00:02:0a';
const LAN = 0;
const WAN = 1;

const macText = (m: Uint8Array) => Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');

function dualStack(me: 0 | 1, aa: Parameters<typeof aaConfig>[1]): TandemConfig {
  const config = aaConfig(me, aa);
  config.shared.floatingIps.push(
    { interface: 'lan', address: '2001:db8:1::1/64', owner: 0 },
    { interface: 'lan', address: '2001:db8:1::4/64', owner: 1 },
    { interface: 'wan', address: '2001:db8:2::1/64', owner: 0 },
    { interface: 'wan', address: '2001:db8:2::4/64', owner: 1 },
  );
  config.device.interfaces.lan.address6 = `2001:db8:1::${2 + me}/64`;
  config.device.interfaces.wan.address6 = `2001:db8:2::${2 + me}/64`;
  return config;
}

function pair6(aa: Parameters<typeof aaConfig>[1]) {
  const pair = makePair(aa, [dualStack(0, aa), dualStack(1, aa)]);
  for (const box of [pair.a, pair.b]) {
    const n = box.engine.pipeline.v6.neighbours;
    n[LAN].learn(ipv6Key(parseIpv6(CLIENT)), parseMac(CLIENT_MAC), 0, 0);
    n[LAN].learn(ipv6Key(parseIpv6(CLIENT_ODD)), parseMac(CLIENT_MAC), 0, 0);
    n[WAN].learn(ipv6Key(parseIpv6(SERVER)), parseMac(SERVER_MAC), 0, 0);
  }
  pair.advance(200); // HELLOs: each box learns the other's HA3 MAC
  return pair;
}

/** A frame from a host to box `box`'s MAC on interface i. */
const to = (box: Box, i: number, srcMac: string, src: string, dst: string, l4: { next: number; payload: number[] }) =>
  eth6(macText(box.macOf(i)), srcMac, { src, dst, ...l4 });
/** A TCP segment (tcp6's: seq 1) with `flags`, acknowledging `ack` (the firewall does not check TCP checksums). */
const tcp = (src: string, dst: string, sport: number, dport: number, flags: number, ack = 0) => {
  const seg = tcp6(src, dst, sport, dport);
  seg[13] = flags;
  seg[11] = ack;
  return { next: 6, payload: seg };
};

describe('active/active IPv6 through two engines', () => {
  it('SYN through A held until B holds the IPv6 session (INSERT/ACK), the SYN-ACK through B carried to A', () => {
    const pair = pair6({ sessionSetup: 'first-packet', sessionOwner: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    a.rx('lan0', to(a, LAN, CLIENT_MAC, CLIENT, SERVER, tcp(CLIENT, SERVER, 40000, 80, 0x02)));
    expect(a.out.wan0).toEqual([]); // held: B does not hold the session yet
    pair.deliver(); // INSERT (112 bytes: the IPv6 words) to B, its 40-byte ACK back: the SYN leaves
    expect(a.counter('defer-acked')).toBe(1);
    expect(b.counter('ha3-bad-payload')).toBe(0);
    expect(a.out.wan0).toHaveLength(1);
    expect(b.engine.pipeline.firewall!.table.size).toBe(1);

    b.rx('wan0', to(b, WAN, SERVER_MAC, SERVER, CLIENT, tcp(SERVER, CLIENT, 80, 40000, 0x12, 2)));
    pair.deliver();
    expect(b.counter('to-owner')).toBe(1);
    expect(b.out.lan0).toEqual([]);
    expect(a.out.lan0).toHaveLength(1);
    expect(a.out.lan0[0].readUInt16BE(12)).toBe(0x86dd);
  });

  it('an odd IPv6 client reaching A is set up by B (ip-modulo on the whole address)', () => {
    const pair = pair6({ sessionSetup: 'ip-modulo', sessionOwner: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    a.rx('lan0', to(a, LAN, CLIENT_MAC, CLIENT_ODD, SERVER, { next: 17, payload: udp6(CLIENT_ODD, SERVER, 5000, 5001, [1, 2]) }));
    expect(a.counter('setup-to-peer')).toBe(1);
    pair.deliver();
    expect(b.counter('session-created')).toBe(1);
    expect(a.out.wan0).toEqual([]);
    pair.advance(20);
    expect(b.out.wan0).toHaveLength(1);
    expect(b.out.wan0[0].readUInt16BE(12)).toBe(0x86dd);
  });

  it('HA2 carries the IPv6 session: the peer holds it with its whole addresses', () => {
    const pair = pair6({ sessionSetup: 'first-packet', deferMs: 0 });
    const { a, b } = pair;
    a.rx('lan0', to(a, LAN, CLIENT_MAC, CLIENT, SERVER, { next: 17, payload: udp6(CLIENT, SERVER, 5000, 5001, [1]) }));
    pair.ha2();
    pair.advance(4);
    const addrs = Uint32Array.from([...parseIpv6(CLIENT), ...parseIpv6(SERVER)]);
    expect(b.engine.pipeline.firewall!.table.lookup6(17, addrs, 5000, 5001)).toBeGreaterThanOrEqual(0);
  });
});
