// `tandem config commit|show|diff` in-process against a real API server backed by a ConfigSync.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { runCli } from '../../../src/cli/program.js';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_OK } from '../../../src/cli/exit-codes.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { fileRecord } from '../../../src/config/commit.js';
import { ConfigStore } from '../../../src/config/store.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigSync } from '../../../src/control/config-sync.js';
import type { HaState } from '../../../src/control/election/types.js';
import { FakeController } from '../api/fixtures.js';

const TOKEN = 'config-cli-token-0123456789';
const BOX_A = new URL('../../../deploy/box-a.yaml', import.meta.url).pathname;
const log = pino({ level: 'silent' });
let dir = '';
let server: ApiServer;
let view: { state: HaState; peerUp: boolean; peerName: string | null } = { state: 'active', peerUp: false, peerName: null };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--api', server.address, '--token-file', join(dir, 'token')], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: {},
  });
  return { code, out, err };
}

function file(name: string, edit: (f: Record<string, any>) => void): string {
  const f = parse(readFileSync(BOX_A, 'utf8'));
  edit(f);
  const path = join(dir, name);
  writeFileSync(path, stringify(f));
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-cfgcli-'));
  writeFileSync(join(dir, 'token'), TOKEN);
  const cfg = parseConfig(readFileSync(BOX_A, 'utf8'));
  const sync = new ConfigSync({
    device: cfg.device,
    record: fileRecord(cfg.shared, cfg.device.name, new Date()),
    store: new ConfigStore(dir),
    metrics: new Metrics(),
    log,
    apply: async () => ({ restartRequired: [], sessionsRemoved: 2 }),
  });
  sync.attach({ view: () => view, send: () => false, announce: () => undefined });
  server = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller: new FakeController(),
    metrics: new Metrics(),
    log,
    config: sync,
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tandem config', () => {
  it('commit prints the version and the peer state; show prints a YAML file with a comment header', async () => {
    const r = await cli(
      'config',
      'commit',
      file('a.yaml', (f) => (f.shared.sessions = { udpS: 21 })),
    );
    expect(r.code, r.err).toBe(EXIT_OK);
    expect(r.out).toMatch(/^committed shared config v1 \(hash [0-9a-f]{12}\)/);
    expect(r.out).toMatch(/sessions the new policy no longer allows: 2 removed/);
    expect(r.out).toMatch(/peer: not in sync \(the peer is down/);
    const show = await cli('config', 'show');
    expect(show.code).toBe(EXIT_OK);
    expect(show.out).toMatch(/^# shared config v1 \(hash [0-9a-f]{12}\), committed .* on fw-a\n# peer: down\n/);
    expect(parse(show.out).shared.sessions.udpS).toBe(21);
  });

  it('diff against a file lists what the file would change', async () => {
    const r = await cli(
      'config',
      'diff',
      file('b.yaml', (f) => (f.shared.sessions = { udpS: 22 })),
    );
    expect(r.code, r.err).toBe(EXIT_OK);
    expect(r.out).toMatch(/~ sessions\.udpS: 21 -> 22/);
    const json = await cli(
      'config',
      'diff',
      file('c.yaml', (f) => (f.shared.sessions = { udpS: 21 })),
      '--json',
    );
    expect(JSON.parse(json.out).differences).toEqual([]);
  });

  it('an invalid file exits 4 with one line per problem', async () => {
    const r = await cli(
      'config',
      'commit',
      file('bad.yaml', (f) => {
        f.shared.policy.rules[0].action = 'nope';
        f.shared.sessions = { udpS: 'soon' };
      }),
    );
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.err).toMatch(/shared\.policy\.rules\[0\]\.action/);
    expect(r.err).toMatch(/bad\.yaml: shared\.sessions\.udpS: got "soon"/);
    expect(r.err.trim().split('\n')).toHaveLength(3);
  });

  it('a passive box with its peer up refuses with where to commit (exit 1); a missing file exits 4', async () => {
    view = { state: 'passive', peerUp: true, peerName: 'fw-b' };
    const r = await cli(
      'config',
      'commit',
      file('d.yaml', (f) => (f.shared.sessions = { udpS: 23 })),
    );
    view = { state: 'active', peerUp: false, peerName: null };
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toMatch(/this box is passive: shared config is committed on the active box \(fw-b\)/);
    expect((await cli('config', 'commit', join(dir, 'nope.yaml'))).code).toBe(EXIT_CONFIG);
  });
});
