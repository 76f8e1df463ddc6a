// The checks that depend on shared.ha.mode. Active/passive has one owner of every floating IP (the
// active) and one device allocating NAT ports, so the active/active settings mean nothing there
// and are refused rather than ignored. Active/active needs a way to hand packets to a session's
// owner (HA3), sessions replicated both ways (HA2), and every source NAT rule bound to a device,
// so that two boxes never hand out the same translation (docs/active-active.md). ARP load sharing
// (`owner: shared`) needs both boxes forwarding: active/active only.
import { isIpv4Text } from '../net/family.js';
import type { ConfigIssue, NatBinding, SharedConfig, TandemConfig } from './types.js';

/** Owners that mean something only in active/active. */
function activeActiveOwner(owner: SharedConfig['floatingIps'][number]['owner']): boolean {
  return owner !== 0;
}

/** Active/passive: no per-device owners, no NAT bindings. */
export function activePassiveSettings({ shared }: TandemConfig): ConfigIssue[] {
  if (shared.ha.mode !== 'active-passive') return [];
  const issues: ConfigIssue[] = [];
  shared.floatingIps.forEach((fip, i) => {
    if (activeActiveOwner(fip.owner))
      issues.push({
        path: `shared.floatingIps[${i}].owner`,
        value: fip.owner,
        expected:
          fip.owner === 'shared'
            ? '0 (the default): ARP load sharing (owner shared) splits the hosts between two boxes that both forward, so it needs shared.ha.mode: active-active; in active-passive the active answers for every floating IP'
            : '0 (the default): in active-passive the active answers for every floating IP; owner 1, primary and shared need shared.ha.mode: active-active',
      });
  });
  shared.nat.forEach((rule, i) => {
    if (rule.translate.bind !== undefined)
      issues.push({
        path: `shared.nat[${i}].translate.bind`,
        value: rule.translate.bind,
        expected: 'no bind: in active-passive only the active allocates translations; bind is for shared.ha.mode: active-active',
      });
  });
  return issues;
}

/** Active/active: the links it needs on this box. */
export function activeActiveLinks({ device, shared }: TandemConfig): ConfigIssue[] {
  if (shared.ha.mode !== 'active-active') return [];
  const issues: ConfigIssue[] = [];
  if (device.ha.ha3 === undefined)
    issues.push({
      path: 'device.ha.ha3',
      value: undefined,
      expected:
        'an HA3 link { device: <kernel name> }: in active-active, packets that reach the box not owning their session are forwarded to the owner over it',
    });
  if (device.ha.ha2 === undefined)
    issues.push({
      path: 'device.ha.ha2',
      value: undefined,
      expected: 'an HA2 link { local, peer }: in active-active both boxes create sessions and each replicates its own to the other',
    });
  else if (device.ha.ha3 !== undefined && Object.values(device.interfaces).some((i) => i.device === device.ha.ha3?.device))
    issues.push({ path: 'device.ha.ha3.device', value: device.ha.ha3.device, expected: 'a kernel device of its own, not one of device.interfaces' });
  return issues;
}

/** Active/active: every source NAT rule names the device whose sessions it translates, with an address to use. */
export function activeActiveNat({ shared }: TandemConfig): ConfigIssue[] {
  if (shared.ha.mode !== 'active-active') return [];
  const issues: ConfigIssue[] = [];
  shared.nat.forEach((rule, i) => {
    const { source, bind } = rule.translate;
    if (source === undefined) return;
    const base = `shared.nat[${i}].translate`;
    if (bind === undefined) {
      issues.push({
        path: `${base}.bind`,
        value: undefined,
        expected: '0, 1 or "primary": in active-active a source NAT rule is bound to the device whose new sessions it translates',
      });
      return;
    }
    if (source === 'interface-floating' && !egressHasOwnedFloating(shared, rule.to, bind))
      issues.push({
        path: `${base}.source`,
        value: source,
        expected: `a fixed address, or a floating IP with owner ${JSON.stringify(bind)} on an interface of zone ${rule.to.join(' or ')} (bind ${JSON.stringify(bind)} translates to the address that device answers for)`,
      });
  });
  return issues;
}

function egressHasOwnedFloating(shared: SharedConfig, zones: readonly string[], bind: NatBinding): boolean {
  const egressIfs = new Set(zones.flatMap((zone) => (Object.hasOwn(shared.zones, zone) ? shared.zones[zone] : [])));
  // NAT is IPv4 only: an IPv6 floating address cannot be a translation's source
  return shared.floatingIps.some((f) => egressIfs.has(f.interface) && f.owner === bind && isIpv4Text(f.address));
}
