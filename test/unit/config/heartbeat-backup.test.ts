// device.ha.heartbeatBackup: heartbeats only over another network (e.g. management).
import { describe, expect, test } from 'vitest';
import { DEFAULT_HEARTBEAT_PORT } from '../../../src/config/schema.js';
import { boxA, issuesOf, minimal, parseObject } from './fixture.js';

describe('device.ha.heartbeatBackup', () => {
  test('is optional', () => {
    expect(parseObject(minimal()).device.ha.heartbeatBackup).toBeUndefined();
  });

  test('takes local and peer, and defaults the port to the heartbeat port', () => {
    const config = minimal();
    config.device.ha.heartbeatBackup = { local: '192.168.100.11', peer: '192.168.100.12' };
    expect(parseObject(config).device.ha.heartbeatBackup).toEqual({ local: '192.168.100.11', peer: '192.168.100.12', port: DEFAULT_HEARTBEAT_PORT });
    config.device.ha.heartbeatBackup.port = 3000;
    expect(parseObject(config).device.ha.heartbeatBackup?.port).toBe(3000);
  });

  test('the deploy example shows it on a management address', () => {
    const parsed = parseObject(boxA());
    expect(parsed.device.ha.heartbeatBackup).toEqual({ local: '192.168.100.11', peer: '192.168.100.12', port: DEFAULT_HEARTBEAT_PORT });
  });

  test('a session port or an unknown key is refused with the known keys', () => {
    const config = minimal();
    config.device.ha.heartbeatBackup = { local: '192.168.100.11', peer: '192.168.100.12', heartbeatPort: 28771 };
    const [issue] = issuesOf(config);
    expect(issue.path).toBe('device.ha.heartbeatBackup.heartbeatPort');
    expect(issue.expected).toContain('known keys: local, peer, port');
  });

  test('a bad address or port names the key', () => {
    const config = minimal();
    config.device.ha.heartbeatBackup = { local: '192.168.100.300', peer: '192.168.100.12', port: 70000 };
    expect(
      issuesOf(config)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['device.ha.heartbeatBackup.local', 'device.ha.heartbeatBackup.port']);
  });

  test('local and peer must differ', () => {
    const config = minimal();
    config.device.ha.heartbeatBackup = { local: '192.168.100.11', peer: '192.168.100.11' };
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.heartbeatBackup.peer', value: '192.168.100.11', expected: "the peer's address, different from local (192.168.100.11)" },
    ]);
  });

  test("must not use an HA1 link's addresses (it would fail with that link)", () => {
    const config = boxA();
    config.device.ha.heartbeatBackup = { local: '172.31.1.1', peer: '172.31.0.2' };
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.heartbeatBackup.local', value: '172.31.1.1', expected: "an address other than the HA1 links' (172.31.0.1, 172.31.1.1)" },
      { path: 'device.ha.heartbeatBackup.peer', value: '172.31.0.2', expected: "a peer address other than the HA1 links' (172.31.0.2, 172.31.1.2)" },
    ]);
  });

  test('without an HA1 backup link only ha1 is compared', () => {
    const config = minimal();
    config.device.ha.heartbeatBackup = { local: '172.31.0.1', peer: '192.168.100.12' };
    expect(issuesOf(config)).toEqual([
      { path: 'device.ha.heartbeatBackup.local', value: '172.31.0.1', expected: "an address other than the HA1 links' (172.31.0.1)" },
    ]);
  });
});
