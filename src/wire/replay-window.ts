// Sliding anti-replay window over sequence numbers, the IPsec one (RFC 4303 section 3.4.3,
// bitmap form of RFC 6479): accepts each seq at most once, tolerates reordering within the
// window, refuses anything older than it. Heartbeats are UDP, where reordering across two HA1
// links is normal; on TCP it never triggers and costs nothing.
// Pure: check() does not change state; record() is called only once the message is accepted
// in full (conntrack-tools' rule: check first, record after), so a datagram rejected for
// another reason cannot burn a sequence number.

/** Window width in sequence numbers: 64, the RFC 4303 minimum and one 64-bit bitmap word. */
export const REPLAY_WINDOW_SIZE = 64;

export type ReplayVerdict = 'fresh' | 'replay';

export class ReplayWindow {
  /** Highest seq recorded; -1 when nothing is recorded yet. */
  private highestSeq = -1;
  /** Bit i set: seq (highestSeq - i) was recorded. */
  private bitmap = 0n;

  get highest(): number {
    return this.highestSeq;
  }

  check(seq: number): ReplayVerdict {
    if (seq > this.highestSeq) return 'fresh';
    const offset = this.highestSeq - seq;
    if (offset >= REPLAY_WINDOW_SIZE) return 'replay'; // older than the window: cannot tell, so refuse
    return (this.bitmap >> BigInt(offset)) & 1n ? 'replay' : 'fresh';
  }

  /** Records seq as seen; the caller has checked it is 'fresh'. */
  record(seq: number): void {
    if (seq > this.highestSeq) {
      const shift = seq - this.highestSeq;
      // Shift only while bits survive: a jump of a whole window or more clears it.
      this.bitmap = shift >= REPLAY_WINDOW_SIZE ? 1n : BigInt.asUintN(REPLAY_WINDOW_SIZE, (this.bitmap << BigInt(shift)) | 1n);
      this.highestSeq = seq;
      return;
    }
    const offset = this.highestSeq - seq;
    if (offset < REPLAY_WINDOW_SIZE) this.bitmap |= 1n << BigInt(offset);
  }

  reset(): void {
    this.highestSeq = -1;
    this.bitmap = 0n;
  }
}
