// The service wired in-process (members replaced by canned sources): the view through its API,
// the history kept across a restart, and a database it cannot open refused with its key.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/api/client.js';
import type { EventsResponse, FleetResponse } from '../../../src/central/protocol.js';
import { startCentral } from '../../../src/central/service.js';
import { ConfigError } from '../../../src/config/errors.js';
import { boxStatus } from './fixtures.js';

const TOKEN = 'service-test-token-0123456789';

function setup(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ce-svc-'));
  writeFileSync(join(dir, 't.token'), TOKEN);
  chmodSync(join(dir, 't.token'), 0o600);
  const member = (n: string) => `{ name: ${n}, api: "http://127.0.0.1:1", tokenFile: t.token }`;
  writeFileSync(
    join(dir, 'central.yaml'),
    `listen: 127.0.0.1:0\ntokenFile: t.token\ndatabase: c.db\npollIntervalMs: 100\npollTimeoutMs: 50\npairs:\n  - { name: p1, members: [${member('fwa')}, ${member('fwb')}] }\n`,
  );
  return { dir, config: join(dir, 'central.yaml') };
}

const started = [{ at: new Date().toISOString(), from: 'initial', to: 'active', reason: 'election' }];
const source = (_p: string, m: { name: string }) => ({
  status: () => (m.name === 'fwa' ? Promise.resolve(boxStatus('fw-a', 'active', started)) : Promise.reject(new Error('down'))),
});
const log = pino({ level: 'silent' });

async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not in time');
}

describe('central service', () => {
  it('serves the view and keeps the history across a restart', async () => {
    const { config } = setup();
    let central = await startCentral(config, { log, source });
    let c = new ApiClient({ url: central.address, token: TOKEN });
    const fleet = await until(async () => {
      const f = await c.call<FleetResponse>('GET', '/v1/fleet');
      return f.pairs[0].health !== 'unknown' ? f : undefined;
    });
    expect(fleet.pairs[0]).toMatchObject({ health: 'degraded', activeMembers: 1 });
    expect(fleet.pairs[0].members[1]).toMatchObject({ reachable: false, error: { code: 'bad-response' } });
    const before = await c.call<EventsResponse>('GET', '/v1/events');
    expect(before.events.map((e) => [e.member, e.kind, e.to])).toEqual(
      expect.arrayContaining([
        ['fwa', 'transition', 'active'],
        ['fwb', 'reachability', 'unreachable'],
      ]),
    );
    await central.close();
    central = await startCentral(config, { log, source });
    c = new ApiClient({ url: central.address, token: TOKEN });
    const first = await c.call<FleetResponse>('GET', '/v1/fleet');
    expect(first.pairs[0].members[1].unreachableSince).toBe(fleet.pairs[0].members[1].unreachableSince);
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.call<EventsResponse>('GET', '/v1/events')).events).toEqual(before.events);
    await central.close();
  });

  it('a database it cannot open is a config error naming the key', async () => {
    const { dir, config } = setup();
    writeFileSync(join(dir, 'c.db'), 'this is not an SQLite file, not at all, no no no no no no no no no no no no no no no no no no no no');
    await expect(startCentral(config, { log, source })).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && e.issues[0].path === 'database');
  });
});
