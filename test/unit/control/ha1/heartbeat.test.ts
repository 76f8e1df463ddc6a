// The heartbeat socket over real loopback UDP, IPv4 and IPv6: the socket's family follows the
// link's addresses. One socket on address:port with itself as the peer receives what it sends (a
// second socket cannot share the address and port), which is enough to show bind, send, receive
// and the peer check; a datagram from another port is foreign.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { HeartbeatSocket } from '../../../../src/control/ha1/heartbeat.js';

const log = pino({ level: 'silent' });
const closers: Array<() => void> = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A free UDP port of the family's loopback. */
async function freeUdpPort(type: 'udp4' | 'udp6', address: string): Promise<number> {
  const s = createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe.each([
  { family: 'IPv4', type: 'udp4' as const, local: '127.0.0.1', peer: '127.0.0.1' },
  { family: 'IPv6', type: 'udp6' as const, local: '::1', peer: '0:0:0:0:0:0:0:1' },
])('HeartbeatSocket over $family loopback', ({ type, local, peer }) => {
  test('binds, sends, and takes datagrams from the peer address and port only', async () => {
    const port = await freeUdpPort(type, local);
    const got: string[] = [];
    let foreign = 0;
    const hb = new HeartbeatSocket({ local, peer, port, log, onDatagram: (m) => got.push(m.toString()), onForeign: () => foreign++ });
    await hb.open();
    closers.push(() => hb.close());
    hb.send(Buffer.from('beat'));
    await until('own heartbeat', () => got.length === 1);
    expect(got).toEqual(['beat']);

    const stranger = createSocket(type);
    closers.push(() => stranger.close());
    stranger.send(Buffer.from('forged'), port, local);
    await until('foreign datagram', () => foreign === 1);
    expect(got).toEqual(['beat']);
  });
});
