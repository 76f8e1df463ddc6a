// Active/active: first packets held until the peer holds their session (docs/active-active.md
// "Asymmetric flows from the first packet"; pfsync's defer). A SYN that leaves through one box may
// be answered through the other before HA2 has carried the session over; so the box that created
// the session tells the peer at once (HA3 INSERT) and holds the first packet until the peer's ACK,
// at most deferMs. Bounded: a full queue holds nothing more (the caller sends at once).
//
// Pure: time is an argument. Frames are held in insertion order, which is deadline order while
// deferMs stays the same (a commit that shortens it delays the frames held before by at most the
// old deferMs).

/** A held first packet: where it goes once released. */
export interface HeldFrame {
  /** The session it opened: the peer's ACK names it. */
  slot: number;
  egress: number;
  /** The IPv4 next hop; unused when nextHop6 is set. */
  nextHop: number;
  /** An IPv6 packet's next hop (4 words, a copy); null for IPv4. */
  nextHop6: Uint32Array | null;
  /** A copy of the frame (the capture buffer is reused for the next frame). */
  frame: Uint8Array;
  untilMs: number;
}

/** Held first packets at most (frames of up to the largest MTU: about 1.5 MiB at 1500 bytes). */
export const DEFER_CAPACITY = 1024;

export class DeferQueue {
  private readonly held = new Map<number, HeldFrame>();

  constructor(readonly capacity: number = DEFER_CAPACITY) {}

  get size(): number {
    return this.held.size;
  }

  get full(): boolean {
    return this.held.size >= this.capacity;
  }

  /**
   * Holds h (the caller checked `full`). Returns the frame it displaces: one still held for the
   * same slot, whose session ended and whose slot was reused before an answer came (send it now).
   */
  hold(h: HeldFrame): HeldFrame | null {
    const before = this.held.get(h.slot) ?? null;
    if (before !== null) this.held.delete(h.slot);
    this.held.set(h.slot, h);
    return before;
  }

  /** The frame held for `slot`, no longer held; null when none is (it left already). */
  take(slot: number): HeldFrame | null {
    const h = this.held.get(slot);
    if (h === undefined) return null;
    this.held.delete(slot);
    return h;
  }

  /** Hands every frame due by nowMs to fn, oldest first, no longer held. Returns how many. */
  due(nowMs: number, fn: (h: HeldFrame) => void): number {
    let n = 0;
    for (const [slot, h] of this.held) {
      if (h.untilMs > nowMs) break;
      this.held.delete(slot);
      fn(h);
      n++;
    }
    return n;
  }
}
