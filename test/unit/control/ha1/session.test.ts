// The HA1 session's stale handling over real loopback TCP: a stale connection sends nothing,
// believes nothing, reports no death when it closes, and is replaced without either side seeing
// a session closed by the peer.
import { afterEach, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { Ha1Session, type Ha1SessionOptions } from '../../../../src/control/ha1/session.js';

const log = pino({ level: 'silent' });
const LOOPBACK = '127.0.0.1';

interface Side {
  session: Ha1Session;
  frames: string[];
  ups: number;
  downs: Array<{ closedByPeer: boolean; why: string }>;
  stale: number;
  staleFrames: string[];
}

const sessions: Ha1Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
});

function side(role: 'dial' | 'listen', port: number): Side {
  const s: Side = { session: null as unknown as Ha1Session, frames: [], ups: 0, downs: [], stale: 0, staleFrames: [] };
  const opts: Ha1SessionOptions = {
    link: 'ha1',
    local: LOOPBACK,
    peer: LOOPBACK,
    port,
    role,
    maxFrameBytes: 1024,
    reconnectMs: 20,
    onFrame: (f) => s.frames.push(f.toString()),
    onUp: () => s.ups++,
    onDown: (closedByPeer, why) => s.downs.push({ closedByPeer, why }),
    onReject: () => undefined,
    onStale: (f) => {
      s.stale++;
      s.staleFrames.push(f.toString());
    },
    log,
  };
  s.session = new Ha1Session(opts);
  sessions.push(s.session);
  return s;
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A listener and a dialer on a free port, both up. */
async function pair(): Promise<{ dialer: Side; listener: Side }> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const listener = side('listen', port);
    try {
      await listener.session.start();
    } catch (err) {
      sessions.pop();
      if (attempt > 10) throw err;
      continue;
    }
    const dialer = side('dial', port);
    await dialer.session.start();
    await until('both up', () => dialer.session.up && listener.session.up);
    return { dialer, listener };
  }
}

describe('Ha1Session stale connections', () => {
  test('a healthy session carries frames both ways', async () => {
    const { dialer, listener } = await pair();
    expect(dialer.session.send(Buffer.from('to-listener'))).toBe(true);
    expect(listener.session.send(Buffer.from('to-dialer'))).toBe(true);
    await until('frames', () => listener.frames.length === 1 && dialer.frames.length === 1);
    expect(listener.frames).toEqual(['to-listener']);
    expect(dialer.frames).toEqual(['to-dialer']);
  });

  test('a stale session sends nothing and drops (counts) what arrives', async () => {
    const { dialer, listener } = await pair();
    listener.session.markStale();
    expect(listener.session.up).toBe(false);
    expect(listener.session.send(Buffer.from('x'))).toBe(false);
    expect(dialer.session.send(Buffer.from('old news'))).toBe(true);
    await until('the stale frame counted', () => listener.stale === 1);
    expect(listener.frames).toEqual([]);
    // handed over all the same, so that the caller can record its sequence number (replay window)
    expect(listener.staleFrames).toEqual(['old news']);
  });

  test('refresh on both sides (a cable back): a new connection, and no one sees a closure', async () => {
    const { dialer, listener } = await pair();
    dialer.session.markStale();
    listener.session.markStale();
    listener.session.refresh();
    dialer.session.refresh();
    await until('both up again', () => dialer.session.up && listener.session.up);
    expect(dialer.ups).toBe(2);
    expect(listener.ups).toBe(2);
    // the old connection is closed a little after the new one is up: still no closure reported
    await new Promise((r) => setTimeout(r, 100));
    expect(dialer.downs).toEqual([]);
    expect(listener.downs).toEqual([]);
    expect(dialer.session.send(Buffer.from('fresh'))).toBe(true);
    await until('the fresh frame', () => listener.frames.includes('fresh'));
  });

  test('a stale connection closed by the peer is not a death signal', async () => {
    const { dialer, listener } = await pair();
    dialer.session.markStale();
    await listener.session.stop();
    await until('the dialer saw the close', () => dialer.downs.length === 1);
    expect(dialer.downs[0].closedByPeer).toBe(false);
    expect(dialer.downs[0].why).toMatch(/stale connection/);
  });

  test('a healthy connection closed by the peer is', async () => {
    const { dialer, listener } = await pair();
    await listener.session.stop();
    await until('the dialer saw the close', () => dialer.downs.length === 1);
    expect(dialer.downs[0].closedByPeer).toBe(true);
  });

  test('a listener whose dialer never replaces the stale connection trusts it again after a grace; the dialer sees nothing', async () => {
    const { dialer, listener } = await pair();
    listener.session.markStale();
    expect(listener.session.up).toBe(false);
    listener.session.refresh();
    // the dialer did not lose the link: its connection stays, and the listener takes it back up
    await until('the listener trusts the connection again', () => listener.session.up && listener.ups === 2, 5000);
    expect(dialer.downs).toEqual([]);
    expect(listener.downs).toEqual([]);
    expect(listener.session.send(Buffer.from('after'))).toBe(true);
    await until('the frame arrived', () => dialer.frames.some((f) => f.toString() === 'after'));
  });
});
