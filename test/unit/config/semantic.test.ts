import { describe, expect, test } from 'vitest';
import { boxA, issuesOf, minimal, parseObject } from './fixture.js';

describe('semantic checks', () => {
  test('interfaces named in shared must exist in device.interfaces', () => {
    const config = boxA();
    config.shared.floatingIps[1].interface = 'dmz';
    config.shared.zones.untrust = ['wan', 'dmz'];
    config.shared.routes[0].interface = 'dmz';
    config.shared.ha.linkMonitoring.interfaces = ['lan', 'dmz'];
    const expected = 'a logical interface defined in device.interfaces (lan, wan)';
    expect(issuesOf(config)).toEqual([
      { path: 'shared.zones.untrust[1]', value: 'dmz', expected },
      { path: 'shared.floatingIps[1].interface', value: 'dmz', expected },
      { path: 'shared.routes[0].interface', value: 'dmz', expected },
      { path: 'shared.ha.linkMonitoring.interfaces[1]', value: 'dmz', expected },
    ]);
  });

  test('a name every object has (toString, constructor) is not a defined interface or zone', () => {
    const config = boxA();
    config.shared.floatingIps[1].interface = 'toString';
    config.shared.routes[0].interface = 'valueOf';
    config.shared.policy.rules[0].from = ['constructor'];
    expect(issuesOf(config)).toEqual([
      { path: 'shared.floatingIps[1].interface', value: 'toString', expected: 'a logical interface defined in device.interfaces (lan, wan)' },
      { path: 'shared.routes[0].interface', value: 'valueOf', expected: 'a logical interface defined in device.interfaces (lan, wan)' },
      { path: 'shared.policy.rules[0].from[0]', value: 'constructor', expected: 'a zone defined in shared.zones (trust, untrust)' },
      // the wan floating IP is gone, so the hide-lan rule has none to use
      {
        path: 'shared.nat[0].translate.source',
        value: 'interface-floating',
        expected: 'a fixed address, or a floating IP on an interface of zone untrust for interface-floating to use',
      },
    ]);
  });

  test('a floating IP outside its interface subnet', () => {
    const config = boxA();
    config.shared.floatingIps[0].address = '10.0.9.1/24';
    expect(issuesOf(config)).toEqual([{ path: 'shared.floatingIps[0].address', value: '10.0.9.1/24', expected: "an address inside lan's subnet 10.0.1.0/24" }]);
  });

  test("a floating IP equal to the box's own address", () => {
    const config = boxA();
    config.shared.floatingIps[1].address = '10.0.2.2/24';
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.floatingIps[1].address',
        value: '10.0.2.2/24',
        expected: "an address other than this box's own wan address 10.0.2.2",
      },
    ]);
  });

  test('a floating IP on the network or broadcast address', () => {
    const config = boxA();
    config.shared.floatingIps[0].address = '10.0.1.0/24';
    config.shared.floatingIps[1].address = '10.0.2.255/24';
    expect(issuesOf(config).map((i) => [i.path, i.expected])).toEqual([
      ['shared.floatingIps[0].address', 'a host address of 10.0.1.0/24 (not its network or broadcast address)'],
      ['shared.floatingIps[1].address', 'a host address of 10.0.2.0/24 (not its network or broadcast address)'],
    ]);
  });

  test('the same floating IP twice', () => {
    const config = boxA();
    const at = config.shared.floatingIps.push({ interface: 'lan', address: '10.0.1.1/24', owner: 0 }) - 1;
    expect(issuesOf(config)).toEqual([
      { path: `shared.floatingIps[${at}].address`, value: '10.0.1.1/24', expected: 'an address not already used by shared.floatingIps[0]' },
    ]);
  });

  test('an interface in two zones', () => {
    const config = boxA();
    config.shared.zones.dmz = ['lan'];
    expect(issuesOf(config)).toEqual([
      { path: 'shared.zones.dmz[0]', value: 'lan', expected: 'an interface not already in zone trust (an interface belongs to one zone)' },
    ]);
  });

  test('policy and NAT zones must exist', () => {
    const config = boxA();
    config.shared.policy.rules[0].from = ['trust', 'inside'];
    config.shared.nat[0].to = 'outside';
    const issues = issuesOf(config);
    expect(issues).toContainEqual({ path: 'shared.policy.rules[0].from[1]', value: 'inside', expected: 'a zone defined in shared.zones (trust, untrust)' });
    expect(issues).toContainEqual({ path: 'shared.nat[0].to[0]', value: 'outside', expected: 'a zone defined in shared.zones (trust, untrust)' });
    expect(issues).toHaveLength(2);
  });

  test('zone references when no zone is defined say so', () => {
    const config = minimal();
    config.shared.policy = { rules: [{ name: 'r', from: 'a', to: 'b', action: 'allow' }] };
    expect(issuesOf(config).map((i) => i.expected)).toEqual([
      'a zone defined in shared.zones (none are defined)',
      'a zone defined in shared.zones (none are defined)',
    ]);
  });

  test('rule names are unique', () => {
    const config = boxA();
    config.shared.policy.rules[1].name = 'web-out';
    expect(issuesOf(config)).toEqual([
      { path: 'shared.policy.rules[1].name', value: 'web-out', expected: 'a name not already used by shared.policy.rules[0]' },
    ]);
  });

  test('interface-floating NAT needs a floating IP in the egress zone', () => {
    const config = boxA();
    config.shared.floatingIps.splice(1, 1); // the wan floating IPv4 address (an IPv6 one cannot be a NAT source)
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.nat[0].translate.source',
        value: 'interface-floating',
        expected: 'a fixed address, or a floating IP on an interface of zone untrust for interface-floating to use',
      },
    ]);
  });

  test('HA link ends must differ', () => {
    const config = boxA();
    config.device.ha.ha1.peer = '172.31.0.1';
    config.device.ha.ha2.peer = '172.31.2.1';
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.ha1.peer', value: '172.31.0.1', expected: "the peer's address, different from local (172.31.0.1)" },
      { path: 'device.ha.ha2.peer', value: '172.31.2.1', expected: "the peer's address, different from local (172.31.2.1)" },
    ]);
  });

  test('the backup HA1 link does not share the primary address', () => {
    const config = boxA();
    config.device.ha.ha1Backup.local = '172.31.0.1';
    expect(issuesOf(config)).toEqual([{ path: 'device.ha.ha1Backup.local', value: '172.31.0.1', expected: "an address other than ha1's (172.31.0.1)" }]);
  });

  test('two logical interfaces on one kernel device', () => {
    const config = boxA();
    config.device.interfaces.wan.device = 'eth1';
    expect(issuesOf(config)).toEqual([
      { path: 'device.interfaces.wan.device', value: 'eth1', expected: 'a kernel device not already used untagged by interface lan' },
    ]);
  });

  test("a route's next hop outside its interface subnet", () => {
    const config = boxA();
    config.shared.routes[0].via = '10.0.1.254';
    expect(issuesOf(config)).toEqual([{ path: 'shared.routes[0].via', value: '10.0.1.254', expected: "a next hop inside wan's subnet 10.0.2.0/24" }]);
  });

  test('path monitoring group names are unique', () => {
    const config = boxA();
    config.shared.ha.pathMonitoring.groups.push({ name: 'upstream', targets: ['10.0.2.11'] });
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.ha.pathMonitoring.groups[1].name',
        value: 'upstream',
        expected: 'a name not already used by shared.ha.pathMonitoring.groups[0]',
      },
    ]);
  });

  test('semantic issues are all collected', () => {
    const config = boxA();
    config.device.ha.ha1.peer = '172.31.0.1';
    config.shared.floatingIps[0].address = '10.0.9.1/24';
    config.shared.zones.dmz = ['wan'];
    config.shared.policy.rules[1].to = 'nowhere';
    expect(issuesOf(config).map((i) => i.path)).toEqual([
      'device.ha.ha1.peer',
      'shared.zones.dmz[0]',
      'shared.floatingIps[0].address',
      'shared.policy.rules[1].to[0]',
    ]);
  });
});

describe('shapes that are accepted', () => {
  test('from/to take a string or a list; rule fields default', () => {
    const config = minimal();
    config.device.interfaces.wan = { device: 'eth2', address: '10.0.2.2/24' };
    config.shared.zones = { trust: 'lan', untrust: ['wan'] };
    config.shared.policy = {
      rules: [
        { name: 'a', from: 'trust', to: ['untrust', 'trust'], action: 'allow' },
        { name: 'b', from: ['trust'], to: 'untrust', source: ['10.0.1.5'], service: ['udp/1000-2000', 'any'], action: 'reject' },
      ],
    };
    const { shared } = parseObject(config);
    expect(shared.zones).toEqual({ trust: ['lan'], untrust: ['wan'] });
    expect(shared.policy.rules[0]).toEqual({
      name: 'a',
      from: ['trust'],
      to: ['untrust', 'trust'],
      source: ['any'],
      destination: ['any'],
      service: ['any'],
      action: 'allow',
    });
    // a bare address in a match means that one host
    expect(shared.policy.rules[1].source).toEqual(['10.0.1.5/32']);
    expect(shared.policy.rules[1].service).toEqual(['udp/1000-2000', 'any']);
  });

  test('listen addresses: localhost and unix sockets', () => {
    const config = minimal();
    config.device.api.listen = 'localhost:9480';
    config.device.metrics.listen = 'unix:/run/tandem/metrics.sock';
    const { device } = parseObject(config);
    expect(device.api.listen).toBe('localhost:9480');
    expect(device.metrics.listen).toBe('unix:/run/tandem/metrics.sock');
  });
});
