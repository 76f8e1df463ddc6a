// An active/active pair in one process (pair-rig.ts): two engines, an in-memory HA3 link, HA2
// stood in for by moving ring records. What docs/active-active.md promises of sessions across the
// two boxes: asymmetric flows from the first packet, setup by the peer, NAT that never collides,
// adoption when the peer stops forwarding, the first packet's wait when HA3 is cut.
import { describe, expect, it } from 'vitest';
import { DIR_REPLY } from '../../../src/dataplane/session-table.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { REC_UPDATE, SESSION_FLAG_OWNER1, type SessionRecord } from '../../../src/wire/session-record.js';
import { CLASS_DEVICE1 } from '../../../src/wire/shared-state.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  IPPROTO_TCP,
  IPPROTO_UDP,
  LAN,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  frame,
  tcpPacket,
  udpPacket,
  view,
} from './firewall-helpers.js';
import { makePair, type Box } from './pair-rig.js';
import { DEFER_CAPACITY } from '../../../src/dataplane/defer.js';
import { aaConfig, WAN_FLOAT1 } from './aa-helpers.js';

const macText = (m: Uint8Array) => Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');
/** A frame from a host to box `box`'s MAC on interface i. */
const to = (box: Box, i: number, srcMac: string, packet: number[]) => frame(macText(box.macOf(i)), srcMac, packet);
const C = 40000;

describe('an asymmetric TCP flow: SYN through box A, SYN-ACK through box B', () => {
  it('passes, every packet processed by the owner (A), the SYN held until B holds the session', () => {
    const pair = makePair({ sessionSetup: 'first-packet', sessionOwner: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    pair.advance(200); // HELLOs: each box learns the other's HA3 MAC
    expect(a.engine.status().activeActive?.ha3).toMatchObject({ hearsPeer: true, peerMac: '0a:00:00:01:03:02' });

    a.rx('lan0', to(a, LAN, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: 5000 })));
    expect(a.out.wan0).toEqual([]); // held: B does not hold the session yet
    pair.deliver(); // INSERT to B, its ACK back: the SYN leaves
    expect(a.counter('defer-acked')).toBe(1);
    expect(a.out.wan0).toHaveLength(1);
    const synOut = view(a.out.wan0[0]);
    expect(synOut).toMatchObject({ src: WAN_FLOAT, dst: SERVER, tcpFlags: SYN });
    expect(synOut.sport).toBeLessThanOrEqual(33279); // device 0's half

    // the server answers through B (asymmetric routing): B hands it to the owner
    b.rx('wan0', to(b, WAN, SERVER_MAC, tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: synOut.sport, flags: SYN | ACK, seq: 9000, ack: 5001 })));
    expect(b.counter('to-owner')).toBe(1);
    expect(b.out.lan0).toEqual([]);
    pair.deliver();
    expect(a.out.lan0).toHaveLength(1);
    expect(view(a.out.lan0[0])).toMatchObject({ src: SERVER, dst: CLIENT, dport: C, tcpFlags: SYN | ACK });

    // the client's ACK through B too
    b.rx('lan0', to(b, LAN, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: ACK, seq: 5001, ack: 9001 })));
    pair.deliver();
    expect(a.out.wan0).toHaveLength(2);
    expect(b.counter('to-owner')).toBe(2);
    // A counted all three; B forwarded none itself
    const fw = a.engine.pipeline.firewall!;
    const h = fw.table.lookup(IPPROTO_TCP, parseIpv4(CLIENT), C, parseIpv4(SERVER), 80);
    expect(fw.table.packets(h >> 1, 0) + fw.table.packets(h >> 1, 1)).toBe(3);
    expect(b.counter('forwarded')).toBe(0);
    expect(a.engine.status().activeActive?.sessionsOwned).toEqual([1, 0]);
    // the status the CLI and the page print: who is primary, the classes held, the decisions
    expect(a.engine.status().activeActive).toMatchObject({
      device: 0,
      primary: 0,
      peerForwarding: true,
      decisions: { setupLocal: 1, deferAcked: 1, toOwner: 0, setupToPeer: 0, missToPeer: 0, deferTimeout: 0 },
    });
    expect(b.engine.status().activeActive?.decisions).toMatchObject({ toOwner: 2, setupLocal: 0 });
    // GET /v1/sessions shows the owner on both boxes (B holds A's session through the INSERT)
    expect(fw.sessions({}, 10, 0).sessions.map((s) => s.owner)).toEqual([0]);
    expect(b.engine.pipeline.firewall!.sessions({}, 10, 0).sessions.map((s) => s.owner)).toEqual([0]);
    expect(a.engine.status().activeActive?.classes).toEqual([
      {
        class: 'device0',
        served: true,
        handingBack: false,
        addresses: [
          { interface: 'lan', address: '10.0.1.1' },
          { interface: 'wan', address: '10.0.2.1' },
        ],
      },
      {
        class: 'device1',
        served: false,
        handingBack: false,
        addresses: [
          { interface: 'lan', address: '10.0.1.4' },
          { interface: 'wan', address: WAN_FLOAT1 },
        ],
      },
      { class: 'primary', served: true, handingBack: false, addresses: [] },
    ]);
  });
});

describe('an asymmetric UDP flow', () => {
  it('first datagram through A, the answer through B: processed by A', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    pair.advance(200);
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 5000, dport: 5001, data: [1, 2, 3] })));
    pair.deliver();
    expect(a.out.wan0).toHaveLength(1);
    const sport = view(a.out.wan0[0]).sport;
    b.rx('wan0', to(b, WAN, SERVER_MAC, udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5001, dport: sport, data: [4] })));
    pair.deliver();
    expect(b.counter('to-owner')).toBe(1);
    expect(a.out.lan0).toHaveLength(1);
    expect(view(a.out.lan0[0])).toMatchObject({ src: SERVER, dst: CLIENT, dport: 5000, proto: IPPROTO_UDP });
  });
});

describe('setup by the peer (ip-modulo)', () => {
  it('an odd client reaching A is set up by B (its NAT address and ports); A owns it and answers its replies itself', () => {
    const pair = makePair({ sessionSetup: 'ip-modulo', sessionOwner: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    pair.advance(200);
    const ODD = '10.0.1.11';
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: ODD, dst: SERVER, sport: 5000, dport: 5001 })));
    expect(a.counter('setup-to-peer')).toBe(1);
    pair.deliver(); // SETUP to B, B's INSERT to A, A's ACK: B sends the first datagram
    expect(b.counter('setup-local')).toBe(1);
    expect(b.counter('defer-acked')).toBe(1);
    expect(b.out.wan0).toHaveLength(1);
    const first = view(b.out.wan0[0]);
    expect(first.src).toBe(WAN_FLOAT1);
    expect(first.sport).toBeGreaterThanOrEqual(33280); // device 1's half
    // the answer reaches A, the owner: processed there, nothing crosses
    const tx = a.counter('ha3-tx');
    a.rx('wan0', to(a, WAN, SERVER_MAC, udpPacket({ src: SERVER, dst: WAN_FLOAT1, sport: 5001, dport: first.sport })));
    expect(a.out.lan0).toHaveLength(1);
    expect(view(a.out.lan0[0])).toMatchObject({ dst: ODD, dport: 5000 });
    expect(a.counter('ha3-tx')).toBe(tx);
  });

  it("the owner's copy (from the INSERT) lives by its own timeout; the setup box's waits for the owner's delete", () => {
    const pair = makePair({ sessionSetup: 'ip-modulo', sessionOwner: 'first-packet', deferMs: 10 });
    const { a, b } = pair;
    pair.advance(200);
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: '10.0.1.11', dst: SERVER, sport: 5000, dport: 5001 })));
    pair.deliver();
    const expiresIn = (box: Box) => {
      const t = box.engine.pipeline.firewall!.table;
      const h = t.lookup(IPPROTO_UDP, parseIpv4('10.0.1.11'), 5000, parseIpv4(SERVER), 5001);
      expect(h).toBeGreaterThanOrEqual(0);
      return t.expiresMs(h >> 1) - pair.now();
    };
    expect(expiresIn(a)).toBe(a.engine.pipeline.firewall!.timeoutS(IPPROTO_UDP, 0) * 1000);
    expect(expiresIn(b)).toBeGreaterThan(24 * 3600 * 1000);
  });
});

describe('NAT on both boxes at once', () => {
  it('never hands out the same (address, port), even from one shared address', () => {
    // both bindings translate to one fixed address: only the port halves keep them apart
    const configs = [aaConfig(0, { sessionSetup: 'first-packet', deferMs: 0 }), aaConfig(1, { sessionSetup: 'first-packet', deferMs: 0 })] as const;
    for (const c of configs) for (const r of c.shared.nat) r.translate.source = '10.0.2.100';
    const pair = makePair({}, [configs[0], configs[1]]);
    const { a, b } = pair;
    pair.advance(200);
    for (let i = 0; i < 300; i++) {
      const box = i % 2 === 0 ? a : b;
      box.rx('lan0', to(box, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 10000 + i, dport: 5001 })));
    }
    pair.ha2();
    pair.advance(4);
    const seen = new Set<string>();
    for (const box of [a, b]) {
      const t = box.engine.pipeline.firewall!.table;
      expect(t.size).toBe(300); // its own 150 and the peer's 150: no conflict between them
      t.forEach((s) => seen.add(`${t.dst(s, DIR_REPLY)}:${t.dstPort(s, DIR_REPLY)}`));
      expect(box.counter('session-conflict')).toBe(0);
    }
    expect(seen.size).toBe(300);
  });
});

describe('a peer that stops forwarding', () => {
  it('has its sessions adopted at their next packet: processed here, owned here, the change replicated with the owner bit', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 0 });
    const { a, b } = pair;
    pair.advance(200);
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 5000, dport: 5001 })));
    const sport = view(a.out.wan0[0]).sport;
    pair.ha2();
    pair.advance(4); // B applies A's session
    b.ha2Out.drain(1 << 20, () => undefined);
    const t = b.engine.pipeline.firewall!.table;
    const slot = t.lookup(IPPROTO_UDP, parseIpv4(CLIENT), 5000, parseIpv4(SERVER), 5001) >> 1;
    expect(t.expiresMs(slot) - pair.now()).toBeGreaterThan(24 * 3600 * 1000); // A's: waits for A's delete
    b.shared.setPairView(CLASS_DEVICE1, false, 1); // A is gone
    pair.advance(2 * Math.ceil(t.capacity / 16384) + 2);
    expect(t.expiresMs(slot) - pair.now()).toBeLessThanOrEqual(30_000); // its own timeout now
    b.rx('wan0', to(b, WAN, SERVER_MAC, udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5001, dport: sport })));
    expect(b.counter('session-adopted')).toBe(1);
    expect(b.out.lan0).toHaveLength(1);
    expect(b.out.ha3.filter((f) => f[15] === 1)).toEqual([]); // no DATA for A
    const records: SessionRecord[] = [];
    b.ha2Out.drain(1 << 20, (r) => records.push({ ...r }));
    expect(records.some((r) => r.op === REC_UPDATE && (r.flags & SESSION_FLAG_OWNER1) !== 0)).toBe(true);
    expect(b.engine.status().activeActive?.sessionsOwned).toEqual([0, 1]);
  });
});

describe('HA3 cut', () => {
  it('the first packet waits deferMs for an ACK that never comes, then leaves (defer-timeout)', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 10 });
    const { a } = pair;
    pair.advance(200);
    pair.link.cut = true;
    a.rx('lan0', to(a, LAN, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN })));
    pair.advance(8);
    expect(a.out.wan0).toEqual([]);
    pair.advance(4);
    expect(a.counter('defer-timeout')).toBe(1);
    expect(a.out.wan0).toHaveLength(1);
    expect(view(a.out.wan0[0]).tcpFlags).toBe(SYN);
  });

  it('holds at most DEFER_CAPACITY first packets: past that, they leave at once (defer-full)', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 10 });
    const { a } = pair;
    pair.advance(200);
    pair.link.cut = true;
    for (let i = 0; i <= DEFER_CAPACITY; i++) a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 10000 + i, dport: 5001 })));
    expect(a.counter('defer-full')).toBe(1);
    expect(a.out.wan0).toHaveLength(1);
    expect(a.engine.status().activeActive?.ha3.held).toBe(DEFER_CAPACITY);
    pair.advance(12);
    expect(a.counter('defer-timeout')).toBe(DEFER_CAPACITY);
    expect(a.out.wan0).toHaveLength(DEFER_CAPACITY + 1);
  });

  it('long enough that the peer is not heard: packets of its sessions are dropped as ha3-down', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 0 });
    const { a, b } = pair;
    pair.advance(200);
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 5000, dport: 5001 })));
    const sport = view(a.out.wan0[0]).sport;
    pair.ha2();
    pair.link.cut = true;
    pair.advance(1100);
    expect(b.engine.status().activeActive?.ha3.hearsPeer).toBe(false);
    b.rx('wan0', to(b, WAN, SERVER_MAC, udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5001, dport: sport })));
    expect(b.counter('ha3-down')).toBe(1);
    expect(b.counter('to-owner')).toBe(0);
  });
});
