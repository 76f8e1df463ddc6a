// The HA1 TCP session on one link: hello, state updates, commands and goodbye, each one framed
// (length prefix) and authenticated (HMAC trailer, sequence number). Device 0 dials, device 1
// listens, so there is exactly one session per link. The connection itself is the shared framed
// link (src/net/framed-link.ts); this file holds what is HA1's: its limits and its use of staleness.
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
import type { Logger } from '../../log.js';
import { FramedLink, type FramedLinkRejectReason } from '../../net/framed-link.js';

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
  onReject: (reason: FramedLinkRejectReason) => void;
  /** A frame that arrived on a stale connection, dropped unread: counted by the caller. */
  /** The frame, so that its sequence number is still recorded (see agent-links.ts). */
  onStale?: (frame: Buffer) => void;
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
/** stop() gives buffered messages this long to leave (a goodbye) before it cuts the connection. */
const STOP_FLUSH_MS = 1000;

export class Ha1Session {
  private readonly link: FramedLink;

  constructor(opts: Ha1SessionOptions) {
    this.link = new FramedLink({
      name: 'HA1 session',
      listenerName: 'HA1 listener',
      logFields: { link: opts.link },
      local: opts.local,
      peer: opts.peer,
      port: opts.port,
      role: opts.role,
      maxFrameBytes: opts.maxFrameBytes,
      maxBufferedBytes: opts.maxBufferedBytes ?? HA1_SESSION_MAX_BUFFERED_BYTES,
      reconnectMs: opts.reconnectMs,
      stopFlushMs: STOP_FLUSH_MS,
      // the agent logs its sessions going down at shutdown too
      downOnStop: true,
      // a stale connection replaced by the peer's new one is not a closure (see refresh())
      downOnReplace: false,
      onFrame: opts.onFrame,
      onUp: opts.onUp,
      onDown: opts.onDown,
      onReject: opts.onReject,
      onStale: opts.onStale,
      onSendRefused: opts.onSendRefused,
      log: opts.log,
    });
  }

  /** Established and not stale: messages can be sent and are believed. */
  get up(): boolean {
    return this.link.up;
  }

  /** Bytes written and not yet taken by the kernel (for tests and status). */
  get bufferedBytes(): number {
    return this.link.bufferedBytes;
  }

  /** The link stopped hearing the peer: stop using the current connection (see the file comment). */
  markStale(): void {
    this.link.markStale();
  }

  /** The link hears the peer again: replace a stale connection (FramedLink.refresh says how). */
  refresh(): void {
    this.link.refresh();
  }

  start(): Promise<void> {
    return this.link.start();
  }

  /** Sends one already-sealed message; false when the session is not up, or the peer reads nothing. */
  send(message: Buffer): boolean {
    return this.link.send(message);
  }

  stop(): Promise<void> {
    return this.link.stop();
  }
}
