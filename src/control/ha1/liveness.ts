// Is the peer alive? A pure verdict over what each link knows, so the split-brain rules are
// written (and tested) in one place. The agent feeds it and acts on the answer.
//
// Two ways to die (DESIGN.md "The pair"):
// - silence: no link (HA1, HA1 backup, heartbeat backup) heard the peer within the dead interval;
// - closure: the peer's kernel closed our HA1 sessions (FIN/RST), which happens within a
//   millisecond when its process dies, long before heartbeats could be missed.
// A closure is only believed when nothing contradicts it: every HA1 session that was open on a
// link hearing the peer must have been closed, and no link may have heard the peer since the first
// closure. One session reset by a live peer (a peer-side interface bounced, a stale connection
// replaced) therefore never declares death while another link still hears it.

export interface LinkLiveness {
  /** Monotonic ms of the last authenticated message from the peer on this link, null if none. */
  lastHeardMs: number | null;
  /**
   * When the peer's kernel closed this link's (healthy) session; null if it did not, or if the
   * peer was heard on this link since (a newer sign of life than the closure).
   */
  closedByPeerAtMs: number | null;
  /** The link has an established, trusted HA1 session now (always false on the heartbeat backup). */
  sessionOpen: boolean;
}

export type PeerDeathCause = 'peer-closed' | 'heartbeat-timeout';

export type PeerVerdict = { alive: true } | { alive: false; cause: PeerDeathCause };

/** The link heard the peer within the dead interval and its session was not closed since. */
export function linkHears(link: Pick<LinkLiveness, 'lastHeardMs' | 'closedByPeerAtMs'>, nowMs: number, deadIntervalMs: number): boolean {
  return link.closedByPeerAtMs === null && heardWithin(link, nowMs, deadIntervalMs);
}

function heardWithin(link: Pick<LinkLiveness, 'lastHeardMs'>, nowMs: number, deadIntervalMs: number): boolean {
  return link.lastHeardMs !== null && nowMs - link.lastHeardMs <= deadIntervalMs;
}

export function peerVerdict(links: readonly LinkLiveness[], nowMs: number, deadIntervalMs: number): PeerVerdict {
  const closures = links.flatMap((l) => (l.closedByPeerAtMs === null ? [] : [l.closedByPeerAtMs]));
  if (!links.some((l) => heardWithin(l, nowMs, deadIntervalMs))) {
    return { alive: false, cause: closures.length > 0 ? 'peer-closed' : 'heartbeat-timeout' };
  }
  if (closures.length === 0) return { alive: true };
  const firstClosureMs = Math.min(...closures);
  for (const l of links) {
    if (l.closedByPeerAtMs !== null) continue;
    // an open session on a link that hears the peer: a dead process would have had it closed too
    if (l.sessionOpen && heardWithin(l, nowMs, deadIntervalMs)) return { alive: true };
    // any link (heartbeat backup, or an HA1 link without its session) heard it after the closure
    if (l.lastHeardMs !== null && l.lastHeardMs > firstClosureMs) return { alive: true };
  }
  return { alive: false, cause: 'peer-closed' };
}
