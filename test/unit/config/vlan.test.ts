// device.interfaces.*.vlan: 802.1Q VLAN interfaces on a trunk device (docs/firewall.md "VLAN interfaces").
import { describe, expect, test } from 'vitest';
import { boxA, issuesOf, parseObject } from './fixture.js';

/** Box A with lan on VLAN 10 of eth1, a guest interface on VLAN 20 of eth1, and eth1's untagged frames as mgmtlan. */
function trunk(): Record<string, any> {
  const config = boxA();
  config.device.interfaces.lan = { device: 'eth1', vlan: 10, address: '10.0.1.2/24', address6: '2001:db8:1::2/64' };
  config.device.interfaces.guest = { device: 'eth1', vlan: 20, address: '10.0.3.2/24' };
  config.device.interfaces.native = { device: 'eth1', address: '10.0.4.2/24' };
  return config;
}

describe('VLAN interfaces', () => {
  test('VLANs and the untagged frames of one device are interfaces of their own', () => {
    const config = parseObject(trunk());
    expect(config.device.interfaces.lan).toEqual({ device: 'eth1', vlan: 10, address: '10.0.1.2/24', address6: '2001:db8:1::2/64' });
    expect(config.device.interfaces.guest.vlan).toBe(20);
    expect(config.device.interfaces.native.vlan).toBeUndefined();
  });

  test.each([0, 4095, 4096, -1, 1.5])('vlan %s is refused with the key and the range', (vlan) => {
    const config = trunk();
    config.device.interfaces.guest.vlan = vlan;
    expect(issuesOf(config)).toEqual([{ path: 'device.interfaces.guest.vlan', value: vlan, expected: 'an integer from 1 to 4094' }]);
  });

  test('a vlan that is not a number is refused', () => {
    const config = trunk();
    config.device.interfaces.guest.vlan = 'twenty';
    expect(issuesOf(config)).toEqual([{ path: 'device.interfaces.guest.vlan', value: 'twenty', expected: 'an integer from 1 to 4094' }]);
  });

  test('1 and 4094 are the ends of the range', () => {
    const config = trunk();
    config.device.interfaces.lan.vlan = 1;
    config.device.interfaces.guest.vlan = 4094;
    expect(parseObject(config).device.interfaces.guest.vlan).toBe(4094);
  });

  test('two interfaces may not claim the same VLAN of a device', () => {
    const config = trunk();
    config.device.interfaces.guest.vlan = 10;
    expect(issuesOf(config)).toEqual([{ path: 'device.interfaces.guest.vlan', value: 10, expected: 'a VLAN of eth1 not already used by interface lan' }]);
  });

  test('the same VLAN id on two devices is two interfaces', () => {
    const config = trunk();
    config.device.interfaces.wan = { device: 'eth2', vlan: 10, address: '10.0.2.2/24', address6: '2001:db8:2::2/64' };
    expect(parseObject(config).device.interfaces.wan.vlan).toBe(10);
  });

  test("two interfaces may not both take a device's untagged frames", () => {
    const config = trunk();
    config.device.interfaces.wan.device = 'eth1';
    expect(issuesOf(config)).toEqual([
      { path: 'device.interfaces.native.device', value: 'eth1', expected: 'a kernel device not already used untagged by interface wan' },
    ]);
  });
});
