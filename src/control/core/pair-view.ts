// Active/active: what the election's states mean for the dataplane (docs/active-active.md).
//
// The election runs as in active/passive: its `active` is the active-primary and its `passive` the
// active-secondary, both of which forward. What differs is only what each box answers for:
//   - its own device class, while it forwards;
//   - the primary class, while it is the primary;
//   - the peer's device class, while it is the primary and the peer does not forward (dead,
//     tentative, suspended, non-functional, initial).
// A secondary never takes the peer's class: if the primary stops forwarding, the election makes
// the secondary primary first (the same dead interval, promotion hold and lease as an
// active/passive takeover), so two boxes never answer one class because of one missed heartbeat.
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY } from '../../wire/shared-state.js';
import type { HaState } from '../election/types.js';
import type { CoreState, PairView } from './types.js';

export function deviceClass(deviceId: number): number {
  return deviceId === 0 ? CLASS_DEVICE0 : CLASS_DEVICE1;
}

/** Does a box in this state forward traffic? Active/passive: the active; active/active: primary and secondary. */
export function forwardsIn(state: HaState, activeActive: boolean): boolean {
  return state === 'active' || (activeActive && state === 'passive');
}

export function forwards(c: CoreState): boolean {
  return forwardsIn(c.election.state, c.config.activeActive);
}

/**
 * A class this box gives to the peer (the peer's own class when it forwards again, the primary's
 * when the peer becomes primary) still has its frames taken here this long (`accepted`), but its
 * ARP is no longer answered. Dropped at once, it left the frames the switches still send here with
 * nobody to take them until the peer's gratuitous ARP had moved them (10-15 ms of pings lost at
 * every rejoin in the lab). Still answering ARP in the hold was worse: an answer sent after the
 * peer's announcement moved the switches back here for good, and the class's traffic was dropped
 * once the hold ended (the first pings after a pair settled, in the namespace tests). 100 ms covers
 * the default burst (3 gratuitous ARPs, 20 ms apart).
 */
export const HAND_BACK_MS = 100;

/**
 * Classes the last pair view served that `next` gives to a forwarding peer while this box still
 * forwards: they enter the hand-back hold.
 */
export function handedBack(c: CoreState, next: PairView): number {
  const prev = c.pairView;
  if (prev === null || !forwards(c) || !next.peerForwarding) return 0;
  return prev.served & ~next.served & ~deviceClass(c.election.config.deviceId);
}

/** The pair view this core implies at `now`; null in active/passive (the dataplane's role says it all). */
export function pairViewOf(c: CoreState, now: number): PairView | null {
  if (!c.config.activeActive) return null;
  const me = c.election.config.deviceId;
  const peerId = 1 - me;
  const peerState = c.peer.alive ? c.peer.view?.state : undefined;
  const peerForwarding = peerState !== undefined && forwardsIn(peerState, true);
  const primaryNow = c.election.state === 'active';
  let served = 0;
  if (forwards(c)) served |= deviceClass(me);
  if (primaryNow) served |= CLASS_PRIMARY;
  if (primaryNow && !peerForwarding) served |= deviceClass(peerId);
  // handed to the peer a moment ago: its frames still taken until the hold ends (HAND_BACK_MS)
  const accepted = forwards(c) && now < c.handBack.untilMs ? c.handBack.classes & ~served : 0;
  const primary = primaryNow ? me : peerState === 'active' ? peerId : me;
  return { served, accepted, peerForwarding, primary };
}

export function samePairView(a: PairView | null, b: PairView | null): boolean {
  if (a === null || b === null) return a === b;
  return a.served === b.served && a.accepted === b.accepted && a.peerForwarding === b.peerForwarding && a.primary === b.primary;
}
