// The HA2 TCP stream on the ha2 link: one connection per pair, device 0 dials, device 1 listens
// and accepts only the peer's address. The connection is the shared framed link
// (src/net/framed-link.ts); what is inside the frames (sealed Ha2Envelopes) is the channel's
// business (src/sync/channel.ts). This file holds what is HA2's: its limits and its send rule.
//
// Unlike HA1, HA2 moves bulk data, so the stream has backpressure: send() refuses (returns false,
// writes nothing) while the kernel and Node hold more than maxBufferedBytes unsent, and the
// caller keeps its backlog instead of letting Node buffer without limit.
import { FramedLink, type FramedLinkOptions, type FramedLinkRejectReason } from '../net/framed-link.js';

/** Default TCP port of HA2 (src/config/schema.ts DEFAULT_HA2_PORT). */
export const HA2_DEFAULT_PORT = 28770;
/** Largest HA2 frame: a batch of 2,000 records (the codec's limit) at ~100 bytes each fits twice. */
export const HA2_MAX_FRAME_BYTES = 512 * 1024;
/** Unsent bytes beyond which send() refuses: two full frames, or ~50 ms of a 1 Gb/s link. */
export const HA2_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Redial interval: a lost HA2 connection costs a resync, so come back fast. */
export const HA2_RECONNECT_MS = 200;
/**
 * Longest the control thread spends on received HA2 frames before it lets timers run (ms): one
 * bulk dump's frames decoded in one go stalled it 59 ms in the lab, past the 20 ms dead interval.
 */
const FRAME_BUDGET_MS = 2;
/** stop() gives buffered frames this long to leave before it cuts the connection. */
const STOP_FLUSH_MS = 500;

export type Ha2RejectReason = FramedLinkRejectReason;

/** What the channel says about its link; the rest of the framed link's options are HA2's own. */
export type Ha2StreamOptions = Pick<FramedLinkOptions, 'local' | 'peer' | 'port' | 'role' | 'onFrame' | 'onUp' | 'onDown' | 'onReject' | 'log'> &
  Partial<Pick<FramedLinkOptions, 'maxFrameBytes' | 'maxBufferedBytes' | 'reconnectMs'>>;

export class Ha2Stream {
  private readonly link: FramedLink;

  constructor(opts: Ha2StreamOptions) {
    this.link = new FramedLink({
      name: 'HA2 connection',
      listenerName: 'HA2 listener',
      stopFlushMs: STOP_FLUSH_MS,
      // the channel must not resync after it stopped
      downOnStop: false,
      // the channel sees down -> up and restarts its per-connection state (sequence numbers)
      downOnReplace: true,
      frameBudgetMs: FRAME_BUDGET_MS,
      ...opts,
      maxFrameBytes: opts.maxFrameBytes ?? HA2_MAX_FRAME_BYTES,
      maxBufferedBytes: opts.maxBufferedBytes ?? HA2_MAX_BUFFERED_BYTES,
      reconnectMs: opts.reconnectMs ?? HA2_RECONNECT_MS,
    });
  }

  /** Connected (and onUp delivered). */
  get up(): boolean {
    return this.link.up;
  }

  /** Bytes handed to the socket and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.link.bufferedBytes;
  }

  /** The port actually listened on (useful with port 0 in tests); null when dialling. */
  get listenPort(): number | null {
    return this.link.listenPort;
  }

  /** True when send() would accept a frame now. */
  canSend(): boolean {
    return this.link.canSend(0);
  }

  start(): Promise<void> {
    return this.link.start();
  }

  /**
   * Sends one already-sealed message. False (nothing written) when the stream is down or more than
   * maxBufferedBytes are waiting: the caller keeps the message's content in its backlog.
   * `force` skips the buffer bound (small control messages that must not be lost).
   *
   * The bound is checked before the frame, not with it: a frame is accepted whenever canSend()
   * said yes (the channel's flush loop relies on that), so the buffer may exceed it by one frame.
   */
  send(message: Buffer, force = false): boolean {
    if (force ? !this.link.up : !this.canSend()) return false;
    return this.link.send(message, true);
  }

  /** Drops the current connection (the peer went silent): reported as down, then redialled. */
  reset(why: string): void {
    this.link.reset(why);
  }

  stop(): Promise<void> {
    return this.link.stop();
  }
}
