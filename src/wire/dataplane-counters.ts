// Every dataplane counter is named once here. The dataplane increments slots of a Float64Array in
// the SharedState (single writer); src/metrics exports them as
//   tandem_dataplane_packets_total{event="<event>"}  and  tandem_dataplane_drops_total{reason="<reason>"}.
// Add a reason here (with its comment) rather than inventing a label at a drop site.

export const DROP_REASONS = [
  'truncated', //            frame shorter than the headers it claims
  'bad-ethertype', //        neither ARP, IPv4 nor IPv6 (LLDP, ...), or IPv6 in active/active (docs/ipv6.md)
  'unknown-vlan', //         802.1Q tag for a VLAN no interface of the receiving device has (device.interfaces.*.vlan)
  'vlan-untagged', //        untagged (or priority-tagged) frame on a device whose interfaces are all VLANs
  'vlan-double-tag', //      two VLAN tags (802.1ad QinQ, or a second 802.1Q tag): not supported
  'bad-arp', //              ARP that is not Ethernet/IPv4, or malformed
  'bad-ip-header', //        IPv4 version/IHL/total length inconsistent with the frame
  'bad-ip-checksum', //      IPv4 header checksum does not verify
  'ip-options', //           IPv4 option list malformed (an option's length under 2 or past the header); well-formed options are stripped (ip-source-route aside)
  'fragment', //             IPv4 or IPv6 fragment malformed: not the last and empty or not a multiple of 8 bytes
  'ttl-exceeded', //         TTL would reach 0 (answered with ICMP time exceeded: see icmp-error-sent)
  'martian-source', //       source is 0.0.0.0, loopback, multicast or broadcast (IPv6: ::, ::1, multicast, IPv4-mapped)
  'no-route', //             no connected subnet or route for the destination
  'not-for-us', //           unicast frame to a MAC that is not ours nor the virtual MAC
  'passive', //              frame that an active box would have handled, seen while passive
  'lease-expired', //        role is active but the control agent has not renewed the lease (frozen or starved)
  'arp-queue-full', //       next hop unresolved and its waiting queue is full
  'arp-timeout', //          next hop did not answer ARP in time; queued frames dropped (counted forwarded when queued)
  'oversize', //             frame larger than the egress MTU with DF set (answered with ICMP fragmentation needed and the MTU; without DF it is fragmented)
  'same-interface', //       route sends the packet back out of the interface it came in on
  'send-failed', //          the device refused the frame, or its handle is closed (device down or gone; see io-error)
  'icmp-bad', //             ICMP or ICMPv6 to a floating IP that is malformed or not an echo request
  'to-self-other', //        packet to a floating IP that is no ping, no reply of a session and no published (DNAT) service
  'l4-truncated', //         TCP/UDP/ICMP header cut short by the IP total length
  'policy-deny', //          a new flow denied by a rule or the default action
  'policy-reject', //        a new flow rejected (answered with a TCP RST or ICMP unreachable)
  'tcp-no-session', //       TCP segment that cannot open a session (no SYN) and matches none (e.g. a stray ACK)
  'tcp-invalid', //          TCP segment that fits no state of its session (e.g. SYN+FIN, SYN on an established one), or whose data offset is below 5 words or past the packet
  'tcp-out-of-window', //    TCP segment or reset of a known session outside its sequence window (tcp-window.ts; shared.sessions.tcpWindowCheck strict, resets only in loose), or an ICMP error quoting such a segment
  'icmp-no-session', //      ICMP echo reply or error that matches no session
  'session-table-full', //   a new flow while the session table is at shared.sessions.max (established ones are kept)
  'nat-exhausted', //        source NAT has no free port (or ICMP id) left on the translated address
  'session-conflict', //     a new flow whose translated tuple is already another session's (left to that one)
  'icmp-unsupported', //     ICMP other than echo and the errors tied to a session (timestamp, redirect, ...)
  'wrong-interface', //      a packet of a known session arriving on the other side's interface (spoofed or misrouted)
  'sync-overflow', //        a session change that did not fit the HA2 ring (said in the ring as soon as there is room: the peer gets a full resync)
  'sync-bad-record', //      a record from the peer with an unknown op (skipped)
  'policy-rematch', //       an existing session removed by a config commit whose policy no longer allows it (one per session)
  'ring-full', //            frames the kernel dropped because the receive ring was full (PACKET_STATISTICS; never counted in rx)
  // active/active, HA3 (docs/active-active.md): the envelope's refusals (src/wire/ha3.ts Ha3Reject, same names)
  'ha3-short', //            HA3 frame shorter than its header and tag
  'ha3-version', //          HA3 frame of another version
  'ha3-kind', //             authenticated HA3 frame of an unknown kind
  'ha3-length', //           HA3 frame shorter than the payload length it states
  'ha3-bad-mac', //          HA3 frame whose tag does not verify (wrong key, corrupted, forged)
  'ha3-wrong-sender', //     authenticated HA3 frame that does not come from the peer's device id (a looped link)
  'ha3-stale-epoch', //      HA3 frame from an earlier run of the peer than one already heard
  'ha3-replay', //           HA3 frame whose sequence number was seen already or is too old
  'ha3-bad-payload', //      authenticated HA3 frame whose payload does not fit its kind (record size, interface index)
  'ha3-down', //             a packet for the peer (its session, its setup) while HA3 does not hear the peer
  // IPv4 options, IPv4 and IPv6 fragments (docs/firewall.md "Fragments and IP options", docs/ipv6.md "Fragments"; reassembly.ts, reassembly6.ts)
  'ip-source-route', //      IPv4 loose or strict source route option (LSRR, SSRR): never honoured
  'frag-too-big', //         a fragment ending past 65535 bytes (IPv6: a payload past 65535 bytes; its datagram dropped)
  'frag-tiny', //            a first fragment too short to hold the L4 header (ports, ICMP type; IPv6: the whole header chain up to it, RFC 7112): its datagram dropped
  'frag-overlap', //         a fragment overlapping one held that is not its exact duplicate: its datagram dropped
  'frag-inconsistent', //    a second last fragment with another end, or a fragment past the end: its datagram dropped
  'frag-too-many', //        a datagram of more fragments than the limit: dropped
  'frag-limit', //           a fragment whose own datagram would take the bytes held past the limit: that datagram dropped
  'frag-timeout', //         a datagram not complete 30 s (IPv6: 60 s, RFC 8200 4.5) after its first fragment arrived (ICMP time exceeded sent when its first fragment came)
  // IPv6 (docs/ipv6.md; packet6.ts, nd.ts)
  'bad-ip6-header', //       IPv6 version not 6, or a payload length past the frame
  'ip6-ext-limit', //        more than 8 IPv6 extension headers, or more than 256 bytes of them (RFC 9098)
  'ip6-ext-order', //        IPv6 hop-by-hop header not right after the IPv6 header, or an extension header repeated (RFC 8200 4.1)
  'ip6-rh0', //              IPv6 routing header type 0 (RFC 5095: deprecated, never honoured)
  'ip6-routing', //          IPv6 routing header of another type with segments left: a firewall does not source-route
  'ip6-option', //           IPv6 hop-by-hop or destination option malformed, a jumbo payload, or unknown with a discard action (RFC 8200 4.2)
  'ip6-unknown-header', //   IPv6 next header that is neither an extension header walked nor an upper layer the firewall knows (RFC 7045)
  'ip6-scope', //            IPv6 packet to be forwarded with a link-local source or destination (RFC 4291 2.5.6)
  'nd-hop-limit', //         neighbour discovery message with a hop limit other than 255: it was routed, so it is forged (RFC 4861 7.1)
  'nd-bad', //               neighbour discovery message malformed (RFC 4861 6.1, 7.1: code, length, checksum, options, target, addresses)
  'nd-queue-full', //        IPv6 next hop unresolved and its waiting queue is full
  'nd-timeout', //           IPv6 next hop did not answer neighbour solicitations in time; queued packets dropped (counted forwarded when queued)
  'ip6-multicast', //        IPv6 packet to a multicast group that is not neighbour discovery: never forwarded
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const EVENT_COUNTERS = [
  'rx', //                   frames received on traffic interfaces
  'tx', //                   frames sent on traffic interfaces
  'forwarded', //            IPv4 and IPv6 packets forwarded (those waiting for their next hop's ARP or ND answer too: counted when queued)
  'arp-reply-sent', //       ARP replies for floating IPs
  'arp-request-sent', //     ARP requests to resolve next hops
  'arp-learned', //          neighbour entries learned or refreshed
  'arp-table-full', //       a new neighbour not learned: its interface's ARP table holds maxEntries (existing ones are still refreshed)
  'arp-handled', //          ARP frames that need no answer from us (a reply, a request for another host, an announcement): seen, not dropped
  'icmp-echo-reply-sent', // echo replies for floating IPs
  'garp-sent', //            gratuitous ARP frames sent
  'own-frame', //            frames we sent ourselves, seen again (ignored)
  'to-kernel', //            frames for the box's own kernel address or MAC, or link broadcast/multicast: left to the kernel
  'arp-queued', //           forwarded frames queued waiting for a next hop's ARP answer (an event: their outcome is forwarded)
  'session-created', //      new sessions (any protocol; by protocol in tandem_sessions_created_total)
  'session-expired', //      sessions removed by their timeout
  'reject-sent', //          TCP RSTs and ICMP unreachables sent for policy rejects
  'reject-rate-limited', //  reject answers not sent: the ICMP error rate limit's bucket of their destination or of the box was empty
  'icmp-error-sent', //      ICMP errors the box sent as a router: time exceeded (ttl-exceeded), fragmentation needed (oversize with DF)
  'tcp-out-of-window-passed', // TCP segment outside its window passed all the same (tcpWindowCheck loose; nothing learnt from it)
  'tcp-rst-in-window', //    TCP reset inside the window but not at the expected sequence: passed without closing the session (RFC 5961 3.2: the endpoint answers with a challenge ACK)
  'mss-clamped', //          TCP SYNs whose MSS option was lowered to an interface's mssClamp (forwarded all the same)
  'icmp-error-rate-limited', // ICMP errors not sent: the bucket of their destination (the offending packet's source) or of the box was empty (RFC 1812 4.3.2.8; icmp-rate.ts)
  'sync-applied', //         session records from the peer applied to this box's table
  'io-error', //             a capture handle failed (device down, deleted, re-created, MTU changed): closed, opened again when the device is up
  'io-reopened', //          a failed capture handle opened again
  'device-changed', //       a traffic device's MTU or MAC changed under the dataplane (the pipeline uses the new values)
  'ring-freeze', //          the receive ring had no free block (TPACKET_V3 tp_freeze_q_cnt)
  'tx-refused', //           frames the device refused when a staged batch or the ARP queue was sent (their outcome, e.g. forwarded, was counted already)
  'tx-withheld', //          staged or ARP-queued frames not sent: the box stopped being active or its lease ran out before they left (send-gate.ts; outcome counted already)
  'sync-clear-skipped', //   a clear (REC_CLEAR, the peer's BULK_BEGIN) queued before this box became active, not applied: it would empty the active's table
  'sync-own-kept', //        active/active: a record from the peer about a session this box owns, not applied: the owner's view wins (sync-port.ts)
  // active/active (docs/active-active.md)
  'ha3-rx', //               HA3 frames received and authenticated (any kind)
  'ha3-tx', //               HA3 frames sent (any kind)
  'to-owner', //             packets of a session the peer owns, carried to it over HA3 (an outcome)
  'setup-to-peer', //        first packets whose setup device is the peer, carried to it over HA3 (an outcome)
  'miss-to-peer', //         packets that match no session here and cannot open one, carried to the peer, which may hold it (an outcome)
  'setup-local', //          new flows this box set up (policy, NAT) in active/active, its own or the peer's
  'session-adopted', //      sessions of a peer that does not forward, taken over here at their next packet
  'ha3-owner-mismatch', //   a packet from the peer whose session our table says the peer owns (processed here all the same)
  'defer-acked', //          first packets of new sessions held until the peer acknowledged the session (HA3 INSERT)
  'defer-timeout', //        first packets held for the peer's acknowledgement and sent after deferMs without it
  'defer-full', //           first packets not held because the hold queue was full (sent at once)
  'class-claimed', //        a frame from the MAC of a class this box serves, sent by the peer: announced again when the class is this box's own device class, or the primary's while this box is primary (garp.ts ReclaimScheduler)
  // IPv4 and IPv6 fragments, IPv4 options (docs/firewall.md "Fragments and IP options", docs/ipv6.md "Fragments")
  'fragment-held', //        fragments kept for reassembly (an outcome: the datagram they complete counts its own)
  'fragment-duplicate', //   exact copies of a fragment held, ignored (an outcome)
  'reassembled', //          datagrams made whole from their fragments (each then counted as one packet: forwarded, dropped, ...; IPv6 ones leave as the fragments they came in)
  'fragmented', //           packets sent as fragments (IPv4 larger than the egress MTU, DF clear; a reassembled datagram to the peer over HA3; the box's own IPv6 echo reply larger than the interface MTU)
  'ip-options-stripped', //  packets whose IPv4 options were removed at the start of the path
  'frag-evicted', //         datagrams held, dropped (the oldest) to make room: the reassembly slots or bytes were all taken
  'frag-source-evicted', //  datagrams held, dropped (the source's oldest) for a new one of a source holding its share of the slots
  // IPv6 neighbour discovery and router advertisements (docs/ipv6.md)
  'nd-advert-sent', //       solicited neighbour advertisements for floating IPv6 addresses
  'nd-solicit-sent', //      neighbour solicitations to resolve IPv6 next hops
  'nd-learned', //           IPv6 neighbour entries learned or refreshed (from an advertisement, or a solicitation's link-layer option)
  'nd-table-full', //        a new IPv6 neighbour not learned: the interface's table holds maxEntries
  'nd-handled', //           neighbour discovery frames that need no answer from us: seen, not dropped
  'nd-queued', //            forwarded IPv6 packets queued waiting for a next hop's advertisement (an event: their outcome is forwarded)
  'nd-conflict', //          another node advertised a floating IPv6 address (not the peer): counted, nothing changes (docs/ipv6.md)
  'na-announce-sent', //     unsolicited neighbour advertisements for floating IPv6 addresses (takeover, refresh: the IPv6 gratuitous ARP)
  'ra-sent', //              router advertisements sent from the floating link-local address
  'mld-report-sent', //      MLDv2 reports joining the floating addresses' solicited-node groups (with each announcement round)
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
