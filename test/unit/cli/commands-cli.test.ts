// `tandem doctor` and `tandem test-failover` run in-process against real API servers: the option
// wiring (which API and token each command uses, the exit code of a failed check or a refused leg),
// on top of doctor.test.ts and test-failover.test.ts, which test the checks and the legs alone.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { runCli, type CliEnv } from '../../../src/cli/program.js';
import { EXIT_FAILED, EXIT_OK } from '../../../src/cli/exit-codes.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { parseConfig } from '../../../src/config/load.js';
import type { HaStatus } from '../../../src/control/status.js';
import { FakeController, fixedStatus } from '../api/fixtures.js';

const TOKEN = 'commands-cli-token-0123456789';
const BOX_A = new URL('../../../deploy/box-a.yaml', import.meta.url).pathname;
const log = pino({ level: 'silent' });
let dir = '';
let tokenFile = '';
const servers: ApiServer[] = [];

async function cli(argv: string[], env: Partial<CliEnv> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, ...env });
  return { code, out, err };
}

async function serve(controller: FakeController): Promise<ApiServer> {
  const server = await startApiServer({ listen: '127.0.0.1:0', token: Buffer.from(TOKEN), controller, metrics: new Metrics({ defaultMetrics: false }), log });
  servers.push(server);
  return server;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-commands-cli-'));
  tokenFile = join(dir, 'api.token');
  writeFileSync(tokenFile, TOKEN);
  chmodSync(tokenFile, 0o600);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('tandem doctor', () => {
  it('an invalid config fails the run, and the daemon is still asked through --api', async () => {
    const server = await serve(new FakeController());
    const loadConfig = async (): Promise<never> => Promise.reject(new Error('x.yaml: device.id: got 7, expected 0 or 1'));
    const r = await cli(['doctor', '-c', 'x.yaml', '--api', server.address, '--token-file', tokenFile], { loadConfig });
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^FAIL {2}config +x\.yaml: x\.yaml: device\.id: got 7, expected 0 or 1$/m);
    expect(r.out).toMatch(/^ok {4}daemon +answers: fw-a is active \(peer-dead\)$/m);
    expect(r.out).toMatch(/^\d+ failed, \d+ warnings, \d+ ok\n$/m);
    const j = await cli(['doctor', '-c', 'x.yaml', '--json', '--api', server.address, '--token-file', tokenFile], { loadConfig });
    expect(j.code).toBe(EXIT_FAILED);
    const body = JSON.parse(j.out);
    expect(body.ok).toBe(false);
    expect(body.checks[0]).toEqual({ check: 'config', level: 'fail', detail: 'x.yaml: x.yaml: device.id: got 7, expected 0 or 1' });
  });

  it("without --api, asks the daemon the config names, with the config's token file", async () => {
    const server = await serve(new FakeController());
    const keyFile = join(dir, 'ha.key');
    writeFileSync(keyFile, 'k'.repeat(32));
    chmodSync(keyFile, 0o600);
    const cfg = parseConfig(readFileSync(BOX_A, 'utf8'));
    cfg.device.api.listen = server.address.replace('http://', '');
    cfg.device.api.tokenFile = tokenFile;
    cfg.device.ha.keyFile = keyFile;
    for (const iface of Object.values(cfg.device.interfaces)) iface.device = 'tdoctor-none';
    const r = await cli(['doctor', '-c', 'box-a.yaml'], { loadConfig: async () => cfg });
    expect(r.out).toMatch(/^ok {4}config +box-a\.yaml is valid \(device fw-a, id 0\)$/m);
    expect(r.out).toMatch(new RegExp(`^ok    key file +${keyFile} is private`, 'm'));
    expect(r.out).toMatch(new RegExp(`^ok    token file +${tokenFile} is private`, 'm'));
    expect(r.out).toMatch(/^FAIL {2}interface lan +kernel device tdoctor-none does not exist in this network namespace$/m);
    expect(r.out).toMatch(/^ok {4}daemon +answers: fw-a is active \(peer-dead\)$/m);
    expect(r.code).toBe(EXIT_FAILED);
  });
});

/** One box of a simulated pair: its role moves to the other box 20 ms after a failover on the active. */
class PairBox extends FakeController {
  constructor(
    private readonly me: string,
    private readonly pair: { active: string; transitions: Record<string, HaStatus['transitions']> },
  ) {
    super();
  }
  override status(): HaStatus {
    const s = fixedStatus();
    s.local.name = this.me;
    s.local.state = this.pair.active === this.me ? 'active' : 'passive';
    s.sync = { incomplete: false };
    s.transitions = this.pair.transitions[this.me];
    return s;
  }
  override async failover(): Promise<string> {
    if (this.pair.active !== this.me) return 'not active';
    const other = this.me === 'fw-a' ? 'fw-b' : 'fw-a';
    setTimeout(() => {
      const at = new Date().toISOString();
      this.pair.active = other;
      this.pair.transitions[this.me].push({ at, from: 'active', to: 'passive', reason: 'operator-failover' });
      this.pair.transitions[other].push({ at, from: 'passive', to: 'active', reason: 'peer-request' });
    }, 20);
    return 'failover started';
  }
}

describe('tandem test-failover', () => {
  it('fails over to --peer-api and back, with this box token when no --peer-token-file', async () => {
    const pair = { active: 'fw-a', transitions: { 'fw-a': [], 'fw-b': [] } };
    const a = await serve(new PairBox('fw-a', pair));
    const b = await serve(new PairBox('fw-b', pair));
    const r = await cli(['test-failover', '--api', a.address, '--token-file', tokenFile, '--peer-api', b.address, '--hold-s', '1', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT_OK);
    const { legs } = JSON.parse(r.out);
    expect(legs.map((l: { from: string; to: string }) => `${l.from}->${l.to}`)).toEqual(['fw-a->fw-b', 'fw-b->fw-a']);
    expect(pair.active).toBe('fw-a');
  });

  it('run against the passive box: exit 1 with the reason on one line', async () => {
    const pair = { active: 'fw-b', transitions: { 'fw-a': [], 'fw-b': [] } };
    const a = await serve(new PairBox('fw-a', pair));
    const b = await serve(new PairBox('fw-b', pair));
    const r = await cli(['test-failover', '--api', a.address, '--token-file', tokenFile, '--peer-api', b.address, '--peer-token-file', tokenFile]);
    expect(r).toEqual({ code: EXIT_FAILED, out: '', err: 'tandem: fw-a is passive, not active: run test-failover against the active box\n' });
  });
});
