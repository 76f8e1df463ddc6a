// The HA1 TCP session on one link: hello, state updates, commands and goodbye, each one framed
// (length prefix) and authenticated (HMAC trailer, sequence number). Device 0 dials, device 1
// listens, so there is exactly one session per link.
//
// The session also carries the fastest failure signal there is: when the peer's process dies its
// kernel closes the socket (FIN, or RST if data was unread). That arrives within a millisecond of
// the crash, long before any heartbeat could be missed.
//
// A cut cable does not close a TCP connection: what either side writes meanwhile waits in the
// kernel and is delivered, seconds old, when the cable is back (a take-over request, a "passive"
// that is no longer true). So when the link's heartbeats stop, the agent marks the session stale:
// nothing is sent on it, nothing received on it is believed, and its closing is not a death
// signal. When the link hears the peer again, the stale connection is replaced by a new one.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../../log.js';
import { encodeFrame, FrameDecoder } from '../../wire/framing.js';

export interface Ha1SessionOptions {
  link: string;
  local: string;
  peer: string;
  port: number;
  role: 'dial' | 'listen';
  maxFrameBytes: number;
  reconnectMs: number;
  /** An authenticated-or-not frame from the peer: the agent opens it. */
  onFrame: (frame: Buffer) => void;
  onUp: () => void;
  /** closedByPeer: the peer's kernel closed the connection (FIN/RST), not us, not a timeout. */
  onDown: (closedByPeer: boolean, why: string) => void;
  /** A connection from the wrong address, or a framing error: counted by the caller. */
  onReject: (reason: 'unexpected-peer' | 'oversize' | 'empty-frame') => void;
  /** A frame that arrived on a stale connection, dropped unread: counted by the caller. */
  onStale?: () => void;
  /** Bytes waiting in our socket beyond which send() refuses (default HA1_SESSION_MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
  /** A message not sent because the peer stopped reading and the bound was reached: counted by the caller. */
  onSendRefused?: () => void;
  log: Logger;
}

/**
 * A peer whose process is frozen (SIGSTOP, a VM pause) keeps its TCP connection open and reads
 * nothing: without a bound, every hello and state message would pile up in our memory for as long
 * as it stays frozen. Four of the largest frames (a config push) is far more than a live peer ever
 * leaves unread; past it messages are refused (the caller counts them), and the peer, when it wakes,
 * is brought up to date by the next hello and by the config sync's own version check.
 */
export const HA1_SESSION_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** stop() gives buffered messages this long to leave before it cuts the connection. */
const STOP_FLUSH_MS = 1000;
/** At most one refused-send log line per link per this interval (counters are never limited). */
const REFUSED_LOG_INTERVAL_MS = 10_000;

export class Ha1Session {
  private server: Server | null = null;
  private socket: Socket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Connections that may hold messages written before the link failed. */
  private readonly stale = new WeakSet<Socket>();
  private readonly maxBufferedBytes: number;
  private lastRefusedLogMs = -Infinity;
  private refusedSinceLog = 0;

  constructor(private readonly opts: Ha1SessionOptions) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? HA1_SESSION_MAX_BUFFERED_BYTES;
  }

  /** Established and not stale: messages can be sent and are believed. */
  get up(): boolean {
    return this.socket !== null && !this.socket.connecting && !this.socket.destroyed && !this.stale.has(this.socket);
  }

  /** The link stopped hearing the peer: stop using the current connection (see the file comment). */
  markStale(): void {
    if (this.socket && !this.stale.has(this.socket)) {
      this.stale.add(this.socket);
      this.opts.log.debug({ link: this.opts.link }, 'HA1 session stale: the link lost the peer');
    }
  }

  /**
   * The link hears the peer again: replace a stale connection. The dialer connects anew and
   * closes the old connection a little after the new one is up, so the listener has swapped them
   * (accept) before the old one's FIN arrives, and never sees a session closed by a live peer
   * (which could read as a death). The listener waits for that new connection, and closes its
   * stale one itself only if none comes (the dialer did not lose the link: a one-sided outage).
   */
  refresh(): void {
    const old = this.socket;
    if (!old || !this.stale.has(old) || this.stopped) return;
    if (this.opts.role === 'listen') {
      const graceMs = Math.max(1000, this.opts.reconnectMs * 5);
      setTimeout(() => {
        if (this.socket === old && !this.stopped) this.detach(old, 'stale, not replaced by the peer');
      }, graceMs).unref();
      return;
    }
    (old as Socket & { tandemDetached?: boolean }).tandemDetached = true;
    this.socket = null;
    this.dial();
    const fresh = this.socket as Socket | null;
    if (!fresh) {
      old.destroy();
      return;
    }
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      setTimeout(() => old.destroy(), this.opts.reconnectMs).unref();
    };
    fresh.once('connect', drop);
    fresh.once('close', drop);
  }

  async start(): Promise<void> {
    if (this.opts.role === 'listen') {
      const server = createServer((sock) => this.accept(sock));
      this.server = server;
      server.on('error', (err) => this.opts.log.warn({ link: this.opts.link, err: err.message }, 'HA1 listener error'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.opts.local, port: this.opts.port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } else {
      this.dial();
    }
  }

  /** Sends one already-sealed message; false when the session is not up, or the peer reads nothing. */
  send(message: Buffer): boolean {
    const sock = this.socket;
    if (!sock || !this.up) return false;
    if (sock.writableLength + message.length > this.maxBufferedBytes) {
      this.opts.onSendRefused?.();
      this.refusedSinceLog++;
      const now = performance.now();
      if (now - this.lastRefusedLogMs >= REFUSED_LOG_INTERVAL_MS) {
        this.opts.log.warn(
          { link: this.opts.link, bufferedBytes: sock.writableLength, maxBufferedBytes: this.maxBufferedBytes, refused: this.refusedSinceLog },
          'HA1 session: the peer reads nothing and our send buffer is full; message not sent',
        );
        this.lastRefusedLogMs = now;
        this.refusedSinceLog = 0;
      }
      return false;
    }
    sock.write(encodeFrame(message));
    return true;
  }

  /** Bytes written and not yet taken by the kernel (for tests and status). */
  get bufferedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const sock = this.socket;
    this.socket = null;
    // a frozen peer never reads what is still buffered: end() alone would wait for it forever
    if (sock)
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          sock.destroy();
          resolve();
        }, STOP_FLUSH_MS);
        sock.end(() => {
          clearTimeout(cut);
          resolve();
        });
      });
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private accept(sock: Socket): void {
    if (this.stopped || sock.remoteAddress !== this.opts.peer) {
      this.opts.onReject('unexpected-peer');
      sock.destroy();
      return;
    }
    // A new connection from the peer replaces the old one (the peer restarted or reconnected).
    if (this.socket) this.detach(this.socket, 'replaced by a new connection');
    this.attach(sock);
  }

  private dial(): void {
    if (this.stopped) return;
    const sock = connect({ host: this.opts.peer, port: this.opts.port, localAddress: this.opts.local });
    sock.setTimeout(Math.max(1000, this.opts.reconnectMs * 5), () => sock.destroy(new Error('connect timeout')));
    this.socket = sock;
    this.attach(sock);
  }

  private scheduleDial(): void {
    if (this.stopped || this.opts.role !== 'dial' || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, this.opts.reconnectMs);
  }

  private attach(sock: Socket): void {
    this.socket = sock;
    sock.setNoDelay(true);
    const decoder = new FrameDecoder(this.opts.maxFrameBytes);
    let closedByPeer = false;
    let why = 'closed';
    let wasUp = false;
    const becameUp = () => {
      sock.setTimeout(0);
      wasUp = true;
      this.opts.onUp();
    };
    if (sock.connecting) sock.once('connect', becameUp);
    else queueMicrotask(becameUp);
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        const code = (err as { code?: string }).code === 'empty-frame' ? 'empty-frame' : 'oversize';
        this.opts.onReject(code);
        why = `framing error: ${code}`;
        sock.destroy();
        return;
      }
      if (this.stale.has(sock)) {
        for (let i = 0; i < frames.length; i++) this.opts.onStale?.();
        return;
      }
      for (const f of frames) this.opts.onFrame(f);
    });
    sock.on('end', () => {
      closedByPeer = true;
      why = 'peer closed the connection (FIN)';
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        closedByPeer = true;
        why = `peer reset the connection (${err.code})`;
      } else {
        why = err.message;
      }
    });
    sock.on('close', () => {
      if (this.socket === sock) this.socket = null;
      if (wasUp && !(sock as Socket & { tandemDetached?: boolean }).tandemDetached) {
        // a FIN or RST on a stale connection is old news from a cut link, not a process death
        const stale = this.stale.has(sock);
        this.opts.onDown(closedByPeer && !stale, stale ? `${why} (stale connection)` : why);
      }
      if (this.socket === null) this.scheduleDial();
    });
  }

  private detach(sock: Socket, why: string): void {
    (sock as Socket & { tandemDetached?: boolean }).tandemDetached = true;
    this.opts.log.debug({ link: this.opts.link, why }, 'HA1 session detached');
    sock.destroy();
  }
}
