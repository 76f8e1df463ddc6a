// Which IP family an address or prefix text is. The config holds both families side by side
// (floating addresses, routes, rule addresses), and each consumer takes the entries of its own
// family: the IPv4 packet path must never be handed an IPv6 text to parse, nor the reverse.
import { formatIpv4, isCidr, isIpv4, parseIpv4 } from './ipv4.js';
import { formatIpv6, isCidr6, isIpv6, parseIpv6 } from './ipv6.js';

export type IpFamily = 4 | 6;

/**
 * A rule's address "any": every address of both families (0.0.0.0/0 is every IPv4 address only,
 * ::/0 every IPv6 one). The default of a policy or NAT rule that names no source or destination.
 */
export const ANY_ADDRESS = 'any';

/** The part of "addr/len" before the slash; the whole text when there is none. */
export function hostPart(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}

/** 4 or 6 for an address ("10.0.0.1", "2001:db8::1") or prefix ("10.0.0.0/8", "::/0"); null for anything else. */
export function familyOf(text: string): IpFamily | null {
  if (isIpv4(text) || isCidr(text)) return 4;
  if (isIpv6(text) || isCidr6(text)) return 6;
  return null;
}

/** True when an address or prefix text is IPv6: what the IPv4-only consumers skip. */
export function isIpv6Text(text: string): boolean {
  return familyOf(text) === 6;
}

/** True when an address or prefix text is IPv4. */
export function isIpv4Text(text: string): boolean {
  return familyOf(text) === 4;
}

/**
 * The canonical text of an address (the host part of a prefix): IPv6 has many spellings of one
 * address ("2001:db8::1", "2001:DB8:0::1"), so equality is decided on this form, never as written.
 */
export function canonicalHost(text: string): string {
  const host = hostPart(text);
  if (isIpv4(host)) return formatIpv4(parseIpv4(host));
  if (isIpv6(host)) return formatIpv6(parseIpv6(host));
  return host;
}

/**
 * The same address, however each is spelled: a socket reports the kernel's form of an IPv6 peer
 * (RFC 5952), the config may hold another ("FD00:31:0::2"). Texts that are not addresses are equal
 * only as written.
 */
export function sameAddress(a: string, b: string): boolean {
  return a === b || canonicalHost(a) === canonicalHost(b);
}

/**
 * "a.b.c.d:port" or "[ipv6]:port" (RFC 3986 3.2.2 brackets) -> the address, its family and the
 * port 1-65535; null for anything else.
 */
export function parseHostPort(text: string): { host: string; port: number; family: IpFamily } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  if (m[1] !== undefined) return isIpv6(m[1]) ? { host: m[1], port, family: 6 } : null;
  return isIpv4(m[2]) ? { host: m[2], port, family: 4 } : null;
}

/** "a.b.c.d:port", or "[ipv6]:port" for an IPv6 address (parseHostPort's inverse). */
export function formatHostPort(host: string, port: number): string {
  return isIpv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
