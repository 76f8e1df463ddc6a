// The semantic checks of a config: rules that span keys (names that must exist, addresses that
// must fit a subnet, names that must be unique), which the schema (schema.ts) cannot express. Each
// check is a small function returning its issues; all of them run, in the order of CONFIG_CHECKS,
// so every problem is reported at once and always in the same order. They need a well-typed
// config: they run once the schema has passed.
import { ANY_ADDRESS, canonicalHost, familyOf, isIpv4Text, isIpv6Text } from '../net/family.js';
import { formatIpv4, inPrefix, parseCidr, parseIpv4 } from '../net/ipv4.js';
import { isLinkLocal6, parseIpv6 } from '../net/ipv6.js';
import { apiTlsListener } from './checks-api.js';
import { activeActiveLinks, activeActiveNat, activePassiveSettings } from './checks-ha-mode.js';
import { floatingIpv6, haLinkFamilies, natIpv4Only, pathTargets6, routeNextHop6, routerAdvertisements } from './checks-ipv6.js';
import { collect, missingInterface, nonNull, quoteList } from './checks-util.js';
import { formatPath } from './errors.js';
import { parseService } from './service.js';
import type { ConfigIssue, SharedConfig, TandemConfig } from './types.js';

/**
 * Link groups the schema made from the short form `linkMonitoring: { failureCondition, interfaces }`
 * (schema.ts marks them): their issues name the key the operator wrote, not a generated group.
 */
export const SHORT_FORM_LINK_GROUPS = new WeakSet<object>();

export type ConfigCheck = (config: TandemConfig) => ConfigIssue[];

/** In the order their issues are reported: the device half, then the shared half as written. */
export const CONFIG_CHECKS: readonly ConfigCheck[] = [
  kernelDevicesUnique,
  haLinkEnds,
  apiTlsListener,
  haLinkFamilies,
  zoneMembers,
  floatingIps,
  routeNextHops,
  ruleNamesAndZones,
  natIpv4Only,
  sourceNatFloating,
  destinationNat,
  routerAdvertisements,
  monitorGroups,
  pathTargets6,
  activePassiveSettings,
  activeActiveLinks,
  activeActiveNat,
];

export function checkConfig(config: TandemConfig): ConfigIssue[] {
  return CONFIG_CHECKS.flatMap((check) => check(config));
}

/** The issue of a name that is not a zone of shared.zones; null when it is one. */
function missingZone(shared: SharedConfig, path: string, zone: string): ConfigIssue | null {
  if (Object.hasOwn(shared.zones, zone)) return null;
  return { path, value: zone, expected: `a zone defined in shared.zones (${quoteList(Object.keys(shared.zones))})` };
}

/**
 * One logical name per kernel device and VLAN, or two interfaces would fight over the same frames.
 * An untagged interface and VLAN interfaces may share a device (a trunk with a native VLAN).
 */
function kernelDevicesUnique({ device }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const byKernelName = new Map<string, string>();
  for (const [ifName, iface] of Object.entries(device.interfaces)) {
    const key = iface.vlan === undefined ? iface.device : `${iface.device}.${iface.vlan}`;
    const other = byKernelName.get(key);
    if (other === undefined) byKernelName.set(key, ifName);
    else if (iface.vlan === undefined)
      add(`device.interfaces.${ifName}.device`, iface.device, `a kernel device not already used untagged by interface ${other}`);
    else add(`device.interfaces.${ifName}.vlan`, iface.vlan, `a VLAN of ${iface.device} not already used by interface ${other}`);
  }
  return issues;
}

/** Each HA link's two ends are different boxes, and the backups do not share the primary's addresses. */
function haLinkEnds({ device }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const { ha } = device;
  const links = [
    ['ha1', ha.ha1],
    ['ha1Backup', ha.ha1Backup],
    ['heartbeatBackup', ha.heartbeatBackup],
    ['ha2', ha.ha2],
  ] as const;
  // IPv6 has many spellings of one address: compare canonical forms
  const same = (a: string | undefined, b: string): boolean => a !== undefined && canonicalHost(a) === canonicalHost(b);
  for (const [linkName, link] of links) {
    if (link && same(link.local, link.peer)) add(`device.ha.${linkName}.peer`, link.peer, `the peer's address, different from local (${link.local})`);
  }
  // the backup link exists to survive the primary's failure: sharing its address defeats that
  if (ha.ha1Backup && same(ha.ha1Backup.local, ha.ha1.local))
    add('device.ha.ha1Backup.local', ha.ha1Backup.local, `an address other than ha1's (${ha.ha1.local})`);
  // the heartbeat backup guards against both HA1 links failing: on either's address it fails with them
  const hbb = ha.heartbeatBackup;
  if (hbb) {
    const ha1Locals = [ha.ha1.local, ha.ha1Backup?.local].filter((a): a is string => a !== undefined);
    if (ha1Locals.some((a) => same(a, hbb.local)))
      add('device.ha.heartbeatBackup.local', hbb.local, `an address other than the HA1 links' (${ha1Locals.join(', ')})`);
    const ha1Peers = [ha.ha1.peer, ha.ha1Backup?.peer].filter((a): a is string => a !== undefined);
    if (ha1Peers.some((a) => same(a, hbb.peer)))
      add('device.ha.heartbeatBackup.peer', hbb.peer, `a peer address other than the HA1 links' (${ha1Peers.join(', ')})`);
  }
  return issues;
}

/** Zone members are defined interfaces, each in at most one zone, or a packet's zone would be ambiguous. */
function zoneMembers({ device, shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const zoneOf = new Map<string, string>();
  for (const [zone, members] of Object.entries(shared.zones)) {
    members.forEach((ifName, i) => {
      const path = `${formatPath(['shared', 'zones', zone])}[${i}]`;
      const missing = missingInterface(device, path, ifName);
      if (missing) return void issues.push(missing);
      const other = zoneOf.get(ifName);
      if (other !== undefined && other !== zone) add(path, ifName, `an interface not already in zone ${other} (an interface belongs to one zone)`);
      else zoneOf.set(ifName, zone);
    });
  }
  return issues;
}

/**
 * Floating IPs: on a defined interface, unique, inside its subnet, a host address, never the box's
 * own. IPv6 ones are checked against the interface's address6 by floatingIpv6 (checks-ipv6.ts).
 */
function floatingIps({ device, shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const seen = new Map<string, number>();
  const linkLocalSeen = new Map<string, number>();
  shared.floatingIps.forEach((fip, i) => {
    const base = `shared.floatingIps[${i}]`;
    const missing = missingInterface(device, `${base}.interface`, fip.interface);
    if (missing) issues.push(missing);
    const key = floatingKey(fip.interface, fip.address);
    const prior = seen.get(key);
    if (prior !== undefined) add(`${base}.address`, fip.address, `an address not already used by shared.floatingIps[${prior}]`);
    else seen.set(key, i);
    if (missing || prior !== undefined) return;
    if (!isIpv4Text(fip.address)) return void issues.push(...floatingIpv6(device, fip, i, linkLocalSeen));
    const fipAddr = parseCidr(fip.address).address;
    const iface = device.interfaces[fip.interface];
    const own = parseCidr(iface.address);
    const subnet = `${formatHost(netOf(iface.address))}/${own.prefix.length}`;
    if (!inPrefix(fipAddr, own.prefix)) {
      add(`${base}.address`, fip.address, `an address inside ${fip.interface}'s subnet ${subnet}`);
    } else if (fipAddr === own.address) {
      add(`${base}.address`, fip.address, `an address other than this box's own ${fip.interface} address ${formatHost(iface.address)}`);
    } else if (own.prefix.length <= 30 && (fipAddr === own.prefix.network || fipAddr === (own.prefix.network | ~own.prefix.mask) >>> 0)) {
      add(`${base}.address`, fip.address, `a host address of ${subnet} (not its network or broadcast address)`);
    }
  });
  return issues;
}

/**
 * What makes a floating address unique: the address, and for a link-local one its interface too
 * (fe80::1 is a different address on each link, and the same one on every link is the usual way).
 */
function floatingKey(ifName: string, address: string): string {
  const host = canonicalHost(address);
  return isIpv6Text(host) && isLinkLocal6(parseIpv6(host)) ? `${host}%${ifName}` : host;
}

/** A route's next hop must be reachable on the interface it names. */
function routeNextHops({ device, shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  shared.routes.forEach((route, i) => {
    const base = `shared.routes[${i}]`;
    const missing = missingInterface(device, `${base}.interface`, route.interface);
    if (missing) return void issues.push(missing);
    const family = familyOf(route.to);
    if (familyOf(route.via) !== family)
      return add(`${base}.via`, route.via, `an IPv${family} next hop: a route's via is of the family of its to (${route.to})`);
    if (family === 6) return void issues.push(...nonNull(routeNextHop6(device, route, base)));
    const own = parseCidr(device.interfaces[route.interface].address);
    if (!inPrefix(parseIpv4(route.via), own.prefix))
      add(
        `${base}.via`,
        route.via,
        `a next hop inside ${route.interface}'s subnet ${formatHost(netOf(device.interfaces[route.interface].address))}/${own.prefix.length}`,
      );
  });
  return issues;
}

/** Policy and NAT rules: their zones exist, their names are unique (they are metric labels and log keys). */
function ruleNamesAndZones({ shared }: TandemConfig): ConfigIssue[] {
  const rules = (kind: 'policy.rules' | 'nat', list: readonly { name: string; from: string[]; to: string[] }[]): ConfigIssue[] => {
    const { issues, add } = collect();
    const seen = new Map<string, number>();
    list.forEach((rule, i) => {
      const base = `shared.${kind}[${i}]`;
      const prior = seen.get(rule.name);
      if (prior !== undefined) add(`${base}.name`, rule.name, `a name not already used by shared.${kind}[${prior}]`);
      else seen.set(rule.name, i);
      rule.from.forEach((zone, j) => issues.push(...nonNull(missingZone(shared, `${base}.from[${j}]`, zone))));
      rule.to.forEach((zone, j) => issues.push(...nonNull(missingZone(shared, `${base}.to[${j}]`, zone))));
    });
    return issues;
  };
  return [...rules('policy.rules', shared.policy.rules), ...rules('nat', shared.nat)];
}

/** Source NAT to the egress floating IP needs one on some interface of the egress zones. */
function sourceNatFloating({ shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  // NAT is IPv4 only: an interface with only IPv6 floating addresses has nothing to hide behind
  const floatingIfs = new Set(shared.floatingIps.filter((f) => isIpv4Text(f.address)).map((f) => f.interface));
  shared.nat.forEach((rule, i) => {
    if (rule.translate.source !== 'interface-floating') return;
    const egressIfs = rule.to.flatMap((zone) => (Object.hasOwn(shared.zones, zone) ? shared.zones[zone] : []));
    if (rule.to.every((zone) => Object.hasOwn(shared.zones, zone)) && !egressIfs.some((ifName) => floatingIfs.has(ifName)))
      add(
        `shared.nat[${i}].translate.source`,
        rule.translate.source,
        `a fixed address, or a floating IP on an interface of zone ${rule.to.join(' or ')} for interface-floating to use`,
      );
  });
  return issues;
}

/** Destination NAT publishes floating IPs, from their own zone, on TCP or UDP ports (natRuleSchema in schema.ts). */
function destinationNat({ shared }: TandemConfig): ConfigIssue[] {
  const floatingByAddr = new Map(shared.floatingIps.filter((f) => isIpv4Text(f.address)).map((f) => [formatHost(f.address), f.interface]));
  return shared.nat.flatMap((rule, i) => {
    const dnat = rule.translate.destination;
    if (dnat === undefined) return [];
    const base = `shared.nat[${i}]`;
    const { issues, published } = publishedAddresses(rule.destination, base, floatingByAddr);
    for (const host of published) issues.push(...nonNull(publishedZoneIssue(shared, rule.to, base, host, floatingByAddr.get(host)!)));
    if (dnat.port !== undefined) {
      rule.service.forEach((text, j) => {
        const svc = parseService(text);
        if (svc === null || svc.protocol === 'any' || svc.protocol === 'icmp')
          issues.push({
            path: `${base}.service[${j}]`,
            value: text,
            expected: `"tcp/<port>" or "udp/<port>": a rule that translates the destination port (translate.destination.port) publishes TCP or UDP ports`,
          });
      });
    }
    return issues;
  });
}

/** A destination NAT rule's destinations: each must be one floating IP (the address it publishes). */
function publishedAddresses(
  destinations: readonly string[],
  base: string,
  floatingByAddr: ReadonlyMap<string, string>,
): { issues: ConfigIssue[]; published: Set<string> } {
  const { issues, add } = collect();
  const published = new Set<string>();
  const floatingWords = quoteList([...floatingByAddr.keys()]);
  destinations.forEach((text, j) => {
    if (text !== ANY_ADDRESS && !isIpv4Text(text)) return; // natIpv4Only reports it
    if (text === ANY_ADDRESS) return add(`${base}.destination[${j}]`, text, `a floating IP to publish, as one address (floating IPs: ${floatingWords})`);
    const { address, prefix } = parseCidr(text);
    const host = formatIpv4(address);
    if (prefix.length !== 32 || !floatingByAddr.has(host)) {
      add(
        `${base}.destination[${j}]`,
        text,
        `a floating IP to publish, as one address (floating IPs: ${floatingWords}): a destination NAT rule's destination names the address it publishes`,
      );
    } else {
      published.add(host);
    }
  });
  return { issues, published };
}

/** A destination NAT rule's `to` is the pre-NAT destination zone: the zone of the published address's interface. */
function publishedZoneIssue(shared: SharedConfig, to: readonly string[], base: string, host: string, ifName: string): ConfigIssue | null {
  const zone = Object.keys(shared.zones).find((z) => shared.zones[z].includes(ifName));
  if (!to.every((z) => Object.hasOwn(shared.zones, z)) || (zone !== undefined && to.includes(zone))) return null;
  return {
    path: `${base}.to`,
    value: to,
    expected:
      zone === undefined
        ? `a zone holding interface ${ifName}, where the published ${host} lives (${ifName} is in no zone)`
        : `the zone of the published address ${host} (zone ${zone}, interface ${ifName}): a destination NAT rule's to is the pre-NAT destination zone`,
  };
}

/** Link groups watch defined interfaces; link and path group names are unique (fault reasons name them). */
function monitorGroups({ device, shared }: TandemConfig): ConfigIssue[] {
  const { issues, add } = collect();
  const linkGroupsSeen = new Map<string, number>();
  shared.ha.linkMonitoring?.groups.forEach((group, i) => {
    const base = SHORT_FORM_LINK_GROUPS.has(group) ? 'shared.ha.linkMonitoring' : `shared.ha.linkMonitoring.groups[${i}]`;
    group.interfaces.forEach((ifName, j) => issues.push(...nonNull(missingInterface(device, `${base}.interfaces[${j}]`, ifName))));
    const prior = linkGroupsSeen.get(group.name);
    if (prior !== undefined)
      add(`shared.ha.linkMonitoring.groups[${i}].name`, group.name, `a name not already used by shared.ha.linkMonitoring.groups[${prior}]`);
    else linkGroupsSeen.set(group.name, i);
  });
  const pathGroupsSeen = new Map<string, number>();
  shared.ha.pathMonitoring?.groups.forEach((group, i) => {
    const prior = pathGroupsSeen.get(group.name);
    if (prior !== undefined)
      add(`shared.ha.pathMonitoring.groups[${i}].name`, group.name, `a name not already used by shared.ha.pathMonitoring.groups[${prior}]`);
    else pathGroupsSeen.set(group.name, i);
  });
  return issues;
}

function formatHost(cidrOrAddr: string): string {
  const slash = cidrOrAddr.indexOf('/');
  return slash < 0 ? cidrOrAddr : cidrOrAddr.slice(0, slash);
}

function netOf(cidrText: string): string {
  return formatIpv4(parseCidr(cidrText).prefix.network);
}
