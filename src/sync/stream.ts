// The HA2 TCP stream on the ha2 link: one connection per pair, device 0 dials, device 1 listens
// and accepts only the peer's address (as the HA1 session, src/control/ha1/session.ts). Frames are
// length-prefixed (src/wire/framing.ts); what is inside (sealed Ha2Envelopes) is the channel's
// business (src/sync/channel.ts).
//
// Unlike HA1, HA2 moves bulk data, so the stream has backpressure: send() refuses (returns false,
// writes nothing) while the kernel and Node hold more than maxBufferedBytes unsent, and the
// caller keeps its backlog instead of letting Node buffer without limit.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { encodeFrame, FrameDecoder } from '../wire/framing.js';

/** Default TCP port of HA2 (src/config/schema.ts DEFAULT_HA2_PORT). */
export const HA2_DEFAULT_PORT = 28770;
/** Largest HA2 frame: a batch of 2,000 records (the codec's limit) at ~100 bytes each fits twice. */
export const HA2_MAX_FRAME_BYTES = 512 * 1024;
/** Unsent bytes beyond which send() refuses: two full frames, or ~50 ms of a 1 Gb/s link. */
export const HA2_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Redial interval: a lost HA2 connection costs a resync, so come back fast. */
export const HA2_RECONNECT_MS = 200;
/** Longest the control thread spends on received HA2 frames before it lets timers run (ms). */
const FRAME_BUDGET_MS = 2;

export type Ha2RejectReason = 'unexpected-peer' | 'oversize' | 'empty-frame';

export interface Ha2StreamOptions {
  local: string;
  peer: string;
  port: number;
  role: 'dial' | 'listen';
  maxFrameBytes?: number;
  maxBufferedBytes?: number;
  reconnectMs?: number;
  onFrame: (frame: Buffer) => void;
  onUp: () => void;
  /** closedByPeer: the peer's kernel closed the connection (FIN/RST), not us, not a timeout. */
  onDown: (closedByPeer: boolean, why: string) => void;
  /** A connection from the wrong address, or a framing error: counted by the caller. */
  onReject: (reason: Ha2RejectReason) => void;
  log: Logger;
}

type TaggedSocket = Socket & { tandemDetached?: boolean; tandemUp?: boolean };

export class Ha2Stream {
  private server: Server | null = null;
  private socket: TaggedSocket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly reconnectMs: number;

  constructor(private readonly opts: Ha2StreamOptions) {
    this.maxFrameBytes = opts.maxFrameBytes ?? HA2_MAX_FRAME_BYTES;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? HA2_MAX_BUFFERED_BYTES;
    this.reconnectMs = opts.reconnectMs ?? HA2_RECONNECT_MS;
  }

  /** Connected (and onUp delivered). */
  get up(): boolean {
    const s = this.socket;
    return s !== null && s.tandemUp === true && !s.destroyed;
  }

  /** Bytes handed to the socket and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** True when send() would accept a frame now. */
  canSend(): boolean {
    return this.up && this.socket!.writableLength <= this.maxBufferedBytes;
  }

  async start(): Promise<void> {
    if (this.opts.role === 'listen') {
      const server = createServer((sock) => this.accept(sock));
      this.server = server;
      server.on('error', (err) => this.opts.log.warn({ err: err.message }, 'HA2 listener error'));
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

  /** The port actually listened on (useful with port 0 in tests); null when dialling. */
  get listenPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /**
   * Sends one already-sealed message. False (nothing written) when the stream is down or more than
   * maxBufferedBytes are waiting: the caller keeps the message's content in its backlog.
   * `force` skips the buffer bound (small control messages that must not be lost).
   */
  send(message: Buffer, force = false): boolean {
    if (force ? !this.up : !this.canSend()) return false;
    this.socket!.write(encodeFrame(message));
    return true;
  }

  /** Drops the current connection (the peer went silent): reported as down, then redialled. */
  reset(why: string): void {
    this.socket?.destroy(new Error(why));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const sock = this.socket;
    this.socket = null;
    if (sock) {
      sock.tandemDetached = true;
      await new Promise<void>((resolve) => {
        // end() flushes and sends FIN; a peer that never reads must not hold our shutdown.
        const t = setTimeout(() => {
          sock.destroy();
          resolve();
        }, 500);
        sock.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (sock.destroyed) {
          clearTimeout(t);
          resolve();
        } else sock.end();
      });
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(sock: Socket): void {
    if (this.stopped || sock.remoteAddress !== this.opts.peer) {
      this.opts.onReject('unexpected-peer');
      sock.destroy();
      return;
    }
    // A new connection from the peer replaces the old one (the peer restarted or reconnected).
    const old = this.socket;
    if (old) {
      this.detach(old, 'replaced by a new connection');
      // The old one was up: report it down before the new one comes up, so the caller sees
      // down -> up and restarts its per-connection state.
      if (old.tandemUp) this.opts.onDown(false, 'replaced by a new connection');
    }
    this.attach(sock);
  }

  private dial(): void {
    if (this.stopped) return;
    const sock = connect({ host: this.opts.peer, port: this.opts.port, localAddress: this.opts.local });
    sock.setTimeout(Math.max(1000, this.reconnectMs * 5), () => sock.destroy(new Error('connect timeout')));
    this.attach(sock);
  }

  private scheduleDial(): void {
    if (this.stopped || this.opts.role !== 'dial' || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, this.reconnectMs);
  }

  private attach(s: Socket): void {
    const sock = s as TaggedSocket;
    this.socket = sock;
    sock.setNoDelay(true);
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let closedByPeer = false;
    let why = 'closed';
    const becameUp = () => {
      if (sock.destroyed || sock.tandemDetached || this.socket !== sock) return;
      sock.setTimeout(0);
      sock.tandemUp = true;
      this.opts.onUp();
    };
    if (sock.connecting) sock.once('connect', becameUp);
    else queueMicrotask(becameUp);
    // Frames are handled a few milliseconds at a time: one socket read can hold dozens of
    // thousand-record batches (a bulk dump), and decoding them all in one go stalled the control
    // thread 59 ms in the lab (--cpu-prof), past the 20 ms dead interval. While frames wait, the
    // socket is paused, so TCP pushes back on the sender instead of our memory growing.
    // a queue with a read index: shift() would copy the array for every frame of a long backlog
    let pending: Buffer[] = [];
    let next = 0;
    let draining = false;
    const drain = (): void => {
      draining = false;
      const start = performance.now();
      while (next < pending.length) {
        if (sock.tandemDetached || sock.destroyed) {
          pending = [];
          next = 0;
          return;
        }
        this.opts.onFrame(pending[next++]!);
        if (next < pending.length && performance.now() - start >= FRAME_BUDGET_MS) {
          draining = true;
          setImmediate(drain);
          return;
        }
      }
      pending = [];
      next = 0;
      if (sock.isPaused() && !sock.destroyed) sock.resume();
    };
    sock.on('data', (chunk: Buffer) => {
      if (sock.tandemDetached) return;
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
      for (const f of frames) pending.push(f);
      if (draining) {
        sock.pause();
        return;
      }
      drain();
      if (draining) sock.pause();
    });
    sock.on('end', () => {
      closedByPeer = true;
      why = 'peer closed the connection (FIN)';
      // Half-open is useless here: close our side too.
      sock.end();
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
      const wasCurrent = this.socket === sock;
      if (wasCurrent) this.socket = null;
      if (sock.tandemUp && !sock.tandemDetached) this.opts.onDown(closedByPeer, why);
      sock.tandemUp = false;
      if (this.socket === null) this.scheduleDial();
    });
  }

  private detach(sock: TaggedSocket, why: string): void {
    sock.tandemDetached = true;
    this.opts.log.debug({ why }, 'HA2 connection detached');
    sock.destroy();
  }
}
