// Stalls and freezes of the control thread, and the dataplane lease they hold (see StallState).
// A gap between ticks past the dead interval means we did not run: the peer may have declared us
// dead and taken over, and our socket buffers hold what it sent while we slept.
import { peerDown } from './liveness.js';
import { forwards } from './pair-view.js';
import type { Run } from './run.js';
import type { HeartbeatFields } from './types.js';

/**
 * A gap between ticks of up to this many dead intervals is a stall (a long GC, a scheduling
 * hiccup), not a freeze: the role is kept, the dataplane held until the peer is heard fresh.
 */
export const STALL_MAX_DEAD_INTERVALS = 2;

/**
 * A gap longer than the dead interval since our last tick means this process was frozen
 * (SIGSTOP, VM pause, a very long GC): the peer may have taken over meanwhile. The lease has
 * already run out, so the dataplane is silent; the machine now waits to hear the peer.
 * Idempotent for one `now`: a detected gap moves the reference to `now`.
 */
export function checkFrozen(r: Run, now: number): void {
  const c = r.c;
  const dead = c.config.deadIntervalMs;
  const gapMs = now - c.lastTickMs;
  if (c.lastTickMs <= 0 || gapMs <= dead) return;
  if (gapMs <= STALL_MAX_DEAD_INTERVALS * dead) {
    // A stall just past the dead interval: the peer may or may not have declared us dead (it
    // depends on where its ticks fell). Dropping to initial would move the role whenever it did
    // not (a 21 ms GC pause did exactly that in the lab). Instead keep the role, keep the lease
    // lapsed so the dataplane stays silent, and believe nothing queued meanwhile; the next fresh
    // heartbeat tells: a peer still passive means nothing happened, a peer that took over is
    // settled by the split-brain rule (the better box keeps the role).
    c.lastTickMs = now;
    c.stall.freshAfterNs = Math.round(now * 1e6);
    c.stall.leaseHeldUntilMs = now + dead;
    // the peer gets a whole dead interval to be heard fresh before it is declared dead
    for (const link of c.links) if (link.lastHeardMs !== null) link.lastHeardMs = now;
    r.emit({ type: 'control-stall', kind: 'short' });
    r.log(
      'warn',
      { gapMs: Math.round(gapMs), state: c.election.state },
      'control thread stalled past the dead interval; dataplane held until the peer is heard fresh',
    );
    return;
  }
  c.lastTickMs = now;
  c.stall.leaseHeldUntilMs = 0;
  c.stall.awaitPeerYield = false;
  r.emit({ type: 'control-stall', kind: 'frozen' });
  r.log('warn', { gapMs: Math.round(gapMs) }, 'control agent was frozen; waiting to hear the peer');
  // what we knew of the peer is stale: forget it (config sync and the metric too, even if it was
  // already down) and wait to hear it fresh
  for (const link of c.links) link.lastHeardMs = null;
  c.stall.freshAfterNs = Math.round(now * 1e6);
  peerDown(r, { type: 'frozen', now, gapMs: Math.round(gapMs) });
}

/** The hold ends: the lease is renewed again (by the tick), and an active box announces again. */
export function releaseLease(r: Run, why: string): void {
  const c = r.c;
  c.stall.leaseHeldUntilMs = 0;
  c.stall.awaitPeerYield = false;
  // The peer may have taken over during the stall and yielded already (its heartbeats queued
  // meanwhile are not believed): its gratuitous ARP moved the switches to it, so announce again
  // or the traffic goes to a passive box until the next failover (chaos finding B).
  if (forwards(c)) r.emit({ type: 'announce' });
  r.log('info', { why, state: c.election.state }, 'after the stall: dataplane lease renewed again');
}

/**
 * A heartbeat after a stall or freeze. Returns false when it is older than our wake-up (it does
 * not echo a post-wake heartbeat of ours): dropped, not believed.
 */
export function heartbeatAfterStall(r: Run, link: number, now: number, age: 'fresh' | 'late', hb: HeartbeatFields): boolean {
  const c = r.c;
  const s = c.stall;
  if (s.freshAfterNs > 0) {
    if (hb.echoNs < s.freshAfterNs) {
      r.emit({ type: 'drop-stale', channel: 'ha1-heartbeat' });
      return false;
    }
    s.freshAfterNs = 0;
    if (s.leaseHeldUntilMs > 0 && hb.state === 'active' && c.election.state === 'active') {
      // chaos finding C: the peer took over while we slept; both leases must never run at once
      s.awaitPeerYield = true;
      r.log('warn', { link: r.linkName(link) }, 'after the stall: the peer took over meanwhile; dataplane held until one of us yields');
    } else if (s.leaseHeldUntilMs > 0) releaseLease(r, `heard the peer fresh on ${r.linkName(link)}`);
    else r.log('info', { link: r.linkName(link) }, 'heard the peer again after the freeze');
  }
  if (s.awaitPeerYield && age !== 'late') {
    if (hb.state !== 'active' || c.election.state !== 'active') releaseLease(r, `the peer is ${hb.state}`);
    // every heartbeat of a peer still active keeps the hold; a peer gone silent releases it (tick)
    else s.leaseHeldUntilMs = now + c.config.deadIntervalMs;
  }
  return true;
}
