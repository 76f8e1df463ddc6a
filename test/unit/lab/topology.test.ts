import { describe, expect, it } from 'vitest';
import { labNamespaces, linkEnd, validateLabName } from '../../../src/lab/topology.js';
import { formatDemoTable, type DemoResult } from '../../../src/lab/demo-result.js';

describe('lab names', () => {
  it.each(['tlab', 'lt1a2b', 'a', 'my-lab-2', 'A'.repeat(20)])('accepts %s', (n) => {
    expect(() => validateLabName(n)).not.toThrow();
  });
  it.each(['', '1lab', '-x', 'x-', 'has space', 'dot.ted', 'slash/y', 'under_score', 'A'.repeat(21), '../etc'])('refuses %j', (n) => {
    expect(() => validateLabName(n)).toThrow(/bad lab name/);
  });
  it('namespaces carry the name as prefix', () => {
    expect(labNamespaces('tlab', 'active-passive')).toEqual(['tlab-client', 'tlab-server', 'tlab-fwa', 'tlab-fwb', 'tlab-sw']);
    // active/active adds the second client; teardown looks for every one a lab of any mode may have
    expect(labNamespaces('tlab', 'active-active')).toEqual(['tlab-client', 'tlab-server', 'tlab-fwa', 'tlab-fwb', 'tlab-sw', 'tlab-client2']);
    expect(labNamespaces('tlab')).toEqual(labNamespaces('tlab', 'active-active'));
  });
});

describe('cable ends', () => {
  it('traffic links are pulled at the switch port, HA links at the box', () => {
    expect(linkEnd('t', 'fwa', 'lan')).toEqual({ ns: 't-sw', dev: 'a-lan' });
    expect(linkEnd('t', 'fwb', 'wan')).toEqual({ ns: 't-sw', dev: 'b-wan' });
    expect(linkEnd('t', 'fwa', 'ha1')).toEqual({ ns: 't-fwa', dev: 'ha1' });
    expect(linkEnd('t', 'fwb', 'ha1b')).toEqual({ ns: 't-fwb', dev: 'ha1b' });
    expect(linkEnd('t', 'fwb', 'ha2')).toEqual({ ns: 't-fwb', dev: 'ha2' });
    expect(linkEnd('t', 'client', 'lan')).toEqual({ ns: 't-sw', dev: 'c-lan' });
    expect(linkEnd('t', 'server', 'wan')).toEqual({ ns: 't-sw', dev: 's-wan' });
  });
  it('hosts have one link only', () => {
    expect(() => linkEnd('t', 'client', 'wan')).toThrow(/only the lan link/);
    expect(() => linkEnd('t', 'server', 'ha1')).toThrow(/only the wan link/);
  });
});

describe('demo table', () => {
  const base: DemoResult = {
    name: 't',
    killed: 'fwa',
    tookOver: 'fwb',
    takeoverMs: 61,
    takeoverLoggedMs: 48,
    recoveryMs: 1500,
    recoveredState: 'passive',
    probes: { sent: 9000, received: 8950, lost: 50, lostBeforeFirst: 3, lostDuringRun: 47, maxGapMs: 52.3, maxGapAt: null, gapsOver5Ms: 1 },
    tcp: { total: 8, connected: 8, survived: 8, reset: 0 },
    ipv6: {
      probes: { sent: 9000, received: 8960, lostDuringRun: 40, maxGapMs: 41.5 },
      changeGapMs: 41.5,
      tcp: { total: 4, connected: 4, survived: 4, reset: 0 },
    },
    steps: [],
    svg: '/tmp/tandem-failover.svg',
    ok: true,
    errors: [],
  };
  it('shows the figures', () => {
    const t = formatDemoTable(base);
    expect(t).toMatch(/box killed \(kill -9\)\s+fwa/);
    expect(t).toMatch(/took over\s+fwb/);
    expect(t).toMatch(/takeover by its log\s+48 ms/);
    expect(t).toMatch(/takeover by the API\s+61 ms/);
    expect(t).toMatch(/failover picture\s+\/tmp\/tandem-failover.svg/);
    expect(t).toMatch(/longest gap in the run.*52\.3 ms/);
    expect(t).toMatch(/IPv6: traffic gap at the takeover\s+41\.5 ms/);
    expect(t).toMatch(/IPv6: probes lost in the run \/ sent\s+40 \/ 9000/);
    expect(t).toMatch(/IPv6: TCP connections surviving\s+4 \/ 4/);
    expect(t).toMatch(/traffic gap at the takeover\s+-/);
    expect(t).toMatch(/probes lost in the run \/ sent\s+47 \/ 9000 \(\+3 before the path was up or still in flight\)/);
    expect(t).toMatch(/TCP connections surviving\s+8 \/ 8/);
    expect(t).toMatch(/result\s+OK/);
  });
  it('says what failed', () => {
    const t = formatDemoTable({ ...base, tookOver: null, takeoverMs: null, probes: null, tcp: null, ok: false, errors: ['no takeover'] });
    expect(t).toMatch(/took over\s+nobody/);
    expect(t).toMatch(/result\s+FAILED: no takeover/);
  });
});
