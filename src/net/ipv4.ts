// IPv4 addresses as unsigned 32-bit integers: the packet path compares numbers, not strings.

export interface Prefix {
  /** Network address (host bits cleared), unsigned. */
  network: number;
  /** Prefix length 0-32. */
  length: number;
  /** Netmask, unsigned. */
  mask: number;
}

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return QUAD.test(text);
}

/** Parses "a.b.c.d"; throws on anything else (leading zeros, out of range, spaces). */
export function parseIpv4(text: string): number {
  if (!QUAD.test(text)) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  const p = text.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

export function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** "a.b.c.d/len" -> the address as written and its prefix. */
export function parseCidr(text: string): { address: number; prefix: Prefix } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`not an IPv4 prefix (missing /length): ${JSON.stringify(text)}`);
  const address = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^(3[0-2]|[12]?\d)$/.test(lenText)) throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  const length = +lenText;
  const mask = maskOf(length);
  return { address, prefix: { network: (address & mask) >>> 0, length, mask } };
}

export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

export function inPrefix(addr: number, prefix: Prefix): boolean {
  return (addr & prefix.mask) >>> 0 === prefix.network;
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatIpv4(prefix.network)}/${prefix.length}`;
}
