// Every dataplane counter is named once here. The dataplane increments slots of a Float64Array in
// the SharedState (single writer); src/metrics exports them as
//   tandem_dataplane_packets_total{event="<event>"}  and  tandem_dataplane_drops_total{reason="<reason>"}.
// Add a reason here (with its comment) rather than inventing a label at a drop site.

export const DROP_REASONS = [
  'truncated', //            frame shorter than the headers it claims
  'bad-ethertype', //        neither ARP nor IPv4 (IPv6, LLDP, ...)
  'bad-arp', //              ARP that is not Ethernet/IPv4, or malformed
  'bad-ip-header', //        IPv4 version/IHL/total length inconsistent with the frame
  'bad-ip-checksum', //      IPv4 header checksum does not verify
  'ip-options', //           IPv4 options present (not forwarded by v1)
  'fragment', //             IPv4 fragment (not reassembled by v1)
  'ttl-exceeded', //         TTL would reach 0
  'martian-source', //       source is 0.0.0.0, loopback, multicast or broadcast
  'no-route', //             no connected subnet or route for the destination
  'not-for-us', //           unicast frame to a MAC that is not ours nor the virtual MAC
  'passive', //              frame that an active box would have handled, seen while passive
  'lease-expired', //        role is active but the control agent has not renewed the lease (frozen or starved)
  'arp-queue-full', //       next hop unresolved and its waiting queue is full
  'arp-timeout', //          next hop did not answer ARP in time; queued frames dropped
  'oversize', //             frame larger than the egress MTU
  'same-interface', //       route sends the packet back out of the interface it came in on
  'send-failed', //          libpcap refused to send the frame
  'icmp-bad', //             ICMP to a floating IP that is malformed or not an echo request
  'to-self-other', //        non-ICMP packet addressed to a floating IP (no local services on it)
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const EVENT_COUNTERS = [
  'rx', //                   frames received on traffic interfaces
  'tx', //                   frames sent on traffic interfaces
  'forwarded', //            IPv4 packets forwarded
  'arp-reply-sent', //       ARP replies for floating IPs
  'arp-request-sent', //     ARP requests to resolve next hops
  'arp-learned', //          neighbour entries learned or refreshed
  'icmp-echo-reply-sent', // echo replies for floating IPs
  'garp-sent', //            gratuitous ARP frames sent
  'own-frame', //            frames we sent ourselves, seen again (ignored)
  'to-kernel', //            frames for the box's own kernel address or MAC, or link broadcast/multicast: left to the kernel
  'arp-queued', //           frames queued waiting for a next hop's ARP answer
] as const;

export type EventCounter = (typeof EVENT_COUNTERS)[number];

const EVENT_BASE = 0;
const DROP_BASE = EVENT_COUNTERS.length;
export const COUNTER_COUNT = EVENT_COUNTERS.length + DROP_REASONS.length;

const dropIdx = new Map<string, number>(DROP_REASONS.map((r, i) => [r, DROP_BASE + i]));
const eventIdx = new Map<string, number>(EVENT_COUNTERS.map((e, i) => [e, EVENT_BASE + i]));

export function dropIndex(reason: DropReason): number {
  return dropIdx.get(reason)!;
}

export function eventIndex(event: EventCounter): number {
  return eventIdx.get(event)!;
}
