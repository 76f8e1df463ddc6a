// Helpers for the framed link's tests: links with their callbacks recorded, a raw TCP peer whose
// bytes the test writes itself, and waiting for a condition. Everything is on 127.0.0.1 with
// ephemeral ports, both ends in this process.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../../src/log.js';
import { FramedLink, type FramedLinkOptions, type FramedLinkRejectReason } from '../../../src/net/framed-link.js';

export const LOOPBACK = '127.0.0.1';

export interface Recorded {
  link: FramedLink;
  frames: string[];
  ups: number;
  downs: Array<{ closedByPeer: boolean; why: string }>;
  rejects: FramedLinkRejectReason[];
  stale: number;
  refused: number;
  /** up, down and frame events in order, for ordering checks. */
  events: string[];
}

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs (in reverse order) what the helpers opened; call it from afterEach. */
export async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export const silentLog: Logger = pino({ level: 'silent' });

/** A logger that keeps its warn lines (the refusal log is rate-limited). */
export function warnLog(): { log: Logger; warns: Array<{ fields: Record<string, unknown>; msg: string }> } {
  const warns: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => warns.push({ fields, msg }),
    info: () => undefined,
    debug: () => undefined,
  } as unknown as Logger;
  return { log, warns };
}

export function makeLink(role: 'dial' | 'listen', port: number, over: Partial<FramedLinkOptions> = {}): Recorded {
  const r: Recorded = { link: null as unknown as FramedLink, frames: [], ups: 0, downs: [], rejects: [], stale: 0, refused: 0, events: [] };
  r.link = new FramedLink({
    name: 'test link',
    listenerName: 'test listener',
    local: LOOPBACK,
    peer: LOOPBACK,
    port,
    role,
    maxFrameBytes: 1024,
    maxBufferedBytes: 64 * 1024,
    reconnectMs: 20,
    stopFlushMs: 500,
    downOnStop: false,
    downOnReplace: false,
    onFrame: (f) => {
      r.frames.push(f.toString());
      r.events.push(`frame ${f.toString()}`);
    },
    onUp: () => {
      r.ups++;
      r.events.push('up');
    },
    onDown: (closedByPeer, why) => {
      r.downs.push({ closedByPeer, why });
      r.events.push('down');
    },
    onReject: (reason) => r.rejects.push(reason),
    onStale: () => r.stale++,
    onSendRefused: () => r.refused++,
    log: silentLog,
    ...over,
  });
  cleanups.push(() => r.link.stop());
  return r;
}

/** A listener on an ephemeral port and a dialer to it, both up. */
export async function linkedPair(over: Partial<FramedLinkOptions> = {}): Promise<{ dialer: Recorded; listener: Recorded }> {
  const listener = makeLink('listen', 0, over);
  await listener.link.start();
  const dialer = makeLink('dial', listener.link.listenPort!, over);
  await dialer.link.start();
  await until('both up', () => dialer.link.up && listener.link.up);
  return { dialer, listener };
}

/** A plain TCP server standing in for the peer: the test writes its bytes by hand. */
export async function rawServer(opts: { pauseOnConnect?: boolean; onConnection?: (s: Socket) => void } = {}): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server: Server = createServer({ pauseOnConnect: opts.pauseOnConnect ?? false }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    opts.onConnection?.(s);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return { port: (server.address() as { port: number }).port, sockets };
}

/** A plain TCP client standing in for the peer, from `from`. */
export async function rawClient(port: number, from = LOOPBACK): Promise<Socket> {
  const sock = connect({ host: LOOPBACK, port, localAddress: from });
  sock.on('error', () => undefined);
  cleanups.push(() => void sock.destroy());
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  return sock;
}

export async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
