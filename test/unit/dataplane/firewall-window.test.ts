// The TCP window check on the firewall's session hit path (tcp-window.ts through firewall.ts), with
// the lab config's source NAT: resets toward the NAT address with a wrong sequence are dropped
// and counted, the right one passes; shared.sessions.tcpWindowCheck takes effect on a commit.
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../../src/dataplane/route.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  frame,
  LAN,
  LAN_V,
  labRaw,
  makeRig,
  RST,
  SERVER,
  SERVER_MAC,
  sharedOf,
  SYN,
  tcpPacket,
  view,
  WAN,
  WAN_FLOAT,
  WAN_V,
} from './firewall-helpers.js';

const NOW = 1_000_000;
const C = 40000;
const fromClient = (packet: number[]) => frame(LAN_V, CLIENT_MAC, packet);
const fromServer = (packet: number[]) => frame(WAN_V, SERVER_MAC, packet);

function established(mode?: string) {
  const raw = labRaw();
  if (mode !== undefined) raw.shared.sessions = { ...(raw.shared.sessions ?? {}), tcpWindowCheck: mode };
  const r = makeRig(sharedOf(raw));
  const syn = r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: SYN, seq: 5000 })), NOW);
  const P = view(syn.out[0].frame).sport;
  r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags: SYN | ACK, seq: 9000, ack: 5001 })), NOW + 1);
  r.send(LAN, fromClient(tcpPacket({ src: CLIENT, dst: SERVER, sport: C, dport: 80, flags: ACK, seq: 5001, ack: 9001 })), NOW + 2);
  const server = (flags: number, seq: number, ack = 5001) =>
    r.send(WAN, fromServer(tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags, seq, ack })), NOW + 3).moved;
  return { r, server };
}

describe('firewall: TCP window check', () => {
  it('strict (the default): a blind reset is dropped and counted, the session lives on; the right one passes', () => {
    const { server } = established();
    for (const seq of [0x1234_5678, 0x8000_0000, 9001 + 0x4000_0000, 9001 - 0x100_0000]) {
      expect(server(RST, seq)).toEqual({ 'tcp-out-of-window': 1 });
    }
    expect(server(ACK, 9001, 5001 + 0x1000_0000)).toEqual({ 'tcp-out-of-window': 1 }); // acknowledges nothing sent
    expect(server(ACK, 9001).forwarded).toBe(1);
    expect(server(RST, 9001).forwarded).toBe(1);
  });

  it('loose: data out of window passes, resets do not', () => {
    const { server } = established('loose');
    expect(server(ACK, 9001 + 0x4000_0000).forwarded).toBe(1);
    expect(server(RST, 9001 + 0x6000_0000)).toEqual({ 'tcp-out-of-window': 1 });
  });

  it('off: nothing is dropped for its window', () => {
    const { server } = established('off');
    expect(server(RST, 0x1234_5678).forwarded).toBe(1);
  });

  it('a commit switches the mode', () => {
    const { r, server } = established('off');
    expect(server(ACK, 9001 + 0x4000_0000).forwarded).toBe(1);
    const raw = labRaw();
    raw.shared.sessions = { ...(raw.shared.sessions ?? {}), tcpWindowCheck: 'strict' };
    const routes = RouteTable.fromConfig({
      interfaces: [
        { name: 'lan', address: '10.0.1.2/24' },
        { name: 'wan', address: '10.0.2.2/24' },
      ],
      routes: [],
    });
    r.fw.commit(r.fw.prepare(sharedOf(raw), r.p.interfaces, routes), r.fw.stats);
    // the window went on being learnt while off: the current edge is known
    expect(server(RST, 0x1234_5678)).toEqual({ 'tcp-out-of-window': 1 });
    expect(server(RST, 9001).forwarded).toBe(1);
  });
});
