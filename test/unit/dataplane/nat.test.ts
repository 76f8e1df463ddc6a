// NAT rule matching (source and destination), translated addresses, and the port allocator:
// collision-free, rotating, exhaustion and reuse.
import { describe, expect, test } from 'vitest';
import { CompiledNat, PortAllocator } from '../../../src/dataplane/nat.js';
import { CompiledPolicy } from '../../../src/dataplane/policy.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import type { SharedConfig } from '../../../src/config/types.js';
import { minimal, parseObject } from '../config/fixture.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ip = parseIpv4;
const IFS = ['lan', 'wan', 'dmz'];
const [TRUST, UNTRUST, DMZ] = [0, 1, 2];
const [LAN, WAN, DMZ_IF] = [0, 1, 2];

function shared(nat: Record<string, unknown>[]): SharedConfig {
  const c = minimal();
  c.device.interfaces = {
    lan: { device: 'eth1', address: '10.0.1.2/24' },
    wan: { device: 'eth2', address: '10.0.2.2/24' },
    dmz: { device: 'eth3', address: '10.0.3.2/24' },
  };
  c.shared = {
    zones: { trust: ['lan'], untrust: ['wan'], dmz: ['dmz'] },
    floatingIps: [
      { interface: 'lan', address: '10.0.1.1/24' },
      { interface: 'wan', address: '10.0.2.1/24' },
      { interface: 'wan', address: '10.0.2.3/24' },
    ],
    nat,
  };
  return parseObject(c).shared;
}

const FLOATING = [ip('10.0.1.1'), ip('10.0.2.1'), -1];
const floatingOf = (i: number) => FLOATING[i];

describe('CompiledNat', () => {
  const cfg = shared([
    { name: 'hide-lan', from: 'trust', to: 'untrust', source: ['10.0.1.0/24'], translate: { source: 'interface-floating' } },
    { name: 'dmz-fixed', from: 'dmz', to: ['untrust', 'trust'], service: ['tcp/1-1023', 'udp/53'], translate: { source: '10.0.2.3' } },
    {
      name: 'web-in',
      from: 'untrust',
      to: 'untrust',
      destination: ['10.0.2.1'],
      service: ['tcp/8080'],
      translate: { destination: { address: '10.0.1.80', port: 80 } },
    },
    { name: 'all-in', from: ['untrust', 'dmz'], to: 'untrust', destination: ['10.0.2.3'], translate: { destination: { address: '10.0.3.9' } } },
    {
      name: 'hairpin',
      from: 'trust',
      to: 'untrust',
      destination: ['10.0.2.1'],
      service: ['tcp/8080'],
      translate: { source: 'interface-floating', destination: { address: '10.0.1.80', port: 80 } },
    },
  ]);
  const nat = CompiledNat.compile(cfg, IFS, floatingOf);

  test('names, and zone numbering shared with the policy', () => {
    expect(nat.ruleNames).toEqual(['hide-lan', 'dmz-fixed', 'web-in', 'all-in', 'hairpin']);
    const policy = CompiledPolicy.compile(cfg, IFS);
    expect(IFS.map((_, i) => nat.zoneOf(i))).toEqual(IFS.map((_, i) => policy.zoneOf(i)));
  });

  test('matchSource: only rules with translate.source, by zones, source prefix, service', () => {
    expect(nat.matchSource(TRUST, UNTRUST, TCP, ip('10.0.1.5'), ip('198.51.100.7'), 443)).toBe(0);
    expect(nat.matchSource(TRUST, UNTRUST, ICMP, ip('10.0.1.5'), ip('198.51.100.7'), 8)).toBe(0);
    expect(nat.matchSource(TRUST, UNTRUST, TCP, ip('10.0.9.5'), ip('198.51.100.7'), 443)).toBe(-1);
    expect(nat.matchSource(UNTRUST, TRUST, TCP, ip('10.0.1.5'), ip('198.51.100.7'), 443)).toBe(-1);
    expect(nat.matchSource(DMZ, UNTRUST, TCP, ip('10.0.3.5'), ip('1.1.1.1'), 1023)).toBe(1);
    expect(nat.matchSource(DMZ, TRUST, UDP, ip('10.0.3.5'), ip('10.0.1.5'), 53)).toBe(1);
    expect(nat.matchSource(DMZ, UNTRUST, TCP, ip('10.0.3.5'), ip('1.1.1.1'), 1024)).toBe(-1);
    expect(nat.matchSource(DMZ, UNTRUST, ICMP, ip('10.0.3.5'), ip('1.1.1.1'), 8)).toBe(-1);
    // web-in and all-in translate only the destination: never a source match
    expect(nat.matchSource(UNTRUST, UNTRUST, TCP, ip('1.1.1.1'), ip('10.0.2.1'), 8080)).toBe(-1);
  });

  test('matchDestination: only rules with translate.destination, by from zone, published address, service', () => {
    expect(nat.matchDestination(UNTRUST, TCP, ip('198.51.100.7'), ip('10.0.2.1'), 8080)).toBe(2);
    expect(nat.matchDestination(UNTRUST, TCP, ip('198.51.100.7'), ip('10.0.2.1'), 80)).toBe(-1);
    expect(nat.matchDestination(UNTRUST, UDP, ip('198.51.100.7'), ip('10.0.2.1'), 8080)).toBe(-1);
    expect(nat.matchDestination(UNTRUST, UDP, ip('198.51.100.7'), ip('10.0.2.3'), 5000)).toBe(3);
    expect(nat.matchDestination(DMZ, ICMP, ip('10.0.3.7'), ip('10.0.2.3'), 8)).toBe(3);
    expect(nat.matchDestination(TRUST, TCP, ip('10.0.1.5'), ip('10.0.2.1'), 8080)).toBe(4);
    expect(nat.matchDestination(TRUST, TCP, ip('10.0.1.5'), ip('10.0.2.3'), 8080)).toBe(-1);
    expect(nat.matchDestination(-1, TCP, ip('10.0.1.5'), ip('10.0.2.1'), 8080)).toBe(-1);
  });

  test('translated addresses and ports', () => {
    expect(nat.sourceAddress(0, WAN)).toBe(ip('10.0.2.1'));
    expect(nat.sourceAddress(0, LAN)).toBe(ip('10.0.1.1'));
    expect(nat.sourceAddress(0, DMZ_IF)).toBe(-1); // no floating IP there
    expect(nat.sourceAddress(1, DMZ_IF)).toBe(ip('10.0.2.3'));
    expect(nat.sourceAddress(2, WAN)).toBe(-1);
    expect(nat.sourceAddress(-1, WAN)).toBe(-1);
    expect(nat.sourceAddress(4, WAN)).toBe(ip('10.0.2.1'));
    expect([nat.destAddress(2), nat.destPort(2)]).toEqual([ip('10.0.1.80'), 80]);
    expect([nat.destAddress(3), nat.destPort(3)]).toEqual([ip('10.0.3.9'), -1]);
    expect([nat.destAddress(0), nat.destPort(0), nat.destAddress(-1), nat.destPort(99)]).toEqual([-1, -1, -1, -1]);
  });

  test('ports(): one allocator per (protocol, address), created once', () => {
    const a = nat.ports(TCP, ip('10.0.2.1'));
    expect(nat.ports(TCP, ip('10.0.2.1'))).toBe(a);
    expect(nat.ports(UDP, ip('10.0.2.1'))).not.toBe(a);
    expect(nat.ports(TCP, ip('10.0.2.3'))).not.toBe(a);
    expect(nat.ports(TCP, ip('255.255.255.255'))).not.toBe(nat.ports(TCP + 1, 0));
    expect([a.lo, a.hi]).toEqual([1024, 65535]);
    const small = CompiledNat.compile(cfg, IFS, floatingOf, 2000, 2009).ports(UDP, 1);
    expect([small.lo, small.hi]).toEqual([2000, 2009]);
  });
});

test('adoptPorts keeps the ports of live sessions across a recompile with the same range', () => {
  const cfg = shared([{ name: 'hide-lan', from: 'trust', to: 'untrust', translate: { source: 'interface-floating' } }]);
  const old = CompiledNat.compile(cfg, IFS, floatingOf);
  const port = old.ports(TCP, ip('10.0.2.1')).allocate();
  const next = CompiledNat.compile(cfg, IFS, floatingOf);
  next.adoptPorts(old);
  expect(next.ports(TCP, ip('10.0.2.1')).isInUse(port)).toBe(true);
  const narrower = CompiledNat.compile(cfg, IFS, floatingOf, 2000, 3000);
  narrower.adoptPorts(old);
  expect(narrower.ports(TCP, ip('10.0.2.1')).inUse).toBe(0);
});

describe('PortAllocator', () => {
  test('defaults to 1024-65535 and hands out every port once before -1', () => {
    const a = new PortAllocator();
    const seen = new Set<number>();
    let outOfRange = 0;
    for (let i = 0; i < 64512; i++) {
      const p = a.allocate();
      if (p < 1024 || p > 65535) outOfRange++;
      seen.add(p);
    }
    expect([seen.size, outOfRange]).toEqual([64512, 0]);
    expect(a.inUse).toBe(64512);
    expect(a.allocate()).toBe(-1);
    a.free(40000);
    expect(a.allocate()).toBe(40000);
    expect(a.allocate()).toBe(-1);
  });

  test('a freed port is not reused at once: the cursor goes round the range first', () => {
    const a = new PortAllocator(100, 109);
    expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([100, 101, 102]);
    a.free(100);
    expect([a.allocate(), a.allocate()]).toEqual([103, 104]);
    a.free(101);
    expect([105, 106, 107, 108, 109].map(() => a.allocate())).toEqual([105, 106, 107, 108, 109]);
    expect(a.allocate()).toBe(100); // wrapped: the oldest free port first
    expect(a.allocate()).toBe(101);
    expect(a.allocate()).toBe(-1);
    expect(a.inUse).toBe(10);
  });

  test('free of a port not in use or out of range is ignored', () => {
    const a = new PortAllocator(100, 103);
    a.allocate();
    a.free(101);
    a.free(99);
    a.free(104);
    a.free(100.5);
    a.free(-1);
    expect(a.inUse).toBe(1);
    a.free(100);
    a.free(100);
    expect(a.inUse).toBe(0);
    expect([a.isInUse(100), a.isInUse(999)]).toEqual([false, false]);
  });

  test('reserve marks a port taken (sessions learned from the peer) and allocate skips it', () => {
    const a = new PortAllocator(100, 102);
    expect(a.reserve(101)).toBe(true);
    expect(a.reserve(101)).toBe(false);
    expect(a.reserve(200)).toBe(false);
    expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([100, 102, -1]);
  });

  test('one-port and word-boundary ranges', () => {
    const one = new PortAllocator(5, 5);
    expect([one.allocate(), one.allocate()]).toEqual([5, -1]);
    one.free(5);
    expect(one.allocate()).toBe(5);
    const w = new PortAllocator(0, 64); // 65 ports: two full words and one bit
    const got = Array.from({ length: 65 }, () => w.allocate());
    expect(got).toEqual(Array.from({ length: 65 }, (_, i) => i));
    expect(w.allocate()).toBe(-1);
    w.free(33);
    w.free(64);
    expect([w.allocate(), w.allocate(), w.allocate()]).toEqual([33, 64, -1]);
  });

  test('random allocate/free against a Set: never a duplicate, inUse exact', () => {
    let seed = 7;
    const r = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const a = new PortAllocator(1000, 1299);
    const live = new Set<number>();
    const faults: string[] = [];
    for (let i = 0; i < 20000; i++) {
      if (r() < 0.55) {
        const p = a.allocate();
        if (live.size === 300) {
          if (p !== -1) faults.push(`${i}: ${p} from a full range`);
        } else if (p === -1 || live.has(p)) faults.push(`${i}: ${p} handed out twice or -1`);
        else live.add(p);
      } else if (live.size > 0) {
        const arr = [...live];
        const p = arr[Math.floor(r() * arr.length)];
        a.free(p);
        live.delete(p);
      }
      if (a.inUse !== live.size) faults.push(`${i}: inUse ${a.inUse} != ${live.size}`);
    }
    expect(faults).toEqual([]);
  });

  test('bad ranges throw at construction', () => {
    expect(() => new PortAllocator(10, 9)).toThrow(RangeError);
    expect(() => new PortAllocator(-1, 9)).toThrow(RangeError);
    expect(() => new PortAllocator(1, 65536)).toThrow(RangeError);
  });
});

describe('CompiledNat, active/active (compiled for a device)', () => {
  // a valid active/passive config, made active/active on the parsed object (the config check still
  // refuses the mode): a rule per binding, a wan floating IP per owner class
  function aaShared(): SharedConfig {
    const cfg = shared([
      { name: 'hide-0', from: 'trust', to: 'untrust', translate: { source: 'interface-floating' } },
      { name: 'hide-1', from: 'trust', to: 'untrust', translate: { source: 'interface-floating' } },
      { name: 'hide-p', from: 'trust', to: 'untrust', translate: { source: 'interface-floating' } },
      { name: 'dmz-fixed', from: 'dmz', to: 'untrust', translate: { source: '10.0.2.9' } },
    ]);
    cfg.ha.mode = 'active-active';
    cfg.floatingIps = [
      { interface: 'wan', address: '10.0.2.1/24', owner: 0 },
      { interface: 'wan', address: '10.0.2.4/24', owner: 1 },
      { interface: 'wan', address: '10.0.2.5/24', owner: 'primary' },
    ];
    const binds = [0, 1, 'primary', 1] as const;
    cfg.nat.forEach((r, i) => (r.translate.bind = binds[i]));
    return cfg;
  }
  const first = (i: number) => (i === WAN ? ip('10.0.2.1') : -1);

  test('a source rule applies only where its binding holds; the first that applies wins', () => {
    const nat = CompiledNat.compile(aaShared(), IFS, first, 1024, 33279, 0);
    const m = (bits: number) => nat.matchSource(TRUST, UNTRUST, TCP, ip('10.0.1.5'), ip('198.51.100.7'), 443, bits);
    expect(m(1)).toBe(0); // device 0's
    expect(m(2)).toBe(1); // device 1's (the peer is down)
    expect(m(4)).toBe(2); // the primary's
    expect(m(2 | 4)).toBe(1);
    expect(m(0)).toBe(-1); // no binding holds: no source NAT
    expect(nat.matchSource(DMZ, UNTRUST, TCP, ip('10.0.3.5'), ip('1.1.1.1'), 80, 1)).toBe(-1);
    expect(nat.matchSource(DMZ, UNTRUST, TCP, ip('10.0.3.5'), ip('1.1.1.1'), 80, 2)).toBe(3);
  });

  test("interface-floating is the egress interface's floating IP of the binding's class", () => {
    const nat = CompiledNat.compile(aaShared(), IFS, first, 1024, 33279, 1);
    expect([nat.sourceAddress(0, WAN), nat.sourceAddress(1, WAN), nat.sourceAddress(2, WAN)]).toEqual([ip('10.0.2.1'), ip('10.0.2.4'), ip('10.0.2.5')]);
    expect(nat.sourceAddress(1, LAN)).toBe(-1); // no floating IP of class 1 there
    expect(nat.sourceAddress(3, DMZ_IF)).toBe(ip('10.0.2.9'));
  });

  test('active/passive ignores bindings: every source rule, the first floating IP', () => {
    const nat = CompiledNat.compile(aaShared(), IFS, first);
    expect(nat.matchSource(TRUST, UNTRUST, TCP, ip('10.0.1.5'), ip('198.51.100.7'), 443)).toBe(0);
    expect(nat.sourceAddress(1, WAN)).toBe(ip('10.0.2.1'));
  });
});
