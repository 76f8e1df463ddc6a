// The semantic checks that IPv6 brings: an HA link's ends of one family, IPv6 floating addresses
// and next hops against the interface's address6, NAT held to IPv4, and router advertisements.
import { canonicalHost, familyOf, isIpv6Text } from '../net/family.js';
import { formatIpv4 } from '../net/ipv4.js';
import { formatPrefix6, inPrefix6, isLinkLocal6, isMulticast6, isUnspecified6, parseCidr6, parseIpv6, type Prefix6 } from '../net/ipv6.js';
import { collect, missingInterface } from './checks-util.js';
import type { ConfigIssue, DeviceConfig, FloatingIpConfig, RouteConfig, TandemConfig } from './types.js';

/** Why an IPv6 address in a NAT rule is refused (NPTv6 may come later; policy applies to IPv6 flows). */
export const NAT_IPV4_ONLY = 'NAT is IPv4 only; IPv6 flows are not translated';

/** Each HA link's two ends are of one family: a socket of one family cannot reach the other. */
export function haLinkFamilies({ device }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const { ha } = device;
  const links = [
    ['ha1', ha.ha1],
    ['ha1Backup', ha.ha1Backup],
    ['heartbeatBackup', ha.heartbeatBackup],
    ['ha2', ha.ha2],
  ] as const;
  for (const [linkName, link] of links) {
    if (!link) continue;
    for (const end of ['local', 'peer'] as const)
      if (isIpv6Text(link[end]) && isLinkLocal6(parseIpv6(link[end])))
        add(
          `device.ha.${linkName}.${end}`,
          link[end],
          'a global or unique-local IPv6 address (or IPv4): a link-local one needs a zone id (the interface), which a link does not name',
        );
    const family = familyOf(link.local);
    if (familyOf(link.peer) !== family)
      add(`device.ha.${linkName}.peer`, link.peer, `an IPv${family} address like local (${link.local}): both ends of a link are of one family`);
  }
  return issues;
}

/** The interface's address6 prefix; null when it has none. */
function ownPrefix6(device: DeviceConfig, ifName: string): { address: Uint32Array; prefix: Prefix6 } | null {
  const address6 = device.interfaces[ifName].address6;
  return address6 === undefined ? null : parseCidr6(address6);
}

/**
 * An IPv6 floating address (on a defined interface, not a duplicate: checks.ts saw to those):
 * link-local (at most one per interface: it is the interface's router address, the source of its
 * RAs), or a host address inside the interface's address6 prefix other than the box's own.
 */
export function floatingIpv6(device: DeviceConfig, fip: FloatingIpConfig, i: number, linkLocalSeen: Map<string, number>): ConfigIssue[] {
  const { issues, add } = collect();
  const path = `shared.floatingIps[${i}].address`;
  const { address } = parseCidr6(fip.address);
  // ARP load sharing splits ARP requesters; IPv6 hosts would need the same from neighbour
  // discovery, which tandem does not do: an IPv6 address belongs to one class (active/active)
  if (fip.owner === 'shared')
    add(
      `shared.floatingIps[${i}].owner`,
      fip.owner,
      '0, 1 or "primary": owner shared (ARP load sharing) is for IPv4 addresses; an IPv6 floating address is answered by one owner class',
    );
  if (isLinkLocal6(address)) {
    const prior = linkLocalSeen.get(fip.interface);
    if (prior !== undefined)
      add(
        path,
        fip.address,
        `an address outside fe80::/10: ${fip.interface} already has the link-local floating address of shared.floatingIps[${prior}] (one per interface)`,
      );
    else linkLocalSeen.set(fip.interface, i);
    return issues;
  }
  const own = ownPrefix6(device, fip.interface);
  if (own === null) {
    add(path, fip.address, `a link-local address like fe80::1/64, or an address inside ${fip.interface}'s address6 prefix (${fip.interface} has no address6)`);
  } else if (!inPrefix6(address, 0, own.prefix)) {
    add(path, fip.address, `an address inside ${fip.interface}'s IPv6 prefix ${formatPrefix6(own.prefix)}, or a link-local one like fe80::1/64`);
  } else if (canonicalHost(fip.address) === canonicalHost(device.interfaces[fip.interface].address6 ?? '')) {
    add(path, fip.address, `an address other than this box's own ${fip.interface} address6 ${canonicalHost(fip.address)}`);
  } else if (own.prefix.length < 127 && address.every((w, k) => w === own.prefix.network[k])) {
    // the all-zero host is the subnet-router anycast address (RFC 4291 2.6.1): every router's
    add(path, fip.address, `a host address of ${formatPrefix6(own.prefix)} (not its subnet-router anycast address)`);
  }
  return issues;
}

/** An IPv6 next hop (of an IPv6 route): link-local (the route names the interface) or inside its address6 prefix. */
export function routeNextHop6(device: DeviceConfig, route: RouteConfig, base: string): ConfigIssue | null {
  const via = parseIpv6(route.via);
  if (isLinkLocal6(via)) return null;
  const own = ownPrefix6(device, route.interface);
  if (own !== null && inPrefix6(via, 0, own.prefix)) return null;
  const where = own === null ? `${route.interface} has no address6` : `${route.interface}'s IPv6 prefix is ${formatPrefix6(own.prefix)}`;
  return {
    path: `${base}.via`,
    value: route.via,
    expected: `a link-local next hop like fe80::1, or one inside ${route.interface}'s address6 prefix (${where})`,
  };
}

/** NAT rules translate IPv4 only: an IPv6 address in one would be a rule that never applies. */
export function natIpv4Only({ shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  shared.nat.forEach((rule, i) => {
    for (const key of ['source', 'destination'] as const)
      rule[key].forEach((text, j) => {
        if (isIpv6Text(text)) add(`shared.nat[${i}].${key}[${j}]`, text, `an IPv4 prefix or address: ${NAT_IPV4_ONLY}`);
      });
  });
  return issues;
}

/**
 * Router advertisements: one entry per defined interface, sent from its link-local floating address
 * (so hosts learn the pair as their router, never a node), with RFC 4861 6.2.1's interval and
 * lifetime rules, and prefixes hosts can use.
 */
export function routerAdvertisements({ device, shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const seen = new Map<string, number>();
  const linkLocalIfs = new Set(shared.floatingIps.filter((f) => isIpv6Text(f.address) && isLinkLocal6(parseCidr6(f.address).address)).map((f) => f.interface));
  shared.routerAdvertisements.forEach((ra, i) => {
    const base = `shared.routerAdvertisements[${i}]`;
    const missing = missingInterface(device, `${base}.interface`, ra.interface);
    const prior = seen.get(ra.interface);
    if (missing) issues.push(missing);
    else if (prior !== undefined)
      add(
        `${base}.interface`,
        ra.interface,
        `an interface without router advertisements already (shared.routerAdvertisements[${prior}] is for ${ra.interface})`,
      );
    else if (!linkLocalIfs.has(ra.interface))
      add(
        `${base}.interface`,
        ra.interface,
        `an interface with a link-local floating address (add { interface: ${ra.interface}, address: fe80::1/64 } to shared.floatingIps): router advertisements are sent from it, so hosts' router is the pair, not one node`,
      );
    if (prior === undefined) seen.set(ra.interface, i);
    issues.push(...raTimers(ra, base), ...raPrefixes(ra, base));
  });
  return issues;
}

type RaConfig = TandemConfig['shared']['routerAdvertisements'][number];

/** RFC 4861 6.2.1: MinRtrAdvInterval at most 0.75 x MaxRtrAdvInterval; AdvDefaultLifetime 0 or at least the max interval. */
function raTimers(ra: RaConfig, base: string): ConfigIssue[] {
  const { issues, add } = collect();
  const { min, max } = ra.intervalS;
  const minCeiling = Math.floor(0.75 * max);
  if (min > minCeiling) add(`${base}.intervalS.min`, min, `3 to ${minCeiling} seconds: at most 0.75 x intervalS.max (${max}) (RFC 4861 6.2.1)`);
  if (ra.routerLifetimeS !== 0 && ra.routerLifetimeS < max)
    add(`${base}.routerLifetimeS`, ra.routerLifetimeS, `0 (not a default router) or ${max} to 9000 seconds: at least intervalS.max (RFC 4861 6.2.1)`);
  return issues;
}

/** Prefixes: /64 where hosts form addresses (SLAAC), preferred lifetime within the valid one, each once. */
function raPrefixes(ra: RaConfig, base: string): ConfigIssue[] {
  const { issues, add } = collect();
  const seen = new Map<string, number>();
  ra.prefixes.forEach((p, j) => {
    const path = `${base}.prefixes[${j}]`;
    const { prefix } = parseCidr6(p.prefix);
    const key = formatPrefix6(prefix);
    const prior = seen.get(key);
    if (prior !== undefined) add(`${path}.prefix`, p.prefix, `a prefix not already advertised by ${base}.prefixes[${prior}]`);
    else seen.set(key, j);
    if (p.autonomous && prefix.length !== 64)
      add(
        `${path}.prefix`,
        p.prefix,
        'a /64 prefix: hosts form addresses (autonomous: true) only in a 64-bit prefix on Ethernet (RFC 4862 5.5.3, RFC 2464 4); set autonomous: false for an on-link prefix of another length',
      );
    if (p.preferredS > p.validS) add(`${path}.preferredS`, p.preferredS, `at most validS (${p.validS}) seconds (RFC 4862 5.5.3)`);
  });
  return issues;
}

/**
 * IPv6 path monitoring targets (probed with ICMPv6 echo, src/control/monitor/prober-main.ts) that
 * could never be answered as one target, and would fail their group for good: a link-local
 * address (the kernel would pick an interface for it: a target names none), a multicast one
 * (answered by many hosts, none of them the target), `::`, and an IPv4-mapped one (ICMPv6 to it
 * is refused by the kernel: ENETUNREACH).
 */
export function pathTargets6({ shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  shared.ha.pathMonitoring?.groups.forEach((group, i) =>
    group.targets.forEach((target, j) => {
      if (!isIpv6Text(target)) return;
      const a = parseIpv6(target);
      const path = `shared.ha.pathMonitoring.groups[${i}].targets[${j}]`;
      const why = isLinkLocal6(a)
        ? 'a link-local one needs a zone id (the interface), which a target does not name'
        : isMulticast6(a)
          ? 'a multicast one is answered by many hosts, none of them the target'
          : isUnspecified6(a)
            ? ':: is no host'
            : isIpv4Mapped6(a)
              ? `an IPv4-mapped one is no IPv6 host: write it as IPv4 (${formatIpv4(a[3])})`
              : null;
      if (why !== null) add(path, target, `a global, unique-local or loopback IPv6 address (or IPv4): ${why}`);
    }),
  );
  return issues;
}

/** ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
function isIpv4Mapped6(a: Uint32Array): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0xffff;
}
