// A framed TCP link between the two boxes: what HA1 sessions (src/control/ha1/session.ts) and the
// HA2 stream (src/sync/stream.ts) both are. One connection per link: the dialer (device 0)
// connects and redials every reconnectMs while it has none; the listener (device 1) accepts only
// the peer's address, and a new connection from the peer replaces the current one (the peer
// restarted or reconnected). Frames are length-prefixed (src/wire/framing.ts); what is inside is
// the caller's business.
//
// Sends are bounded: a peer whose process is frozen (SIGSTOP, a VM pause) keeps its connection
// open and reads nothing, and without a bound everything we send would pile up in our memory.
//
// A connection can be marked stale: it may carry messages written before the link failed (a cut
// cable does not close TCP, and what was written meanwhile arrives seconds old). A stale
// connection is not up, what arrives on it is counted and dropped, and its closing is not the
// peer's doing. refresh() replaces it with a new one.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { sameAddress } from './family.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import { encodeFrame } from '../wire/framing.js';
import { WireError } from '../wire/errors.js';
import { FramedConn } from './framed-conn.js';

/** Why a connection or its framing was refused: the callers' metric labels. */
export type FramedLinkRejectReason =
  /** A connection from an address other than the peer's (or one arriving while we stop). */
  | 'unexpected-peer'
  /** A length prefix above maxFrameBytes: the connection is closed (its framing is lost). */
  | 'oversize'
  /** A zero length prefix, which no sender of ours produces: the connection is closed. */
  | 'empty-frame';

export interface FramedLinkOptions {
  /** What a connection is called in logs ('HA1 session'). */
  name: string;
  /** What the listener is called in logs ('HA1 listener'). */
  listenerName: string;
  /** Fields added to every log line of this link. */
  logFields?: Record<string, unknown>;
  local: string;
  peer: string;
  port: number;
  role: 'dial' | 'listen';
  maxFrameBytes: number;
  /** Unsent bytes that send() will not go past (unless forced). */
  maxBufferedBytes: number;
  /** Redial interval of the dialer; also sizes the connect timeout and the stale grace. */
  reconnectMs: number;
  /** How long stop() lets buffered messages leave before it cuts the connection. */
  stopFlushMs: number;
  /** Whether the connection stop() closes is reported through onDown. */
  downOnStop: boolean;
  /** Whether a connection replaced by a new one from the peer is reported down before the new one is up. */
  downOnReplace: boolean;
  /** Longest run of onFrame calls before the rest waits for the next turn of the event loop (default: no limit). */
  frameBudgetMs?: number;
  onFrame: (frame: Buffer) => void;
  onUp: () => void;
  /** closedByPeer: the peer's kernel closed the connection (FIN/RST), not us, not a timeout. */
  onDown: (closedByPeer: boolean, why: string) => void;
  /** A connection from the wrong address, or a framing error: counted by the caller. */
  onReject: (reason: FramedLinkRejectReason) => void;
  /** A frame that arrived on a stale connection, dropped unread: counted by the caller. */
  onStale?: (frame: Buffer) => void;
  /** A message not sent because the bound was reached: counted by the caller. */
  onSendRefused?: () => void;
  log: Logger;
}

/** At most one refused-send log line per link per this interval (counters are never limited). */
const REFUSED_LOG_INTERVAL_MS = 10_000;

export class FramedLink {
  private server: Server | null = null;
  private conn: FramedConn | null = null;
  /** Every connection not yet closed: the current one and those replaced but still closing. */
  private readonly conns = new Set<FramedConn>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly refusedLog = new LogLimiter(REFUSED_LOG_INTERVAL_MS);
  private readonly frameBudgetMs: number;

  constructor(private readonly opts: FramedLinkOptions) {
    this.frameBudgetMs = opts.frameBudgetMs ?? Infinity;
  }

  /** Connected, onUp delivered, and not stale: messages can be sent and are believed. */
  get up(): boolean {
    const c = this.conn;
    return c !== null && c.up && !c.stale && !c.sock.destroyed;
  }

  /** Bytes handed to the socket and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.conn?.sock.writableLength ?? 0;
  }

  /** The port actually listened on (useful with port 0 in tests); null when dialling. */
  get listenPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /** True when send() would accept a message of `bytes` now. */
  canSend(bytes = 0): boolean {
    return this.up && this.conn!.sock.writableLength + bytes <= this.opts.maxBufferedBytes;
  }

  async start(): Promise<void> {
    if (this.opts.role === 'dial') {
      this.dial();
      return;
    }
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    server.on('error', (err) => this.opts.log.warn({ ...this.opts.logFields, err: err.message }, `${this.opts.listenerName} error`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.local, port: this.opts.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Frames and writes one message. False (nothing written) when the link is not up, or when the
   * message would take the unsent bytes past maxBufferedBytes: that refusal is counted (onSendRefused)
   * and logged at most every REFUSED_LOG_INTERVAL_MS. `force` skips the bound.
   */
  send(message: Buffer, force = false): boolean {
    const c = this.conn;
    if (!c || !this.up) return false;
    if (!force && c.sock.writableLength + message.length > this.opts.maxBufferedBytes) {
      this.refused(c.sock.writableLength);
      return false;
    }
    c.sock.write(encodeFrame(message));
    return true;
  }

  /** Drops the current connection (the peer went silent): reported as down, then redialled. */
  reset(why: string): void {
    this.conn?.sock.destroy(new Error(why));
  }

  /** The peer may have stopped hearing us: stop using the current connection (see the file comment). */
  markStale(): void {
    const c = this.conn;
    if (c && !c.stale) {
      c.stale = true;
      this.opts.log.debug({ ...this.opts.logFields }, `${this.opts.name} stale: the link lost the peer`);
    }
  }

  /**
   * The link hears the peer again: replace a stale connection. The dialer connects anew and
   * closes the old connection a little after the new one is up, so the listener has swapped them
   * (accept) before the old one's FIN arrives, and never sees a connection closed by a live peer
   * (which could read as a death). The listener waits for that new connection. If none comes, the
   * dialer never lost the link (a one-sided outage: the peer stalled, or one direction dropped):
   * its stream is current, so the listener trusts the connection again. Closing it instead read
   * as the peer's death on the dialer's side, a second after the blip.
   */
  refresh(): void {
    const old = this.conn;
    if (!old || !old.stale || this.stopped) return;
    if (this.opts.role === 'listen') {
      this.later(this.staleGraceMs(), () => {
        if (this.conn !== old || this.stopped || !old.stale || old.sock.destroyed) return;
        old.stale = false;
        this.opts.log.info({ ...this.opts.logFields }, `${this.opts.name}: not replaced by the peer, trusted again (the outage was ours alone)`);
        this.opts.onUp();
      });
      return;
    }
    old.detached = true;
    this.conn = null;
    this.dial();
    const fresh = this.conn as FramedConn | null;
    if (!fresh) {
      old.sock.destroy();
      return;
    }
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      this.later(this.opts.reconnectMs, () => old.sock.destroy());
    };
    fresh.sock.once('connect', drop);
    fresh.sock.once('close', drop);
  }

  /** Closes the link: the current connection gets stopFlushMs to deliver what is buffered. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const current = this.conn;
    this.conn = null;
    for (const c of this.conns) if (c !== current) c.sock.destroy();
    if (current) {
      if (!this.opts.downOnStop) current.detached = true;
      await this.flushAndClose(current.sock);
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // a frozen peer never reads what is still buffered: end() alone could wait for it forever
  private flushAndClose(sock: Socket): Promise<void> {
    return new Promise<void>((resolve) => {
      if (sock.destroyed) return resolve();
      const cut = setTimeout(() => sock.destroy(), this.opts.stopFlushMs);
      sock.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      sock.end();
    });
  }

  private accept(sock: Socket): void {
    // the kernel's spelling of an IPv6 peer may not be the config's: compare addresses, not texts
    if (this.stopped || sock.remoteAddress === undefined || !sameAddress(sock.remoteAddress, this.opts.peer)) {
      this.opts.onReject('unexpected-peer');
      sock.destroy();
      return;
    }
    const old = this.conn;
    if (old) {
      this.detach(old, 'replaced by a new connection');
      // so the caller sees down -> up and restarts its per-connection state
      if (old.up && this.opts.downOnReplace) this.opts.onDown(false, 'replaced by a new connection');
    }
    this.attach(sock);
  }

  private dial(): void {
    if (this.stopped) return;
    const sock = connect({ host: this.opts.peer, port: this.opts.port, localAddress: this.opts.local });
    sock.setTimeout(this.graceMs(), () => sock.destroy(new Error('connect timeout')));
    this.attach(sock);
  }

  private scheduleDial(): void {
    if (this.stopped || this.opts.role !== 'dial' || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, this.opts.reconnectMs);
  }

  /** How long a connection may take to come up. */
  private graceMs(): number {
    return Math.max(1000, this.opts.reconnectMs * 5);
  }

  /** How long a listener waits for the dialer to replace a stale connection: a few redials. */
  private staleGraceMs(): number {
    return Math.max(100, this.opts.reconnectMs * 3);
  }

  private attach(sock: Socket): void {
    const conn = new FramedConn(sock, this.opts.maxFrameBytes, this.frameBudgetMs, (c, frame) => this.deliver(c, frame));
    this.conn = conn;
    this.conns.add(conn);
    sock.setNoDelay(true);
    const becameUp = () => {
      if (sock.destroyed || conn.detached || this.conn !== conn) return;
      sock.setTimeout(0);
      conn.up = true;
      this.opts.onUp();
    };
    if (sock.connecting) sock.once('connect', becameUp);
    else queueMicrotask(becameUp);
    sock.on('data', (chunk: Buffer) => this.received(conn, chunk));
    sock.on('end', () => {
      conn.closedByPeer = true;
      conn.why = 'peer closed the connection (FIN)';
      // half-open is useless here: close our side too
      sock.end();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        conn.closedByPeer = true;
        conn.why = `peer reset the connection (${err.code})`;
      } else {
        conn.why = err.message;
      }
    });
    sock.on('close', () => this.closed(conn));
  }

  private received(conn: FramedConn, chunk: Buffer): void {
    if (!conn.live) return;
    let frames: Buffer[];
    try {
      frames = conn.decoder.push(chunk);
    } catch (err) {
      const reason = err instanceof WireError && err.code === 'empty-frame' ? 'empty-frame' : 'oversize';
      this.opts.onReject(reason);
      conn.why = `framing error: ${reason}`;
      conn.sock.destroy();
      return;
    }
    conn.push(frames);
  }

  private deliver(conn: FramedConn, frame: Buffer): void {
    if (conn.stale) this.opts.onStale?.(frame);
    else this.opts.onFrame(frame);
  }

  private closed(conn: FramedConn): void {
    this.conns.delete(conn);
    if (this.conn === conn) this.conn = null;
    if (conn.up && !conn.detached) {
      // a FIN or RST on a stale connection is old news from a cut link, not a process death
      this.opts.onDown(conn.closedByPeer && !conn.stale, conn.stale ? `${conn.why} (stale connection)` : conn.why);
    }
    conn.up = false;
    if (this.conn === null) this.scheduleDial();
  }

  private detach(conn: FramedConn, why: string): void {
    conn.detached = true;
    this.opts.log.debug({ ...this.opts.logFields, why }, `${this.opts.name} detached`);
    conn.sock.destroy();
  }

  private refused(bufferedBytes: number): void {
    this.opts.onSendRefused?.();
    const allowed = this.refusedLog.allow('send-refused');
    if (!allowed) return;
    this.opts.log.warn(
      { ...this.opts.logFields, bufferedBytes, maxBufferedBytes: this.opts.maxBufferedBytes, refused: allowed.suppressed + 1 },
      `${this.opts.name}: the peer reads nothing and our send buffer is full; message not sent`,
    );
  }

  /** A one-shot timer that stop() clears. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
