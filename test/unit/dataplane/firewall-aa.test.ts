// The firewall's active/active decisions (docs/active-active.md "Session setup and owner") on one
// box, through the Pipeline, with a fake HA3 peer: which packets stay, which cross, with which
// flags, what a session's owner bit says, NAT by binding and port half.
import { describe, expect, it } from 'vitest';
import { HA3_FLAG_MISS, HA3_FLAG_SETUP } from '../../../src/wire/ha3.js';
import { SESSION_FLAG_OWNER1 } from '../../../src/wire/session-record.js';
import { DIR_ORIGINAL, DIR_REPLY } from '../../../src/dataplane/session-table.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  IPPROTO_TCP,
  IPPROTO_UDP,
  LAN,
  LAN_V,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  WAN_V,
  frame,
  icmpErrorPacket,
  tcpPacket,
  udpPacket,
  view,
} from './firewall-helpers.js';
import { aaPipeline, WAN_FLOAT1 } from './aa-helpers.js';

const NOW = 1_000_000;
const EVEN = '10.0.1.10'; // ip-modulo: device 0 sets it up
const ODD = '10.0.1.11'; // device 1

const fromClient = (packet: number[]) => frame(LAN_V, CLIENT_MAC, packet);
const fromServer = (packet: number[]) => frame(WAN_V, SERVER_MAC, packet);
const syn = (src = CLIENT, sport = 40000) => tcpPacket({ src, dst: SERVER, sport, dport: 80, flags: SYN, seq: 5000 });

/** The session of the client's flow to the server's port 80, and its slot. */
function sessionOf(fw: ReturnType<typeof aaPipeline>['fw'], src = CLIENT, sport = 40000) {
  const h = fw.table.lookup(IPPROTO_TCP, parseIpv4(src), sport, parseIpv4(SERVER), 80);
  return h < 0 ? -1 : h >> 1;
}

describe('a new session gets its owner', () => {
  it('first-packet: the box the first packet reached (device 1: the owner bit set)', () => {
    const r = aaPipeline(1, { sessionSetup: 'first-packet' });
    expect(r.send(LAN, fromClient(syn()), NOW).moved).toMatchObject({ 'session-created': 1, 'setup-local': 1, forwarded: 1 });
    const slot = sessionOf(r.fw);
    expect(r.fw.table.flags(slot) & SESSION_FLAG_OWNER1).toBe(SESSION_FLAG_OWNER1);
    expect(r.fw.ownedSessions()).toEqual([0, 1]);
  });

  it("primary: the primary's, also when the secondary set it up; the secondary's copy waits for the owner's delete", () => {
    const r = aaPipeline(1, { sessionSetup: 'first-packet', sessionOwner: 'primary', deferMs: 0 });
    r.send(LAN, fromClient(syn()), NOW);
    const slot = sessionOf(r.fw);
    expect(r.fw.table.flags(slot) & SESSION_FLAG_OWNER1).toBe(0);
    expect(r.fw.table.expiresMs(slot) - NOW).toBeGreaterThan(24 * 3600 * 1000);
    expect(r.fw.ownedSessions()).toEqual([1, 0]);
  });

  it('a peer that is down owns nothing', () => {
    const r = aaPipeline(1, { sessionSetup: 'first-packet', sessionOwner: 'primary' }, { peerForwarding: false, primaryId: 0 });
    r.send(LAN, fromClient(syn()), NOW);
    expect(r.fw.table.flags(sessionOf(r.fw)) & SESSION_FLAG_OWNER1).toBe(SESSION_FLAG_OWNER1);
  });
});

describe('packets of a session the peer owns', () => {
  /** Device 0 with a session device 1 owns (set up here for it, as a SETUP from the peer would). */
  function peerOwned(peerForwarding = true) {
    const r = aaPipeline(0, { sessionSetup: 'first-packet', deferMs: 0 });
    r.fromPeer(LAN, HA3_FLAG_SETUP, fromClient(syn()), NOW);
    r.pairView.peerForwarding = peerForwarding;
    const slot = sessionOf(r.fw);
    const port = r.fw.table.dstPort(slot, DIR_REPLY);
    return { ...r, slot, port };
  }

  it('cross to the owner untouched, with the interface they arrived on', () => {
    const r = peerOwned();
    expect(r.fw.table.flags(r.slot) & SESSION_FLAG_OWNER1).toBe(SESSION_FLAG_OWNER1);
    const synAck = fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: r.port, flags: SYN | ACK, seq: 9000, ack: 5001 }));
    const sent = r.send(WAN, Buffer.from(synAck), NOW + 1);
    expect(sent.moved).toEqual({ 'to-owner': 1 });
    expect(sent.out).toEqual([]);
    expect(r.peer.forwarded).toEqual([{ flags: 0, ingress: WAN, frame: synAck }]);
    expect(r.fw.table.packets(r.slot, DIR_REPLY)).toBe(0); // the owner counts it
  });

  it('an ICMP error about it goes to the owner too', () => {
    const r = peerOwned();
    const quoted = tcpPacket({ src: WAN_FLOAT, dst: SERVER, sport: r.port, dport: 80, flags: SYN, seq: 5000 }).slice(0, 28);
    const err = fromServer(icmpErrorPacket(SERVER, WAN_FLOAT, 3, 1, quoted));
    expect(r.send(WAN, err, NOW + 1).moved).toEqual({ 'to-owner': 1 });
  });

  it('are processed here once the owner stops forwarding: the session is adopted and its change replicated', () => {
    const r = peerOwned(false);
    const synAck = fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: r.port, flags: SYN | ACK, seq: 9000, ack: 5001 }));
    const sent = r.send(WAN, synAck, NOW + 1);
    expect(sent.moved).toMatchObject({ 'session-adopted': 1, forwarded: 1 });
    expect(view(sent.out[0].frame)).toMatchObject({ dst: CLIENT, dport: 40000 });
    expect(r.fw.table.flags(r.slot) & SESSION_FLAG_OWNER1).toBe(0);
    expect(r.changes.filter((c) => c.kind === 'changed' && c.slot === r.slot).length).toBeGreaterThan(0);
    expect(r.fw.ownedSessions()).toEqual([1, 0]);
    expect(r.peer.forwarded).toEqual([]);
  });

  it('coming from the peer itself are processed here, counted as a mismatch, never sent back', () => {
    const r = peerOwned();
    const synAck = fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: r.port, flags: SYN | ACK, seq: 9000, ack: 5001 }));
    const got = r.fromPeer(WAN, 0, synAck, NOW + 1);
    expect(got.moved).toMatchObject({ 'ha3-owner-mismatch': 1, forwarded: 1 });
    expect(r.peer.forwarded).toEqual([]);
  });

  it('an idle one lives its own timeout once the owner stops forwarding, a slice of the table per tick', () => {
    const r = peerOwned();
    const waits = r.fw.table.expiresMs(r.slot);
    r.fw.peerForwardingChanged(false);
    r.fw.peerForwardingChanged(true); // back before a tick: nothing changes
    r.fw.expire(NOW + 5);
    expect(r.fw.table.expiresMs(r.slot)).toBe(waits);
    r.fw.peerForwardingChanged(false);
    for (let i = 0; i * 16384 < r.fw.table.capacity; i++) r.fw.expire(NOW + 5);
    expect(r.fw.table.expiresMs(r.slot)).toBe(NOW + 5 + r.fw.timeoutS(IPPROTO_TCP, r.fw.table.state(r.slot)) * 1000);
  });
});

describe('a packet no session knows', () => {
  it('ip-modulo: an odd source crosses to device 1 to be set up there; nothing is created here', () => {
    const r = aaPipeline(0);
    const f = fromClient(syn(ODD));
    const sent = r.send(LAN, Buffer.from(f), NOW);
    expect(sent.moved).toEqual({ 'setup-to-peer': 1 });
    expect(r.peer.forwarded).toEqual([{ flags: HA3_FLAG_SETUP, ingress: LAN, frame: f }]);
    expect(r.fw.table.size).toBe(0);
  });

  it('ip-modulo: set up here when the peer does not forward', () => {
    const r = aaPipeline(0, {}, { peerForwarding: false, primaryId: 0 });
    expect(r.send(LAN, fromClient(syn(ODD)), NOW).moved).toMatchObject({ 'setup-local': 1, 'session-created': 1, forwarded: 1 });
  });

  it('set up for the peer (HA3 SETUP): policy and NAT here, owned by the box it reached, its first packet sent from here', () => {
    const r = aaPipeline(1, { deferMs: 0 });
    const got = r.fromPeer(LAN, HA3_FLAG_SETUP, fromClient(syn(ODD)), NOW);
    expect(got.moved).toMatchObject({ 'setup-local': 1, 'session-created': 1, forwarded: 1, tx: 1 });
    expect(view(got.out[0].frame)).toMatchObject({ src: WAN_FLOAT1, dst: SERVER });
    const slot = sessionOf(r.fw, ODD);
    expect(r.fw.table.flags(slot) & SESSION_FLAG_OWNER1).toBe(0); // first-packet: device 0 owns it
    expect(r.peer.forwarded).toEqual([]);
  });

  it('a TCP segment without SYN crosses as a miss; from the peer, a miss with no session here is dropped, not sent back', () => {
    const r = aaPipeline(0);
    const stray = fromClient(tcpPacket({ src: EVEN, dst: SERVER, sport: 40000, dport: 80, flags: ACK }));
    expect(r.send(LAN, stray, NOW).moved).toEqual({ 'miss-to-peer': 1 });
    expect(r.peer.forwarded[0].flags).toBe(HA3_FLAG_MISS);
    expect(r.fromPeer(LAN, HA3_FLAG_MISS, stray, NOW).moved).toEqual({ 'tcp-no-session': 1 });
    expect(r.peer.forwarded).toHaveLength(1);
  });

  it('a TCP segment without SYN is dropped as before when the peer does not forward', () => {
    const r = aaPipeline(0, {}, { peerForwarding: false, primaryId: 0 });
    expect(r.send(LAN, fromClient(tcpPacket({ src: EVEN, dst: SERVER, sport: 40000, dport: 80, flags: ACK })), NOW).moved).toEqual({ 'tcp-no-session': 1 });
  });

  it('from the peer with a miss, and the session here: processed', () => {
    const r = aaPipeline(0, { deferMs: 0 });
    r.send(LAN, fromClient(syn(EVEN)), NOW);
    const port = r.fw.table.dstPort(sessionOf(r.fw, EVEN), DIR_REPLY);
    r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: port, flags: SYN | ACK, seq: 9000, ack: 5001 })), NOW);
    const ack = fromClient(tcpPacket({ src: EVEN, dst: SERVER, sport: 40000, dport: 80, flags: ACK, seq: 5001 }));
    expect(r.fromPeer(LAN, HA3_FLAG_MISS, ack, NOW + 1).moved).toMatchObject({ forwarded: 1 });
  });
});

describe('the first packet of a new session waits for the peer (defer)', () => {
  it('is offered to the peer link with its session while the peer forwards and deferMs > 0', () => {
    const r = aaPipeline(0, { deferMs: 10 });
    r.peer.hold = true;
    const sent = r.send(LAN, fromClient(syn(EVEN)), NOW);
    expect(sent.moved).toMatchObject({ 'session-created': 1, forwarded: 1 });
    expect(sent.out).toEqual([]);
    expect(r.peer.deferred).toHaveLength(1);
    expect(r.peer.deferred[0]).toMatchObject({ slot: sessionOf(r.fw, EVEN), egress: WAN });
    expect(view(r.peer.deferred[0].frame)).toMatchObject({ src: '10.0.2.1', dst: SERVER, ttl: 63 });
  });

  it('leaves at once with deferMs 0, with the peer down, or when the link does not hold it', () => {
    for (const [aa, pair, hold] of [
      [{ deferMs: 0 }, { peerForwarding: true, primaryId: 0 }, true],
      [{ deferMs: 10 }, { peerForwarding: false, primaryId: 0 }, true],
      [{ deferMs: 10 }, { peerForwarding: true, primaryId: 0 }, false],
    ] as const) {
      const r = aaPipeline(0, aa, { ...pair });
      r.peer.hold = hold;
      expect(r.send(LAN, fromClient(syn(EVEN)), NOW).out).toHaveLength(1);
      expect(r.peer.deferred).toHaveLength(aa.deferMs > 0 && pair.peerForwarding ? 1 : 0);
    }
  });

  it('a later packet of the session is not held', () => {
    const r = aaPipeline(0, { deferMs: 10, sessionSetup: 'first-packet' });
    r.send(LAN, frame(LAN_V, CLIENT_MAC, udpPacket({ src: EVEN, dst: SERVER, sport: 5000, dport: 5001 })), NOW);
    r.send(LAN, frame(LAN_V, CLIENT_MAC, udpPacket({ src: EVEN, dst: SERVER, sport: 5000, dport: 5001 })), NOW + 1);
    expect(r.peer.deferred).toHaveLength(1);
  });
});

describe('source NAT on each device', () => {
  it("device 0 and device 1 translate to their class's address, from their half of the ports", () => {
    for (const me of [0, 1] as const) {
      const r = aaPipeline(me, { deferMs: 0, sessionSetup: 'first-packet' });
      for (let i = 0; i < 50; i++) r.send(LAN, frame(LAN_V, CLIENT_MAC, udpPacket({ src: EVEN, dst: SERVER, sport: 6000 + i, dport: 5001 })), NOW);
      const slots: number[] = [];
      r.fw.table.forEach((s) => slots.push(s));
      expect(slots).toHaveLength(50);
      for (const s of slots) {
        const port = r.fw.table.dstPort(s, DIR_REPLY);
        expect(r.fw.table.dst(s, DIR_REPLY)).toBe(parseIpv4(me === 0 ? '10.0.2.1' : WAN_FLOAT1));
        if (me === 0) expect(port >= 1024 && port <= 33279, `port ${port}`).toBe(true);
        else expect(port >= 33280 && port <= 65535, `port ${port}`).toBe(true);
      }
      expect(r.fw.table.proto(slots[0])).toBe(IPPROTO_UDP);
      expect(r.fw.table.src(slots[0], DIR_ORIGINAL)).toBe(parseIpv4(EVEN));
    }
  });

  it("the peer's binding applies while the peer does not forward", () => {
    const r = aaPipeline(0, { deferMs: 0, sessionSetup: 'first-packet' }, { peerForwarding: false, primaryId: 0 });
    // hide-0 comes first in the config and still wins: the peer's rule is a fallback, not a takeover
    r.send(LAN, fromClient(syn(EVEN)), NOW);
    expect(r.fw.table.dst(sessionOf(r.fw, EVEN), DIR_REPLY)).toBe(parseIpv4('10.0.2.1'));
  });
});

describe('a held first packet leaving (Pipeline.releaseHeld)', () => {
  const packet = () => Buffer.from(frame(SERVER_MAC, WAN_V, udpPacket({ src: '10.0.2.1', dst: '10.0.2.77', sport: 1024, dport: 5001 })));

  it('to a next hop not yet resolved: waits for its ARP answer, which is asked', () => {
    const r = aaPipeline(0);
    const moved = r.movedBy(() => r.p.releaseHeld(WAN, parseIpv4('10.0.2.77'), packet(), packet().length, NOW));
    expect(moved).toEqual({ 'arp-queued': 1, 'arp-request-sent': 1, tx: 1 });
  });

  it('from a box no longer active: withheld', () => {
    const r = aaPipeline(0);
    r.role.mayActAsActive = () => false;
    expect(r.movedBy(() => r.p.releaseHeld(WAN, parseIpv4(SERVER), packet(), packet().length, NOW))).toEqual({ 'tx-withheld': 1 });
  });
});
