import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/registry.js';
import { FirewallStats, IP_PROTOCOL_NUMBERS, protocolIndex } from '../../../src/wire/firewall-stats.js';
import { SESSION_PROTOCOLS } from '../../../src/wire/session-view.js';
import type { FirewallStatsSink } from '../../../src/dataplane/firewall.js';

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(',') : [];
    if (wanted.length === have.length && wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

describe('FirewallStats', () => {
  it('a second view of the buffer sees every write of the first (dataplane writes, metrics read)', () => {
    const dp = new FirewallStats(2, 1);
    const view = new FirewallStats(2, 1, dp.buffer);
    dp.created('tcp');
    dp.created('tcp');
    dp.created('udp');
    dp.expired('tcp');
    dp.tableFull();
    dp.tableFull();
    dp.setNatPortsInUse('udp', 17);
    dp.policyHit(0);
    dp.policyHit(1);
    dp.policyHit(1);
    dp.policyHit(-1);
    dp.defaultHit();
    dp.natHit(0);
    expect(view.protocol('tcp')).toEqual({ active: 1, created: 2, expired: 1, natPortsInUse: 0 });
    expect(view.protocol('udp')).toEqual({ active: 1, created: 1, expired: 0, natPortsInUse: 17 });
    expect(view.protocol('icmp')).toEqual({ active: 0, created: 0, expired: 0, natPortsInUse: 0 });
    expect(view.tableFullDrops()).toBe(2);
    expect([view.policyHits(0), view.policyHits(1), view.defaultHits(), view.policyHits(2), view.policyHits(-1)]).toEqual([1, 2, 2, 2, 2]);
    expect(view.natHits(0)).toBe(1);
  });

  it('active never goes below 0; setActive overrides it', () => {
    const s = new FirewallStats(0, 0);
    s.expired('udp');
    expect(s.protocol('udp')).toMatchObject({ active: 0, expired: 1 });
    s.setActive('udp', 42);
    s.created('udp');
    expect(s.protocol('udp').active).toBe(43);
  });

  it('out-of-range rule indices touch nothing (not even a neighbour slot)', () => {
    const s = new FirewallStats(1, 1);
    s.policyHit(5);
    s.natHit(1);
    s.natHit(-1);
    expect([s.policyHits(0), s.defaultHits(), s.natHits(0), s.natHits(1), s.policyHits(9)]).toEqual([0, 0, 0, 0, 0]);
    for (const p of SESSION_PROTOCOLS) expect(s.protocol(p)).toEqual({ active: 0, created: 0, expired: 0, natPortsInUse: 0 });
  });

  it('takes IP protocol numbers too (6, 17, 1); other numbers are ignored', () => {
    const s = new FirewallStats(0, 0);
    s.created(6);
    s.created(17);
    s.created(17);
    s.created(1);
    s.expired(17);
    s.setNatPortsInUse(6, 9);
    s.created(47); // GRE: not tracked
    s.expired(132);
    s.setNatPortsInUse(0, 5);
    s.setActive(58, 5);
    expect(s.protocol('tcp')).toEqual({ active: 1, created: 1, expired: 0, natPortsInUse: 9 });
    expect(s.protocol('udp')).toEqual({ active: 1, created: 2, expired: 1, natPortsInUse: 0 });
    expect(s.protocol('icmp')).toEqual({ active: 1, created: 1, expired: 0, natPortsInUse: 0 });
    for (const p of SESSION_PROTOCOLS) expect(protocolIndex(IP_PROTOCOL_NUMBERS[p])).toBe(protocolIndex(p));
  });

  it("is the dataplane's FirewallStatsSink as it is", () => {
    const sink: FirewallStatsSink = new FirewallStats(1, 1);
    sink.created(6);
    sink.tableFull();
    sink.policyHit(-1);
    expect((sink as FirewallStats).defaultHits()).toBe(1);
  });

  it('refuses a buffer of another layout, too small, or not firewall stats', () => {
    const s = new FirewallStats(3, 2);
    expect(() => new FirewallStats(2, 2, s.buffer)).toThrow(/made for 3 rules and 2 NAT rules, not 2 and 2/);
    expect(() => new FirewallStats(3, 3, s.buffer)).toThrow(/too small/);
    expect(() => new FirewallStats(0, 0, new SharedArrayBuffer(4096))).toThrow(/bad magic/);
    expect(() => new FirewallStats(-1, 0)).toThrow(/ruleCount/);
    expect(() => new FirewallStats(0, 1.5)).toThrow(/natRuleCount/);
    expect(s.buffer.byteLength).toBe(FirewallStats.byteLength(3, 2));
  });

  it('protocol indices follow SESSION_PROTOCOLS', () => {
    SESSION_PROTOCOLS.forEach((p, i) => expect(protocolIndex(p)).toBe(i));
  });
});

describe('Metrics.attachFirewall', () => {
  const families: Record<string, string> = {
    tandem_sessions_active: 'gauge',
    tandem_sessions_created_total: 'counter',
    tandem_sessions_expired_total: 'counter',
    tandem_sessions_table_full_total: 'counter',
    tandem_nat_ports_in_use: 'gauge',
    tandem_sessions_owned: 'gauge',
    tandem_ha3_bytes_total: 'counter',
    tandem_policy_hits_total: 'counter',
    tandem_nat_hits_total: 'counter',
  };

  it('before attach: every family exists; per-protocol series at 0, no rule series', async () => {
    const text = await new Metrics({ defaultMetrics: false }).text();
    const t = types(text);
    for (const [name, type] of Object.entries(families)) expect(t.get(name), name).toBe(type);
    for (const protocol of SESSION_PROTOCOLS) {
      expect(sample(text, 'tandem_sessions_active', { protocol })).toBe(0);
      expect(sample(text, 'tandem_sessions_created_total', { protocol })).toBe(0);
      expect(sample(text, 'tandem_nat_ports_in_use', { protocol })).toBe(0);
    }
    expect(sample(text, 'tandem_sessions_table_full_total')).toBe(0);
    expect(sample(text, 'tandem_sessions_owned', { device: '1' })).toBe(0);
    expect(sample(text, 'tandem_ha3_bytes_total', { direction: 'tx' })).toBe(0);
    expect(text).not.toMatch(/^tandem_policy_hits_total\{/m);
    expect(text).not.toMatch(/^tandem_nat_hits_total\{/m);
  });

  it('reads the stats at scrape time, labelled by protocol and by rule name', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const dp = new FirewallStats(2, 1);
    m.attachFirewall(new FirewallStats(2, 1, dp.buffer), ['web-out', 'ping'], ['hide-lan']);
    dp.created('tcp');
    dp.created('tcp');
    dp.created('icmp');
    dp.expired('tcp');
    dp.tableFull();
    dp.setNatPortsInUse('tcp', 300);
    dp.policyHit(0);
    dp.policyHit(1);
    dp.policyHit(1);
    dp.defaultHit();
    dp.natHit(0);
    let text = await m.text();
    expect(sample(text, 'tandem_sessions_active', { protocol: 'tcp' })).toBe(1);
    expect(sample(text, 'tandem_sessions_active', { protocol: 'icmp' })).toBe(1);
    expect(sample(text, 'tandem_sessions_active', { protocol: 'udp' })).toBe(0);
    expect(sample(text, 'tandem_sessions_created_total', { protocol: 'tcp' })).toBe(2);
    expect(sample(text, 'tandem_sessions_expired_total', { protocol: 'tcp' })).toBe(1);
    expect(sample(text, 'tandem_sessions_table_full_total')).toBe(1);
    expect(sample(text, 'tandem_nat_ports_in_use', { protocol: 'tcp' })).toBe(300);
    expect(sample(text, 'tandem_policy_hits_total', { rule: 'web-out' })).toBe(1);
    expect(sample(text, 'tandem_policy_hits_total', { rule: 'ping' })).toBe(2);
    expect(sample(text, 'tandem_policy_hits_total', { rule: '(default)' })).toBe(1);
    expect(sample(text, 'tandem_nat_hits_total', { rule: 'hide-lan' })).toBe(1);

    // a later scrape sees later writes (no caching), and gauges go down
    dp.expired('tcp');
    dp.setNatPortsInUse('tcp', 0);
    dp.policyHit(0);
    text = await m.text();
    expect(sample(text, 'tandem_sessions_active', { protocol: 'tcp' })).toBe(0);
    expect(sample(text, 'tandem_nat_ports_in_use', { protocol: 'tcp' })).toBe(0);
    expect(sample(text, 'tandem_policy_hits_total', { rule: 'web-out' })).toBe(2);
  });

  it('active/active: the sessions each device owns and the HA3 bytes, as the engine last set them', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const dp = new FirewallStats(0, 0);
    m.attachFirewall(new FirewallStats(0, 0, dp.buffer), [], []);
    dp.setPair([7, 3], 1500, 900);
    const text = await m.text();
    expect(sample(text, 'tandem_sessions_owned', { device: '0' })).toBe(7);
    expect(sample(text, 'tandem_sessions_owned', { device: '1' })).toBe(3);
    expect(sample(text, 'tandem_ha3_bytes_total', { direction: 'rx' })).toBe(1500);
    expect(sample(text, 'tandem_ha3_bytes_total', { direction: 'tx' })).toBe(900);
  });

  it('re-attaching after a rule change replaces the rule series', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.attachFirewall(new FirewallStats(1, 0), ['old'], []);
    m.attachFirewall(new FirewallStats(1, 1), ['new'], ['nat-new']);
    const text = await m.text();
    expect(sample(text, 'tandem_policy_hits_total', { rule: 'old' })).toBeUndefined();
    expect(sample(text, 'tandem_policy_hits_total', { rule: 'new' })).toBe(0);
    expect(sample(text, 'tandem_nat_hits_total', { rule: 'nat-new' })).toBe(0);
  });

  it('refuses names that do not fit the layout', () => {
    const m = new Metrics({ defaultMetrics: false });
    expect(() => m.attachFirewall(new FirewallStats(2, 1), ['only-one'], ['n'])).toThrow(/1 rule names and 1 NAT rule names for stats made for 2 rules/);
  });
});
