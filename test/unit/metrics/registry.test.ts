import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/registry.js';
import { startMetricsServer } from '../../../src/metrics/server.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS, dropIndex, eventIndex } from '../../../src/wire/dataplane-counters.js';
import { HA_STATES } from '../../../src/control/election/types.js';

/** family name -> TYPE, from the exposition text */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], m[2]);
  return out;
}

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

describe('Metrics', () => {
  it('exposes every family with the right type', async () => {
    const m = new Metrics();
    m.heartbeatRtt('ha1', 0.0002);
    m.setLinkUp('ha1', 'heartbeat', true);
    m.message('ha1-heartbeat', 'rx', 'heartbeat');
    m.rejected('ha1-session', 'bad-auth');
    m.apiRequest('/v1/status', 200);
    m.transition('initial', 'active', 'election-won');
    m.failover('peer-dead', 0.042);
    const t = types(await m.text());
    const expected: Record<string, string> = {
      tandem_ha_state: 'gauge',
      tandem_ha_peer_up: 'gauge',
      tandem_ha_transitions_total: 'counter',
      tandem_ha_failovers_total: 'counter',
      tandem_ha_last_failover_duration_seconds: 'gauge',
      tandem_ha1_heartbeat_rtt_seconds: 'histogram',
      tandem_ha1_link_up: 'gauge',
      tandem_ha_messages_total: 'counter',
      tandem_ha_messages_rejected_total: 'counter',
      tandem_api_requests_total: 'counter',
      tandem_dataplane_packets_total: 'counter',
      tandem_dataplane_drops_total: 'counter',
      tandem_process_cpu_seconds_total: 'counter',
      tandem_process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(t.get(name), name).toBe(type);
    // nothing unprefixed (no default metrics leaking from a global registry)
    for (const name of t.keys()) expect(name.startsWith('tandem_')).toBe(true);
  });

  it('keeps every state present (tentative too), one of them at 1', async () => {
    const m = new Metrics({ defaultMetrics: false });
    let text = await m.text();
    for (const s of HA_STATES) expect(sample(text, 'tandem_ha_state', { state: s })).toBe(s === 'initial' ? 1 : 0);
    m.transition('initial', 'tentative', 'peer-active');
    text = await m.text();
    expect(sample(text, 'tandem_ha_state', { state: 'tentative' })).toBe(1);
    expect(sample(text, 'tandem_ha_state', { state: 'passive' })).toBe(0);
    m.transition('tentative', 'passive', 'bulk sync complete');
    m.transition('passive', 'active', 'peer-dead');
    text = await m.text();
    for (const s of HA_STATES) expect(sample(text, 'tandem_ha_state', { state: s })).toBe(s === 'active' ? 1 : 0);
    expect(sample(text, 'tandem_ha_transitions_total', { from: 'passive', to: 'active', reason: 'peer-dead' })).toBe(1);
    m.setState('suspended');
    text = await m.text();
    expect(sample(text, 'tandem_ha_state', { state: 'suspended' })).toBe(1);
    expect(sample(text, 'tandem_ha_state', { state: 'active' })).toBe(0);
  });

  it('records labels of every method', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setPeerUp(true);
    m.failover('peer-dead', 0.05);
    m.failover('operator-failover', 0.003);
    m.heartbeatRtt('ha1-backup', 0.0004);
    m.heartbeatRtt('ha1-backup', 2); // beyond the last bucket: counted in +Inf
    m.setLinkUp('ha1', 'session', false);
    m.setLinkUp('ha1', 'heartbeat', true);
    m.message('ha2', 'tx', 'batch');
    m.message('ha2', 'tx', 'batch');
    m.rejected('ha1-heartbeat', 'replay');
    m.apiRequest('unknown', 404);
    const text = await m.text();
    expect(sample(text, 'tandem_ha_peer_up')).toBe(1);
    expect(sample(text, 'tandem_ha_failovers_total', { reason: 'peer-dead' })).toBe(1);
    expect(sample(text, 'tandem_ha_last_failover_duration_seconds')).toBe(0.003);
    expect(sample(text, 'tandem_ha1_heartbeat_rtt_seconds_bucket', { le: '0.00005', link: 'ha1-backup' })).toBe(0);
    expect(sample(text, 'tandem_ha1_heartbeat_rtt_seconds_bucket', { le: '0.0005', link: 'ha1-backup' })).toBe(1);
    expect(sample(text, 'tandem_ha1_heartbeat_rtt_seconds_bucket', { le: '1', link: 'ha1-backup' })).toBe(1);
    expect(sample(text, 'tandem_ha1_heartbeat_rtt_seconds_bucket', { le: '+Inf', link: 'ha1-backup' })).toBe(2);
    expect(sample(text, 'tandem_ha1_heartbeat_rtt_seconds_count', { link: 'ha1-backup' })).toBe(2);
    expect(sample(text, 'tandem_ha1_link_up', { link: 'ha1', channel: 'session' })).toBe(0);
    expect(sample(text, 'tandem_ha1_link_up', { link: 'ha1', channel: 'heartbeat' })).toBe(1);
    expect(sample(text, 'tandem_ha_messages_total', { channel: 'ha2', direction: 'tx', type: 'batch' })).toBe(2);
    expect(sample(text, 'tandem_ha_messages_rejected_total', { channel: 'ha1-heartbeat', reason: 'replay' })).toBe(1);
    expect(sample(text, 'tandem_api_requests_total', { route: 'unknown', code: '404' })).toBe(1);
  });

  it('reads the dataplane counters from the SharedState at scrape time, every label present', async () => {
    const m = new Metrics({ defaultMetrics: false });
    let text = await m.text();
    for (const r of DROP_REASONS) expect(sample(text, 'tandem_dataplane_drops_total', { reason: r }), r).toBe(0);
    for (const e of EVENT_COUNTERS) expect(sample(text, 'tandem_dataplane_packets_total', { event: e }), e).toBe(0);

    const shared = new SharedState(COUNTER_COUNT);
    m.attachDataplane(shared);
    const c = shared.counters();
    c[eventIndex('rx')] = 1000;
    c[eventIndex('forwarded')] = 990;
    c[dropIndex('ttl-exceeded')] = 7;
    text = await m.text();
    expect(sample(text, 'tandem_dataplane_packets_total', { event: 'rx' })).toBe(1000);
    expect(sample(text, 'tandem_dataplane_packets_total', { event: 'forwarded' })).toBe(990);
    expect(sample(text, 'tandem_dataplane_drops_total', { reason: 'ttl-exceeded' })).toBe(7);
    expect(sample(text, 'tandem_dataplane_drops_total', { reason: 'no-route' })).toBe(0);
    // a later scrape sees later values (not accumulated twice)
    c[eventIndex('rx')] = 1500;
    text = await m.text();
    expect(sample(text, 'tandem_dataplane_packets_total', { event: 'rx' })).toBe(1500);
    expect(sample(text, 'tandem_dataplane_drops_total', { reason: 'ttl-exceeded' })).toBe(7);
  });

  it("exports each traffic interface's capture handle as open or closed, from the SharedState", async () => {
    const m = new Metrics({ defaultMetrics: false });
    const shared = new SharedState(COUNTER_COUNT);
    m.attachDataplane(shared, ['lan', 'wan']);
    let text = await m.text();
    expect(sample(text, 'tandem_dataplane_capture_open', { interface: 'lan' })).toBe(1);
    expect(sample(text, 'tandem_dataplane_capture_open', { interface: 'wan' })).toBe(1);
    shared.setCaptureOpen(1, false);
    text = await m.text();
    expect(sample(text, 'tandem_dataplane_capture_open', { interface: 'wan' })).toBe(0);
    expect(sample(text, 'tandem_dataplane_capture_open', { interface: 'lan' })).toBe(1);
    shared.setCaptureOpen(1, true);
    expect(sample(await m.text(), 'tandem_dataplane_capture_open', { interface: 'wan' })).toBe(1);
  });

  it('exports the running config as one info series, replaced when the config changes', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const h1 = 'a'.repeat(64);
    const h2 = 'b'.repeat(64);
    m.setConfig(0, h1, false, 0);
    let text = await m.text();
    expect(sample(text, 'tandem_config_info', { version: '0', hash: h1 })).toBe(1);
    expect(sample(text, 'tandem_config_version')).toBe(0);
    m.setConfig(1, h2, true, 1);
    text = await m.text();
    expect(sample(text, 'tandem_config_info', { version: '1', hash: h2 })).toBe(1);
    // the old config's series is gone, so a pair's members are compared by one hash each
    expect(sample(text, 'tandem_config_info', { version: '0', hash: h1 })).toBeUndefined();
    expect(text.match(/^tandem_config_info\{/gm)).toHaveLength(1);
    expect(sample(text, 'tandem_config_in_sync')).toBe(1);
    expect(sample(text, 'tandem_config_kept_aside')).toBe(1);
  });

  it('two Metrics objects do not share state', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.apiRequest('/v1/status', 200);
    expect(sample(await b.text(), 'tandem_api_requests_total', { route: '/v1/status', code: '200' })).toBeUndefined();
  });
});

describe('startMetricsServer', () => {
  it('serves /metrics, / with a link, 404 and 405', async () => {
    const m = new Metrics();
    const srv = await startMetricsServer('127.0.0.1:0', m);
    try {
      expect(srv.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await fetch(`${srv.address}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/plain');
      expect(await r.text()).toContain('tandem_ha_state{state="initial"} 1');
      const root = await fetch(`${srv.address}/`);
      expect(await root.text()).toContain('href="/metrics"');
      expect((await fetch(`${srv.address}/nope`)).status).toBe(404);
      expect((await fetch(`${srv.address}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    } finally {
      await srv.close();
    }
  });
});
