// The CLI against an HTTPS daemon with mutual TLS: --ca/--cert/--key and their environment
// variables, and one clear line (never a stack trace) when TLS fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { runCli, type CliEnv } from '../../../src/cli/program.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../../src/cli/exit-codes.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController } from '../api/fixtures.js';
import { mintFixture, type TlsFixture } from '../api/tls-fixture.js';

const TOKEN = 'cli-tls-token-0123456789';
let fx: TlsFixture;
let server: ApiServer;
let tokenFile: string;

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Partial<CliEnv> = { stdout: (t) => (out += t), stderr: (t) => (err += t), env, now: () => Date.parse('2025-01-01T12:05:00.000Z') };
  const code = await runCli(argv, io);
  return { code, out, err };
}

beforeAll(async () => {
  fx = await mintFixture();
  tokenFile = join(fx.dir, 'api.token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  server = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller: new FakeController(),
    metrics: new Metrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
    tls: { certFile: fx.server.cert, keyFile: fx.server.key, clientCaFile: fx.ca.cert },
  });
}, 30_000);

afterAll(async () => {
  await server.close();
  rmSync(fx.dir, { recursive: true, force: true });
});

describe('tandem status over HTTPS', () => {
  it('works with --ca, --cert and --key', async () => {
    const r = await cli(['status', '--api', server.address, '--token-file', tokenFile, '--ca', fx.ca.cert, '--cert', fx.client.cert, '--key', fx.client.key]);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('fw-a');
  });

  it('works with TANDEM_API_CA, TANDEM_API_CERT and TANDEM_API_KEY', async () => {
    const env = {
      TANDEM_API: server.address,
      TANDEM_TOKEN_FILE: tokenFile,
      TANDEM_API_CA: fx.ca.cert,
      TANDEM_API_CERT: fx.client.cert,
      TANDEM_API_KEY: fx.client.key,
    };
    const r = await cli(['status', '--json'], env);
    expect(r.code).toBe(EXIT_OK);
    expect(JSON.parse(r.out).local.name).toBe('fw-a');
  });

  it('an unverified daemon is one line naming the reason, exit 1', async () => {
    const r = await cli(['status', '--api', server.address, '--token-file', tokenFile, '--cert', fx.client.cert, '--key', fx.client.key]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(/^tandem: TLS with tandem API at https:\/\/127\.0\.0\.1:\d+ failed: the server was not verified: .*\(SELF_SIGNED_CERT_IN_CHAIN\)\n$/);
  });

  it('no client certificate: refused by mutual TLS, exit 1', async () => {
    const r = await cli(['status', '--api', server.address, '--token-file', tokenFile, '--ca', fx.ca.cert]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toContain('the server refused our client certificate');
  });

  it('TLS files with an http:// URL are a usage error; an unreadable file says which', async () => {
    let r = await cli(['status', '--api', 'http://127.0.0.1:1', '--token-file', tokenFile, '--ca', fx.ca.cert]);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('is not https://');
    r = await cli(['status', '--api', server.address, '--token-file', tokenFile, '--ca', join(fx.dir, 'none.crt')]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toBe(`tandem: cannot use the CA file ${join(fx.dir, 'none.crt')}: ENOENT\n`);
  });
});
