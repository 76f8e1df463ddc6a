// The firewall's TCP window enforcement (firewall.ts known(), tcp-window.ts) through the Pipeline:
// blind resets and data dropped and counted in strict mode, only resets in loose, nothing in off;
// an exact reset closes; an ICMP error quoting a segment outside the window is dropped; a session
// whose state does not change is replicated again on its refresh and on its sequence stride.
import { describe, expect, it } from 'vitest';
import type { SharedConfig } from '../../../src/config/types.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { SESSION_FLAG_SPLIT } from '../../../src/wire/session-record.js';
import { TCP_CLOSE, TCP_ESTABLISHED } from '../../../src/dataplane/tcp-state.js';
import { TCP_SYNC_STRIDE } from '../../../src/dataplane/tcp-window.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  LAN,
  LAN_V,
  RST,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  WAN_V,
  forwarded,
  frame,
  icmpErrorPacket,
  labRaw,
  makeRig,
  sharedOf,
  tcpPacket,
  view,
} from './firewall-helpers.js';

const NOW = 1_000_000;
const C = 40000;
const CISS = 5000;
const SISS = 0xffff_f000; // the server's sequence wraps during the tests

/** The rig's routes (firewall-helpers.ts makeRig): the lab's two connected subnets. */
function labRoutes(): RouteTable {
  return RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [],
  });
}

function shared(mode?: 'strict' | 'loose' | 'off'): SharedConfig {
  const raw = labRaw();
  if (mode !== undefined) raw.shared.sessions = { ...(raw.shared.sessions ?? {}), tcpWindowCheck: mode };
  return sharedOf(raw);
}

/** A connection through the rig's source NAT, handshake done: P is the translated port. */
function connected(mode?: 'strict' | 'loose' | 'off', changed?: number[]) {
  const r = makeRig(shared(mode));
  if (changed !== undefined) r.fw.listener = { created: () => {}, changed: (_s: number, t: number) => void changed.push(t), removed: () => {} };
  const client = (flags: number, seq: number, ack: number, data: number[] = []) =>
    r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags, seq, ack, data })), NOW);
  const syn = r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: CISS })), NOW);
  const P = view(syn.out[0].frame).sport;
  const server = (flags: number, seq: number, ack: number, data: number[] = [], nowMs = NOW) =>
    r.send(WAN, frame(WAN_V, SERVER_MAC, tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags, seq, ack, data })), nowMs);
  expect(server(SYN | ACK, SISS, CISS + 1).moved).toEqual(forwarded());
  expect(client(ACK, CISS + 1, SISS + 1).moved).toEqual(forwarded());
  const slot = () => {
    let s = -1;
    r.fw.table.forEach((x) => (s = x));
    return s;
  };
  return { r, P, client, server, slot };
}

describe('TCP window enforcement', () => {
  it('strict (the default): blind resets and data outside the window are dropped and counted; the connection goes on', () => {
    const { r, client, server, slot } = connected();
    expect(client(ACK, CISS + 1, SISS + 1, [1, 2, 3, 4]).moved).toEqual(forwarded());
    for (const seq of [0x4000_0000, 0x8000_0000, SISS - 5_000_000]) expect(server(RST, seq, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(server(ACK, SISS + 700_000_000, CISS + 5, [9]).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(r.fw.table.state(slot())).toBe(TCP_ESTABLISHED);
    // the real server's data still flows, across the 2^32 wrap
    expect(server(ACK, SISS + 1, CISS + 5, new Array(8000).fill(7).slice(0, 1400)).moved).toEqual(forwarded());
  });

  it('a reset inside the window but not exact passes without closing; one at the next sequence closes', () => {
    const { r, server, slot } = connected();
    expect(server(RST, SISS + 100, 0).moved).toEqual(forwarded({ 'tcp-rst-in-window': 1 }));
    expect(r.fw.table.state(slot())).toBe(TCP_ESTABLISHED);
    expect(server(RST, SISS + 1, 0).moved).toEqual(forwarded());
    expect(r.fw.table.state(slot())).toBe(TCP_CLOSE);
  });

  it('loose: data outside the window passes (counted), resets outside it are still dropped', () => {
    const { client, server } = connected('loose');
    expect(server(ACK, SISS + 700_000_000, CISS + 1, [9]).moved).toEqual(forwarded({ 'tcp-out-of-window-passed': 1 }));
    expect(server(RST, 0x4000_0000, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(client(ACK, CISS + 1, SISS + 1).moved).toEqual(forwarded());
  });

  it('active/active: a session both boxes forwarded (SESSION_FLAG_SPLIT) is checked as in loose mode', () => {
    const { r, server, slot } = connected();
    r.fw.table.setFlags(slot(), r.fw.table.flags(slot()) | SESSION_FLAG_SPLIT);
    expect(server(ACK, SISS + 700_000_000, CISS + 1, [9]).moved).toEqual(forwarded({ 'tcp-out-of-window-passed': 1 }));
    expect(server(RST, 0x4000_0000, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
  });

  it('off: the flags alone, as before (a blind reset closes)', () => {
    const { r, server, slot } = connected('off');
    expect(server(RST, 12345, 0).moved).toEqual(forwarded());
    expect(r.fw.table.state(slot())).toBe(TCP_CLOSE);
  });

  it('a commit switching tcpWindowCheck takes effect at the next segment', () => {
    const { r, server, slot } = connected('strict');
    expect(server(RST, 0x4000_0000, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
    r.p.commit(r.p.prepare(shared('off'), r.p.interfaces, labRoutes()), r.stats);
    expect(server(RST, 0x4000_0000, 0).moved).toEqual(forwarded());
    expect(r.fw.table.state(slot())).toBe(TCP_CLOSE);
  });

  it('a SYN-ACK that does not acknowledge the SYN is dropped', () => {
    const r = makeRig(shared());
    const syn = r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: CISS })), NOW);
    const P = view(syn.out[0].frame).sport;
    const sa = (ack: number) =>
      r.send(WAN, frame(WAN_V, SERVER_MAC, tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | ACK, seq: 1, ack })), NOW);
    expect(sa(CISS + 77).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(sa(CISS + 1).moved).toEqual(forwarded());
  });

  it('a TCP header whose data offset runs past the packet is tcp-invalid', () => {
    const { r, P } = connected();
    const pkt = tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: ACK, seq: SISS + 1, ack: CISS + 1 });
    pkt[20 + 12] = 0xf0; // 60-byte header in a 20-byte segment
    expect(r.send(WAN, frame(WAN_V, SERVER_MAC, pkt), NOW).moved).toEqual({ 'tcp-invalid': 1 });
  });

  it('an ICMP error quoting a segment outside the window is dropped; one quoting a real segment passes', () => {
    const { r, P } = connected();
    // the server side's router reports our (translated) segment: seq must be the client's
    const quote = (seq: number) => tcpPacket({ src: WAN_FLOAT, dst: SERVER, sport: P, dport: 80, flags: ACK, seq, ack: SISS + 1 }).slice(0, 28);
    const err = (seq: number) => r.send(WAN, frame(WAN_V, SERVER_MAC, icmpErrorPacket('10.0.2.254', WAN_FLOAT, 3, 1, quote(seq))), NOW);
    expect(err(CISS + 900_000_000).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(err(CISS + 1).moved).toEqual(forwarded());
  });
});

describe('replication of unchanged sessions', () => {
  /** A connection whose replication is watched from its first packet: the handshake's two state changes are forgotten. */
  function withListener() {
    const changed: number[] = [];
    const c = connected(undefined, changed);
    expect(changed).toHaveLength(2);
    changed.length = 0;
    return { ...c, changed };
  }

  it('again once its last record is half its timeout old', () => {
    const { r, client, changed, server } = withListener();
    const half = (r.fw.timeoutS(6, TCP_ESTABLISHED) * 1000) / 2;
    client(ACK, CISS + 1, SISS + 1);
    expect(changed).toEqual([]);
    expect(server(ACK, SISS + 1, CISS + 1, [], NOW + half - 1).moved).toEqual(forwarded());
    expect(changed).toEqual([]);
    server(ACK, SISS + 1, CISS + 1, [], NOW + half);
    expect(changed).toEqual([NOW + half]);
    server(ACK, SISS + 1, CISS + 1, [], NOW + half + 1);
    expect(changed).toHaveLength(1);
  });

  it('again once a side sent TCP_SYNC_STRIDE since its last record', () => {
    const { client, server, changed } = withListener();
    // the server opens a large window (no scaling: 65535 at most), the client sends 1400-byte segments
    const data = new Array(1400).fill(1);
    let seq = CISS + 1;
    let sent = 0;
    while (sent < TCP_SYNC_STRIDE + 1400) {
      expect(client(ACK, seq, SISS + 1, data).moved).toEqual(forwarded());
      seq += 1400;
      sent += 1400;
      server(ACK, SISS + 1, seq);
    }
    expect(changed).toHaveLength(1);
  });
});
