// Connectionless flows (UDP, ICMP echo) as a stateful firewall tracks them: a session is NEW until
// a packet in the reply direction shows the far end answered, then ESTABLISHED. Like conntrack's
// UDP "unreplied"/"assured" distinction, without a separate timeout per state: the configuration
// has one idle timeout per protocol (shared.sessions.udpS, icmpS).
//
// Pure: no I/O, no clock, no allocation.
import { IPPROTO_ICMP, IPPROTO_ICMPV6 } from './packet.js';

export const FLOW_NEW = 0;
/** A packet in the reply direction was seen. */
export const FLOW_ESTABLISHED = 1;

/** Index = state. */
export const FLOW_STATE_NAMES: readonly string[] = Object.freeze(['new', 'established']);

/** Next state of a UDP or ICMP echo session after a packet of `dir` (0 original, 1 reply). Never goes back. */
export function flowStep(state: number, dir: number): number {
  return dir === 1 ? FLOW_ESTABLISHED : state;
}

/** Idle timeout in seconds of a UDP or ICMP session. */
export function flowTimeoutS(proto: number, t: { udpS: number; icmpS: number }): number {
  return proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? t.icmpS : t.udpS;
}
