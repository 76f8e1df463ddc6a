// `tandem central status|pairs|events` against an in-process central API: tables, --json, and
// central's failures as the usual exit codes.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { FleetModel } from '../../../src/central/fleet-model.js';
import { CentralMetrics } from '../../../src/central/metrics.js';
import type { CentralEvent } from '../../../src/central/protocol.js';
import { startCentralApi, type CentralApi } from '../../../src/central/server.js';
import { summarizeStatus, type StatusSummary } from '../../../src/central/status-shape.js';
import { formatCentralEvents } from '../../../src/cli/format-central.js';
import { runCli } from '../../../src/cli/program.js';
import { pino } from 'pino';
import { A_START, B_START, boxStatus, inventory, T0 } from '../central/fixtures.js';

const TOKEN = 'central-cli-token-0123456789';
const summary = (s: ReturnType<typeof boxStatus>): StatusSummary => (summarizeStatus(s) as { summary: StatusSummary }).summary;
const EVENT: CentralEvent = {
  at: '2026-12-07T09:59:00.000Z',
  pair: 'p1',
  member: 'fwb',
  kind: 'transition',
  from: 'passive',
  to: 'active',
  reason: 'peer-dead',
  detail: null,
};
let api: CentralApi;
let tokenFile: string;
const asked: string[] = [];

beforeAll(async () => {
  const model = new FleetModel(inventory(['p1', 'p2']));
  model.apply('p1', 'fwa', { atMs: T0, outcome: 'ok', summary: summary(boxStatus('fw-a', 'active', A_START)) });
  model.apply('p1', 'fwb', { atMs: T0, outcome: 'ok', summary: summary(boxStatus('fw-b', 'passive', B_START)) });
  model.apply('p2', 'fwa', { atMs: T0 - 65_000, outcome: 'unreachable', message: 'refused' });
  model.apply('p2', 'fwb', { atMs: T0, outcome: 'ok', summary: summary(boxStatus('fw-b', 'active', B_START)) });
  api = await startCentralApi({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    fleet: () => model.view(T0),
    events: (q) => {
      asked.push(JSON.stringify(q));
      return { events: [EVENT], truncated: false };
    },
    metrics: new CentralMetrics(),
    log: pino({ level: 'silent' }),
    now: () => T0,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ce-cli-'));
  tokenFile = join(dir, 'central.token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  chmodSync(tokenFile, 0o600);
});
afterAll(() => api.close());

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: { TANDEM_CENTRAL: api.address, TANDEM_CENTRAL_TOKEN_FILE: tokenFile },
    now: () => T0,
  });
  return { code, out, err };
}

describe('tandem central', () => {
  it('pairs: one line per pair', async () => {
    const r = await run('central', 'pairs');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'PAIR  HEALTH    ACTIVE  CONFIG                  SOFTWARE  LABELS    PROBLEMS',
        'p1    ok        fwa     v1 agree                0.1.0     site=lab  -',
        'p2    degraded  fwb     v1 (agreement unknown)  0.1.0     site=lab  fwa unreachable (unreachable)',
        '',
      ].join('\n'),
    );
  });

  it('status: every member, unreachable ones with how long and why', async () => {
    const r = await run('central', 'status');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Pair p1 (site=lab): ok');
    expect(r.out).toContain('Pair p2 (site=lab): degraded - fwa unreachable (unreachable)');
    expect(r.out).toMatch(/fwa\s+no for 1m 5s \(unreachable\)/);
    expect(r.out).toContain('HA2 sync lag (p99): 3 ms');
  });

  it('events: the query passed on, the timeline printed; --json is the API answer', async () => {
    const r = await run('central', 'events', '--since', '1h', '--pair', 'p1');
    expect(r.code).toBe(0);
    expect(asked.at(-1)).toBe(JSON.stringify({ limit: 1000, sinceMs: T0 - 3_600_000, pair: 'p1' }));
    expect(r.out).toContain('2026-12-07T09:59:00.000Z  p1    fwb     transition  passive  ->  active  peer-dead');
    const j = await run('central', 'events', '--json');
    expect(JSON.parse(j.out)).toEqual({ events: [EVENT], truncated: false });
    const s = await run('central', 'status', '--json');
    expect(JSON.parse(s.out).pairs).toHaveLength(2);
  });

  it('run: the inventory path to the service; an invalid inventory is exit 4, a failure exit 1', async () => {
    let got = '';
    const quiet = { stdout: () => undefined, stderr: () => undefined, env: {} };
    expect(await runCli(['central', 'run', '--config', '/etc/tandem/central.yaml'], { ...quiet, runCentral: async (p) => void (got = p) })).toBe(0);
    expect(got).toBe('/etc/tandem/central.yaml');
    const invalid = new ConfigError([{ path: 'listen', value: 'x', expected: '"host:port"' }], 'c.yaml');
    expect(await runCli(['central', 'run', '-c', 'c.yaml'], { ...quiet, runCentral: () => Promise.reject(invalid) })).toBe(4);
    expect(await runCli(['central', 'run', '-c', 'c.yaml'], { ...quiet, runCentral: () => Promise.reject(new Error('EADDRINUSE')) })).toBe(1);
  });

  it('a truncated timeline says so; an empty one too', () => {
    expect(formatCentralEvents([EVENT], true).split('\n').at(-1)).toBe('(only the newest 1 shown: raise --limit for older ones)');
    expect(formatCentralEvents([], false)).toBe('no events');
  });

  it('a wrong token, a missing token file and no central are the usual exit codes', async () => {
    const wrong = join(mkdtempSync(join(tmpdir(), 'ce-cli-')), 't');
    writeFileSync(wrong, 'not-the-token-at-all-at-all');
    expect((await run('central', 'pairs', '--token-file', wrong)).code).toBe(1);
    expect((await run('central', 'pairs', '--token-file', '/nonexistent/t')).err).toContain("cannot read central's token file");
    expect((await run('central', 'pairs', '--central', 'http://127.0.0.1:1')).code).toBe(3);
    expect((await run('central', 'events', '--limit', '999999')).code).toBe(1);
  });
});
