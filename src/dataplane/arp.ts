// ARP over Ethernet for IPv4 (RFC 826): parse requests and replies, build replies, requests and
// RFC 5227 announcements (gratuitous ARP). Builders write into a caller-owned buffer (no
// allocation) and return the frame length, padded to the Ethernet minimum.
import {
  BROADCAST_MAC,
  ETH_DST,
  ETH_HLEN,
  ETH_MIN_FRAME,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ZERO_MAC,
  copyMac,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './packet.js';

/** ARP packet fields (RFC 826 "Packet format"), offsets from the start of the frame. */
export const ARP_HTYPE = ETH_HLEN + 0; // hardware type, 1 = Ethernet
export const ARP_PTYPE = ETH_HLEN + 2; // protocol type, 0x0800 = IPv4
export const ARP_HLEN = ETH_HLEN + 4; //  hardware address length, 6
export const ARP_PLEN = ETH_HLEN + 5; //  protocol address length, 4
export const ARP_OP = ETH_HLEN + 6; //    1 = request, 2 = reply
export const ARP_SHA = ETH_HLEN + 8;
export const ARP_SPA = ETH_HLEN + 14;
export const ARP_THA = ETH_HLEN + 18;
export const ARP_TPA = ETH_HLEN + 24;
/** Ethernet header plus the 28-byte ARP body for Ethernet/IPv4. */
export const ARP_FRAME_LEN = ETH_HLEN + 28;

export const ARP_HTYPE_ETHERNET = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/**
 * Checks an ARP frame is Ethernet/IPv4 with a known opcode. Returns the opcode (1 or 2), or a
 * drop reason. Fields are then read in place with readU32(frame, ARP_SPA) etc.
 */
export function checkArp(frame: Uint8Array, len: number): 1 | 2 | 'truncated' | 'bad-arp' {
  if (len < ARP_FRAME_LEN) return 'truncated';
  if (readU16(frame, ARP_HTYPE) !== ARP_HTYPE_ETHERNET || readU16(frame, ARP_PTYPE) !== ETHERTYPE_IPV4 || frame[ARP_HLEN] !== 6 || frame[ARP_PLEN] !== 4) {
    return 'bad-arp';
  }
  const op = readU16(frame, ARP_OP);
  if (op === ARPOP_REQUEST || op === ARPOP_REPLY) return op;
  return 'bad-arp';
}

export const arpSenderIp = (frame: Uint8Array): number => readU32(frame, ARP_SPA);
export const arpTargetIp = (frame: Uint8Array): number => readU32(frame, ARP_TPA);

/**
 * Writes the fixed fields of an Ethernet/IPv4 ARP frame (EtherType, hardware and protocol types
 * and lengths), the opcode, and the zero padding up to the Ethernet minimum; returns the frame
 * length. The caller writes the addresses.
 */
function writeArpFixed(out: Uint8Array, op: number): number {
  writeU16(out, ETH_TYPE, ETHERTYPE_ARP);
  writeU16(out, ARP_HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(out, ARP_PTYPE, ETHERTYPE_IPV4);
  out[ARP_HLEN] = 6;
  out[ARP_PLEN] = 4;
  writeU16(out, ARP_OP, op);
  out.fill(0, ARP_FRAME_LEN, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}

/** Writes Ethernet + ARP headers; pads with zeros up to the Ethernet minimum. */
function writeArp(out: Uint8Array, ethDst: Uint8Array, ethSrc: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): number {
  copyMac(out, ETH_DST, ethDst);
  copyMac(out, ETH_SRC, ethSrc);
  copyMac(out, ARP_SHA, sha);
  writeU32(out, ARP_SPA, spa);
  copyMac(out, ARP_THA, tha);
  writeU32(out, ARP_TPA, tpa);
  return writeArpFixed(out, op);
}

/**
 * The reply to the ARP request in `request`: "`ip` is at `mac`", unicast to the requester
 * (RFC 826: swap sender and target, fill in our hardware address, opcode reply). `out` must not
 * be `request`. The requester's MAC is copied from the request in place (no subarray per reply).
 */
export function buildArpReply(out: Uint8Array, request: Uint8Array, mac: Uint8Array, ip: number): number {
  copyMac(out, ETH_DST, request, ARP_SHA);
  copyMac(out, ARP_THA, request, ARP_SHA);
  writeU32(out, ARP_TPA, readU32(request, ARP_SPA));
  copyMac(out, ETH_SRC, mac);
  copyMac(out, ARP_SHA, mac);
  writeU32(out, ARP_SPA, ip);
  return writeArpFixed(out, ARPOP_REPLY);
}

/** A broadcast "who has `targetIp`? tell `senderIp`" from `senderMac` (THA zero, RFC 826). */
export function buildArpRequest(out: Uint8Array, senderMac: Uint8Array, senderIp: number, targetIp: number): number {
  return writeArp(out, BROADCAST_MAC, senderMac, ARPOP_REQUEST, senderMac, senderIp, ZERO_MAC, targetIp);
}

/**
 * An ARP announcement (RFC 5227 section 2.3): an ARP request, broadcast, with sender and target
 * protocol address both `ip`, sender hardware address `mac`, target hardware address zero. Hosts
 * and switches that see it update their caches/forwarding tables; nobody replies.
 */
export function buildGarp(out: Uint8Array, mac: Uint8Array, ip: number): number {
  return writeArp(out, BROADCAST_MAC, mac, ARPOP_REQUEST, mac, ip, ZERO_MAC, ip);
}

/**
 * An ARP probe (RFC 5227 section 2.1.1): an ARP request, broadcast, sender hardware address `mac`,
 * sender protocol address 0.0.0.0, target protocol address `ip`. Switches learn where `mac` is from
 * it; hosts take nothing into their caches from a probe (its sender address is zero), and nobody
 * answers one for an address nobody holds as its own. Active/active sends it for a shared address
 * (arp-share.ts), where a gratuitous ARP would move every host to one MAC.
 */
export function buildArpProbe(out: Uint8Array, mac: Uint8Array, ip: number): number {
  return writeArp(out, BROADCAST_MAC, mac, ARPOP_REQUEST, mac, 0, ZERO_MAC, ip);
}
