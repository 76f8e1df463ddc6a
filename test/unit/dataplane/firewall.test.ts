// The stateful firewall stage (src/dataplane/firewall.ts) driven through the Pipeline with crafted
// frames and no I/O: the lab's config (deploy/lab/fwa.yaml), a fake sink, time as an argument.
// Frames that leave are compared byte for byte with frames built from scratch by
// firewall-helpers.ts, and their checksums verified with checksum.ts (RFC 1071), so every
// incremental checksum update (RFC 1624) is checked against a full computation.
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_RULE_LABEL } from '../../../src/wire/session-view.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import {
  ACK,
  CLIENT,
  CLIENT2,
  CLIENT2_MAC,
  CLIENT_MAC,
  FIN,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  LAN,
  LAN_FLOAT,
  LAN_V,
  PSH,
  RST,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  WAN_V,
  badChecksums,
  echoPacket,
  forwarded,
  frame,
  icmpErrorPacket,
  labRaw,
  makeRig,
  sharedOf,
  tcpPacket,
  udpPacket,
  udpRawChecksum,
  view,
  type TcpOpts,
} from './firewall-helpers.js';
import { ipv4 } from './frames.js';

const NOW = 1_000_000;
const lab = () => sharedOf(labRaw());

/** A frame from the client (lan side) to the firewall's virtual MAC. */
const fromClient = (packet: number[], mac = CLIENT_MAC) => frame(LAN_V, mac, packet);
/** A frame from the server (wan side) to the firewall's virtual MAC. */
const fromServer = (packet: number[]) => frame(WAN_V, SERVER_MAC, packet);
/** What leaves on wan towards the server: the packet as built, TTL already decremented by the caller. */
const toServer = (packet: number[]) => frame(SERVER_MAC, WAN_V, packet);
const toClient = (packet: number[], mac = CLIENT_MAC) => frame(mac, LAN_V, packet);

describe('TCP through source NAT', () => {
  const C = 40000;
  const seg = (o: Partial<TcpOpts> & { flags: number }): TcpOpts => ({ src: CLIENT, dst: SERVER, sport: C, dport: 80, ...o });

  it('handshake, data and close: translated both ways, byte-exact, checksums valid', () => {
    const r = makeRig(lab());
    // SYN: leaves on wan from the wan floating IP and an allocated port
    const syn = r.send(LAN, fromClient(tcpPacket(seg({ flags: SYN, seq: 5000 }))), NOW);
    expect(syn.moved).toEqual(forwarded({ 'session-created': 1 }));
    expect(syn.out).toHaveLength(1);
    expect(syn.out[0].ifIndex).toBe(WAN);
    const out = syn.out[0].frame;
    const v = view(out);
    expect(v).toMatchObject({ src: WAN_FLOAT, dst: SERVER, dport: 80, ttl: 63, srcMac: WAN_V, dstMac: SERVER_MAC, tcpFlags: SYN });
    const P = v.sport;
    expect(P).toBeGreaterThanOrEqual(1024);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).isInUse(P)).toBe(true);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(1);
    expect(badChecksums(out)).toEqual([]);
    expect(out).toEqual(toServer(tcpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P, dport: 80, flags: SYN, seq: 5000, ttl: 63 })));

    // SYN-ACK from the server to the translated end: back to the client's own address and port
    const sa = r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | ACK, seq: 9000, ack: 5001 })), NOW + 1);
    expect(sa.moved).toEqual(forwarded());
    expect(sa.out).toHaveLength(1);
    expect(sa.out[0].ifIndex).toBe(LAN);
    expect(badChecksums(sa.out[0].frame)).toEqual([]);
    expect(sa.out[0].frame).toEqual(toClient(tcpPacket({ src: SERVER, dst: CLIENT, sport: 80, dport: C, flags: SYN | ACK, seq: 9000, ack: 5001, ttl: 63 })));

    // ACK, then data both ways (odd length: the checksum's padding byte)
    const data = [0x47, 0x45, 0x54, 0x20, 0x2f, 0x0d, 0x0a];
    for (const [flags, d] of [
      [ACK, []],
      [PSH | ACK, data],
    ] as const) {
      const a = r.send(LAN, fromClient(tcpPacket(seg({ flags, seq: 5001, ack: 9001, data: [...d] }))), NOW + 2);
      expect(a.moved).toEqual(forwarded());
      expect(a.out[0].frame).toEqual(
        toServer(tcpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P, dport: 80, flags, seq: 5001, ack: 9001, data: [...d], ttl: 63 })),
      );
      expect(badChecksums(a.out[0].frame)).toEqual([]);
    }
    const back = r.send(
      WAN,
      fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: PSH | ACK, seq: 9001, ack: 5008, data: [1, 2, 3] })),
      NOW + 3,
    );
    expect(back.out[0].frame).toEqual(
      toClient(tcpPacket({ src: SERVER, dst: CLIENT, sport: 80, dport: C, flags: PSH | ACK, seq: 9001, ack: 5008, data: [1, 2, 3], ttl: 63 })),
    );
    const [s] = r.fw.sessions({ protocol: 'tcp' }, 10, NOW + 3).sessions;
    expect(s.state).toBe('established');
    expect(s.packets).toEqual([3, 2]);

    // close: FIN from the client, ACK, FIN from the server, last ACK
    const steps: [number, number, string][] = [
      [LAN, FIN | ACK, 'fin-wait'],
      [WAN, ACK, 'close-wait'],
      [WAN, FIN | ACK, 'last-ack'],
      [LAN, ACK, 'time-wait'],
    ];
    for (const [from, flags, state] of steps) {
      const pkt =
        from === LAN
          ? fromClient(tcpPacket(seg({ flags, seq: 5008, ack: 9004 })))
          : fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags, seq: 9004, ack: 5009 }));
      const x = r.send(from, pkt, NOW + 4);
      expect(x.moved, state).toEqual(forwarded());
      expect(badChecksums(x.out[0].frame)).toEqual([]);
      expect(r.fw.sessions({ protocol: 'tcp' }, 10, NOW + 4).sessions[0].state).toBe(state);
    }
    // TIME_WAIT lasts min(tcpTransitoryS = 20, 120) s, then the session and its port go
    expect(r.fw.expire(NOW + 4 + 19_999)).toBe(0);
    expect(r.movedBy(() => expect(r.fw.expire(NOW + 4 + 20_000)).toBe(1))).toEqual({ 'session-expired': 1 });
    expect(r.fw.table.size).toBe(0);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
    expect(r.stats.protocol('tcp')).toEqual({ active: 0, created: 1, expired: 1, natPortsInUse: 0 });
  });

  it('a stray ACK, a bare FIN or a SYN+FIN opens nothing: tcp-no-session', () => {
    const r = makeRig(lab());
    for (const flags of [ACK, FIN | ACK, SYN | FIN, 0, SYN | ACK]) {
      const x = r.send(LAN, fromClient(tcpPacket(seg({ flags }))), NOW);
      expect(x.moved, `flags ${flags}`).toEqual({ 'tcp-no-session': 1 });
      expect(x.out).toEqual([]);
    }
    expect(r.fw.table.size).toBe(0);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
  });

  it('SYN+FIN on an open session is tcp-invalid and changes nothing', () => {
    const r = makeRig(lab());
    const P = view(r.send(LAN, fromClient(tcpPacket(seg({ flags: SYN }))), NOW).out[0].frame).sport;
    for (const [from, pkt] of [
      [LAN, fromClient(tcpPacket(seg({ flags: SYN | FIN })))],
      [WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | FIN }))],
    ] as const) {
      const x = r.send(from, pkt, NOW + 1);
      expect(x.moved).toEqual({ 'tcp-invalid': 1 });
      expect(x.out).toEqual([]);
    }
    expect(r.fw.sessions({}, 10, NOW + 1).sessions[0]).toMatchObject({ state: 'syn-sent', packets: [1, 0] });
  });

  it('a RST from the server closes the session (state close, expires within 10 s)', () => {
    const r = makeRig(lab());
    const P = view(r.send(LAN, fromClient(tcpPacket(seg({ flags: SYN }))), NOW).out[0].frame).sport;
    const x = r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: RST | ACK, seq: 0, ack: 1001 })), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    expect(x.out[0].frame).toEqual(toClient(tcpPacket({ src: SERVER, dst: CLIENT, sport: 80, dport: C, flags: RST | ACK, seq: 0, ack: 1001, ttl: 63 })));
    expect(r.fw.sessions({}, 10, NOW + 1).sessions[0].state).toBe('close');
    expect(r.fw.expire(NOW + 1 + 10_000)).toBe(1);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
  });
});

describe('UDP and ICMP echo through source NAT', () => {
  const out = (sport: number, data: number[], csum = true) => udpPacket({ src: CLIENT, dst: SERVER, sport, dport: 5000, data, csum });

  it('UDP with a checksum: translated and corrected; the reply comes back; the session becomes established', () => {
    const r = makeRig(lab());
    const data = [1, 2, 3, 4, 5];
    const x = r.send(LAN, fromClient(out(5353, data)), NOW);
    expect(x.moved).toEqual(forwarded({ 'session-created': 1 }));
    const P = view(x.out[0].frame).sport;
    expect(x.out[0].frame).toEqual(toServer(udpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P, dport: 5000, data, ttl: 63 })));
    expect(badChecksums(x.out[0].frame)).toEqual([]);
    expect(r.fw.sessions({}, 10, NOW).sessions[0].state).toBe('new');
    const y = r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P, data: [9, 8, 7] })), NOW + 1);
    expect(y.moved).toEqual(forwarded());
    expect(y.out[0].frame).toEqual(toClient(udpPacket({ src: SERVER, dst: CLIENT, sport: 5000, dport: 5353, data: [9, 8, 7], ttl: 63 })));
    expect(r.fw.sessions({}, 10, NOW + 1).sessions[0]).toMatchObject({ state: 'established', rule: 'lab-test', natRule: 'hide-lan', nat: 'source' });
  });

  it('UDP without a checksum: 0 stays 0 both ways', () => {
    const r = makeRig(lab());
    const x = r.send(LAN, fromClient(out(5353, [1, 2, 3], false)), NOW);
    const P = view(x.out[0].frame).sport;
    expect(x.out[0].frame).toEqual(toServer(udpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P, dport: 5000, data: [1, 2, 3], csum: false, ttl: 63 })));
    expect(x.out[0].frame.readUInt16BE(14 + 20 + 6)).toBe(0);
    const y = r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P, data: [4], csum: false })), NOW + 1);
    expect(y.out[0].frame.readUInt16BE(14 + 20 + 6)).toBe(0);
    expect(y.out[0].frame).toEqual(toClient(udpPacket({ src: SERVER, dst: CLIENT, sport: 5000, dport: 5353, data: [4], csum: false, ttl: 63 })));
  });

  it('a translated UDP checksum that computes to 0 is sent as 0xffff (RFC 768)', () => {
    const r = makeRig(lab());
    // the allocator's cursor rotates: the next port is the one after the first flow's
    const P1 = view(r.send(LAN, fromClient(out(6000, [0])), NOW).out[0].frame).sport;
    const P2 = P1 + 1;
    // two data bytes chosen so that the translated datagram's checksum computes to exactly 0
    let w = 0;
    const translated = (w: number) => udpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P2, dport: 5000, data: [w >> 8, w & 255] }).slice(20);
    while (udpRawChecksum(WAN_FLOAT, SERVER, translated(w)) !== 0) w++;
    const x = r.send(LAN, fromClient(out(6001, [w >> 8, w & 255])), NOW);
    expect(view(x.out[0].frame).sport).toBe(P2);
    expect(x.out[0].frame.readUInt16BE(14 + 20 + 6)).toBe(0xffff);
    expect(badChecksums(x.out[0].frame)).toEqual([]);
  });

  it('ICMP echo: the identifier is translated on the way out and back on the reply', () => {
    const r = makeRig(lab());
    const x = r.send(LAN, fromClient(echoPacket(CLIENT, SERVER, 8, 0x77, 3)), NOW);
    expect(x.moved).toEqual(forwarded({ 'session-created': 1 }));
    const id = view(x.out[0].frame).icmpId;
    expect(id).not.toBe(0x77);
    expect(r.ports(IPPROTO_ICMP, WAN_FLOAT).isInUse(id)).toBe(true);
    expect(x.out[0].frame).toEqual(toServer(echoPacket(WAN_FLOAT, SERVER, 8, id, 3, 63)));
    expect(badChecksums(x.out[0].frame)).toEqual([]);
    const y = r.send(WAN, fromServer(echoPacket(SERVER, WAN_FLOAT, 0, id, 3)), NOW + 1);
    expect(y.moved).toEqual(forwarded());
    expect(y.out[0].frame).toEqual(toClient(echoPacket(SERVER, CLIENT, 0, 0x77, 3, 63)));
    expect(r.fw.sessions({ protocol: 'icmp' }, 10, NOW + 1).sessions[0]).toMatchObject({
      state: 'established',
      rule: 'ping',
      nat: 'source',
      natRule: 'hide-lan',
      original: { src: CLIENT, srcPort: 0x77, dst: SERVER, dstPort: 0x77 },
      reply: { src: SERVER, srcPort: id, dst: WAN_FLOAT, dstPort: id },
    });
    // an echo reply nobody asked for, to an inside host, is no session (to the floating IP: the
    // pipeline's icmp-bad, see the last describe)
    expect(r.send(WAN, fromServer(echoPacket(SERVER, CLIENT, 0, 0x77)), NOW + 2).moved).toEqual({ 'icmp-no-session': 1 });
  });
  // The view puts the echo identifier in every port field: natKind() over those tuples took the
  // translated identifier for a translated destination and showed 'both'.
  it("a source-NATed ping shows nat 'source' in the operator view", () => {
    const r = makeRig(lab());
    r.send(LAN, fromClient(echoPacket(CLIENT, SERVER, 8, 0x77)), NOW);
    expect(r.fw.sessions({ protocol: 'icmp' }, 10, NOW).sessions[0].nat).toBe('source');
  });
});

/** The lab's config with a reject rule and an explicit deny rule after its own rules. */
function policyLab() {
  const raw = labRaw();
  raw.shared.policy.rules.push(
    { name: 'no-telnet', from: ['trust'], to: ['untrust'], service: ['tcp/23', 'udp/69'], action: 'reject' },
    { name: 'no-smb', from: ['trust'], to: ['untrust'], service: ['tcp/445'], action: 'deny' },
  );
  return sharedOf(raw);
}

describe('policy', () => {
  it('a flow no rule allows is dropped by the default action and counted as its hit', () => {
    const shared = policyLab();
    const r = makeRig(shared);
    const x = r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 53 })), NOW);
    expect(x.moved).toEqual({ 'policy-deny': 1 });
    expect(x.out).toEqual([]);
    expect(r.stats.defaultHits()).toBe(1);
    expect(r.fw.table.size).toBe(0);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(0);
    // from outside in, nothing is allowed either
    expect(r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: CLIENT, sport: 1, dport: 80, flags: SYN })), NOW).moved).toEqual({ 'policy-deny': 1 });
    expect(r.stats.defaultHits()).toBe(2);
  });

  it('an explicit deny rule drops and counts its own hit', () => {
    const shared = policyLab();
    const r = makeRig(shared);
    const x = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 445, flags: SYN })), NOW);
    expect(x.moved).toEqual({ 'policy-deny': 1 });
    expect(x.out).toEqual([]);
    const names = shared.policy.rules.map((rule) => rule.name);
    expect(r.stats.policyHits(names.indexOf('no-smb'))).toBe(1);
    expect(r.stats.defaultHits()).toBe(0);
    // an allowed flow counts its rule too
    r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 443, flags: SYN })), NOW);
    expect(r.stats.policyHits(names.indexOf('web-out'))).toBe(1);
    expect(r.stats.natHits(0)).toBe(1);
  });

  it('a rejected TCP SYN is answered with a RST out of the ingress interface', () => {
    const r = makeRig(policyLab());
    const x = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 23, flags: SYN, seq: 777 })), NOW);
    expect(x.moved).toEqual({ 'policy-reject': 1, 'reject-sent': 1, tx: 1 });
    expect(x.out).toHaveLength(1);
    expect(x.out[0].ifIndex).toBe(LAN);
    // RFC 9293 3.10.7.1: no ACK in the segment -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    const rst = tcpPacket({ src: SERVER, dst: CLIENT, sport: 23, dport: 40000, flags: RST | ACK, seq: 0, ack: 778, win: 0, ttl: 64, id: 0 });
    expect(x.out[0].frame).toEqual(frame(CLIENT_MAC, LAN_V, rst, 60));
    expect(badChecksums(x.out[0].frame)).toEqual([]);
    expect(r.fw.table.size).toBe(0);
  });

  it('a rejected UDP datagram is answered with ICMP unreachable (administratively prohibited)', () => {
    const r = makeRig(policyLab());
    const pkt = udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 69, data: [0, 1, 0x66, 0x6f, 0x6f, 0, 0x6f, 0x63, 0x74, 0x65, 0x74, 0] });
    const x = r.send(LAN, fromClient(pkt), NOW);
    expect(x.moved).toEqual({ 'policy-reject': 1, 'reject-sent': 1, tx: 1 });
    expect(x.out[0].ifIndex).toBe(LAN);
    // from the ingress interface's floating IP, quoting the IP header and 8 bytes (RFC 792)
    const unreach = icmpErrorPacket(LAN_FLOAT, CLIENT, 3, 13, pkt.slice(0, 28), 64, 0);
    expect(x.out[0].frame).toEqual(frame(CLIENT_MAC, LAN_V, unreach, 60));
    expect(badChecksums(x.out[0].frame)).toEqual([]);
  });

  it('reject answers share the ICMP error rate limit: a flood gets the burst, then one per 100 ms', () => {
    const r = makeRig(policyLab());
    const syn = (sport: number) => fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport, dport: 23, flags: SYN }));
    let sent = 0;
    let limited = 0;
    for (let i = 0; i < 100; i++) {
      const x = r.send(LAN, syn(40000 + i), NOW);
      expect(x.moved['policy-reject']).toBe(1);
      sent += x.moved['reject-sent'] ?? 0;
      limited += x.moved['reject-rate-limited'] ?? 0;
    }
    // the per-source defaults (icmp-rate.ts): burst 20, 10 per second
    expect([sent, limited]).toEqual([20, 80]);
    expect(r.send(LAN, syn(41000), NOW + 100).moved['reject-sent']).toBe(1);
    // another source has its own bucket
    const other = fromClient(tcpPacket({ src: CLIENT2, dst: SERVER, sport: 40000, dport: 23, flags: SYN }), CLIENT2_MAC);
    expect(r.send(LAN, other, NOW + 100).moved['reject-sent']).toBe(1);
  });
});

/** The lab's config publishing tcp/8080 of the wan floating IP to CLIENT:80 (as deploy/box-a.yaml's example). */
function dnatLab(allow = true) {
  const raw = labRaw();
  raw.shared.nat.push({
    name: 'web-in',
    from: 'untrust',
    to: 'untrust',
    destination: [WAN_FLOAT],
    service: ['tcp/8080'],
    translate: { destination: { address: CLIENT, port: 80 } },
  });
  if (allow)
    raw.shared.policy.rules.push({
      name: 'web-in',
      from: ['untrust'],
      to: ['trust'],
      destination: [`${WAN_FLOAT}/32`],
      service: ['tcp/8080'],
      action: 'allow',
    });
  return sharedOf(raw);
}

describe('destination NAT', () => {
  it('a SYN to the published port leaves on lan to the inside host; the answer comes from the published port', () => {
    const shared = dnatLab();
    const r = makeRig(shared);
    const x = r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN, seq: 1 })), NOW);
    expect(x.moved).toEqual(forwarded({ 'session-created': 1 }));
    expect(x.out[0].ifIndex).toBe(LAN);
    expect(x.out[0].frame).toEqual(toClient(tcpPacket({ src: SERVER, dst: CLIENT, sport: 50000, dport: 80, flags: SYN, seq: 1, ttl: 63 })));
    const y = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 80, dport: 50000, flags: SYN | ACK, seq: 70, ack: 2 })), NOW + 1);
    expect(y.moved).toEqual(forwarded());
    expect(y.out[0].ifIndex).toBe(WAN);
    expect(y.out[0].frame).toEqual(toServer(tcpPacket({ src: WAN_FLOAT, dst: SERVER, sport: 8080, dport: 50000, flags: SYN | ACK, seq: 70, ack: 2, ttl: 63 })));
    expect(badChecksums(y.out[0].frame)).toEqual([]);
    const [s] = r.fw.sessions({}, 10, NOW + 1).sessions;
    expect(s).toMatchObject({
      protocol: 'tcp',
      state: 'syn-recv',
      nat: 'destination',
      rule: 'web-in',
      natRule: 'web-in',
      ingress: 'wan',
      egress: 'lan',
      original: { src: SERVER, srcPort: 50000, dst: WAN_FLOAT, dstPort: 8080 },
      reply: { src: CLIENT, srcPort: 80, dst: SERVER, dstPort: 50000 },
    });
    expect(r.stats.natHits(shared.nat.findIndex((n) => n.name === 'web-in'))).toBe(1);
    expect(r.stats.natHits(0)).toBe(0);
    // no source port was allocated, and expiry frees none
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
    expect(r.fw.expire(NOW + 1 + 20_000)).toBe(1);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
  });

  it("a new flow's route is looked up once, for its translated destination (the firewall's, used by the pipeline)", () => {
    const r = makeRig(dnatLab());
    const lookup = vi.spyOn(RouteTable.prototype, 'lookup');
    try {
      r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN, seq: 1 })), NOW);
      expect(lookup.mock.calls).toEqual([[parseIpv4(CLIENT)]]);
      lookup.mockClear();
      // a packet of a known session: the pipeline's own lookup
      r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 80, dport: 50000, flags: SYN | ACK, seq: 70, ack: 2 })), NOW + 1);
      expect(lookup.mock.calls).toEqual([[parseIpv4(SERVER)]]);
    } finally {
      lookup.mockRestore();
    }
  });

  it('the published service still needs a policy rule; an unpublished port of the floating IP is local', () => {
    const r = makeRig(dnatLab(false));
    expect(r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN })), NOW).moved).toEqual({ 'policy-deny': 1 });
    expect(r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8081, flags: SYN })), NOW).moved).toEqual({
      'to-self-other': 1,
    });
    // published on wan only: from lan, the floating IP's 8080 is the box's own business
    expect(
      makeRig(dnatLab()).send(LAN, fromClient(tcpPacket({ src: CLIENT2, dst: WAN_FLOAT, sport: 1, dport: 8080, flags: SYN }), CLIENT2_MAC), NOW).moved,
    ).toEqual({ 'to-self-other': 1 });
  });
});

describe('ICMP errors', () => {
  const data = [1, 2, 3, 4, 5, 6];
  /** A UDP flow CLIENT:5353 -> SERVER:5000 through source NAT; returns the translated packet as it left and its port. */
  function udpFlow(r: ReturnType<typeof makeRig>) {
    const x = r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data })), NOW);
    const sent = [...x.out[0].frame.subarray(14)];
    return { sent, P: view(x.out[0].frame).sport };
  }
  /** The client's datagram as it left the firewall, but with the client's own address and port (what the client must see quoted). */
  const clientQuote = () => udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000, data, ttl: 63 });

  it('a port unreachable from the server quoting the whole SNATed datagram reaches the client translated', () => {
    const r = makeRig(lab());
    const { sent } = udpFlow(r);
    const x = r.send(WAN, fromServer(icmpErrorPacket(SERVER, WAN_FLOAT, 3, 3, sent)), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    expect(x.out[0].ifIndex).toBe(LAN);
    const out = x.out[0].frame;
    expect(view(out)).toMatchObject({ src: SERVER, dst: CLIENT, icmpType: 3, icmpCode: 3 });
    // outer IP and ICMP checksums, then the quoted IP header and UDP datagram (all of it is quoted)
    expect(badChecksums(out)).toEqual([]);
    expect(badChecksums(out, 14 + 20 + 8)).toEqual([]);
    expect(view(out.subarray(20 + 8))).toMatchObject({ src: CLIENT, sport: 5353, dst: SERVER, dport: 5000 });
    expect(out).toEqual(toClient(icmpErrorPacket(SERVER, CLIENT, 3, 3, clientQuote(), 63)));
    expect(r.fw.sessions({}, 10, NOW + 1).sessions[0].packets).toEqual([1, 1]);
  });

  it('a quote of the RFC 792 minimum (IP header + 8 bytes) is translated, its UDP checksum too', () => {
    const r = makeRig(lab());
    const { sent } = udpFlow(r);
    const x = r.send(WAN, fromServer(icmpErrorPacket(SERVER, WAN_FLOAT, 3, 3, sent.slice(0, 28))), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    expect(x.out[0].frame).toEqual(toClient(icmpErrorPacket(SERVER, CLIENT, 3, 3, clientQuote().slice(0, 28), 63)));
  });

  it('time exceeded from a router on the way keeps the router as its source', () => {
    const r = makeRig(lab());
    const { sent } = udpFlow(r);
    const x = r.send(WAN, fromServer(icmpErrorPacket('10.0.2.254', WAN_FLOAT, 11, 0, sent)), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    expect(x.out[0].frame).toEqual(toClient(icmpErrorPacket('10.0.2.254', CLIENT, 11, 0, clientQuote(), 63)));
  });

  it('an error from the client about the reply leaves as from the floating IP, quoting the translated end', () => {
    const r = makeRig(lab());
    const { P } = udpFlow(r);
    const reply = r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P, data: [7] })), NOW + 1);
    const received = [...reply.out[0].frame.subarray(14)]; // what the client got
    const x = r.send(LAN, fromClient(icmpErrorPacket(CLIENT, SERVER, 3, 3, received)), NOW + 2);
    expect(x.moved).toEqual(forwarded());
    expect(x.out[0].ifIndex).toBe(WAN);
    const quote = udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P, data: [7], ttl: 63 });
    expect(x.out[0].frame).toEqual(toServer(icmpErrorPacket(WAN_FLOAT, SERVER, 3, 3, quote, 63)));
  });

  it('an error from the inside host of a published service speaks as the published address', () => {
    const r = makeRig(dnatLab());
    const syn = r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN, seq: 1 })), NOW);
    const got = [...syn.out[0].frame.subarray(14)];
    const x = r.send(LAN, fromClient(icmpErrorPacket(CLIENT, SERVER, 3, 3, got)), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    const quote = tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN, seq: 1, ttl: 63 });
    expect(x.out[0].frame).toEqual(toServer(icmpErrorPacket(WAN_FLOAT, SERVER, 3, 3, quote, 63)));
    expect(badChecksums(x.out[0].frame, 14 + 28)).toEqual([]);
  });

  it('time exceeded quoting a source-NATed echo request gives the client back its own identifier', () => {
    const r = makeRig(lab());
    const x = r.send(LAN, fromClient(echoPacket(CLIENT, SERVER, 8, 0x4242, 9)), NOW);
    const id = view(x.out[0].frame).icmpId;
    const y = r.send(WAN, fromServer(icmpErrorPacket('10.0.2.254', WAN_FLOAT, 11, 0, [...x.out[0].frame.subarray(14)])), NOW + 1);
    expect(id).not.toBe(0x4242);
    expect(y.moved).toEqual(forwarded());
    expect(y.out[0].frame).toEqual(toClient(icmpErrorPacket('10.0.2.254', CLIENT, 11, 0, echoPacket(CLIENT, SERVER, 8, 0x4242, 9, 63), 63)));
    expect(badChecksums(y.out[0].frame, 14 + 28)).toEqual([]);
  });

  it('an error quoting no known flow is icmp-no-session; a bad one is icmp-bad', () => {
    const r = makeRig(lab());
    udpFlow(r);
    const stranger = udpPacket({ src: WAN_FLOAT, dst: SERVER, sport: 9, dport: 5000, data });
    const x = r.send(WAN, fromServer(icmpErrorPacket(SERVER, WAN_FLOAT, 3, 3, stranger)), NOW + 1);
    expect(x.moved).toEqual({ 'icmp-no-session': 1 });
    expect(x.out).toEqual([]);
    const bad = icmpErrorPacket(SERVER, WAN_FLOAT, 3, 3, stranger);
    bad[20 + 2] ^= 0xff; // ICMP checksum
    expect(r.send(WAN, fromServer(bad), NOW + 1).moved).toEqual({ 'icmp-bad': 1 });
  });

  it('an error about a flow without ports (GRE) matches its session and reaches the inside host', () => {
    const raw = labRaw();
    raw.shared.policy.rules.push({ name: 'tunnels', from: ['trust'], to: ['untrust'], service: ['any'], action: 'allow' });
    const r = makeRig(sharedOf(raw));
    const gre = ipv4({ src: CLIENT, dst: SERVER, proto: 47, payload: [0, 0, 0x08, 0, 1, 2, 3, 4] });
    const out = r.send(LAN, fromClient(gre), NOW);
    expect(out.moved).toEqual(forwarded({ 'session-created': 1 }));
    const x = r.send(WAN, fromServer(icmpErrorPacket('10.0.2.254', WAN_FLOAT, 3, 4, [...out.out[0].frame.subarray(14)])), NOW + 1);
    expect(x.moved).toEqual(forwarded());
    expect(view(x.out[0].frame)).toMatchObject({ src: '10.0.2.254', dst: CLIENT, icmpType: 3, icmpCode: 4 });
    expect(badChecksums(x.out[0].frame)).toEqual([]);
  });

  it('a redirect is not let through, even one quoting a known flow (RFC 1812 5.2.7.2): icmp-unsupported', () => {
    const r = makeRig(lab());
    const { sent } = udpFlow(r);
    const x = r.send(WAN, fromServer(icmpErrorPacket('10.0.2.254', SERVER, 5, 1, sent)), NOW + 1);
    expect(x.moved).toEqual({ 'icmp-unsupported': 1 });
    expect(x.out).toEqual([]);
  });
});

describe('expiry, a full table, the operator view', () => {
  it('expiry removes the session and frees its NAT port; traffic pushes it back', () => {
    const r = makeRig(lab());
    const P = view(r.send(LAN, fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport: 5353, dport: 5000 })), NOW).out[0].frame).sport;
    r.send(LAN, fromClient(udpPacket({ src: CLIENT2, dst: SERVER, sport: 5353, dport: 5000 }), CLIENT2_MAC), NOW + 10_000);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(2);
    expect(r.stats.protocol('udp')).toEqual({ active: 2, created: 2, expired: 0, natPortsInUse: 2 });
    // udpS = 30: the first at NOW + 30 s, unless a packet comes
    expect(r.fw.expire(NOW + 29_999)).toBe(0);
    expect(r.movedBy(() => expect(r.fw.expire(NOW + 30_000)).toBe(1))).toEqual({ 'session-expired': 1 });
    expect(r.fw.table.size).toBe(1);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(1);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).isInUse(P)).toBe(false);
    expect(r.stats.protocol('udp')).toEqual({ active: 1, created: 2, expired: 1, natPortsInUse: 1 });
    // the late answer to the expired port is no session: the floating IP's own business
    expect(r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P })), NOW + 30_001).moved).toEqual({ 'to-self-other': 1 });
    // the second, refreshed by its reply at +35 s, lives until +65 s
    const P2 = r.fw.sessions({ address: CLIENT2 }, 10, NOW).sessions[0].reply.dstPort;
    expect(r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: P2 })), NOW + 35_000).moved).toEqual(forwarded());
    expect(r.fw.expire(NOW + 64_999)).toBe(0);
    expect(r.fw.expire(NOW + 65_000)).toBe(1);
    expect(r.fw.table.size).toBe(0);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(0);
  });

  it('a full table drops new flows (session-table-full) without evicting or leaking a port', () => {
    const raw = labRaw();
    raw.shared.sessions.max = 2;
    const r = makeRig(sharedOf(raw));
    const u = (sport: number) => fromClient(udpPacket({ src: CLIENT, dst: SERVER, sport, dport: 5000 }));
    expect(r.send(LAN, u(1), NOW).moved).toEqual(forwarded({ 'session-created': 1 }));
    expect(r.send(LAN, u(2), NOW + 1000).moved).toEqual(forwarded({ 'session-created': 1 }));
    const third = r.send(LAN, u(3), NOW + 2000);
    expect(third.moved).toEqual({ 'session-table-full': 1 });
    expect(third.out).toEqual([]);
    expect(r.stats.tableFullDrops()).toBe(1);
    expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(2);
    expect(r.fw.table.size).toBe(2);
    // the two sessions still pass traffic
    expect(r.send(LAN, u(1), NOW + 3000).moved).toEqual(forwarded());
    expect(r.send(LAN, u(2), NOW + 3000).moved).toEqual(forwarded());
    // once one expires, a new flow gets its place
    expect(r.fw.expire(NOW + 3000 + 30_000)).toBe(2);
    expect(r.send(LAN, u(3), NOW + 40_000).moved).toEqual(forwarded({ 'session-created': 1 }));
  });

  it('the operator view lists the tuples, state, NAT kind and rule names, filtered and limited', () => {
    const r = makeRig(dnatLab());
    const T = NOW;
    r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 443, flags: SYN })), T);
    r.send(LAN, fromClient(udpPacket({ src: CLIENT2, dst: SERVER, sport: 5353, dport: 5001 }), CLIENT2_MAC), T);
    r.send(LAN, fromClient(echoPacket(CLIENT, SERVER, 8, 0x99)), T);
    r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 50000, dport: 8080, flags: SYN })), T);
    const all = r.fw.sessions({}, 100, T + 5_000);
    expect(all).toMatchObject({ total: 4, matched: 4, truncated: false });
    const tcpOut = all.sessions.find((s) => s.original.dstPort === 443)!;
    expect(tcpOut).toMatchObject({
      protocol: 'tcp',
      state: 'syn-sent',
      nat: 'source',
      rule: 'web-out',
      natRule: 'hide-lan',
      ingress: 'lan',
      egress: 'wan',
      original: { src: CLIENT, srcPort: 40000, dst: SERVER, dstPort: 443 },
      reply: { src: SERVER, srcPort: 443, dst: WAN_FLOAT },
      packets: [1, 0],
      bytes: [54, 0],
      ageS: 5,
      expiresInS: 15,
      loose: false,
    });
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).isInUse(tcpOut.reply.dstPort)).toBe(true);
    expect(r.fw.sessions({ protocol: 'udp' }, 100, T).sessions.map((s) => [s.original.src, s.rule, s.state])).toEqual([[CLIENT2, 'lab-test', 'new']]);
    expect(r.fw.sessions({ rule: 'web-in' }, 100, T).sessions.map((s) => [s.nat, s.natRule, s.reply.src, s.reply.srcPort])).toEqual([
      ['destination', 'web-in', CLIENT, 80],
    ]);
    expect(r.fw.sessions({ address: CLIENT }, 100, T).matched).toBe(3); // tcp out, ping, and the published service's inside host
    expect(r.fw.sessions({ port: 8080 }, 100, T).matched).toBe(1);
    expect(r.fw.sessions({ state: 'syn-sent' }, 100, T).matched).toBe(2);
    expect(r.fw.sessions({ rule: DEFAULT_RULE_LABEL }, 100, T).matched).toBe(0);
    const limited = r.fw.sessions({}, 1, T);
    expect(limited).toMatchObject({ total: 4, matched: 4, truncated: true });
    expect(limited.sessions).toHaveLength(1);
  });

  it('a flow allowed by the default action shows the default label', () => {
    const raw = labRaw();
    raw.shared.policy.default = 'allow';
    const r = makeRig(sharedOf(raw));
    r.send(WAN, fromServer(udpPacket({ src: SERVER, dst: CLIENT, sport: 7, dport: 7 })), NOW);
    const [s] = r.fw.sessions({}, 10, NOW).sessions;
    expect(s).toMatchObject({ rule: DEFAULT_RULE_LABEL, nat: 'none', natRule: null, ingress: 'wan', egress: 'lan' });
    expect(r.stats.defaultHits()).toBe(1);
  });
});

describe('traffic to a floating IP that is no session and no published service', () => {
  it('an echo request is answered by the pipeline, from either side', () => {
    const r = makeRig(dnatLab());
    for (const [ifIndex, pkt, dst] of [
      [LAN, fromClient(echoPacket(CLIENT, LAN_FLOAT, 8, 5)), LAN_FLOAT],
      [WAN, fromServer(echoPacket(SERVER, WAN_FLOAT, 8, 6)), WAN_FLOAT],
    ] as const) {
      const x = r.send(ifIndex, pkt, NOW);
      expect(x.moved).toEqual({ 'icmp-echo-reply-sent': 1, tx: 1 });
      expect(x.out[0].ifIndex).toBe(ifIndex);
      expect(view(x.out[0].frame)).toMatchObject({ src: dst, icmpType: 0 });
      expect(badChecksums(x.out[0].frame)).toEqual([]);
    }
    expect(r.fw.table.size).toBe(0);
  });

  it('anything else is to-self-other', () => {
    const r = makeRig(dnatLab());
    for (const [ifIndex, pkt] of [
      [LAN, fromClient(udpPacket({ src: CLIENT, dst: LAN_FLOAT, sport: 5353, dport: 53 }))],
      [LAN, fromClient(tcpPacket({ src: CLIENT, dst: LAN_FLOAT, sport: 40000, dport: 22, flags: SYN }))],
      [WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 40000, dport: 22, flags: SYN }))],
      [WAN, fromServer(udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5000, dport: 8080 }))],
    ] as const) {
      const x = r.send(ifIndex, pkt, NOW);
      expect(x.moved).toEqual({ 'to-self-other': 1 });
      expect(x.out).toEqual([]);
    }
    // ICMP other than an echo request (a timestamp request, an echo reply of no session) is the
    // pipeline's 'icmp-bad' (counters.ts: "malformed or not an echo request")
    for (const pkt of [ipFrameIcmp(SERVER, WAN_FLOAT, 13), echoPacket(SERVER, WAN_FLOAT, 0, 6)]) {
      const x = r.send(WAN, fromServer(pkt), NOW);
      expect(x.moved).toEqual({ 'icmp-bad': 1 });
      expect(x.out).toEqual([]);
    }
    expect(r.fw.table.size).toBe(0);
  });
});

/** An ICMP message of `type` with 8 bytes (timestamp request is 13: no session, not an error). */
function ipFrameIcmp(src: string, dst: string, type: number): number[] {
  return icmpErrorPacket(src, dst, type, 0, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

describe('packets that must not touch a session', () => {
  const C = 40100;
  it("a segment with an inside flow's tuple arriving from the outside is wrong-interface and changes nothing", () => {
    const r = makeRig(lab());
    r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: 1 })), NOW);
    const before = r.fw.sessions({ protocol: 'tcp' }, 10, NOW).sessions[0];
    // a RST forged on the wan side with the client's original tuple
    const spoof = frame(WAN_V, SERVER_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: RST, seq: 2 }));
    const res = r.send(WAN, spoof, NOW + 1);
    expect(res.moved).toEqual({ 'wrong-interface': 1 });
    expect(res.out).toHaveLength(0);
    const after = r.fw.sessions({ protocol: 'tcp' }, 10, NOW + 1).sessions[0];
    expect(after.state).toBe(before.state);
    expect(after.packets).toEqual(before.packets);
  });

  it('a new flow with TTL 1 opens no session and allocates no NAT port', () => {
    const r = makeRig(lab());
    const res = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: 1, ttl: 1 })), NOW);
    // answered with time exceeded (pipeline-icmp-errors.test.ts)
    expect(res.moved).toEqual({ 'ttl-exceeded': 1, 'icmp-error-sent': 1, tx: 1 });
    expect(r.fw.table.size).toBe(0);
    expect(r.ports(IPPROTO_TCP, WAN_FLOAT).inUse).toBe(0);
  });
});
