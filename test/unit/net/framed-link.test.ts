// The framed link over real loopback TCP, both ends in this process: frames both ways and cut
// anywhere, framing and address rejects, redialling, replacement, staleness, stop.
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { encodeFrame } from '../../../src/wire/framing.js';
import { cleanUp, LOOPBACK, linkedPair, makeLink, rawClient, rawServer, sleep, until } from './link-fixture.js';

afterEach(cleanUp);

describe('FramedLink', () => {
  test('carries frames both ways; each side comes up once', async () => {
    const { dialer, listener } = await linkedPair();
    expect(dialer.link.send(Buffer.from('to-listener'))).toBe(true);
    expect(listener.link.send(Buffer.from('to-dialer'))).toBe(true);
    await until('frames', () => listener.frames.length === 1 && dialer.frames.length === 1);
    expect(listener.frames).toEqual(['to-listener']);
    expect(dialer.frames).toEqual(['to-dialer']);
    expect([dialer.ups, listener.ups]).toEqual([1, 1]);
  });

  test('reassembles frames coalesced in one write and frames cut into one-byte writes', async () => {
    const peer = await rawServer();
    const r = makeLink('dial', peer.port);
    await r.link.start();
    await until('connected', () => r.link.up && peer.sockets.length === 1);
    const sock = peer.sockets[0];
    sock.setNoDelay(true);
    sock.write(Buffer.concat(['a', 'bb', 'ccc'].map((s) => encodeFrame(Buffer.from(s)))));
    const cut = Buffer.concat([encodeFrame(Buffer.from('split')), encodeFrame(Buffer.from('tail'))]);
    for (const byte of cut) {
      sock.write(Buffer.from([byte]));
      await sleep(1);
    }
    await until('five frames', () => r.frames.length === 5);
    expect(r.frames).toEqual(['a', 'bb', 'ccc', 'split', 'tail']);
    expect(r.rejects).toEqual([]);
  });

  test.each([
    ['oversize', 2000],
    ['empty-frame', 0],
  ] as const)('a %s length prefix is rejected, closes the connection, and the dialer comes back', async (reason, length) => {
    const peer = await rawServer();
    const r = makeLink('dial', peer.port, { maxFrameBytes: 1024 });
    await r.link.start();
    await until('connected', () => r.link.up && peer.sockets.length === 1);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length, 0);
    peer.sockets[0].write(header);
    await until('the reject', () => r.downs.length === 1);
    expect(r.rejects).toEqual([reason]);
    expect(r.downs[0]).toEqual({ closedByPeer: false, why: `framing error: ${reason}` });
    await until('redialled', () => peer.sockets.length === 2 && r.link.up);
    expect(r.ups).toBe(2);
  });

  test('a listener refuses a connection from any address but the peer', async () => {
    const r = makeLink('listen', 0, { peer: '127.0.0.2' });
    await r.link.start();
    const stranger = await rawClient(r.link.listenPort!, LOOPBACK);
    await new Promise((resolve) => stranger.once('close', resolve));
    expect(r.rejects).toEqual(['unexpected-peer']);
    expect(r.ups).toBe(0);
    await rawClient(r.link.listenPort!, '127.0.0.2');
    await until('the peer accepted', () => r.link.up);
    expect(r.rejects).toEqual(['unexpected-peer']);
  });

  test('over IPv6 loopback: frames both ways, the peer accepted however its address is spelled', async () => {
    const { dialer, listener } = await linkedPair({ local: '::1', peer: '0:0:0:0:0:0:0:1' });
    expect(dialer.link.send(Buffer.from('to-listener'))).toBe(true);
    expect(listener.link.send(Buffer.from('to-dialer'))).toBe(true);
    await until('frames', () => listener.frames.length === 1 && dialer.frames.length === 1);
    expect([listener.frames, dialer.frames]).toEqual([['to-listener'], ['to-dialer']]);
    expect(listener.rejects).toEqual([]);
  });

  test('an IPv6 listener refuses any address but the peer (an IPv4 client arrives as ::ffff:127.0.0.1)', async () => {
    const r = makeLink('listen', 0, { local: '::', peer: '::1' });
    await r.link.start();
    const stranger = connect({ host: '127.0.0.1', port: r.link.listenPort! });
    stranger.on('error', () => undefined);
    await new Promise((resolve) => stranger.once('close', resolve));
    expect(r.rejects).toEqual(['unexpected-peer']);
    const peer = connect({ host: '::1', port: r.link.listenPort!, localAddress: '::1' });
    peer.on('error', () => undefined);
    await until('the peer accepted', () => r.link.up);
    peer.destroy();
    expect(r.rejects).toEqual(['unexpected-peer']);
  });

  test('the dialer redials no faster than reconnectMs while the peer keeps closing', async () => {
    const acceptedMs: number[] = [];
    const peer = await rawServer({
      onConnection: (s) => {
        acceptedMs.push(performance.now());
        s.destroy();
      },
    });
    const r = makeLink('dial', peer.port, { reconnectMs: 40 });
    await r.link.start();
    await until('five connections', () => acceptedMs.length >= 5);
    // an immediate redial would take about a millisecond; timers may fire a little early on a busy loop
    for (let i = 1; i < acceptedMs.length; i++) expect(acceptedMs[i] - acceptedMs[i - 1]).toBeGreaterThanOrEqual(30);
  });

  test('a peer that restarts: the dialer sees its FIN as closed by the peer, redials, and is up again', async () => {
    const { dialer, listener } = await linkedPair({ reconnectMs: 30 });
    const port = listener.link.listenPort!;
    await listener.link.stop();
    await until('down', () => dialer.downs.length === 1);
    expect(dialer.downs[0]).toEqual({ closedByPeer: true, why: 'peer closed the connection (FIN)' });
    expect(dialer.link.up).toBe(false);
    expect(dialer.link.send(Buffer.from('lost'))).toBe(false);
    await sleep(100); // a few refused dials
    const restarted = makeLink('listen', port);
    await restarted.link.start();
    await until('up again', () => dialer.link.up && restarted.link.up);
    expect(dialer.ups).toBe(2);
    expect(dialer.link.send(Buffer.from('after restart'))).toBe(true);
    await until('the frame', () => restarted.frames.length === 1);
  });

  test('reset(why) drops the connection, reports why, and redials', async () => {
    const { dialer } = await linkedPair();
    dialer.link.reset('peer silent for 300 ms');
    await until('up again', () => dialer.ups === 2 && dialer.link.up);
    expect(dialer.downs).toEqual([{ closedByPeer: false, why: 'peer silent for 300 ms' }]);
  });

  test.each([
    [true, ['up', 'down', 'up']],
    [false, ['up', 'up']],
  ])('a new connection from the peer replaces the current one (downOnReplace %s)', async (downOnReplace, events) => {
    const r = makeLink('listen', 0, { downOnReplace });
    await r.link.start();
    const first = await rawClient(r.link.listenPort!);
    await until('up', () => r.ups === 1);
    await rawClient(r.link.listenPort!);
    await until('up again', () => r.ups === 2);
    await new Promise((resolve) => first.once('close', resolve));
    expect(r.events).toEqual(events);
    if (downOnReplace) expect(r.downs).toEqual([{ closedByPeer: false, why: 'replaced by a new connection' }]);
  });

  test('a stale connection is not up, counts what arrives, and its FIN is no death', async () => {
    const peer = await rawServer();
    const r = makeLink('dial', peer.port);
    await r.link.start();
    await until('connected', () => r.link.up && peer.sockets.length === 1);
    r.link.markStale();
    expect(r.link.up).toBe(false);
    expect(r.link.send(Buffer.from('x'))).toBe(false);
    peer.sockets[0].write(encodeFrame(Buffer.from('old news')));
    await until('counted', () => r.stale === 1);
    expect(r.frames).toEqual([]);
    peer.sockets[0].end();
    await until('down', () => r.downs.length === 1);
    expect(r.downs[0]).toEqual({ closedByPeer: false, why: 'peer closed the connection (FIN) (stale connection)' });
  });

  test.each([true, false])('stop reports its own closing only when downOnStop (%s)', async (downOnStop) => {
    const { dialer, listener } = await linkedPair({ downOnStop });
    await dialer.link.stop();
    await until('the listener saw it', () => listener.downs.length === 1);
    expect(listener.downs[0].closedByPeer).toBe(true);
    expect(dialer.downs.length).toBe(downOnStop ? 1 : 0);
  });

  test('frames wait for the next turn once the budget is spent, and keep their order', async () => {
    const peer = await rawServer();
    const got: number[] = [];
    let deliveredWhenTimersRan = -1;
    const r = makeLink('dial', peer.port, {
      frameBudgetMs: 1,
      onFrame: (f) => {
        if (got.length === 0) setImmediate(() => (deliveredWhenTimersRan = got.length));
        got.push(f.readUInt32BE(0));
        const until = performance.now() + 0.2;
        while (performance.now() < until); // a frame that costs 0.2 ms of work
      },
    });
    await r.link.start();
    await until('connected', () => r.link.up && peer.sockets.length === 1);
    const frames = Array.from({ length: 100 }, (_, i) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i, 0);
      return encodeFrame(b);
    });
    peer.sockets[0].write(Buffer.concat(frames));
    await until('all frames', () => got.length === 100);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // the event loop turned while frames were still waiting
    expect(deliveredWhenTimersRan).toBeGreaterThan(0);
    expect(deliveredWhenTimersRan).toBeLessThan(100);
  });
});
