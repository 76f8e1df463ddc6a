// Active/active: which box handles a packet, decided from the session's owner (or, for a packet
// no session knows, the setup device: owner.ts), whether the packet came over HA3, and whether
// the peer forwards (docs/active-active.md "Session setup and owner"). Pure: the firewall asks,
// the pipeline and the HA3 port carry the answer out.
//
// The rules, for a packet that reached this box on a traffic interface:
//   - its session is ours                          -> here
//   - its session is the peer's, the peer forwards -> over HA3 to the peer (DATA)
//   - its session is the peer's, the peer does not -> here, and the session becomes ours (adopted)
//   - no session, it can open one: setup device    -> here, or over HA3 with SETUP
//   - no session, it cannot (a TCP segment without SYN, an echo reply, an ICMP error): over HA3
//     with MISS while the peer forwards (the session may be the peer's alone, HA2 not through yet),
//     else dropped as in active/passive
// and for a packet that came over HA3: here, always. It is never sent back, so no packet crosses
// HA3 twice, whatever the two tables say; a session our table gives to the peer is counted as a
// mismatch (the two boxes disagree on the owner) and processed all the same.
import type { NatBinding } from '../config/types.js';
import { SESSION_FLAG_OWNER1 } from '../wire/session-record.js';
import type { DeviceId, PairView } from './owner.js';

/** Process the packet here. */
export const PATH_HERE = 0;
/** Carry it to the peer over HA3. */
export const PATH_PEER = 1;
/** Process it here and take the session over: its owner does not forward. */
export const PATH_ADOPT = 2;
/** It came from the peer, which our table says owns the session: process it here, counted. */
export const PATH_MISMATCH = 3;

/** The owner of a session from its flags (SessionRecord.flags bit SESSION_FLAG_OWNER1). */
export function ownerOf(flags: number): DeviceId {
  return (flags & SESSION_FLAG_OWNER1) === 0 ? 0 : 1;
}

/** `flags` with the owner bit saying `owner`. */
export function withOwner(flags: number, owner: DeviceId): number {
  return owner === 1 ? flags | SESSION_FLAG_OWNER1 : flags & ~SESSION_FLAG_OWNER1;
}

/** A packet of a known session whose owner is `owner`. */
export function knownPath(view: PairView, owner: DeviceId, fromPeer: boolean): number {
  if (owner === view.me) return PATH_HERE;
  if (fromPeer) return PATH_MISMATCH;
  return view.peerUp ? PATH_PEER : PATH_ADOPT;
}

/** A packet that matches no session and cannot open one (PATH_HERE: dropped here, as in active/passive). */
export function missPath(view: PairView, fromPeer: boolean): number {
  return !fromPeer && view.peerUp ? PATH_PEER : PATH_HERE;
}

/** A packet that opens a session whose setup device is `setup` (owner.ts setupDevice). */
export function setupPath(view: PairView, setup: DeviceId, fromPeer: boolean): number {
  return fromPeer || setup === view.me ? PATH_HERE : PATH_PEER;
}

/** NAT binding bits: which source NAT rules a device may apply (natBindings). */
export const BIND_DEVICE0 = 1;
export const BIND_DEVICE1 = 2;
export const BIND_PRIMARY = 4;

/** The bit of a rule's binding. */
export function bindingBit(bind: NatBinding): number {
  return bind === 0 ? BIND_DEVICE0 : bind === 1 ? BIND_DEVICE1 : BIND_PRIMARY;
}

/**
 * The bindings whose source NAT rules apply to a session this box sets up: its own device's;
 * the primary's while it is the primary (or the primary is the peer, which is down); the peer's
 * while the peer does not forward (docs/active-active.md "NAT without collisions").
 */
export function natBindings(view: PairView): number {
  const peer: DeviceId = view.me === 0 ? 1 : 0;
  let bits = bindingBit(view.me);
  if (view.primary === view.me || !view.peerUp) bits |= BIND_PRIMARY;
  if (!view.peerUp) bits |= bindingBit(peer);
  return bits;
}
