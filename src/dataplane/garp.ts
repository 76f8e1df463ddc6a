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
