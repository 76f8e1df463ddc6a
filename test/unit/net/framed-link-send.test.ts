// The framed link's send bound over real loopback TCP: a peer that accepts and then reads nothing
// (a frozen process) cannot make us buffer without limit; refusals are counted, and logged once
// per interval.
import { afterEach, expect, test } from 'vitest';
import { cleanUp, makeLink, rawServer, until, warnLog } from './link-fixture.js';

afterEach(cleanUp);

const MAX = 256 * 1024;
const MESSAGE = Buffer.alloc(16 * 1024, 1);

/** A dialer up to a peer that never reads. */
async function toFrozenPeer(over: Parameters<typeof makeLink>[2] = {}) {
  const peer = await rawServer({ pauseOnConnect: true });
  const r = makeLink('dial', peer.port, { maxBufferedBytes: MAX, maxFrameBytes: 1024 * 1024, ...over });
  await r.link.start();
  await until('up', () => r.link.up);
  return r;
}

/** Sends until the first refusal (far more than the kernel's buffers and our bound together). */
async function fillUntilRefused(r: Awaited<ReturnType<typeof toFrozenPeer>>): Promise<number> {
  for (let i = 0; i < 4000; i++) {
    if (!r.link.send(MESSAGE)) return i;
    if (i % 50 === 49) await new Promise((res) => setImmediate(res));
  }
  throw new Error('never refused');
}

test('past maxBufferedBytes sends are refused and counted, the buffer stays bounded, one log line, still up', async () => {
  const { log, warns } = warnLog();
  const r = await toFrozenPeer({ log, logFields: { link: 'ha1' } });
  await fillUntilRefused(r);
  for (let i = 0; i < 99; i++) expect(r.link.send(MESSAGE)).toBe(false);
  expect(r.refused).toBe(100);
  expect(r.link.bufferedBytes).toBeLessThanOrEqual(MAX);
  expect(r.link.bufferedBytes + MESSAGE.length + 4).toBeGreaterThan(MAX);
  expect(warns).toEqual([
    {
      fields: { link: 'ha1', bufferedBytes: r.link.bufferedBytes, maxBufferedBytes: MAX, refused: 1 },
      msg: 'test link: the peer reads nothing and our send buffer is full; message not sent',
    },
  ]);
  // a slow peer is not a dead one
  expect(r.link.up).toBe(true);
});

test('canSend(bytes) says what send() would do; force writes past the bound and is not counted', async () => {
  const r = await toFrozenPeer();
  await fillUntilRefused(r);
  expect(r.link.canSend(MESSAGE.length)).toBe(false);
  expect(r.link.canSend(0)).toBe(r.link.bufferedBytes <= MAX);
  const before = r.link.bufferedBytes;
  const refusedBefore = r.refused;
  expect(r.link.send(MESSAGE, true)).toBe(true);
  expect(r.link.bufferedBytes).toBeGreaterThan(before);
  expect(r.refused).toBe(refusedBefore);
});

test('a link that is down sends nothing and counts no refusal', async () => {
  const r = makeLink('dial', 1); // nothing listens on port 1
  expect(r.link.send(MESSAGE)).toBe(false);
  expect(r.link.send(MESSAGE, true)).toBe(false);
  expect(r.link.canSend()).toBe(false);
  expect(r.refused).toBe(0);
});
