import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { boxA, errorOf, issuesOf, minimal } from './fixture.js';
import { stringify } from 'yaml';

const LISTEN = '"<host>:<port>" with an IPv4 address or localhost and a port 1-65535, "[<IPv6 address>]:<port>" like [::1]:9480, or "unix:<path>"';
const ADDRESS = 'an IPv4 or IPv6 address like 10.0.1.1 or 2001:db8::1';
const FLOATING = 'an IPv4 or IPv6 address with prefix length, like 10.0.1.1/24, 2001:db8:1::1/64 or fe80::1/64';

type Case = [label: string, mutate: (c: Record<string, any>) => void, path: string, value: unknown, expected: string];

// Each kind of bad value: the issue names the key path, carries the value found and says in words what was expected.
const cases: Case[] = [
  ['priority out of range', (c) => (c.device.priority = 256), 'device.priority', 256, 'an integer from 0 to 255'],
  ['priority not an integer', (c) => (c.device.priority = 1.5), 'device.priority', 1.5, 'an integer from 0 to 255'],
  ['priority a string', (c) => (c.device.priority = 'high'), 'device.priority', 'high', 'an integer from 0 to 255'],
  ['id not 0 or 1', (c) => (c.device.id = 2), 'device.id', 2, '0 or 1 (the two members of the pair)'],
  ['missing key', (c) => delete c.device.stateDir, 'device.stateDir', undefined, 'the state directory (a non-empty path)'],
  ['empty path', (c) => (c.device.ha.keyFile = ''), 'device.ha.keyFile', '', 'the pre-shared key file (a non-empty path)'],
  [
    'kernel name too long',
    (c) => (c.device.interfaces.lan.device = 'averyveryverylongname'),
    'device.interfaces.lan.device',
    'averyveryverylongname',
    'a kernel interface name (1-15 characters, no spaces, "/" or ":")',
  ],
  [
    'kernel name with slash',
    (c) => (c.device.interfaces.wan.device = 'eth/2'),
    'device.interfaces.wan.device',
    'eth/2',
    'a kernel interface name (1-15 characters, no spaces, "/" or ":")',
  ],
  [
    'interface address without length',
    (c) => (c.device.interfaces.lan.address = '10.0.1.2'),
    'device.interfaces.lan.address',
    '10.0.1.2',
    'an IPv4 address with prefix length, like 10.0.1.2/24',
  ],
  ['ha address not an address', (c) => (c.device.ha.ha1.peer = '172.31.0.256'), 'device.ha.ha1.peer', '172.31.0.256', ADDRESS],
  ['ha address with a zone id', (c) => (c.device.ha.ha2.local = 'fe80::1%eth0'), 'device.ha.ha2.local', 'fe80::1%eth0', ADDRESS],
  ['ha port 0', (c) => (c.device.ha.ha2.port = 0), 'device.ha.ha2.port', 0, 'an integer from 1 to 65535'],
  ['listen without port', (c) => (c.device.api.listen = '127.0.0.1'), 'device.api.listen', '127.0.0.1', LISTEN],
  ['listen port too big', (c) => (c.device.metrics.listen = '0.0.0.0:70000'), 'device.metrics.listen', '0.0.0.0:70000', LISTEN],
  ['listen hostname', (c) => (c.device.metrics.listen = 'example.com:80'), 'device.metrics.listen', 'example.com:80', LISTEN],
  ['empty unix path', (c) => (c.device.api.listen = 'unix:'), 'device.api.listen', 'unix:', LISTEN],
  ['log level', (c) => (c.device.log.level = 'verbose'), 'device.log.level', 'verbose', 'one of "trace", "debug", "info", "warn", "error", "fatal"'],
  ['mode', (c) => (c.shared.ha.mode = 'active-standby'), 'shared.ha.mode', 'active-standby', 'one of "active-passive", "active-active"'],
  ['groupId 0', (c) => (c.shared.ha.groupId = 0), 'shared.ha.groupId', 0, 'an integer from 1 to 255'],
  ['timer below bound', (c) => (c.shared.ha.timers.heartbeatIntervalMs = 1), 'shared.ha.timers.heartbeatIntervalMs', 1, 'an integer from 5 to 10000'],
  ['timer above bound', (c) => (c.shared.ha.timers.preemptHoldMs = 3600001), 'shared.ha.timers.preemptHoldMs', 3600001, 'an integer from 0 to 3600000'],
  ['timer profile', (c) => (c.shared.ha.timers.profile = 'fast'), 'shared.ha.timers.profile', 'fast', 'one of "recommended", "aggressive"'],
  ['boolean', (c) => (c.shared.ha.virtualMac = 'yes'), 'shared.ha.virtualMac', 'yes', 'true or false'],
  ['preempt hold', (c) => (c.shared.ha.preempt.holdMs = -1), 'shared.ha.preempt.holdMs', -1, 'an integer from 0 to 3600000'],
  ['floating address', (c) => (c.shared.floatingIps[1].address = '10.0.2.1/33'), 'shared.floatingIps[1].address', '10.0.2.1/33', FLOATING],
  ['floating owner', (c) => (c.shared.floatingIps[0].owner = 3), 'shared.floatingIps[0].owner', 3, '0 or 1 (a device id), "primary" or "shared"'],
  [
    'route with host bits',
    (c) => (c.shared.routes[0].to = '10.0.0.1/8'),
    'shared.routes[0].to',
    '10.0.0.1/8',
    'an IPv4 or IPv6 network with host bits clear, like 10.0.0.0/8, 0.0.0.0/0, 2001:db8::/32 or ::/0',
  ],
  [
    'service port 0',
    (c) => (c.shared.policy.rules[0].service[1] = 'tcp/0'),
    'shared.policy.rules[0].service[1]',
    'tcp/0',
    'a service: "tcp/<port>", "udp/<port>", "tcp/<low>-<high>", "icmp" or "any" (ports 1-65535, low <= high)',
  ],
  [
    'service port 65536',
    (c) => (c.shared.policy.rules[0].service[0] = 'udp/65536'),
    'shared.policy.rules[0].service[0]',
    'udp/65536',
    'a service: "tcp/<port>", "udp/<port>", "tcp/<low>-<high>", "icmp" or "any" (ports 1-65535, low <= high)',
  ],
  [
    'service range backwards',
    (c) => (c.shared.policy.rules[0].service[0] = 'udp/2000-1000'),
    'shared.policy.rules[0].service[0]',
    'udp/2000-1000',
    'a service: "tcp/<port>", "udp/<port>", "tcp/<low>-<high>", "icmp" or "any" (ports 1-65535, low <= high)',
  ],
  [
    'service protocol',
    (c) => (c.shared.policy.rules[1].service = ['sctp/80']),
    'shared.policy.rules[1].service[0]',
    'sctp/80',
    'a service: "tcp/<port>", "udp/<port>", "tcp/<low>-<high>", "icmp" or "any" (ports 1-65535, low <= high)',
  ],
  ['rule action', (c) => (c.shared.policy.rules[1].action = 'permit'), 'shared.policy.rules[1].action', 'permit', 'one of "allow", "deny", "reject"'],
  ['TCP window check', (c) => (c.shared.sessions.tcpWindowCheck = 'relaxed'), 'shared.sessions.tcpWindowCheck', 'relaxed', 'one of "strict", "loose", "off"'],
  ['empty service list', (c) => (c.shared.policy.rules[1].service = []), 'shared.policy.rules[1].service', [], 'a list of 1 to 1000 services'],
  [
    'rule name with space',
    (c) => (c.shared.policy.rules[0].name = 'web out'),
    'shared.policy.rules[0].name',
    'web out',
    'a rule name (1-63 letters, digits, "_", "-" or "." starting with a letter)',
  ],
  ['nat translate empty', (c) => (c.shared.nat[0].translate = {}), 'shared.nat[0].translate', {}, 'a translation with a source, a destination or both'],
  [
    'nat translate source',
    (c) => (c.shared.nat[0].translate.source = 'egress'),
    'shared.nat[0].translate.source',
    'egress',
    '"interface-floating" or an IPv4 address (NAT is IPv4 only; IPv6 flows are not translated)',
  ],
  ['sessions max 0', (c) => (c.shared.sessions.max = 0), 'shared.sessions.max', 0, 'an integer from 1 to 50000000'],
  ['path target', (c) => (c.shared.ha.pathMonitoring.groups[0].targets = ['10.0.2']), 'shared.ha.pathMonitoring.groups[0].targets[0]', '10.0.2', ADDRESS],
  [
    'link monitoring condition',
    (c) => (c.shared.ha.linkMonitoring.failureCondition = 'some'),
    'shared.ha.linkMonitoring.failureCondition',
    'some',
    'one of "any", "all"',
  ],
  [
    'zone as number',
    (c) => (c.shared.zones.trust = [5]),
    'shared.zones.trust[0]',
    5,
    'a logical interface name (1-63 letters, digits, "_", "-" or "." starting with a letter)',
  ],
  ['section not a mapping', (c) => (c.shared.sessions = 5), 'shared.sessions', 5, 'a mapping (key: value pairs)'],
  [
    'bad logical interface name (a key)',
    (c) => (c.device.interfaces['lan 2'] = { device: 'eth3', address: '10.0.3.2/24' }),
    'device.interfaces["lan 2"]',
    'lan 2',
    'a key that is a logical interface name like lan or wan (1-63 letters, digits, "_", "-" or "." starting with a letter)',
  ],
];

describe('each bad value names its key, value and what was expected', () => {
  test.each(cases)('%s', (_label, mutate, path, value, expected) => {
    const config = boxA();
    mutate(config);
    const issues = issuesOf(config);
    expect(issues).toContainEqual({ path, value, expected });
    // one bad value, one issue: no noise around it
    expect(issues).toHaveLength(1);
  });
});

describe('unknown keys', () => {
  test('an unknown key is an error that names it, its value and the known keys', () => {
    const config = boxA();
    config.device.prority = 50;
    const issues = issuesOf(config);
    expect(issues).toEqual([
      {
        path: 'device.prority',
        value: 50,
        expected: 'no key "prority" here (known keys: id, name, priority, interfaces, ha, api, metrics, stateDir, log, dataplane; did you mean "priority"?)',
      },
    ]);
  });

  test('several unknown keys at several depths each get an issue', () => {
    const config = boxA();
    config.shared.ha.timers.heartbeatInterval = 50;
    config.shared.ha.timers.colour = 'red';
    config.extra = true;
    const paths = issuesOf(config).map((i) => i.path);
    expect(paths.sort()).toEqual(['extra', 'shared.ha.timers.colour', 'shared.ha.timers.heartbeatInterval']);
    const hint = issuesOf(config).find((i) => i.path === 'shared.ha.timers.heartbeatInterval')!;
    expect(hint.expected).toContain('did you mean "heartbeatIntervalMs"?');
  });

  test('no suggestion when nothing is close', () => {
    const config = minimal();
    config.device.ha.zzzzzz = 1;
    const [issue] = issuesOf(config);
    expect(issue.expected).toBe('no key "zzzzzz" here (known keys: ha1, ha1Backup, heartbeatBackup, ha2, ha3, keyFile)');
  });

  test('unknown keys inside list items and records are found', () => {
    const config = boxA();
    config.shared.floatingIps[1].vrid = 3;
    config.device.interfaces.wan.mtu = 1500;
    const paths = issuesOf(config)
      .map((i) => i.path)
      .sort();
    expect(paths).toEqual(['device.interfaces.wan.mtu', 'shared.floatingIps[1].vrid']);
  });
});

describe('all issues at once', () => {
  test('errors across both halves are all reported, in one error', () => {
    const config = boxA();
    config.device.priority = 300;
    config.device.interfaces.lan.address = 'ten';
    config.shared.ha.timers.heartbeatMissed = 1;
    config.shared.floatingIps[1].address = 'x';
    config.shared.sessions.udpS = 0;
    delete config.device.api.tokenFile;
    const issues = issuesOf(config);
    expect(issues.map((i) => i.path).sort()).toEqual([
      'device.api.tokenFile',
      'device.interfaces.lan.address',
      'device.priority',
      'shared.floatingIps[1].address',
      'shared.ha.timers.heartbeatMissed',
      'shared.sessions.udpS',
    ]);
  });

  test('the message is one line per issue: <source>: <path>: got <value>, expected <expected>', () => {
    const config = boxA();
    config.device.priority = 300;
    config.shared.floatingIps[1].address = '10.0.2.1';
    delete config.device.stateDir;
    const err = errorOf(stringify(config));
    expect(err.code).toBe('config-invalid');
    expect(err.source).toBe('test.yaml');
    expect(err.message.split('\n').sort()).toEqual([
      'test.yaml: device.priority: got 300, expected an integer from 0 to 255',
      'test.yaml: device.stateDir: missing, expected the state directory (a non-empty path)',
      'test.yaml: shared.floatingIps[1].address: got "10.0.2.1", expected an IPv4 or IPv6 address with prefix length, like 10.0.1.1/24, 2001:db8:1::1/64 or fe80::1/64',
    ]);
  });

  test('an empty file says what the top level should be', () => {
    const err = errorOf('');
    expect(err.issues).toEqual([{ path: '', value: null, expected: 'a mapping with a device: half and a shared: half' }]);
    expect(err.message).toBe('test.yaml: (top level): got null, expected a mapping with a device: half and a shared: half');
  });

  test('a missing half is named', () => {
    const config = minimal();
    delete config.shared;
    // every key of shared has a default, but the half itself is required: a file without it is a mistake
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared',
        value: undefined,
        expected: 'the shared half: a mapping with ha, zones, floatingIps, routes, policy, nat, routerAdvertisements, sessions',
      },
    ]);
  });

  test('ConfigError is an Error with a stack and the issues', () => {
    const err = errorOf('device: 1\nshared: {}\n');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.name).toBe('ConfigError');
    expect(err.issues[0].path).toBe('device');
  });
});
