// NAT rewrite in place: a new source or destination (address, port) with every checksum updated
// incrementally (RFC 1624 eqn. 3), never recomputed, so the cost does not grow with the payload.
//
// What a change touches:
//   address  IPv4 header checksum, and the TCP/UDP checksum (the pseudo-header holds the
//            addresses: RFC 9293 3.1, RFC 768); not ICMP's (no pseudo-header, RFC 792)
//   port     the TCP/UDP checksum; for ICMP echo the identifier, in the ICMP checksum
// ICMP echo "ports" follow the session table's convention (firewall.ts): the identifier sits on
// the requester's side of the tuple, so a request is (identifier, 0) and a reply (0, identifier);
// a source rewrite changes the identifier of a request, a destination rewrite that of a reply.
// UDP: a checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xffff (RFC 768).
//
// All the word changes for one checksum are summed before one fold, so the answer equals a full
// recomputation over the new bytes.
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, readU16, readU32, writeU16, writeU32 } from './packet.js';

/** Offsets inside the IPv4 header (RFC 791 3.1), relative to its start. */
const IPH_CSUM = 10;
const IPH_SRC = 12;
const IPH_DST = 16;
/** Checksum offsets inside the L4 header: TCP (RFC 9293 3.1), UDP (RFC 768), ICMP (RFC 792). */
export const TCP_CSUM = 16;
export const UDP_CSUM = 6;
export const ICMP_CSUM_OFF = 2;
/** ICMP echo identifier (RFC 792 "Echo or Echo Reply Message"). */
export const ICMP_ID_OFF = 4;
export const ICMP_TYPE_ECHO_REPLY = 0;
export const ICMP_TYPE_ECHO_REQUEST = 8;

/** Header length of the IPv4 header at l3, in bytes. */
export function ipHeaderLen(frame: Uint8Array, l3: number): number {
  return (frame[l3] & 0x0f) << 2;
}

/** ~m + m' for one 16-bit word changing from m to m' (a term of RFC 1624 eqn. 3). */
export function delta16(oldWord: number, newWord: number): number {
  return (~oldWord & 0xffff) + (newWord & 0xffff);
}

/** A 32-bit field (an address) changing from `oldV` to `newV`, as two word terms. */
export function delta32(oldV: number, newV: number): number {
  return delta16(oldV >>> 16, newV >>> 16) + delta16(oldV & 0xffff, newV & 0xffff);
}

/** HC' = ~(~HC + sum of terms), folded. `sum` is a sum of delta terms (unfolded, < 2^20). */
export function applyDelta(hc: number, sum: number): number {
  sum += ~hc & 0xffff;
  // at most ~hc + 8 word terms (< 2^21): two folds leave 16 bits
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** ICMP echo request or reply: the only ICMP messages with a "port" (the identifier). */
export function isIcmpEcho(type: number): boolean {
  return type === ICMP_TYPE_ECHO_REQUEST || type === ICMP_TYPE_ECHO_REPLY;
}

/**
 * Rewrites the address at addrOff (l3 + 12 source, l3 + 16 destination) and the L4 port at
 * portOff (relative to L4) of the packet at l3. port < 0 keeps the port.
 */
function rewrite(frame: Uint8Array, l3: number, proto: number, addrOff: number, portOff: number, echoType: number, ip: number, port: number): void {
  const l4 = l3 + ipHeaderLen(frame, l3);
  const oldIp = readU32(frame, l3 + addrOff);
  ip >>>= 0;
  const addrDelta = delta32(oldIp, ip);
  writeU32(frame, l3 + addrOff, ip);
  writeU16(frame, l3 + IPH_CSUM, applyDelta(readU16(frame, l3 + IPH_CSUM), addrDelta));

  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    let sum = addrDelta;
    if (port >= 0) {
      sum += delta16(readU16(frame, l4 + portOff), port);
      writeU16(frame, l4 + portOff, port);
    }
    if (proto === IPPROTO_TCP) {
      writeU16(frame, l4 + TCP_CSUM, applyDelta(readU16(frame, l4 + TCP_CSUM), sum));
    } else {
      const c = readU16(frame, l4 + UDP_CSUM);
      if (c !== 0) {
        const n = applyDelta(c, sum);
        writeU16(frame, l4 + UDP_CSUM, n === 0 ? 0xffff : n);
      }
    }
  } else if (proto === IPPROTO_ICMP && port >= 0 && frame[l4] === echoType) {
    const oldId = readU16(frame, l4 + ICMP_ID_OFF);
    writeU16(frame, l4 + ICMP_ID_OFF, port);
    writeU16(frame, l4 + ICMP_CSUM_OFF, applyDelta(readU16(frame, l4 + ICMP_CSUM_OFF), delta16(oldId, port)));
  }
}

/**
 * New source address and port of the IPv4 packet at l3, in place, checksums updated. port < 0
 * keeps the port. For an ICMP echo request the source "port" is the identifier; other ICMP
 * messages (replies included: their source port is 0) change only their address.
 */
export function rewriteSource(frame: Uint8Array, l3: number, proto: number, ip: number, port: number): void {
  rewrite(frame, l3, proto, IPH_SRC, 0, ICMP_TYPE_ECHO_REQUEST, ip, port);
}

/**
 * New destination address and port, in place, checksums updated. port < 0 keeps the port. For an
 * ICMP echo reply the destination "port" is the identifier (a reply to a source-NATed request gets
 * its inside identifier back this way); other ICMP messages change only their address.
 */
export function rewriteDestination(frame: Uint8Array, l3: number, proto: number, ip: number, port: number): void {
  rewrite(frame, l3, proto, IPH_DST, 2, ICMP_TYPE_ECHO_REPLY, ip, port);
}

/**
 * The L4 "ports" of a packet as the session table keys it: TCP/UDP ports; ICMP echo request
 * (identifier, 0), echo reply (0, identifier), so a reply's tuple is the request's reversed;
 * others -1. Frame already validated (IPv4 at l3).
 */
export function l4SrcPort(frame: Uint8Array, l3: number, proto: number): number {
  const l4 = l3 + ipHeaderLen(frame, l3);
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return readU16(frame, l4);
  if (proto === IPPROTO_ICMP && isIcmpEcho(frame[l4])) return frame[l4] === ICMP_TYPE_ECHO_REQUEST ? readU16(frame, l4 + ICMP_ID_OFF) : 0;
  return -1;
}

export function l4DstPort(frame: Uint8Array, l3: number, proto: number): number {
  const l4 = l3 + ipHeaderLen(frame, l3);
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return readU16(frame, l4 + 2);
  if (proto === IPPROTO_ICMP && isIcmpEcho(frame[l4])) return frame[l4] === ICMP_TYPE_ECHO_REPLY ? readU16(frame, l4 + ICMP_ID_OFF) : 0;
  return -1;
}

/**
 * Shortest L4 header the rewrite and port readers touch: TCP 20 (checksum at 16), UDP 8, ICMP 8.
 * The pipeline checks the packet holds this much before it calls them; 0 for other protocols.
 */
export function l4MinLen(proto: number): number {
  return proto === IPPROTO_TCP ? 20 : proto === IPPROTO_UDP || proto === IPPROTO_ICMP ? 8 : 0;
}
