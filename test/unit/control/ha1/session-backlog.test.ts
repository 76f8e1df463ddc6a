// The HA1 session's send bound over real loopback TCP: a peer that accepts and then reads nothing
// (a frozen process) cannot make us buffer without limit; refused messages are counted.
import { afterEach, expect, test } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { Ha1Session } from '../../../../src/control/ha1/session.js';

const log = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test('a peer that reads nothing: sends are refused past maxBufferedBytes, counted, and the buffer stays bounded', async () => {
  const held: Socket[] = [];
  const server: Server = createServer({ pauseOnConnect: true }, (s) => held.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  cleanups.push(() => held.forEach((s) => s.destroy()));
  const port = (server.address() as { port: number }).port;

  const MAX = 256 * 1024;
  let refused = 0;
  let ups = 0;
  const session = new Ha1Session({
    link: 'ha1',
    local: '127.0.0.1',
    peer: '127.0.0.1',
    port,
    role: 'dial',
    maxFrameBytes: 1024 * 1024,
    reconnectMs: 50,
    maxBufferedBytes: MAX,
    onFrame: () => undefined,
    onUp: () => ups++,
    onDown: () => undefined,
    onReject: () => undefined,
    onSendRefused: () => refused++,
    log,
  });
  cleanups.push(() => session.stop().catch(() => undefined));
  await session.start();
  for (let i = 0; i < 200 && ups === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(session.up).toBe(true);

  const message = Buffer.alloc(16 * 1024, 1);
  let sent = 0;
  // far more than the kernel's socket buffers and our bound together
  for (let i = 0; i < 4000; i++) {
    if (session.send(message)) sent++;
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  expect(refused).toBeGreaterThan(0);
  expect(sent + refused).toBe(4000);
  expect(session.bufferedBytes).toBeLessThanOrEqual(MAX);
  // still connected: a slow peer is not a dead one
  expect(session.up).toBe(true);
});
