// IPv6 addresses as four big-endian 32-bit words (word 0 holds the first 32 bits): the packet path
// compares numbers, not strings, as with IPv4 (ipv4.ts). Text is parsed and printed by ipaddr.js
// (RFC 4291 forms in, RFC 5952's canonical form out); a zone id ("fe80::1%eth0") is refused: config
// names the interface separately.
import ipaddr from 'ipaddr.js';

/** An IPv6 address: 4 words, word 0 the most significant. */
export type Ipv6 = Uint32Array;

export interface Prefix6 {
  /** Network address (host bits cleared). */
  readonly network: Ipv6;
  /** Prefix length 0-128. */
  readonly length: number;
  /** Netmask. */
  readonly mask: Ipv6;
}

/** True for a plain IPv6 address (no zone id, no prefix length). */
export function isIpv6(text: string): boolean {
  return typeof text === 'string' && !text.includes('%') && ipaddr.IPv6.isValid(text);
}

/** Parses an IPv6 address; throws on anything else. */
export function parseIpv6(text: string): Ipv6 {
  if (!isIpv6(text)) throw new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  return wordsOf(ipaddr.IPv6.parse(text).toByteArray());
}

function wordsOf(bytes: readonly number[]): Ipv6 {
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((bytes[i * 4] << 24) | (bytes[i * 4 + 1] << 16) | (bytes[i * 4 + 2] << 8) | bytes[i * 4 + 3]) >>> 0;
  return w;
}

/** RFC 5952 text of the 4 words at `off` of `words`. */
export function formatIpv6(words: ArrayLike<number>, off = 0): string {
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const v = words[off + i];
    bytes.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  return new ipaddr.IPv6(bytes).toRFC5952String();
}

/** The netmask of a prefix length 0-128. */
export function mask6Of(length: number): Ipv6 {
  const m = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, length - i * 32));
    m[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return m;
}

/** "addr/len" -> the address as written and its prefix. */
export function parseCidr6(text: string): { address: Ipv6; prefix: Prefix6 } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`not an IPv6 prefix (missing /length): ${JSON.stringify(text)}`);
  const address = parseIpv6(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^(12[0-8]|1[01]\d|[1-9]?\d)$/.test(lenText)) throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  const length = +lenText;
  const mask = mask6Of(length);
  const network = new Uint32Array(4);
  for (let i = 0; i < 4; i++) network[i] = (address[i] & mask[i]) >>> 0;
  return { address, prefix: { network, length, mask } };
}

export function isCidr6(text: string): boolean {
  try {
    parseCidr6(text);
    return true;
  } catch {
    return false;
  }
}

/** The address at `off` of `words` (4 words) lies in `prefix`. Does not allocate. */
export function inPrefix6(words: ArrayLike<number>, off: number, prefix: Prefix6): boolean {
  const m = prefix.mask;
  const n = prefix.network;
  return (
    (words[off] & m[0]) >>> 0 === n[0] &&
    (words[off + 1] & m[1]) >>> 0 === n[1] &&
    (words[off + 2] & m[2]) >>> 0 === n[2] &&
    (words[off + 3] & m[3]) >>> 0 === n[3]
  );
}

export function formatPrefix6(prefix: Prefix6): string {
  return `${formatIpv6(prefix.network)}/${prefix.length}`;
}

/** Two addresses (4 words each, at their offsets) are equal. */
export function ipv6Equal(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number): boolean {
  return a[aOff] === b[bOff] && a[aOff + 1] === b[bOff + 1] && a[aOff + 2] === b[bOff + 2] && a[aOff + 3] === b[bOff + 3];
}

/** Reads the 16 bytes at `off` of a frame into `out` at `outOff`. */
export function readIpv6(buf: Uint8Array, off: number, out: Uint32Array, outOff = 0): void {
  for (let i = 0; i < 4; i++) {
    const o = off + i * 4;
    out[outOff + i] = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  }
}

/** Writes the 4 words at `wOff` of `words` as 16 bytes at `off` of a frame. */
export function writeIpv6(buf: Uint8Array, off: number, words: ArrayLike<number>, wOff = 0): void {
  for (let i = 0; i < 4; i++) {
    const v = words[wOff + i];
    const o = off + i * 4;
    buf[o] = (v >>> 24) & 0xff;
    buf[o + 1] = (v >>> 16) & 0xff;
    buf[o + 2] = (v >>> 8) & 0xff;
    buf[o + 3] = v & 0xff;
  }
}

/**
 * A string key for a Map of addresses (neighbour tables, floating address sets): 8 UTF-16 units,
 * one per 16 bits. Cheap to build, never printed (formatIpv6 is for people).
 */
export function ipv6Key(words: ArrayLike<number>, off = 0): string {
  return String.fromCharCode(
    words[off] >>> 16,
    words[off] & 0xffff,
    words[off + 1] >>> 16,
    words[off + 1] & 0xffff,
    words[off + 2] >>> 16,
    words[off + 2] & 0xffff,
    words[off + 3] >>> 16,
    words[off + 3] & 0xffff,
  );
}

/** The address of an ipv6Key, into `out` at `off`. */
export function ipv6FromKey(key: string, out: Uint32Array, off = 0): void {
  for (let i = 0; i < 4; i++) out[off + i] = ((key.charCodeAt(i * 2) << 16) | key.charCodeAt(i * 2 + 1)) >>> 0;
}

/** fe80::/10 (RFC 4291 2.5.6). */
export function isLinkLocal6(words: ArrayLike<number>, off = 0): boolean {
  return words[off] >>> 22 === 0x3fa;
}

/** ff00::/8 (RFC 4291 2.7). */
export function isMulticast6(words: ArrayLike<number>, off = 0): boolean {
  return words[off] >>> 24 === 0xff;
}

/** :: (RFC 4291 2.5.2). */
export function isUnspecified6(words: ArrayLike<number>, off = 0): boolean {
  return (words[off] | words[off + 1] | words[off + 2] | words[off + 3]) === 0;
}

/** ::1 (RFC 4291 2.5.3). */
export function isLoopback6(words: ArrayLike<number>, off = 0): boolean {
  return (words[off] | words[off + 1] | words[off + 2]) === 0 && words[off + 3] === 1;
}

/** The solicited-node multicast address ff02::1:ffXX:XXXX of an address (RFC 4291 2.7.1). */
export function solicitedNode6(words: ArrayLike<number>, off = 0): Ipv6 {
  return Uint32Array.of(0xff020000, 0, 1, (0xff000000 | (words[off + 3] & 0xffffff)) >>> 0);
}

/** The Ethernet MAC of an IPv6 multicast address: 33:33 and its last 32 bits (RFC 2464 7). */
export function multicastMac6(words: ArrayLike<number>, off = 0): Uint8Array {
  const w = words[off + 3];
  return Uint8Array.of(0x33, 0x33, (w >>> 24) & 0xff, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
}
