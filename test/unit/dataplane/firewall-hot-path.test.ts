// The firewall's fast path (a packet of a known session) allocates nothing: a session's timeout is
// read from the committed config as it is, not from an object built for each packet. tcp-state.js
// is wrapped to see what tcpTimeoutS is handed.
import { describe, expect, it, vi } from 'vitest';
import * as tcpState from '../../../src/dataplane/tcp-state.js';
import {
  ACK,
  CLIENT,
  CLIENT_MAC,
  LAN,
  LAN_V,
  SERVER,
  SERVER_MAC,
  SYN,
  WAN,
  WAN_FLOAT,
  WAN_V,
  frame,
  labRaw,
  makeRig,
  sharedOf,
  tcpPacket,
} from './firewall-helpers.js';

vi.mock('../../../src/dataplane/tcp-state.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/dataplane/tcp-state.js')>();
  return { ...actual, tcpTimeoutS: vi.fn(actual.tcpTimeoutS) };
});

const NOW = 1_000_000;

describe('the fast path', () => {
  it('hands tcpTimeoutS the same timeouts object for every packet (none built per packet)', () => {
    const r = makeRig(sharedOf(labRaw()));
    const spy = vi.mocked(tcpState.tcpTimeoutS);
    const syn = r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags: SYN })), NOW);
    const port = syn.out[0].frame.readUInt16BE(14 + 20);
    r.send(WAN, frame(WAN_V, SERVER_MAC, tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: port, flags: SYN | ACK, ack: 1001 })), NOW + 1);
    spy.mockClear();
    for (let i = 0; i < 3; i++) {
      const ack = r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags: ACK, seq: 1001 })), NOW + 2 + i);
      expect(ack.out).toHaveLength(1);
    }
    expect(spy).toHaveBeenCalledTimes(3);
    const [first, second, third] = spy.mock.calls.map((c) => c[1]);
    expect(second).toBe(first);
    expect(third).toBe(first);
    // and the timeout is the config's: established, 3600 s in the lab config
    expect(spy.mock.results.map((x) => x.value)).toEqual([3600, 3600, 3600]);
  });
});
