// Central's API: the token on /v1/*, none on /metrics, JSON errors, the agreed metric names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../../src/api/client.js';
import { FleetModel } from '../../../src/central/fleet-model.js';
import { CentralMetrics } from '../../../src/central/metrics.js';
import { startCentralApi, type CentralApi } from '../../../src/central/server.js';
import { summarizeStatus, type StatusSummary } from '../../../src/central/status-shape.js';
import { pino } from 'pino';
import type { PushRequest } from '../../../src/central/protocol.js';
import { TemplateError } from '../../../src/central/template.js';
import { A_START, B_START, boxStatus, inventory, T0 } from './fixtures.js';

const TOKEN = Buffer.from('central-test-token-0123456789');
let api: CentralApi;
const model = new FleetModel(inventory(['p1', 'p2']));
const metrics = new CentralMetrics();
const pushed: PushRequest[] = [];
const summary = (s: ReturnType<typeof boxStatus>): StatusSummary => (summarizeStatus(s) as { summary: StatusSummary }).summary;

beforeAll(async () => {
  model.apply('p1', 'fwa', { atMs: T0, outcome: 'ok', summary: summary(boxStatus('fw-a', 'active', A_START)) });
  model.apply('p1', 'fwb', { atMs: T0, outcome: 'ok', summary: summary(boxStatus('fw-b', 'passive', B_START)) });
  model.apply('p2', 'fwa', { atMs: T0, outcome: 'timeout', message: 'slow' });
  metrics.poll('ok');
  metrics.poll('timeout');
  api = await startCentralApi({
    listen: '127.0.0.1:0',
    token: TOKEN,
    fleet: () => model.view(T0 + 5000),
    events: (q) => ({ events: [], truncated: q.limit < 1 }),
    push: async (req) => {
      pushed.push(req);
      if (req.template === 'bad') throw new TemplateError(['shared: a mapping of the shared keys the template sets'], req.source ?? '<template>');
      return { source: req.source ?? '<template>', dryRun: req.dryRun === true, results: [] };
    },
    metrics,
    log: pino({ level: 'silent' }),
    now: () => T0,
  });
});
afterAll(() => api.close());

describe('central API', () => {
  it('fleet and events with the token', async () => {
    const c = new ApiClient({ url: api.address, token: TOKEN });
    const fleet = await c.call<{ pairs: { name: string; health: string }[] }>('GET', '/v1/fleet');
    expect(fleet.pairs.map((p) => [p.name, p.health])).toEqual([
      ['p1', 'ok'],
      ['p2', 'unknown'],
    ]);
    expect(await c.call('GET', '/v1/events?since=1h&limit=5')).toEqual({ events: [], truncated: false });
  });

  it('refusals are JSON with a code', async () => {
    const bad = new ApiClient({ url: api.address, token: 'wrong-token-wrong-token' });
    await expect(bad.call('GET', '/v1/fleet')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    const c = new ApiClient({ url: api.address, token: TOKEN });
    await expect(c.call('GET', '/v1/events?since=yesterday')).rejects.toMatchObject({ status: 400, code: 'bad-query' });
    await expect(c.call('GET', '/v1/nope')).rejects.toMatchObject({ status: 404, code: 'not-found' });
    await expect(c.call('POST', '/v1/fleet', {})).rejects.toBeInstanceOf(ApiError);
    await expect(c.call('POST', '/v1/fleet', {})).rejects.toMatchObject({ status: 405 });
  });

  it('POST /v1/push: the token, a checked body, the template refusal as 422; GET there is 405', async () => {
    const c = new ApiClient({ url: api.address, token: TOKEN });
    expect(await c.call('POST', '/v1/push', { template: 'shared: {}', source: 'f.yaml', dryRun: true })).toEqual({
      source: 'f.yaml',
      dryRun: true,
      results: [],
    });
    expect(pushed.at(-1)).toEqual({ template: 'shared: {}', source: 'f.yaml', dryRun: true });
    await expect(c.call('POST', '/v1/push', { template: 'bad' })).rejects.toMatchObject({ status: 422, code: 'invalid-template' });
    await expect(c.call('POST', '/v1/push', { template: 1, pairs: 'p1', extra: 1 })).rejects.toMatchObject({
      status: 400,
      code: 'bad-json',
      message: 'a push request: template: the template file text; pairs: a list of pair names; unknown field extra (expected template, source, pairs, dryRun)',
    });
    await expect(c.call('GET', '/v1/push')).rejects.toMatchObject({ status: 405 });
    const bad = new ApiClient({ url: api.address, token: 'wrong-token-wrong-token' });
    const before = pushed.length;
    await expect(bad.call('POST', '/v1/push', { template: 'x' })).rejects.toMatchObject({ status: 401 });
    expect(pushed.length).toBe(before);
  });

  it('/metrics needs no token and has the agreed names', async () => {
    const res = await fetch(`${api.address}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const line of [
      'tandem_central_pairs{health="ok"} 1',
      'tandem_central_pairs{health="unknown"} 1',
      'tandem_central_pairs{health="down"} 0',
      'tandem_central_member_up{pair="p1",member="fwa"} 1',
      'tandem_central_member_up{pair="p2",member="fwa"} 0',
      'tandem_central_members_unreachable 1',
      'tandem_central_member_unreachable_seconds{pair="p2",member="fwa"} 5',
      'tandem_central_pair_active_members{pair="p1"} 1',
      'tandem_central_pair_config_agree{pair="p1"} 1',
      'tandem_central_pair_sync_lag_seconds{pair="p1"} 0.003',
      'tandem_central_pushes_total{result="committed"} 0',
      'tandem_central_polls_total{result="timeout"} 1',
      'tandem_central_polls_total{result="unauthorized"} 0',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).not.toContain(TOKEN.toString());
  });
});
