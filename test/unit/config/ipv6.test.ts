// IPv6 in the config: interface address6, floating IPv6 addresses (global and link-local), routes of
// either family, policy prefixes of either family, NAT held to IPv4, router advertisements, HA
// links and listen addresses over IPv6.
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { parseListenAddress } from '../../../src/config/schema.js';
import type { ConfigIssue } from '../../../src/config/types.js';
import { boxA, issuesOf, parseObject } from './fixture.js';

const NAT_IPV4 = 'an IPv4 prefix or address: NAT is IPv4 only; IPv6 flows are not translated';

/** Box A with its IPv6 floating addresses at the end of the list: [2] lan global, [3] lan fe80::1, [4] wan global, [5] wan fe80::1. */
function dual(): Record<string, any> {
  return boxA();
}

describe('the deploy example is dual-stack', () => {
  test('address6, IPv6 floating addresses, an IPv6 default route, RAs on lan, a policy rule for both families', () => {
    const { device, shared } = parseObject(dual());
    expect(device.interfaces.lan.address6).toBe('2001:db8:1::2/64');
    expect(shared.floatingIps.map((f) => f.address)).toContain('fe80::1/64');
    expect(shared.routes).toContainEqual({ to: '::/0', via: '2001:db8:2::fe', interface: 'wan' });
    expect(shared.policy.rules[0].destination).toEqual(['0.0.0.0/0', '::/0']);
    expect(shared.routerAdvertisements).toEqual([
      {
        interface: 'lan',
        prefixes: [{ prefix: '2001:db8:1::/64', onLink: true, autonomous: true, validS: 2592000, preferredS: 604800 }],
        intervalS: { min: 200, max: 600 },
        routerLifetimeS: 1800,
        hopLimit: 64,
        managed: false,
        other: false,
      },
    ]);
  });
});

describe('device.interfaces.*.address6', () => {
  test.each(['fe80::2/64', 'ff02::2/64', '::1/128', '::/0', '2001:db8:1::2', '10.0.1.2/24', '2001:db8:1::2/129'])('%s is refused', (address6) => {
    const config = dual();
    config.device.interfaces.lan.address6 = address6;
    expect(issuesOf(config)).toEqual([
      {
        path: 'device.interfaces.lan.address6',
        value: address6,
        expected: 'a global IPv6 address with prefix length, like 2001:db8:1::2/64 (not link-local, multicast, loopback or ::)',
      },
    ]);
  });
});

describe('floating IPv6 addresses', () => {
  test('inside the interface address6 prefix, or link-local', () => {
    const config = dual();
    config.shared.floatingIps[2].address = '2001:db8:9::1/64';
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.floatingIps[2].address',
        value: '2001:db8:9::1/64',
        expected: "an address inside lan's IPv6 prefix 2001:db8:1::/64, or a link-local one like fe80::1/64",
      },
    ]);
  });

  test('a global one on an interface without address6', () => {
    const config = dual();
    delete config.device.interfaces.wan.address6;
    config.shared.routes.pop(); // the IPv6 default route's next hop needs wan's prefix too
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.floatingIps[4].address',
        value: '2001:db8:2::1/64',
        expected: "a link-local address like fe80::1/64, or an address inside wan's address6 prefix (wan has no address6)",
      },
    ]);
  });

  test("not the box's own address6, however it is spelled, nor the subnet-router anycast address", () => {
    const config = dual();
    config.shared.floatingIps[2].address = '2001:DB8:1:0::2/64';
    config.shared.floatingIps[4].address = '2001:db8:2::/64';
    expect(issuesOf(config)).toEqual([
      { path: 'shared.floatingIps[2].address', value: '2001:DB8:1:0::2/64', expected: "an address other than this box's own lan address6 2001:db8:1::2" },
      {
        path: 'shared.floatingIps[4].address',
        value: '2001:db8:2::/64',
        expected: 'a host address of 2001:db8:2::/64 (not its subnet-router anycast address)',
      },
    ]);
  });

  test('the same address in two spellings is a duplicate', () => {
    const config = dual();
    const at = config.shared.floatingIps.push({ interface: 'lan', address: '2001:db8:1:0:0:0:0:1/64' }) - 1;
    expect(issuesOf(config)).toEqual([
      { path: `shared.floatingIps[${at}].address`, value: '2001:db8:1:0:0:0:0:1/64', expected: 'an address not already used by shared.floatingIps[2]' },
    ]);
  });

  test('fe80::1 on every interface is fine; a second link-local address on one interface is not', () => {
    const config = dual();
    expect(() => parseObject(config)).not.toThrow();
    const at = config.shared.floatingIps.push({ interface: 'lan', address: 'fe80::2/64' }) - 1;
    expect(issuesOf(config)).toEqual([
      {
        path: `shared.floatingIps[${at}].address`,
        value: 'fe80::2/64',
        expected: 'an address outside fe80::/10: lan already has the link-local floating address of shared.floatingIps[3] (one per interface)',
      },
    ]);
  });

  test('fe80::1 twice on one interface is a duplicate', () => {
    const config = dual();
    const at = config.shared.floatingIps.push({ interface: 'lan', address: 'fe80::1/64' }) - 1;
    expect(issuesOf(config)).toEqual([
      { path: `shared.floatingIps[${at}].address`, value: 'fe80::1/64', expected: 'an address not already used by shared.floatingIps[3]' },
    ]);
  });

  test('a zone id is refused: the interface is named beside the address', () => {
    const config = dual();
    config.shared.floatingIps[3].address = 'fe80::1%eth1/64';
    expect(issuesOf(config).map((i) => i.path)).toEqual(['shared.floatingIps[3].address']);
  });
});

describe('routes', () => {
  test('to and via of different families', () => {
    const config = dual();
    config.shared.routes[0].via = '2001:db8:2::fe';
    config.shared.routes[1].via = '10.0.2.254';
    expect(issuesOf(config)).toEqual([
      { path: 'shared.routes[0].via', value: '2001:db8:2::fe', expected: "an IPv4 next hop: a route's via is of the family of its to (0.0.0.0/0)" },
      { path: 'shared.routes[1].via', value: '10.0.2.254', expected: "an IPv6 next hop: a route's via is of the family of its to (::/0)" },
    ]);
  });

  test('an IPv6 next hop: link-local anywhere, global inside the interface address6 prefix', () => {
    const config = dual();
    config.shared.routes[1].via = 'fe80::fe';
    expect(parseObject(config).shared.routes[1].via).toBe('fe80::fe');
    config.shared.routes[1].via = '2001:db8:1::fe';
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.routes[1].via',
        value: '2001:db8:1::fe',
        expected: "a link-local next hop like fe80::1, or one inside wan's address6 prefix (wan's IPv6 prefix is 2001:db8:2::/64)",
      },
    ]);
  });

  test('a global IPv6 next hop on an interface without address6', () => {
    const config = dual();
    delete config.device.interfaces.wan.address6;
    config.shared.floatingIps.splice(4, 1);
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.routes[1].via',
        value: '2001:db8:2::fe',
        expected: "a link-local next hop like fe80::1, or one inside wan's address6 prefix (wan has no address6)",
      },
    ]);
  });

  test('an IPv6 network with host bits set is refused', () => {
    const config = dual();
    config.shared.routes[1].to = '2001:db8::1/32';
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.routes[1].to',
        value: '2001:db8::1/32',
        expected: 'an IPv4 or IPv6 network with host bits clear, like 10.0.0.0/8, 0.0.0.0/0, 2001:db8::/32 or ::/0',
      },
    ]);
  });
});

describe('policy rules', () => {
  test('IPv6 prefixes and bare addresses (/128), mixed with IPv4 in one list', () => {
    const config = dual();
    config.shared.policy.rules[1].source = ['10.0.1.0/24', '2001:db8:1::/64', '2001:db8:1::5', '10.0.1.9'];
    expect(parseObject(config).shared.policy.rules[1].source).toEqual(['10.0.1.0/24', '2001:db8:1::/64', '2001:db8:1::5/128', '10.0.1.9/32']);
  });

  test('a bad address says both families are welcome', () => {
    const config = dual();
    config.shared.policy.rules[1].destination = ['2001:db8::/129'];
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.policy.rules[1].destination[0]',
        value: '2001:db8::/129',
        expected: 'an IPv4 or IPv6 prefix or address, like 10.0.1.0/24, 10.0.1.5, 2001:db8:1::/64 or 2001:db8:1::5, or "any" (every address of both families)',
      },
    ]);
  });
});

describe('NAT is IPv4 only', () => {
  test('an IPv6 source or destination names its key', () => {
    const config = dual();
    config.shared.nat[0].source = ['10.0.1.0/24', '2001:db8:1::/64'];
    config.shared.nat[0].destination = ['::/0'];
    expect(issuesOf(config)).toEqual([
      { path: 'shared.nat[0].source[1]', value: '2001:db8:1::/64', expected: NAT_IPV4 },
      { path: 'shared.nat[0].destination[0]', value: '::/0', expected: NAT_IPV4 },
    ]);
  });

  test('an IPv6 destination NAT rule: the destination is reported once, as NAT, not as a floating IP', () => {
    const config = dual();
    config.shared.nat.push({
      name: 'web-in',
      from: 'untrust',
      to: 'untrust',
      destination: ['2001:db8:2::1'],
      translate: { destination: { address: '10.0.1.80' } },
    });
    expect(issuesOf(config)).toEqual([{ path: 'shared.nat[1].destination[0]', value: '2001:db8:2::1/128', expected: NAT_IPV4 }]);
  });

  test('IPv6 translations are refused with the reason', () => {
    const config = dual();
    config.shared.nat[0].translate = { source: '2001:db8:2::1' };
    config.shared.nat.push({
      name: 'web-in',
      from: 'untrust',
      to: 'untrust',
      destination: ['10.0.2.1'],
      translate: { destination: { address: '2001:db8:1::80' } },
    });
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.nat[0].translate.source',
        value: '2001:db8:2::1',
        expected: '"interface-floating" or an IPv4 address (NAT is IPv4 only; IPv6 flows are not translated)',
      },
      {
        path: 'shared.nat[1].translate.destination.address',
        value: '2001:db8:1::80',
        expected: 'an IPv4 address like 10.0.1.80 (NAT is IPv4 only; IPv6 flows are not translated)',
      },
    ]);
  });

  test('interface-floating needs an IPv4 floating address: an IPv6 one is not enough', () => {
    const config = dual();
    config.shared.floatingIps.splice(1, 1); // wan's IPv4 one; its IPv6 ones stay
    expect(issuesOf(config).map((i) => i.path)).toEqual(['shared.nat[0].translate.source']);
  });
});

describe('router advertisements', () => {
  const ra = (c: Record<string, any>) => c.shared.routerAdvertisements[0];

  test('defaults', () => {
    const config = dual();
    config.shared.routerAdvertisements = [{ interface: 'lan' }];
    expect(parseObject(config).shared.routerAdvertisements[0]).toEqual({
      interface: 'lan',
      prefixes: [],
      intervalS: { min: 200, max: 600 },
      routerLifetimeS: 1800,
      hopLimit: 64,
      managed: false,
      other: false,
    });
  });

  test('the interface exists, has a link-local floating address, and has one entry', () => {
    const config = dual();
    config.shared.floatingIps.splice(5, 1); // wan's fe80::1
    config.shared.routerAdvertisements.push({ interface: 'wan' }, { interface: 'lan' }, { interface: 'dmz' });
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.routerAdvertisements[1].interface',
        value: 'wan',
        expected:
          "an interface with a link-local floating address (add { interface: wan, address: fe80::1/64 } to shared.floatingIps): router advertisements are sent from it, so hosts' router is the pair, not one node",
      },
      {
        path: 'shared.routerAdvertisements[2].interface',
        value: 'lan',
        expected: 'an interface without router advertisements already (shared.routerAdvertisements[0] is for lan)',
      },
      { path: 'shared.routerAdvertisements[3].interface', value: 'dmz', expected: 'a logical interface defined in device.interfaces (lan, wan)' },
    ]);
  });

  test('RFC 4861 6.2.1: min at most 0.75 x max, router lifetime 0 or at least max', () => {
    const config = dual();
    ra(config).intervalS = { min: 100, max: 120 };
    ra(config).routerLifetimeS = 60;
    expect(issuesOf(config)).toEqual([
      { path: 'shared.routerAdvertisements[0].intervalS.min', value: 100, expected: '3 to 90 seconds: at most 0.75 x intervalS.max (120) (RFC 4861 6.2.1)' },
      {
        path: 'shared.routerAdvertisements[0].routerLifetimeS',
        value: 60,
        expected: '0 (not a default router) or 120 to 9000 seconds: at least intervalS.max (RFC 4861 6.2.1)',
      },
    ]);
    ra(config).intervalS = { min: 3, max: 4 };
    ra(config).routerLifetimeS = 0;
    expect(parseObject(config).shared.routerAdvertisements[0].routerLifetimeS).toBe(0);
  });

  test.each([
    ['intervalS.max', (c: Record<string, any>) => (ra(c).intervalS = { max: 1801 }), 1801, 'an integer from 4 to 1800'],
    ['intervalS.min', (c: Record<string, any>) => (ra(c).intervalS = { min: 2 }), 2, 'an integer from 3 to 1350'],
    ['routerLifetimeS', (c: Record<string, any>) => (ra(c).routerLifetimeS = 9001), 9001, 'an integer from 0 to 9000'],
    ['hopLimit', (c: Record<string, any>) => (ra(c).hopLimit = 256), 256, 'an integer from 0 to 255'],
    ['mtu', (c: Record<string, any>) => (ra(c).mtu = 1279), 1279, 'an integer from 1280 to 65535'],
  ])('%s out of range', (key, mutate, value, expected) => {
    const config = dual();
    mutate(config);
    expect(issuesOf(config)).toEqual([{ path: `shared.routerAdvertisements[0].${key}`, value, expected }]);
  });

  test('prefixes: an IPv6 network, /64 when autonomous, preferred within valid, each once', () => {
    const config = dual();
    ra(config).prefixes = [
      { prefix: '2001:db8:1::/64', preferredS: 100, validS: 50 },
      { prefix: '2001:db8:5::/56' },
      { prefix: '2001:db8:6::/56', autonomous: false },
      { prefix: '2001:db8:1:0::/64' },
    ];
    expect(issuesOf(config)).toEqual([
      { path: 'shared.routerAdvertisements[0].prefixes[0].preferredS', value: 100, expected: 'at most validS (50) seconds (RFC 4862 5.5.3)' },
      {
        path: 'shared.routerAdvertisements[0].prefixes[1].prefix',
        value: '2001:db8:5::/56',
        expected:
          'a /64 prefix: hosts form addresses (autonomous: true) only in a 64-bit prefix on Ethernet (RFC 4862 5.5.3, RFC 2464 4); set autonomous: false for an on-link prefix of another length',
      },
      {
        path: 'shared.routerAdvertisements[0].prefixes[3].prefix',
        value: '2001:db8:1:0::/64',
        expected: 'a prefix not already advertised by shared.routerAdvertisements[0].prefixes[0]',
      },
    ]);
  });

  test.each(['fe80::/64', 'ff02::/64', '2001:db8:1::1/64', '10.0.1.0/24'])('prefix %s is refused', (prefix) => {
    const config = dual();
    ra(config).prefixes = [{ prefix }];
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.routerAdvertisements[0].prefixes[0].prefix',
        value: prefix,
        expected: 'an IPv6 network with host bits clear, like 2001:db8:1::/64 (not link-local or multicast)',
      },
    ]);
  });
});

describe('HA links over IPv6', () => {
  test('both ends IPv6 is a link', () => {
    const config = dual();
    config.device.ha.ha1 = { local: 'fd00:31::1', peer: 'fd00:31::2' };
    config.device.ha.ha2 = { local: 'fd00:31:2::1', peer: 'fd00:31:2::2' };
    config.device.ha.heartbeatBackup = { local: 'fd00:100::11', peer: 'fd00:100::12' };
    expect(parseObject(config).device.ha.ha1).toEqual({ local: 'fd00:31::1', peer: 'fd00:31::2', port: 28769, heartbeatPort: 28771 });
  });

  test('ends of two families', () => {
    const config = dual();
    config.device.ha.ha1.peer = 'fd00:31::2';
    config.device.ha.heartbeatBackup.local = 'fd00:100::11';
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.ha1.peer', value: 'fd00:31::2', expected: 'an IPv4 address like local (172.31.0.1): both ends of a link are of one family' },
      {
        path: 'device.ha.heartbeatBackup.peer',
        value: '192.168.100.12',
        expected: 'an IPv6 address like local (fd00:100::11): both ends of a link are of one family',
      },
    ]);
  });

  test('link-local ends are refused: a socket needs their zone', () => {
    const config = dual();
    config.device.ha.ha2 = { local: 'fe80::1', peer: 'fd00:31:2::2' };
    expect(issuesOf(config)).toEqual([
      {
        path: 'device.ha.ha2.local',
        value: 'fe80::1',
        expected: 'a global or unique-local IPv6 address (or IPv4): a link-local one needs a zone id (the interface), which a link does not name',
      },
    ]);
  });

  test('one address in two spellings is the same end', () => {
    const config = dual();
    config.device.ha.ha1 = { local: 'fd00:31::1', peer: 'FD00:31:0::1' };
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.ha1.peer', value: 'FD00:31:0::1', expected: "the peer's address, different from local (fd00:31::1)" },
    ]);
  });
});

describe('path monitoring targets', () => {
  /** The path targets' issues alone, none when the file parses (the fixture's other keys are other tests' business). */
  const targetIssues = (config: Record<string, any>): ConfigIssue[] => {
    try {
      parseObject(config);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.filter((i) => i.path.startsWith('shared.ha.pathMonitoring.'));
    }
  };

  test('IPv6 targets are probed (ICMPv6 echo): accepted beside IPv4 ones, in any spelling', () => {
    const config = dual();
    config.shared.ha.pathMonitoring.groups[0].targets = ['10.0.2.10', '2001:db8:2::fe', 'FD00:6D36:0::2', '::1'];
    expect(targetIssues(config)).toEqual([]);
  });

  test('an IPv6 target that could never answer as one host is refused, naming why', () => {
    const config = dual();
    config.shared.ha.pathMonitoring.groups[0].targets = ['fe80::1', 'ff02::1', '::', '::ffff:10.0.2.10', '2001:db8:2::fe'];
    const expected = (why: string) => `a global, unique-local or loopback IPv6 address (or IPv4): ${why}`;
    expect(targetIssues(config)).toEqual([
      {
        path: 'shared.ha.pathMonitoring.groups[0].targets[0]',
        value: 'fe80::1',
        expected: expected('a link-local one needs a zone id (the interface), which a target does not name'),
      },
      {
        path: 'shared.ha.pathMonitoring.groups[0].targets[1]',
        value: 'ff02::1',
        expected: expected('a multicast one is answered by many hosts, none of them the target'),
      },
      { path: 'shared.ha.pathMonitoring.groups[0].targets[2]', value: '::', expected: expected(':: is no host') },
      {
        path: 'shared.ha.pathMonitoring.groups[0].targets[3]',
        value: '::ffff:10.0.2.10',
        expected: expected('an IPv4-mapped one is no IPv6 host: write it as IPv4 (10.0.2.10)'),
      },
    ]);
  });
});

describe('listen addresses', () => {
  test('an IPv6 host in brackets', () => {
    expect(parseListenAddress('[::1]:9480')).toEqual({ kind: 'tcp', host: '::1', port: 9480 });
    expect(parseListenAddress('[2001:db8::1]:443')).toEqual({ kind: 'tcp', host: '2001:db8::1', port: 443 });
    expect(parseListenAddress('127.0.0.1:9480')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9480 });
    const config = dual();
    config.device.api.listen = '[::1]:9480';
    config.device.metrics.listen = '[::]:9481';
    expect(parseObject(config).device.api.listen).toBe('[::1]:9480');
  });

  test.each(['::1:9480', '[::1]', '[10.0.0.1]:80', '[fe80::1%eth0]:80', '[::1]:70000', '[::1]:0', '[localhost]:80'])('%s is refused', (text) => {
    expect(parseListenAddress(text)).toBeNull();
  });
});
