// One TCP connection of a FramedLink (src/net/framed-link.ts): what the link knows about it, and
// the queue that hands its frames to the caller a few milliseconds at a time.
import type { Socket } from 'node:net';
import { FrameDecoder } from '../wire/framing.js';

export class FramedConn {
  /** onUp was delivered for it: it can carry messages. */
  up = false;
  /** Replaced or dropped by us: its closing is not reported, the link has moved on. */
  detached = false;
  /** May carry messages written before the link failed (FramedLink.markStale). */
  stale = false;
  /** The peer's kernel closed it (FIN or RST), not us, not a timeout. */
  closedByPeer = false;
  /** What onDown will say when it closes. */
  why = 'closed';
  readonly decoder: FrameDecoder;

  // a queue with a read index: shift() would copy the array for every frame of a long backlog
  private pending: Buffer[] = [];
  private next = 0;
  private draining = false;

  constructor(
    readonly sock: Socket,
    maxFrameBytes: number,
    /** Longest one run of deliver() calls may take before the rest waits for the next turn. */
    private readonly budgetMs: number,
    private readonly deliver: (conn: FramedConn, frame: Buffer) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
  }

  /** Whatever arrives now still concerns the caller: a stale connection's frames are counted. */
  get live(): boolean {
    return !this.sock.destroyed && (!this.detached || this.stale);
  }

  /**
   * Queues decoded frames and delivers what the budget allows. One socket read can hold dozens
   * of thousand-record HA2 batches (a bulk dump): decoding them all in one go stalled the control
   * thread 59 ms in the lab (--cpu-prof), past the 20 ms dead interval. While frames wait, the
   * socket is paused, so TCP pushes back on the sender instead of our memory growing.
   */
  push(frames: Buffer[]): void {
    for (const f of frames) this.pending.push(f);
    if (!this.draining) this.drain();
    if (this.draining) this.sock.pause();
  }

  private readonly drain = (): void => {
    this.draining = false;
    const start = performance.now();
    while (this.next < this.pending.length) {
      if (!this.live) {
        this.pending = [];
        this.next = 0;
        return;
      }
      this.deliver(this, this.pending[this.next++]);
      if (this.next < this.pending.length && performance.now() - start >= this.budgetMs) {
        this.draining = true;
        setImmediate(this.drain);
        return;
      }
    }
    this.pending = [];
    this.next = 0;
    if (this.sock.isPaused() && !this.sock.destroyed) this.sock.resume();
  };
}
