// The boxes' configs as `tandem lab up` writes them: unchanged by default, rewritten for the HA
// links over IPv6 and for router advertisements, and valid for the config loader either way.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { keepsConfig, LAB_RA, labBoxConfig, labOptionsOf } from '../../../src/lab/lab-config.js';
import { haAddress, hostGateway6, LAB_ADDR6, NS_IPV6_SYSCTLS } from '../../../src/lab/topology.js';

const file = (dir: string, box: string): string => readFileSync(new URL(`../../../deploy/lab/${dir}${box}.yaml`, import.meta.url), 'utf8');

describe('lab configs', () => {
  it('are copied as they are without options (and with --ha-family ipv4)', () => {
    const text = file('', 'fwa');
    expect(labBoxConfig(text, 'fwa', {})).toBe(text);
    expect(labBoxConfig(text, 'fwa', { haFamily: 'ipv4', ipv6Ra: false })).toBe(text);
    expect(keepsConfig({})).toBe(true);
    expect(keepsConfig({ haFamily: 'ipv6' })).toBe(false);
    expect(keepsConfig({ ipv6Ra: true })).toBe(false);
  });

  it('deploy/lab is dual-stack: address6, IPv6 floating addresses incl. fe80::1, rules of both families', () => {
    for (const box of ['fwa', 'fwb'] as const) {
      const c = parseConfig(file('', box), { source: `${box}.yaml` });
      const last = box === 'fwa' ? '2' : '3';
      expect(c.device.interfaces.lan.address6).toBe(`2001:db8:1::${last}/64`);
      expect(c.device.interfaces.wan.address6).toBe(`2001:db8:2::${last}/64`);
      expect(c.shared.floatingIps.map((f) => `${f.interface} ${f.address} ${f.owner}`)).toEqual([
        'lan 10.0.1.1/24 0',
        'wan 10.0.2.1/24 0',
        'lan 2001:db8:1::1/64 0',
        'lan fe80::1/64 0',
        'wan 2001:db8:2::1/64 0',
        'wan fe80::1/64 0',
      ]);
      for (const rule of c.shared.policy.rules) {
        expect(
          rule.source.some((a) => a.includes(':')),
          rule.name,
        ).toBe(true);
        expect(
          rule.destination.some((a) => a.includes(':')),
          rule.name,
        ).toBe(true);
      }
      expect(labOptionsOf(parse(file('', box)))).toEqual({ haFamily: 'ipv4', ipv6Ra: false });
    }
  });

  it('deploy/lab/active-active gives the IPv6 addresses owners as the IPv4 ones', () => {
    const c = parseConfig(file('active-active/', 'fwb'), { source: 'fwb.yaml' });
    const owners = Object.fromEntries(c.shared.floatingIps.map((f) => [`${f.interface} ${f.address}`, f.owner]));
    expect(owners).toMatchObject({
      'lan 10.0.1.1/24': 0,
      'lan 10.0.1.4/24': 1,
      'lan 2001:db8:1::1/64': 0,
      'lan 2001:db8:1::4/64': 1,
      'lan fe80::1/64': 0,
      'wan 2001:db8:2::1/64': 0,
      'wan 2001:db8:2::4/64': 1,
      'wan fe80::1/64': 0,
    });
  });

  for (const dir of ['', 'active-active/']) {
    it(`--ha-family ipv6 moves every HA link to IPv6, local and peer per box (${dir || 'active-passive'})`, () => {
      for (const box of ['fwa', 'fwb'] as const) {
        const text = labBoxConfig(file(dir, box), box, { haFamily: 'ipv6' });
        expect(text).toMatch(/^# tandem lab up rewrote this copy: the HA links over IPv6/);
        const c = parseConfig(text, { source: `${box}.yaml` });
        const peer = box === 'fwa' ? 'fwb' : 'fwa';
        expect(c.device.ha.ha1).toMatchObject({ local: haAddress(box, 'ha1', 'ipv6'), peer: haAddress(peer, 'ha1', 'ipv6') });
        expect(c.device.ha.ha1Backup).toMatchObject({ local: haAddress(box, 'ha1b', 'ipv6'), peer: haAddress(peer, 'ha1b', 'ipv6') });
        expect(c.device.ha.heartbeatBackup).toMatchObject({ local: haAddress(box, 'mgmt', 'ipv6'), peer: haAddress(peer, 'mgmt', 'ipv6') });
        expect(c.device.ha.ha2).toMatchObject({ local: haAddress(box, 'ha2', 'ipv6'), peer: haAddress(peer, 'ha2', 'ipv6') });
        if (dir) expect(c.device.ha.ha3).toEqual({ device: 'ha3' });
        // the rest as it was, comments too
        expect(c.shared).toEqual(parseConfig(file(dir, box), { source: 'x.yaml' }).shared);
        expect(text).toContain('# heartbeats only, over the lab');
        expect(labOptionsOf(parse(text))).toEqual({ haFamily: 'ipv6', ipv6Ra: false });
      }
    });
  }

  it('--ipv6-ra adds the lan entry (on-link, no SLAAC) and replaces an existing one for lan', () => {
    const text = labBoxConfig(file('', 'fwa'), 'fwa', { ipv6Ra: true });
    const c = parseConfig(text, { source: 'fwa.yaml' });
    expect(c.shared.routerAdvertisements).toHaveLength(1);
    expect(c.shared.routerAdvertisements[0]).toMatchObject({
      interface: 'lan',
      prefixes: [{ prefix: '2001:db8:1::/64', onLink: true, autonomous: false }],
      intervalS: LAB_RA.intervalS,
    });
    expect(c.device.ha.ha1.local).toBe('172.31.0.1');
    expect(labOptionsOf(parse(text))).toEqual({ haFamily: 'ipv4', ipv6Ra: true });
    // a config that had RAs already: lan's replaced, wan's kept
    const withRas = text.replace(
      /routerAdvertisements:.*\n(\s+- .*\n)*/,
      'routerAdvertisements:\n    - { interface: lan, prefixes: [{ prefix: 2001:db8:1::/64 }] }\n    - { interface: wan, prefixes: [{ prefix: 2001:db8:2::/64 }] }\n',
    );
    const again = parseConfig(labBoxConfig(withRas, 'fwa', { ipv6Ra: true, haFamily: 'ipv6' }), { source: 'fwa.yaml' });
    expect(again.shared.routerAdvertisements.map((r) => [r.interface, r.prefixes[0].autonomous])).toEqual([
      ['wan', true],
      ['lan', false],
    ]);
    expect(again.device.ha.ha1.local).toBe(LAB_ADDR6.ha.fwa.ha1);
  });

  it('refuses a file that is not YAML', () => {
    expect(() => labBoxConfig('a: [1,\n', 'fwa', { ipv6Ra: true })).toThrow(/^fwa\.yaml: /);
  });
});

describe('lab IPv6 addressing', () => {
  it('hosts route through the floating link-local address; client2 through device 1', () => {
    expect(hostGateway6('client')).toBe('fe80::1');
    expect(hostGateway6('server')).toBe('fe80::1');
    expect(hostGateway6('client2')).toBe(LAB_ADDR6.floatingLan1);
    // with RAs the lan hosts take the RAs' source, the floating link-local address
    expect(hostGateway6('client2', true)).toBe('fe80::1');
    expect(hostGateway6('server', true)).toBe('fe80::1');
  });
  it('HA addresses by family', () => {
    expect(haAddress('fwa', 'ha1')).toBe('172.31.0.1');
    expect(haAddress('fwb', 'ha2', 'ipv6')).toBe('fd00:31:2::2');
  });
  it('namespaces: IPv6 on, no RAs learnt, no kernel forwarding', () => {
    expect(Object.fromEntries(NS_IPV6_SYSCTLS)).toMatchObject({ disable_ipv6: '0', accept_ra: '0', forwarding: '0' });
  });
});

describe('lab up --pairs: each pair of a fleet', () => {
  it('gets its own group id and the recommended timers; the rest of the file as it was', () => {
    for (const dir of ['', 'active-active/']) {
      const text = file(dir, 'fwb');
      expect(keepsConfig({}, { pair: 2 })).toBe(false);
      const c = parseConfig(labBoxConfig(text, 'fwb', {}, { pair: 3 }), { source: 'fwb.yaml' });
      const plain = parseConfig(text, { source: 'fwb.yaml' });
      expect(c.shared.ha.groupId).toBe(3);
      expect(c.shared.ha.timers.profile).toBe('recommended');
      expect(c.shared.ha.mode).toBe(plain.shared.ha.mode);
      expect(c.shared.floatingIps).toEqual(plain.shared.floatingIps);
      expect(c.device).toEqual(plain.device);
    }
  });
});
