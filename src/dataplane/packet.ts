// Ethernet II and IPv4 header layout: offset constants and allocation-free readers/writers over
// a frame Buffer. Offsets are absolute within the frame (Ethernet header at 0, no VLAN tag).
// RFC 894 (IPv4 over Ethernet), RFC 791 (IPv4 header).

/** Ethernet II header: destination MAC, source MAC, EtherType. */
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HLEN = 14;
/** Shortest Ethernet frame without FCS (IEEE 802.3 64-byte minimum minus the 4-byte FCS). */
export const ETH_MIN_FRAME = 60;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

/** IPv4 header fields (RFC 791 section 3.1), offsets from the start of the frame. */
export const IP_VHL = ETH_HLEN + 0; //     version (4 bits) and IHL in 32-bit words (4 bits)
export const IP_TOS = ETH_HLEN + 1;
export const IP_TOTLEN = ETH_HLEN + 2;
export const IP_ID = ETH_HLEN + 4;
export const IP_FRAG = ETH_HLEN + 6; //    flags (3 bits) and fragment offset (13 bits)
export const IP_TTL = ETH_HLEN + 8;
export const IP_PROTO = ETH_HLEN + 9;
export const IP_CSUM = ETH_HLEN + 10;
export const IP_SRC = ETH_HLEN + 12;
export const IP_DST = ETH_HLEN + 16;
/** IPv4 header without options. */
export const IP_HLEN = 20;
/** First byte after an option-less IPv4 header. */
export const L4_OFF = ETH_HLEN + IP_HLEN;

/** More-fragments flag and fragment-offset mask in the flags/offset word (RFC 791 3.1). */
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

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
 * Returns the drop reason, or null when the packet is a plain (option-less, unfragmented) IPv4
 * packet whose header verifies. Checks, in order: the frame holds a minimal header ('truncated'),
 * version 4 and IHL >= 5 and a total length that fits the frame ('bad-ip-header'; Ethernet
 * padding after the total length is allowed), the header checksum ('bad-ip-checksum'), options
 * ('ip-options') and fragments ('fragment'), which v1 neither forwards nor reassembles.
 */
export function validateIpv4(frame: Uint8Array, len: number): 'truncated' | 'bad-ip-header' | 'bad-ip-checksum' | 'ip-options' | 'fragment' | null {
  if (len < ETH_HLEN + IP_HLEN) return 'truncated';
  const vhl = frame[IP_VHL];
  if (vhl >>> 4 !== 4) return 'bad-ip-header';
  const hlen = (vhl & 0x0f) << 2;
  if (hlen < IP_HLEN) return 'bad-ip-header';
  if (len < ETH_HLEN + hlen) return 'truncated';
  const totlen = readU16(frame, IP_TOTLEN);
  if (totlen < hlen || totlen > len - ETH_HLEN) return 'bad-ip-header';
  if (checksumOk(frame, hlen) === false) return 'bad-ip-checksum';
  if (hlen !== IP_HLEN) return 'ip-options';
  const frag = readU16(frame, IP_FRAG);
  if ((frag & (IP_MF | IP_OFFMASK)) !== 0) return 'fragment';
  return null;
}

function checksumOk(frame: Uint8Array, hlen: number): boolean {
  let sum = 0;
  const end = ETH_HLEN + hlen;
  for (let i = ETH_HLEN; i < end; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
