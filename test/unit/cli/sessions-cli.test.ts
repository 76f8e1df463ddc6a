import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runCli, type CliEnv } from '../../../src/cli/program.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../../src/cli/exit-codes.js';
import { formatSessions } from '../../../src/cli/format-sessions.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { SessionsUnavailable, type SessionFilter, type SessionList } from '../../../src/api/sessions.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController, fixedSessions } from '../api/fixtures.js';

const TOKEN = 'cli-sessions-token-0123456789';
let dir: string;
let tokenFile: string;
let server: ApiServer;
let calls: { filter: SessionFilter; limit: number }[] = [];
let answer: () => Promise<SessionList> = async () => fixedSessions();

async function cli(argv: string[], env: Partial<CliEnv> = {}) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, ...env });
  return { code, out, err };
}
const api = () => ['--api', server.address, '--token-file', tokenFile];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-cli-sessions-'));
  tokenFile = join(dir, 'api.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  server = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller: new FakeController(),
    metrics: new Metrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
    sessions: (filter, limit) => {
      calls.push({ filter, limit });
      return answer();
    },
  });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tandem sessions', () => {
  it('prints the table; no options: empty filter, the server default limit', async () => {
    calls = [];
    const r = await cli(['sessions', ...api()]);
    expect(r).toEqual({ code: EXIT_OK, out: formatSessions(fixedSessions()), err: '' });
    expect(calls).toEqual([{ filter: {}, limit: 100 }]);
  });

  it('passes every filter option and --limit', async () => {
    calls = [];
    const r = await cli([
      'sessions',
      ...api(),
      '--address',
      '10.0.1.10',
      '--port',
      '443',
      '--protocol',
      'TCP',
      '--state',
      'established',
      '--rule',
      '(default)',
      '--limit',
      '0',
    ]);
    expect(r.code).toBe(EXIT_OK);
    expect(calls).toEqual([{ filter: { address: '10.0.1.10', port: 443, protocol: 'tcp', state: 'established', rule: '(default)' }, limit: 0 }]);
  });

  it('--json prints the list as the API returns it', async () => {
    const r = await cli(['sessions', ...api(), '--json']);
    expect(r.code).toBe(EXIT_OK);
    expect(JSON.parse(r.out)).toEqual(fixedSessions());
  });

  it.each([
    [['--address', '10.0.1'], /--address <ip>.*'10\.0\.1' is invalid.*Expected an IPv4 address/],
    [['--port', '70000'], /--port <n>.*'70000' is invalid.*Expected a port number from 0 to 65535/],
    [['--port', 'http'], /--port <n>.*Expected a port number/],
    [['--protocol', 'gre'], /--protocol <p>.*Expected one of tcp, udp, icmp/],
    [['--state', 'Not A State'], /--state <s>.*Expected a session state/],
    [['--rule', '9lives'], /--rule <name>.*Expected a rule name/],
    [['--limit', '10001'], /--limit <n>.*Expected an integer from 0 to 10000/],
    [['--limit', '-1'], /--limit/],
    [['--limit'], /--limit/],
    [['--bogus'], /unknown option '--bogus'/],
    [['extra'], /too many arguments|unexpected/],
  ])('%j exits 2 with a clear message, without asking the daemon', async (args, message) => {
    calls = [];
    const r = await cli(['sessions', ...api(), ...args]);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^tandem: [^\n]+ \(see `tandem --help`\)\n$/);
    expect(r.err).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('a dataplane that does not answer: exit 1 with the daemon message', async () => {
    answer = async () => {
      throw new SessionsUnavailable('timeout', 'the dataplane did not list sessions within 2500 ms');
    };
    const r = await cli(['sessions', ...api()]);
    answer = async () => fixedSessions();
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toBe('tandem: the daemon answered HTTP 504: the dataplane did not list sessions within 2500 ms\n');
  });

  it('--help lists the filters', async () => {
    const r = await cli(['sessions', '--help']);
    expect(r.code).toBe(EXIT_OK);
    for (const o of ['--address', '--port', '--protocol', '--state', '--rule', '--limit', '--json']) expect(r.out).toContain(o);
  });
});
