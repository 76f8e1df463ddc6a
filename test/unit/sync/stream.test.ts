// What the HA2 stream adds to the framed link, over real loopback TCP: its send rule (the bound is
// checked before a frame, so canSend() yes means send() yes), a replaced connection reported down
// before the new one is up, and a stop that reports nothing.
import { afterEach, expect, test } from 'vitest';
import { Ha2Stream } from '../../../src/sync/stream.js';
import { cleanUp, LOOPBACK, rawClient, rawServer, silentLog, until } from '../net/link-fixture.js';

const streams: Ha2Stream[] = [];
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.stop()));
  await cleanUp();
});

function stream(role: 'dial' | 'listen', port: number, events: string[], maxBufferedBytes?: number): Ha2Stream {
  const s = new Ha2Stream({
    local: LOOPBACK,
    peer: LOOPBACK,
    port,
    role,
    maxBufferedBytes,
    reconnectMs: 20,
    onFrame: () => events.push('frame'),
    onUp: () => events.push('up'),
    onDown: (byPeer, why) => events.push(`down ${byPeer} ${why}`),
    onReject: (reason) => events.push(`reject ${reason}`),
    log: silentLog,
  });
  streams.push(s);
  return s;
}

test('a frame is accepted while the unsent bytes are within the bound, even one that takes them past it', async () => {
  const MAX = 256 * 1024;
  const message = Buffer.alloc(64 * 1024, 7);
  const peer = await rawServer({ pauseOnConnect: true });
  const s = stream('dial', peer.port, [], MAX);
  await s.start();
  await until('up', () => s.up);
  for (let i = 0; i < 4000 && s.canSend(); i++) {
    expect(s.send(message)).toBe(true);
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  expect(s.canSend()).toBe(false);
  expect(s.bufferedBytes).toBeGreaterThan(MAX);
  expect(s.bufferedBytes).toBeLessThanOrEqual(MAX + message.length + 4);
  expect(s.send(message)).toBe(false);
  // acks and bulk requests must not be lost to a full buffer
  expect(s.send(Buffer.from('ack'), true)).toBe(true);
});

test('a replaced connection is reported down before the new one is up; stop reports nothing', async () => {
  const events: string[] = [];
  const s = stream('listen', 0, events);
  await s.start();
  await rawClient(s.listenPort!);
  await until('up', () => s.up);
  await rawClient(s.listenPort!);
  await until('up again', () => events.length === 3);
  expect(events).toEqual(['up', 'down false replaced by a new connection', 'up']);
  await s.stop();
  expect(events.length).toBe(3);
  expect(s.up).toBe(false);
});
