// Heartbeats that waited out an outage. A datagram sent while a link was down is not lost at once:
// the kernel holds it in the neighbour queue (ARP unresolved) or the device queue, and sends it
// when the cable is back, seconds old and still authentic, with a sequence number the replay window
// has never seen on that link. Believing it would set the peer back to a state it left long ago
// (e.g. "passive" after it became active: we would elect ourselves active beside it).
//
// Every heartbeat carries the peer's monotonic send time, the same clock on all its links. The
// newest one seen on any link is the reference: a heartbeat older than that by more than the dead
// interval is stale (it proves nothing, not even that the link works); one older by less is late
// (the link works, its state is not newer than what we know); the rest are fresh.

export type HeartbeatAge = 'fresh' | 'late' | 'stale';

export class HeartbeatFreshness {
  private epoch: number | null = null;
  private newestSentNs = -Infinity;

  judge(peerEpoch: number, sentNs: number, deadIntervalNs: number): HeartbeatAge {
    // a new process of the peer (its Opener already refuses an older epoch): a new reference
    if (this.epoch !== peerEpoch) {
      this.epoch = peerEpoch;
      this.newestSentNs = -Infinity;
    }
    if (sentNs >= this.newestSentNs) {
      this.newestSentNs = sentNs;
      return 'fresh';
    }
    return this.newestSentNs - sentNs > deadIntervalNs ? 'stale' : 'late';
  }
}
