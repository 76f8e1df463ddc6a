// When to send gratuitous ARP (RFC 5227 announcements): a burst of `count` rounds, `intervalMs`
// apart, each time the control agent bumps shared.garpSeq, plus (when periodicS > 0) one round
// every periodicS seconds while active. Pure: poll() with the time and the shared words, get the
// number of rounds to send now (a round = one announcement per floating IP).
//
// A burst waits (does not advance) while the lease is not valid, because nothing may be sent then;
// it is cancelled when the role is passive, so a demoted box never announces late.

export interface GarpOptions {
  count: number;
  intervalMs: number;
  /** 0 = no periodic re-announcement. */
  periodicS: number;
}

export class GarpScheduler {
  private opts: GarpOptions;
  private lastSeq: number;
  private remaining = 0;
  private nextMs = 0;
  private nextPeriodicMs = Infinity;
  /** Rounds sent since the scheduler was created (for status). */
  rounds = 0;
  lastRoundMs = -Infinity;

  /** `initialSeq`: the garpSeq already in shared state, so a request made before we started is not replayed... */
  constructor(opts: GarpOptions, initialSeq: number, replayInitial: boolean) {
    this.opts = opts;
    // ...unless asked to: the control agent may request GARP before the worker is up.
    this.lastSeq = replayInitial ? initialSeq - 1 : initialSeq;
  }

  /** Rounds to send now (0 or 1). Call on every frame and on the idle tick. */
  poll(nowMs: number, garpSeq: number, roleActive: boolean, mayAct: boolean): number {
    if (garpSeq !== this.lastSeq) {
      this.lastSeq = garpSeq;
      this.remaining = Math.max(0, this.opts.count);
      this.nextMs = nowMs;
    }
    if (!roleActive) {
      this.remaining = 0;
      this.nextPeriodicMs = Infinity;
      return 0;
    }
    if (!mayAct) return 0;
    if (this.remaining > 0 && nowMs >= this.nextMs) {
      this.remaining--;
      this.nextMs = nowMs + this.opts.intervalMs;
      return this.round(nowMs);
    }
    if (this.opts.periodicS > 0) {
      if (this.nextPeriodicMs === Infinity) this.nextPeriodicMs = nowMs + this.opts.periodicS * 1000;
      else if (nowMs >= this.nextPeriodicMs && this.remaining === 0) return this.round(nowMs);
    }
    return 0;
  }

  /** A commit changed shared.ha.garp: the next rounds follow the new count and spacing. */
  reconfigure(opts: GarpOptions, nowMs: number): void {
    this.opts = opts;
    if (this.remaining > opts.count) this.remaining = Math.max(0, opts.count);
    this.nextPeriodicMs = opts.periodicS > 0 && this.nextPeriodicMs !== Infinity ? nowMs + opts.periodicS * 1000 : Infinity;
  }

  /**
   * A burst asked for by the dataplane itself (a floating IP added by a commit): like a garpSeq
   * change, sent only while active and cancelled by the passive role.
   */
  announce(nowMs: number): void {
    this.remaining = Math.max(0, this.opts.count);
    this.nextMs = nowMs;
  }

  /** True while a burst has rounds left. */
  get bursting(): boolean {
    return this.remaining > 0;
  }

  private round(nowMs: number): number {
    this.rounds++;
    this.lastRoundMs = nowMs;
    if (this.opts.periodicS > 0) this.nextPeriodicMs = nowMs + this.opts.periodicS * 1000;
    return 1;
  }
}

/**
 * Active/active: the shortest time between two re-announcements of classes the peer claimed. A
 * rejoin or a role change can leave both boxes serving one class for a heartbeat, each answering
 * the other's announcements: the limit bounds that exchange to one round per box per interval.
 */
export const RECLAIM_GAP_MS = 10;

/**
 * Active/active: classes to announce again because a frame from their MAC came from the peer while
 * this box serves them (ReclaimScheduler). A box that gives a class up may still announce it a
 * moment later (its control thread or dataplane ran late: a class served for a millisecond by a
 * split brain, a burst sent after the box taking the class had announced); a switch learns the
 * class's MAC on the peer's port from that frame, and every frame for the class goes to a box that
 * drops it as not for it, for good (docs/active-active.md "Failure cases"). Answering each such
 * frame with a round of our own puts the switches back, whatever the order the two boxes' frames
 * took. Pure: time and the served classes are arguments.
 */
export class ReclaimScheduler {
  private pending = 0;
  private nextMs = 0;

  /** Frames from the MACs of these classes arrived from the peer. */
  claimed(classes: number): void {
    this.pending |= classes;
  }

  /**
   * The classes to announce now (0: none): those claimed and still served, once the lease allows
   * sending and the last reclaim is RECLAIM_GAP_MS old. A claim waits, never lost, until then; a
   * class no longer served is forgotten (the box serving it now announces it).
   */
  poll(nowMs: number, served: number, mayAct: boolean): number {
    this.pending &= served;
    if (this.pending === 0 || !mayAct || nowMs < this.nextMs) return 0;
    const due = this.pending;
    this.pending = 0;
    this.nextMs = nowMs + RECLAIM_GAP_MS;
    return due;
  }
}
