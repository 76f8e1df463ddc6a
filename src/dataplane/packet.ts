// Ethernet II, IPv4 and the L4 headers the packet path reads (TCP, UDP, ICMP): offset constants
// and allocation-free readers/writers over a frame Buffer. Offsets named IP_* and L4_OFF are
// absolute within a frame (Ethernet header at 0, no VLAN tag, an option-less IPv4 header); the
// others are relative to the start of their header, for a header found elsewhere (at `l3` or
// `l4`, or quoted in an ICMP error). RFC 894 (IPv4 over Ethernet), RFC 791 (IPv4), RFC 9293
// (TCP), RFC 768 (UDP), RFC 792 (ICMP).

/** Ethernet II header: destination MAC, source MAC, EtherType. */
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HLEN = 14;
/** Shortest Ethernet frame without FCS (IEEE 802.3 64-byte minimum minus the 4-byte FCS). */
export const ETH_MIN_FRAME = 60;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

/** IPv4 header fields (RFC 791 section 3.1), offsets from the start of the IPv4 header. */
export const IPH_VHL = 0; //     version (4 bits) and IHL in 32-bit words (4 bits)
export const IPH_TOTLEN = 2;
export const IPH_ID = 4; //      identification: with src, dst, protocol, the key of a fragmented datagram
export const IPH_FRAG = 6; //    flags (3 bits) and fragment offset (13 bits)
export const IPH_TTL = 8;
export const IPH_PROTO = 9;
export const IPH_CSUM = 10;
export const IPH_SRC = 12;
export const IPH_DST = 16;
/** IPv4 header without options. */
export const IP_HLEN = 20;

/** The IPv4 fields of a frame (the header right after the Ethernet header). */
export const IP_VHL = ETH_HLEN + IPH_VHL;
export const IP_TOTLEN = ETH_HLEN + IPH_TOTLEN;
export const IP_ID = ETH_HLEN + IPH_ID;
export const IP_FRAG = ETH_HLEN + IPH_FRAG;
export const IP_TTL = ETH_HLEN + IPH_TTL;
export const IP_PROTO = ETH_HLEN + IPH_PROTO;
export const IP_CSUM = ETH_HLEN + IPH_CSUM;
export const IP_SRC = ETH_HLEN + IPH_SRC;
export const IP_DST = ETH_HLEN + IPH_DST;
/** First byte after an option-less IPv4 header. */
export const L4_OFF = ETH_HLEN + IP_HLEN;

/** Don't-fragment and more-fragments flags, fragment-offset mask in the flags/offset word (RFC 791 3.1). */
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** ICMPv6 (RFC 4443): IPv6's ICMP, its sessions kept beside ICMP's (echo identifier as the port). */
export const IPPROTO_ICMPV6 = 58;

// L4 headers, offsets from their start. TCP and UDP both begin with the source and destination port.
export const L4_SPORT = 0;
export const L4_DPORT = 2;
/** TCP header without options; its flags byte (control bits: tcp-state.ts) and checksum. */
export const TCP_HLEN = 20;
export const TCP_FLAGS = 13;
export const TCP_CSUM = 16;
export const UDP_HLEN = 8;
export const UDP_CSUM = 6;
/** ICMP: type, code, checksum, then 4 bytes that depend on the type (RFC 792). */
export const ICMP_HLEN = 8;
export const ICMP_CODE = 1;
export const ICMP_CSUM = 2;
/** The identifier of an echo request or reply. */
export const ICMP_ID = 4;

/** ICMP types (RFC 792). */
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;
/** Bytes of the offending packet's payload an ICMP error quotes after its IP header (RFC 792 "64 bits of data"). */
export const ICMP_QUOTE_L4_BYTES = 8;

/** Default TTL of packets the box originates (echo replies), as Linux's ip_default_ttl. */
export const DEFAULT_TTL = 64;

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

/** Big-endian unsigned 32-bit read (an IPv4 address as a number, as src/net/ipv4.ts uses). */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** 6 bytes at `off` equal `mac`. */
export function macEquals(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return (
    buf[off] === mac[0] && buf[off + 1] === mac[1] && buf[off + 2] === mac[2] && buf[off + 3] === mac[3] && buf[off + 4] === mac[4] && buf[off + 5] === mac[5]
  );
}

export function copyMac(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff = 0): void {
  dst[dstOff] = src[srcOff];
  dst[dstOff + 1] = src[srcOff + 1];
  dst[dstOff + 2] = src[srcOff + 2];
  dst[dstOff + 3] = src[srcOff + 3];
  dst[dstOff + 4] = src[srcOff + 4];
  dst[dstOff + 5] = src[srcOff + 5];
}

export function isBroadcastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) === 0xff;
}

/** Group bit (I/G) of the first octet: multicast or broadcast. */
export function isGroupMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 1) === 1;
}

export const BROADCAST_MAC: Readonly<Uint8Array> = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Readonly<Uint8Array> = new Uint8Array(6);

export function parseMac(text: string): Uint8Array {
  const parts = text.trim().split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`not a MAC address: ${JSON.stringify(text)}`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + mac[off + i].toString(16).padStart(2, '0');
  return s;
}

/**
 * Source addresses that must never be forwarded (RFC 1812 5.3.7 / 4.2.2.11): 0.0.0.0/8,
 * 127.0.0.0/8, 224.0.0.0/4 (multicast) and 240.0.0.0/4 including 255.255.255.255.
 */
export function isMartianSource(addr: number): boolean {
  const top = addr >>> 24;
  return top === 0 || top === 127 || top >= 224;
}

/** Destinations the forwarder never routes: multicast, class E and limited broadcast. */
export function isNonUnicastDestination(addr: number): boolean {
  return addr >>> 24 >= 224;
}

/**
 * Validates the IPv4 header of an Ethernet frame of `len` bytes (EtherType already checked).
 * Returns the drop reason, or null when the packet is an IPv4 packet whose header verifies
 * (options and fragments are the caller's: ip-options.ts, reassembly.ts). Checks, in order: the frame holds a minimal header ('truncated'), version 4 and
 * IHL >= 5 and a total length that fits the frame ('bad-ip-header'; Ethernet padding after the
 * total length is allowed), the header checksum ('bad-ip-checksum').
 */
export function validateIpv4(frame: Uint8Array, len: number): 'truncated' | 'bad-ip-header' | 'bad-ip-checksum' | null {
  if (len < ETH_HLEN + IP_HLEN) return 'truncated';
  const vhl = frame[IP_VHL];
  if (vhl >>> 4 !== 4) return 'bad-ip-header';
  const hlen = (vhl & 0x0f) << 2;
  if (hlen < IP_HLEN) return 'bad-ip-header';
  if (len < ETH_HLEN + hlen) return 'truncated';
  const totlen = readU16(frame, IP_TOTLEN);
  if (totlen < hlen || totlen > len - ETH_HLEN) return 'bad-ip-header';
  if (checksumOk(frame, hlen) === false) return 'bad-ip-checksum';
  return null;
}

/** The (validated) IPv4 packet of `frame` is a fragment: more fragments follow, or it has an offset. */
export function isFragment(frame: Uint8Array): boolean {
  return (readU16(frame, IP_FRAG) & (IP_MF | IP_OFFMASK)) !== 0;
}

function checksumOk(frame: Uint8Array, hlen: number): boolean {
  let sum = 0;
  const end = ETH_HLEN + hlen;
  for (let i = ETH_HLEN; i < end; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** Header length in bytes (IHL x 4) of the IPv4 header at `l3`. */
export function ipHeaderLen(frame: Uint8Array, l3: number): number {
  return (frame[l3 + IPH_VHL] & 0x0f) << 2;
}

/**
 * The IPv4 packet at `l3` of a frame of `len` bytes, checked as far as reading it safely needs:
 * a whole header of version 4 and IHL >= 5, and a total length that covers the header and fits the
 * frame. Its header length in bytes, or 0 when it is none of that. (validateIpv4 is the ingress
 * check, with a reason for each failure; this one serves code that builds or reads a packet again.)
 */
export function ipv4HeaderAt(frame: Uint8Array, l3: number, len: number): number {
  if (len < l3 + IP_HLEN || frame[l3 + IPH_VHL] >>> 4 !== 4) return 0;
  const hlen = ipHeaderLen(frame, l3);
  const totlen = readU16(frame, l3 + IPH_TOTLEN);
  return hlen >= IP_HLEN && totlen >= hlen && totlen <= len - l3 ? hlen : 0;
}

/** One of the five ICMP error types RFC 792 defines (RFC 1122 3.2.2: the others are queries). */
export function isIcmpErrorType(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAM_PROBLEM;
}

/**
 * Shortest L4 header the packet path reads: TCP 20 (flags at 13, checksum at 16), UDP 8, ICMP 8;
 * 0 for other protocols.
 */
export function l4MinLen(proto: number): number {
  return proto === IPPROTO_TCP ? TCP_HLEN : proto === IPPROTO_UDP ? UDP_HLEN : proto === IPPROTO_ICMP ? ICMP_HLEN : 0;
}

/** The two ports of a flow's tuple. */
export interface FlowPorts {
  srcPort: number;
  dstPort: number;
}

/**
 * The ports of the L4 header at `l4` as the session table keys a flow, into `out`: TCP and UDP
 * ports; for an ICMP echo the identifier, on the requester's side, so that a reply's tuple is its
 * request's reversed: request (identifier, 0), reply (0, identifier). False, `out` untouched, for
 * other ICMP messages and other protocols. The header must be there (l4MinLen).
 */
export function readFlowPorts(frame: Uint8Array, l4: number, proto: number, out: FlowPorts): boolean {
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    out.srcPort = readU16(frame, l4 + L4_SPORT);
    out.dstPort = readU16(frame, l4 + L4_DPORT);
    return true;
  }
  if (proto !== IPPROTO_ICMP) return false;
  const type = frame[l4];
  if (type === ICMP_ECHO_REQUEST) {
    out.srcPort = readU16(frame, l4 + ICMP_ID);
    out.dstPort = 0;
    return true;
  }
  if (type === ICMP_ECHO_REPLY) {
    out.srcPort = 0;
    out.dstPort = readU16(frame, l4 + ICMP_ID);
    return true;
  }
  return false;
}
