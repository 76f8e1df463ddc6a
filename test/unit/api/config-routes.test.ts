// /v1/config* through the real HTTP server and client, backed by a real ConfigSync (one lone box).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify, parse } from 'yaml';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { ApiClient, ApiError } from '../../../src/api/client.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { fileRecord } from '../../../src/config/commit.js';
import { ConfigStore } from '../../../src/config/store.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigSync } from '../../../src/control/config-sync.js';
import { FakeController } from './fixtures.js';

const TOKEN = 'config-routes-token-0123456789';
const log = pino({ level: 'silent' });
const BOX_A = new URL('../../../deploy/box-a.yaml', import.meta.url).pathname;

describe('config API routes', () => {
  let dir = '';
  let server: ApiServer;
  let client: ApiClient;
  let applied = 0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cfgapi-'));
    const cfg = parseConfig(readFileSync(BOX_A, 'utf8'));
    const metrics = new Metrics();
    applied = 0;
    const sync = new ConfigSync({
      device: cfg.device,
      record: fileRecord(cfg.shared, cfg.device.name, new Date()),
      store: new ConfigStore(dir),
      metrics,
      log,
      apply: async () => {
        applied++;
        return { restartRequired: [], sessionsRemoved: 0 };
      },
    });
    sync.attach({ view: () => ({ state: 'active', peerUp: false, peerName: null }), send: () => false, announce: () => undefined });
    server = await startApiServer({ listen: '127.0.0.1:0', token: Buffer.from(TOKEN), controller: new FakeController(), metrics, log, config: sync });
    client = new ApiClient({ url: server.address, token: TOKEN });
  });

  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the running config, commits a file, and shows the new version', async () => {
    const before = await client.config();
    expect(before).toMatchObject({ version: 0, origin: 'file', peer: { up: false, inSync: false } });
    const f = parse(readFileSync(BOX_A, 'utf8'));
    f.shared.sessions = { udpS: 12 };
    const r = await client.commitConfig(stringify(f), 'edited.yaml');
    expect(r).toMatchObject({ changed: true, version: 1, peer: { synced: false } });
    expect(applied).toBe(1);
    const after = await client.config();
    expect(after).toMatchObject({ version: 1, origin: 'commit', hash: r.hash });
    expect(after.shared.sessions.udpS).toBe(12);
  });

  it('an invalid file is a 422 with every issue, and nothing is applied', async () => {
    const f = parse(readFileSync(BOX_A, 'utf8'));
    f.shared.policy.rules[0].action = 'sometimes';
    f.shared.sessions = { udpS: -1 };
    const err = await client.commitConfig(stringify(f), 'bad.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).code).toBe('invalid-config');
    expect((err as ApiError).issues?.map((i) => i.path).sort()).toEqual(['shared.policy.rules[0].action', 'shared.sessions.udpS']);
    expect(applied).toBe(0);
    expect((await client.config()).version).toBe(0);
  });

  it('validate answers without applying', async () => {
    const ok = await client.validateConfig(readFileSync(BOX_A, 'utf8'), 'a.yaml');
    expect(ok).toMatchObject({ valid: true, running: true, deviceDiffers: false });
    const bad = await client.validateConfig('shared: { zones: 3 }', 'x.yaml');
    expect(bad.valid).toBe(false);
    expect(bad.issues[0].path).toBe('shared.zones');
    expect(applied).toBe(0);
  });

  it('a body without text, or with unknown fields, is a 400; the peer copy of a lone box is a 503', async () => {
    await expect(client.call('POST', '/v1/config/commit', { file: 'x' })).rejects.toMatchObject({ status: 400, code: 'bad-json' });
    await expect(client.call('POST', '/v1/config/commit', { text: '', extra: 1 })).rejects.toMatchObject({ status: 400 });
    await expect(client.peerConfig()).rejects.toMatchObject({ status: 503, code: 'peer-unavailable' });
  });

  it('takes a config body over the 64 KiB command limit, but not over its own', async () => {
    const f = parse(readFileSync(BOX_A, 'utf8'));
    f.shared.policy.rules = Array.from({ length: 800 }, (_, i) => ({
      name: `r${i}`,
      from: ['trust'],
      to: ['untrust'],
      service: [`tcp/${1000 + i}`],
      action: 'allow',
    }));
    const text = stringify(f);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect((await client.commitConfig(text, 'big.yaml')).version).toBe(1);
    await expect(client.commitConfig('x'.repeat(3 * 1024 * 1024 + 10), 'huge')).rejects.toMatchObject({ status: 413 });
  });
});
