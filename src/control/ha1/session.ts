// The HA1 TCP session on one link: hello, state updates, commands and goodbye, each one framed
// (length prefix) and authenticated (HMAC trailer, sequence number). Device 0 dials, device 1
// listens, so there is exactly one session per link.
//
// The session also carries the fastest failure signal there is: when the peer's process dies its
// kernel closes the socket (FIN, or RST if data was unread). That arrives within a millisecond of
// the crash, long before any heartbeat could be missed.
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
  log: Logger;
}

export class Ha1Session {
  private server: Server | null = null;
  private socket: Socket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: Ha1SessionOptions) {}

  get up(): boolean {
    return this.socket !== null && !this.socket.connecting && !this.socket.destroyed;
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

  /** Sends one already-sealed message; false when the session is not up. */
  send(message: Buffer): boolean {
    const sock = this.socket;
    if (!sock || sock.connecting || sock.destroyed) return false;
    sock.write(encodeFrame(message));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const sock = this.socket;
    this.socket = null;
    if (sock) await new Promise<void>((resolve) => sock.end(resolve));
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
      if (wasUp && !(sock as Socket & { tandemDetached?: boolean }).tandemDetached) this.opts.onDown(closedByPeer, why);
      if (this.socket === null) this.scheduleDial();
    });
  }

  private detach(sock: Socket, why: string): void {
    (sock as Socket & { tandemDetached?: boolean }).tandemDetached = true;
    this.opts.log.debug({ link: this.opts.link, why }, 'HA1 session detached');
    sock.destroy();
  }
}
