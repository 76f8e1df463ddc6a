// The compiled policy against a deliberately simple reference (walk every rule in order), plus
// the cases by name: order, zone pairs, /0 and /32, port ranges, icmp/any, default action.
import { describe, expect, test } from 'vitest';
import { ACTION_ALLOW, ACTION_DENY, ACTION_REJECT, CompiledPolicy } from '../../../src/dataplane/policy.js';
import { inPrefix, parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { parseService } from '../../../src/config/schema.js';
import type { PolicyRule, SharedConfig } from '../../../src/config/types.js';
import { minimal, parseObject } from '../config/fixture.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const GRE = 47;
const IFS = ['lan', 'wan', 'dmz', 'mgmt'];
const [TRUST, UNTRUST, DMZ] = [0, 1, 2];

/** A validated shared half with zones trust=[lan], untrust=[wan], dmz=[dmz] (mgmt in no zone). */
function shared(rules: Record<string, unknown>[], defaultAction = 'deny'): SharedConfig {
  const c = minimal();
  c.device.interfaces = {
    lan: { device: 'eth1', address: '10.0.1.2/24' },
    wan: { device: 'eth2', address: '10.0.2.2/24' },
    dmz: { device: 'eth3', address: '10.0.3.2/24' },
    mgmt: { device: 'eth4', address: '10.0.4.2/24' },
  };
  c.shared = { zones: { trust: ['lan'], untrust: ['wan'], dmz: ['dmz'] }, policy: { default: defaultAction, rules } };
  return parseObject(c).shared;
}

const ip = parseIpv4;

describe('CompiledPolicy', () => {
  test('zoneOf: zones numbered in config order; an interface in no zone is -1', () => {
    const p = CompiledPolicy.compile(shared([]), IFS);
    expect(IFS.map((_, i) => p.zoneOf(i))).toEqual([TRUST, UNTRUST, DMZ, -1]);
    expect([p.zoneOf(-1), p.zoneOf(4)]).toEqual([-1, -1]);
  });

  test('first match wins, in config order; the caller gets the rule index', () => {
    const p = CompiledPolicy.compile(
      shared([
        { name: 'block-bad', from: 'trust', to: 'untrust', destination: ['192.0.2.66'], action: 'reject' },
        { name: 'web', from: 'trust', to: 'untrust', service: ['tcp/80', 'tcp/443'], action: 'allow' },
        { name: 'no-web-again', from: 'trust', to: 'untrust', service: ['tcp/80'], action: 'deny' },
      ]),
      IFS,
    );
    expect(p.ruleNames).toEqual(['block-bad', 'web', 'no-web-again']);
    expect(p.match(TRUST, UNTRUST, TCP, ip('10.0.1.5'), 40000, ip('192.0.2.66'), 80)).toBe(0);
    expect(p.match(TRUST, UNTRUST, TCP, ip('10.0.1.5'), 40000, ip('192.0.2.67'), 80)).toBe(1);
    expect(p.match(TRUST, UNTRUST, TCP, ip('10.0.1.5'), 40000, ip('192.0.2.67'), 22)).toBe(-1);
    expect([p.action(0), p.action(1), p.action(2), p.action(-1)]).toEqual([ACTION_REJECT, ACTION_ALLOW, ACTION_DENY, ACTION_DENY]);
  });

  test('zone pairs: from/to lists; the reverse direction and unzoned interfaces do not match', () => {
    const p = CompiledPolicy.compile(shared([{ name: 'out', from: ['trust', 'dmz'], to: 'untrust', action: 'allow' }]), IFS);
    const m = (f: number, t: number) => p.match(f, t, UDP, 1, 1, 2, 53);
    expect([m(TRUST, UNTRUST), m(DMZ, UNTRUST), m(UNTRUST, TRUST), m(TRUST, DMZ), m(-1, UNTRUST), m(TRUST, -1), m(9, 0)]).toEqual([0, 0, -1, -1, -1, -1, -1]);
  });

  test('IPv4 packets see only the IPv4 entries; a list with no IPv4 entry never matches them (it is not "any")', () => {
    const p = CompiledPolicy.compile(
      shared([
        { name: 'v6-src', from: 'trust', to: 'untrust', source: ['2001:db8:1::/64'], action: 'reject' },
        { name: 'v6-dst', from: 'trust', to: 'untrust', destination: ['::/0', '2001:db8::5'], action: 'reject' },
        { name: 'mixed', from: 'trust', to: 'untrust', source: ['2001:db8:1::/64', '10.0.1.0/24'], destination: ['::/0', '0.0.0.0/0'], action: 'deny' },
        { name: 'rest', from: 'trust', to: 'untrust', action: 'allow' },
      ]),
      IFS,
    );
    const m = (s: string, d: string) => p.match(TRUST, UNTRUST, TCP, ip(s), 1, ip(d), 80);
    // the IPv6-only rules are skipped, whatever the IPv4 addresses
    expect(m('0.0.0.0', '0.0.0.0')).toBe(3);
    expect(m('255.255.255.255', '255.255.255.255')).toBe(3);
    // a mixed rule matches IPv4 packets by its IPv4 entries
    expect(m('10.0.1.5', '192.0.2.1')).toBe(2);
    expect(m('10.0.9.5', '192.0.2.1')).toBe(3);
  });

  test('prefix edges: /0 matches everything, /32 exactly one host, a bare address is /32', () => {
    const p = CompiledPolicy.compile(
      shared([
        { name: 'host', from: 'trust', to: 'untrust', source: ['10.0.1.7/32'], destination: ['203.0.113.9'], action: 'allow' },
        { name: 'all', from: 'trust', to: 'untrust', source: ['0.0.0.0/0'], destination: ['0.0.0.0/0'], action: 'deny' },
      ]),
      IFS,
    );
    const m = (s: string, d: string) => p.match(TRUST, UNTRUST, TCP, ip(s), 1, ip(d), 1);
    expect(m('10.0.1.7', '203.0.113.9')).toBe(0);
    expect(m('10.0.1.6', '203.0.113.9')).toBe(1);
    expect(m('10.0.1.7', '203.0.113.8')).toBe(1);
    expect(m('0.0.0.0', '255.255.255.255')).toBe(1);
    expect(m('255.255.255.255', '0.0.0.0')).toBe(1);
  });

  test('port ranges: inclusive bounds, several ranges, tcp and udp kept apart', () => {
    const p = CompiledPolicy.compile(
      shared([{ name: 'r', from: 'trust', to: 'untrust', service: ['udp/1000-2000', 'udp/5000', 'tcp/1-1'], action: 'allow' }]),
      IFS,
    );
    const m = (proto: number, port: number) => p.match(TRUST, UNTRUST, proto, 1, 9, 2, port);
    expect([999, 1000, 1500, 2000, 2001, 4999, 5000, 5001].map((port) => m(UDP, port))).toEqual([-1, 0, 0, 0, -1, -1, 0, -1]);
    expect([m(TCP, 1), m(TCP, 1000), m(UDP, 1)]).toEqual([0, -1, -1]);
    expect([m(ICMP, 8), m(GRE, -1)]).toEqual([-1, -1]);
  });

  test('icmp matches every ICMP type/code and nothing else; any matches every protocol', () => {
    const p = CompiledPolicy.compile(
      shared([
        { name: 'ping', from: 'trust', to: 'untrust', service: ['icmp'], action: 'allow' },
        { name: 'rest', from: 'trust', to: 'untrust', service: ['any'], action: 'reject' },
      ]),
      IFS,
    );
    const m = (proto: number, sp: number, dp: number) => p.match(TRUST, UNTRUST, proto, 1, sp, 2, dp);
    expect([m(ICMP, 8, 0), m(ICMP, 0, 0), m(ICMP, 3, 13)]).toEqual([0, 0, 0]);
    expect([m(TCP, 1, 80), m(UDP, 1, 65535), m(GRE, -1, -1), m(50, -1, -1)]).toEqual([1, 1, 1, 1]);
  });

  test('default action: allow or deny when nothing matches', () => {
    expect(CompiledPolicy.compile(shared([], 'allow'), IFS).action(-1)).toBe(ACTION_ALLOW);
    expect(CompiledPolicy.compile(shared([], 'deny'), IFS).action(-1)).toBe(ACTION_DENY);
    expect(CompiledPolicy.compile(shared([]), IFS).match(TRUST, UNTRUST, TCP, 1, 1, 2, 2)).toBe(-1);
  });

  test('the deploy example: web-out and ping, hide-lan zones', () => {
    const c = minimal();
    c.device.interfaces = { lan: { device: 'eth1', address: '10.0.1.2/24' }, wan: { device: 'eth2', address: '10.0.2.2/24' } };
    c.shared = {
      zones: { trust: ['lan'], untrust: ['wan'] },
      policy: {
        default: 'deny',
        rules: [
          { name: 'web-out', from: 'trust', to: 'untrust', destination: ['0.0.0.0/0'], service: ['tcp/80', 'tcp/443'], action: 'allow' },
          { name: 'ping', from: 'trust', to: 'untrust', service: ['icmp'], action: 'allow' },
        ],
      },
    };
    const p = CompiledPolicy.compile(parseObject(c).shared, ['wan', 'lan']); // pipeline order need not be config order
    expect([p.zoneOf(0), p.zoneOf(1)]).toEqual([1, 0]);
    expect(p.match(0, 1, TCP, ip('10.0.1.5'), 5, ip('1.1.1.1'), 443)).toBe(0);
    expect(p.match(0, 1, ICMP, ip('10.0.1.5'), 8, ip('1.1.1.1'), 0)).toBe(1);
    expect(p.match(1, 0, ICMP, ip('1.1.1.1'), 8, ip('10.0.1.5'), 0)).toBe(-1);
  });

  test('3000 random flows against a reference that walks every rule in order', () => {
    let seed = 17;
    const r = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
    const zones = ['trust', 'untrust', 'dmz'];
    const prefixes = ['0.0.0.0/0', '10.0.0.0/8', '10.0.1.0/24', '10.0.1.7/32', '192.0.2.0/25', '192.0.2.128/25', '128.0.0.0/1'];
    const services = ['any', 'icmp', 'tcp/80', 'tcp/1-1024', 'udp/53', 'udp/1000-2000', 'tcp/443'];
    const rules: PolicyRule[] = Array.from({ length: 40 }, (_, i) => ({
      name: `r${i}`,
      from: [pick(zones), ...(r() < 0.3 ? [pick(zones)] : [])],
      to: [pick(zones)],
      source: [pick(prefixes), ...(r() < 0.3 ? [pick(prefixes)] : [])],
      destination: [pick(prefixes)],
      service: [pick(services), ...(r() < 0.4 ? [pick(services)] : [])],
      action: pick(['allow', 'deny', 'reject'] as const),
    }));
    const cfg = shared(rules as unknown as Record<string, unknown>[]);
    const p = CompiledPolicy.compile(cfg, IFS);
    const reference = (fz: number, tz: number, proto: number, src: number, dst: number, dport: number) =>
      cfg.policy.rules.findIndex(
        (rule) =>
          rule.from.includes(zones[fz]) &&
          rule.to.includes(zones[tz]) &&
          rule.source.some((s) => inPrefix(src, parseCidr(s).prefix)) &&
          rule.destination.some((d) => inPrefix(dst, parseCidr(d).prefix)) &&
          rule.service.some((text) => {
            const s = parseService(text)!;
            if (s.protocol === 'any') return true;
            if (s.protocol === 'icmp') return proto === ICMP;
            return (s.protocol === 'tcp' ? TCP : UDP) === proto && 'portLow' in s && dport >= s.portLow && dport <= s.portHigh;
          }),
      );
    const addrs = ['10.0.1.7', '10.0.1.8', '10.9.9.9', '192.0.2.1', '192.0.2.200', '200.1.1.1', '0.0.0.0'].map(ip);
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const fz = Math.floor(r() * 3);
      const tz = Math.floor(r() * 3);
      const proto = pick([TCP, UDP, ICMP, GRE]);
      const src = pick(addrs);
      const dst = pick(addrs);
      const dport = proto === GRE ? -1 : pick([0, 1, 53, 80, 443, 1000, 1024, 1025, 2000, 65535]);
      const want = reference(fz, tz, proto, src, dst, dport);
      if (want >= 0) matched++;
      expect(p.match(fz, tz, proto, src, 1, dst, dport), `flow ${i}`).toBe(want);
    }
    expect(matched).toBeGreaterThan(500);
  });
});
