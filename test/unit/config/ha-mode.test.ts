import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { boxA, issuesOf, parseObject } from './fixture.js';

/** deploy/lab/active-active/<box>.yaml as a plain object. */
function labAa(box: string): Record<string, any> {
  return parse(readFileSync(new URL(`../../../deploy/lab/active-active/${box}.yaml`, import.meta.url), 'utf8'));
}

/** Box A switched to active/active with what the mode needs: an HA3 link and a bound NAT rule. */
function activeActive(): Record<string, any> {
  const c = boxA();
  c.shared.ha.mode = 'active-active';
  c.device.ha.ha3 = { device: 'ha3' };
  c.shared.nat[0].translate.bind = 0;
  return c;
}

describe('active/passive refuses the active/active settings instead of ignoring them', () => {
  test('a floating IP owned by device 1, the primary or shared', () => {
    const c = boxA();
    c.shared.floatingIps[0].owner = 1;
    c.shared.floatingIps[1].owner = 'shared';
    expect(issuesOf(c).map((i) => [i.path, i.value])).toEqual([
      ['shared.floatingIps[0].owner', 1],
      ['shared.floatingIps[1].owner', 'shared'],
    ]);
    expect(issuesOf(c)[0].expected).toMatch(/need shared.ha.mode: active-active/);
    expect(issuesOf(c)[1].expected).toMatch(/^0 \(the default\): ARP load sharing \(owner shared\) .* needs shared.ha.mode: active-active/);
  });

  test('a NAT rule bound to a device', () => {
    const c = boxA();
    c.shared.nat[0].translate.bind = 'primary';
    expect(issuesOf(c)).toEqual([
      {
        path: 'shared.nat[0].translate.bind',
        value: 'primary',
        expected: 'no bind: in active-passive only the active allocates translations; bind is for shared.ha.mode: active-active',
      },
    ]);
  });

  test('an HA3 link may be ready on the device before the pair switches mode', () => {
    const c = boxA();
    c.device.ha.ha3 = { device: 'ha3' };
    expect(parseObject(c).device.ha.ha3).toEqual({ device: 'ha3' });
  });
});

describe('active/active settings', () => {
  test('defaults are PAN-OS defaults: first-packet owner, ip-modulo setup', () => {
    const c = boxA();
    expect(parseObject(c).shared.ha.activeActive).toEqual({
      sessionOwner: 'first-packet',
      sessionSetup: 'ip-modulo',
      ipHash: { key: 'source', seed: 0 },
      deferMs: 10,
      arpLoadSharing: { method: 'ip-modulo', seed: 0 },
    });
  });

  test('a complete active/active config is valid', () => {
    expect(parseObject(activeActive()).shared.ha.mode).toBe('active-active');
  });

  test('the lab examples of both modes are valid', () => {
    for (const box of ['fwa', 'fwb']) {
      const c = parseObject(labAa(box));
      expect(c.shared.ha.mode).toBe('active-active');
      expect(c.device.ha.ha3).toEqual({ device: 'ha3' });
    }
  });

  test('ARP load sharing: an owner shared address is valid, with the method and seed both boxes split by', () => {
    const c = activeActive();
    c.shared.floatingIps[0].owner = 'shared';
    expect(parseObject(c).shared.floatingIps[0].owner).toBe('shared');
    c.shared.ha.activeActive = { arpLoadSharing: { method: 'ip-hash', seed: 77 } };
    expect(parseObject(c).shared.ha.activeActive.arpLoadSharing).toEqual({ method: 'ip-hash', seed: 77 });
    c.shared.ha.activeActive = { arpLoadSharing: { method: 'ip-hash' } };
    expect(parseObject(c).shared.ha.activeActive.arpLoadSharing).toEqual({ method: 'ip-hash', seed: 0 });
  });

  test('ARP load sharing: bad values name the key', () => {
    const c = activeActive();
    c.shared.ha.activeActive = { arpLoadSharing: { method: 'round-robin', seed: -1, weight: 2 } };
    expect(issuesOf(c).map((i) => [i.path, i.value, i.expected])).toEqual([
      ['shared.ha.activeActive.arpLoadSharing.method', 'round-robin', 'one of "ip-modulo", "ip-hash"'],
      ['shared.ha.activeActive.arpLoadSharing.seed', -1, 'an integer from 0 to 4294967295'],
      ['shared.ha.activeActive.arpLoadSharing.weight', 2, 'no key "weight" here (known keys: method, seed)'],
    ]);
    c.shared.ha.activeActive = { arpLoadSharing: 'ip-hash' };
    expect(issuesOf(c).map((i) => [i.path, i.expected])).toEqual([
      ['shared.ha.activeActive.arpLoadSharing', 'ARP load sharing: { method: ip-modulo|ip-hash, seed }'],
    ]);
  });

  test('ARP load sharing: a seed with ip-modulo would be ignored, so it is refused', () => {
    const c = activeActive();
    c.shared.ha.activeActive = { arpLoadSharing: { seed: 5 } };
    expect(issuesOf(c)).toEqual([
      {
        path: 'shared.ha.activeActive.arpLoadSharing.seed',
        value: 5,
        expected: '0 or no seed with method ip-modulo (the parity of the requester address takes none); a seed is for method ip-hash',
      },
    ]);
  });

  test('no HA3 or HA2 link', () => {
    const c = activeActive();
    delete c.device.ha.ha3;
    delete c.device.ha.ha2;
    expect(issuesOf(c).map((i) => [i.path, i.expected.slice(0, 30)])).toEqual([
      ['device.ha.ha3', 'an HA3 link { device: <kernel '],
      ['device.ha.ha2', 'an HA2 link { local, peer }: i'],
    ]);
  });

  test('HA3 on a traffic device', () => {
    const c = activeActive();
    c.device.ha.ha3.device = c.device.interfaces.lan.device;
    expect(issuesOf(c)[0]).toEqual({
      path: 'device.ha.ha3.device',
      value: c.device.interfaces.lan.device,
      expected: 'a kernel device of its own, not one of device.interfaces',
    });
  });

  test('a source NAT rule without a device binding', () => {
    const c = activeActive();
    delete c.shared.nat[0].translate.bind;
    expect(issuesOf(c)[0]).toMatchObject({ path: 'shared.nat[0].translate.bind', value: undefined });
    expect(issuesOf(c)[0].expected).toMatch(/bound to the device whose new sessions it translates/);
  });

  test('interface-floating bound to a device that owns no floating IP on the egress side', () => {
    const c = activeActive();
    c.shared.nat[0].translate.bind = 1;
    expect(issuesOf(c)[0]).toMatchObject({ path: 'shared.nat[0].translate.source', value: 'interface-floating' });
    c.shared.floatingIps.push({ interface: 'wan', address: '10.0.2.3/24', owner: 1 });
    expect(parseObject(c).shared.nat[0].translate.bind).toBe(1);
  });

  test('a fixed source address needs only the binding', () => {
    const c = activeActive();
    c.shared.nat[0].translate = { source: '10.0.2.9', bind: 'primary' };
    expect(parseObject(c).shared.nat[0].translate).toEqual({ source: '10.0.2.9', bind: 'primary' });
  });

  test('bad values name the key', () => {
    const c = activeActive();
    c.shared.ha.activeActive = { sessionSetup: 'round-robin', deferMs: -1 };
    c.shared.nat[0].translate.bind = 2;
    expect(issuesOf(c).map((i) => [i.path, i.expected])).toEqual([
      ['shared.ha.activeActive.sessionSetup', 'one of "first-packet", "ip-modulo", "ip-hash", "primary"'],
      ['shared.ha.activeActive.deferMs', 'an integer from 0 to 1000'],
      ['shared.nat[0].translate.bind', '0 or 1 (a device id) or "primary"'],
    ]);
  });
});

describe('active/active IPv6 floating addresses', () => {
  test('the lab pair: each IPv6 address owned by one device class, fe80::1 by device 0', () => {
    const { shared } = parseObject(labAa('fwa'));
    const v6 = shared.floatingIps.filter((f) => f.address.includes(':'));
    expect(v6.map((f) => [f.address, f.owner])).toContainEqual(['fe80::1/64', 0]);
    expect(v6.map((f) => f.owner)).toContain(1);
  });

  test('owner shared is for IPv4 only (ARP load sharing): refused on an IPv6 address, naming the key', () => {
    const c = activeActive();
    const i = c.shared.floatingIps.findIndex((f: { address: string }) => f.address.startsWith('2001:'));
    c.shared.floatingIps[i].owner = 'shared';
    expect(issuesOf(c)).toEqual([
      {
        path: `shared.floatingIps[${i}].owner`,
        value: 'shared',
        expected: '0, 1 or "primary": owner shared (ARP load sharing) is for IPv4 addresses; an IPv6 floating address is answered by one owner class',
      },
    ]);
  });
});
