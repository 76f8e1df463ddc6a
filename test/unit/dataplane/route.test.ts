import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../../src/dataplane/route.js';
import { formatIpv4, formatPrefix, parseIpv4 } from '../../../src/net/ipv4.js';

const table = (routes: { to: string; via: string; interface: string }[]) =>
  RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
      { name: 'dmz', address: '192.168.5.1/30' },
    ],
    routes,
  });

function look(t: RouteTable, dst: string): string | null {
  const r = t.lookup(parseIpv4(dst));
  return r === null ? null : `${formatPrefix(r.prefix)} if${r.ifIndex} via ${r.via === 0 ? 'connected' : formatIpv4(r.via)}`;
}

describe('RouteTable longest-prefix match', () => {
  it('connected subnets only: no default, nothing outside them', () => {
    const t = table([]);
    expect(look(t, '10.0.1.77')).toBe('10.0.1.0/24 if0 via connected');
    expect(look(t, '10.0.2.255')).toBe('10.0.2.0/24 if1 via connected');
    expect(look(t, '192.168.5.2')).toBe('192.168.5.0/30 if2 via connected');
    expect(look(t, '192.168.5.4')).toBeNull();
    expect(look(t, '8.8.8.8')).toBeNull();
  });

  it('IPv6 routes are not in the IPv4 table (the IPv6 path has its own)', () => {
    const t = table([
      { to: '::/0', via: 'fe80::1', interface: 'wan' },
      { to: '2001:db8::/32', via: '2001:db8:2::fe', interface: 'wan' },
    ]);
    expect(look(t, '8.8.8.8')).toBeNull();
    expect(look(t, '10.0.1.77')).toBe('10.0.1.0/24 if0 via connected');
  });

  it('a /0 default catches everything else; more specific prefixes win', () => {
    const t = table([
      { to: '0.0.0.0/0', via: '10.0.2.254', interface: 'wan' },
      { to: '172.16.0.0/12', via: '10.0.1.254', interface: 'lan' },
      { to: '172.16.5.0/24', via: '192.168.5.2', interface: 'dmz' },
      { to: '172.16.5.9/32', via: '10.0.2.253', interface: 'wan' },
    ]);
    expect(look(t, '8.8.8.8')).toBe('0.0.0.0/0 if1 via 10.0.2.254');
    expect(look(t, '0.0.0.0')).toBe('0.0.0.0/0 if1 via 10.0.2.254');
    expect(look(t, '255.255.255.255')).toBe('0.0.0.0/0 if1 via 10.0.2.254');
    expect(look(t, '172.31.255.255')).toBe('172.16.0.0/12 if0 via 10.0.1.254');
    expect(look(t, '172.16.5.8')).toBe('172.16.5.0/24 if2 via 192.168.5.2');
    expect(look(t, '172.16.5.9')).toBe('172.16.5.9/32 if1 via 10.0.2.253');
    expect(look(t, '172.16.5.10')).toBe('172.16.5.0/24 if2 via 192.168.5.2');
    expect(look(t, '10.0.1.5')).toBe('10.0.1.0/24 if0 via connected');
  });

  it('a static route overlapping a connected subnet at equal length loses to the connected one', () => {
    const t = table([{ to: '10.0.1.0/24', via: '10.0.2.254', interface: 'wan' }]);
    expect(look(t, '10.0.1.5')).toBe('10.0.1.0/24 if0 via connected');
  });

  it('a more specific static route inside a connected subnet wins', () => {
    const t = table([{ to: '10.0.1.128/25', via: '10.0.2.254', interface: 'wan' }]);
    expect(look(t, '10.0.1.200')).toBe('10.0.1.128/25 if1 via 10.0.2.254');
    expect(look(t, '10.0.1.100')).toBe('10.0.1.0/24 if0 via connected');
  });

  it('host bits in a route are cleared; unknown interfaces are refused', () => {
    const t = table([{ to: '172.16.5.77/24', via: '10.0.2.254', interface: 'wan' }]);
    expect(look(t, '172.16.5.1')).toBe('172.16.5.0/24 if1 via 10.0.2.254');
    expect(() => table([{ to: '0.0.0.0/0', via: '1.2.3.4', interface: 'nope' }])).toThrow(/unknown interface "nope"/);
  });
});
