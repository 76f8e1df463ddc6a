// stop() leaves nothing behind: no socket, no listening server, no timer, even in the middle of
// replacing a stale connection (its own file, so no other test's sockets are still closing).
import { afterEach, expect, test } from 'vitest';
import { cleanUp, makeLink, rawClient, rawServer, until } from './link-fixture.js';

afterEach(cleanUp);

const KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'] as const;
function handles(): Record<(typeof KINDS)[number], number> {
  const all = process.getActiveResourcesInfo();
  return Object.fromEntries(KINDS.map((k) => [k, all.filter((h) => h === k).length])) as Record<(typeof KINDS)[number], number>;
}
const noMoreThan = (baseline: ReturnType<typeof handles>) => () => KINDS.every((k) => handles()[k] <= baseline[k]);

test('stop closes every socket, server and timer the links made, stale ones being replaced included', async () => {
  const peer = await rawServer();
  const baseline = handles();
  const closedAtPeer: number[] = [];
  // a dialer in the middle of a refresh: the new connection up, the old one lingering on a drop timer
  const dialer = makeLink('dial', peer.port, { reconnectMs: 5000 });
  await dialer.link.start();
  await until('up', () => dialer.link.up && peer.sockets.length === 1);
  dialer.link.markStale();
  dialer.link.refresh();
  await until('replaced', () => dialer.link.up && peer.sockets.length === 2);
  peer.sockets.forEach((s, i) => s.once('close', () => closedAtPeer.push(i)));
  // a listener waiting for its stale connection to be replaced: a grace timer (5 x reconnectMs) armed
  const listener = makeLink('listen', 0, { reconnectMs: 2000 });
  await listener.link.start();
  await rawClient(listener.link.listenPort!);
  await until('up', () => listener.link.up);
  listener.link.markStale();
  listener.link.refresh();
  await Promise.all([dialer.link.stop(), listener.link.stop()]);
  await until('the peer saw both dialled connections close', () => closedAtPeer.length === 2);
  // well before the timers (5 s and more) would have fired by themselves
  await until('no handle left', noMoreThan(baseline), 3000);
  expect(dialer.link.up || listener.link.up).toBe(false);
});
