// Active/active: what the dataplane reports about the pair under `dataplane.activeActive` of
// GET /v1/status (docs/active-active.md). The dataplane fills it; the CLI, the status page and the
// lab demo read it. Here, on the ground floor, so that all of them name one shape.
import { eventIndex, type EventCounter } from './dataplane-counters.js';

/** The floating-address owner classes as status names them (the servedClasses bits of shared-state.ts). */
export type FloatingClassName = 'device0' | 'device1' | 'primary';
export const FLOATING_CLASS_NAMES: readonly FloatingClassName[] = ['device0', 'device1', 'primary'];

/** The HA3 link as the dataplane sees it. */
export interface Ha3Status {
  mac: string;
  /** Learned from the peer's authenticated frames; null until then (our frames go to broadcast). */
  peerMac: string | null;
  /** An authenticated frame from the peer within HA3_SILENT_MS. */
  hearsPeer: boolean;
  lastHeardAgoMs: number | null;
  rx: { frames: number; bytes: number };
  tx: { frames: number; bytes: number };
  /** First packets held now, waiting for the peer's ACK. */
  held: number;
}

/** One owner class on this box: whether it answers for it now, and its addresses. */
export interface PairClassStatus {
  class: FloatingClassName;
  /** This box answers ARP for the class's addresses and takes frames sent to its MACs. */
  served: boolean;
  /** Handed to the peer a moment ago: frames still taken, ARP no longer answered (pair-view.ts HAND_BACK_MS). */
  handingBack: boolean;
  /** The class's floating addresses, "interface address" (without prefix). */
  addresses: { interface: string; address: string }[];
}

/**
 * Where this box sent the packets it could not simply forward, and what became of held first
 * packets: the dataplane's event counters of docs/active-active.md, cumulative since start.
 */
export interface SetupDecisions {
  /** New flows set up here (policy, NAT): this box's own and the peer's while it is down. */
  setupLocal: number;
  /** First packets whose setup device is the peer, carried to it over HA3. */
  setupToPeer: number;
  /** Packets of a session the peer owns, carried to it over HA3. */
  toOwner: number;
  /** Packets that matched nothing here and could not open a session, carried to the peer. */
  missToPeer: number;
  /** Sessions of a peer that stopped forwarding, taken over at their next packet. */
  sessionAdopted: number;
  /** First packets held until the peer acknowledged the session. */
  deferAcked: number;
  /** First packets held and sent after deferMs without the peer's acknowledgement. */
  deferTimeout: number;
  /** First packets not held because the hold queue was full. */
  deferFull: number;
}

/** Each decision's event counter (wire/dataplane-counters.ts names them once). */
export const DECISION_EVENTS: Readonly<Record<keyof SetupDecisions, EventCounter>> = {
  setupLocal: 'setup-local',
  setupToPeer: 'setup-to-peer',
  toOwner: 'to-owner',
  missToPeer: 'miss-to-peer',
  sessionAdopted: 'session-adopted',
  deferAcked: 'defer-acked',
  deferTimeout: 'defer-timeout',
  deferFull: 'defer-full',
};

/** The decisions from the dataplane's counters array (index = position in the counter list). */
export function decisionsOf(counters: ArrayLike<number>): SetupDecisions {
  const out = {} as SetupDecisions;
  for (const [key, event] of Object.entries(DECISION_EVENTS) as [keyof SetupDecisions, EventCounter][]) {
    out[key] = counters[eventIndex(event)] ?? 0;
  }
  return out;
}

/** The same decisions from a by-event map (GET /v1/counters `packets`, a metrics scrape). */
export function decisionsFromEvents(packets: Readonly<Record<string, number>>): SetupDecisions {
  const out = {} as SetupDecisions;
  for (const [key, event] of Object.entries(DECISION_EVENTS) as [keyof SetupDecisions, EventCounter][]) out[key] = packets[event] ?? 0;
  return out;
}

/** `dataplane.activeActive` of GET /v1/status. */
export interface ActiveActiveStatus {
  /** This box's device id. */
  device: 0 | 1;
  /** The active-primary's device id, as the control plane last told the dataplane. */
  primary: 0 | 1;
  /** The peer forwards (its sessions go to it over HA3); when not, this box adopts them. */
  peerForwarding: boolean;
  /** Sessions in this box's table by owner: [device 0, device 1]. */
  sessionsOwned: [number, number];
  /** The three owner classes, in FLOATING_CLASS_NAMES order (a class without addresses still says who holds it). */
  classes: PairClassStatus[];
  decisions: SetupDecisions;
  ha3: Ha3Status & { device: string; open: boolean };
}
