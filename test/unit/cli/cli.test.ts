import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runCli, type CliEnv, type LabApi } from '../../../src/cli/program.js';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from '../../../src/cli/exit-codes.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController } from '../api/fixtures.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], env: Partial<CliEnv> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: {},
    now: () => Date.parse('2025-01-01T12:05:00.000Z'),
    ...env,
  });
  return { code, out, err };
}

const TOKEN = 'cli-test-token-0123456789';
let dir: string;
let tokenFile: string;
let server: ApiServer;
let controller: FakeController;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-cli-'));
  tokenFile = join(dir, 'api.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  controller = new FakeController();
  server = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller,
    metrics: new Metrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('usage errors exit 2', () => {
  it.each([
    [['frobnicate']],
    [['status', '--bogus']],
    [['status', 'extra-arg']],
    [['run']], // --config is required
    [['config', 'validate']], // file missing
    [['status', '--timeout-ms', 'soon']],
    [[]], // no command: help on stderr
  ])('%j', async (argv) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).not.toBe('');
    expect(r.out).toBe('');
    if (argv.length > 0) expect(r.err).toMatch(/^tandem: [^\n]+ \(see `tandem --help`\)\n$/);
  });

  it('a malformed --api URL is a usage error', async () => {
    const r = await cli(['status', '--api', 'ftp://x', '--token-file', tokenFile]);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(/^tandem: bad API URL "ftp:\/\/x"/);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r).toEqual({ code: EXIT_OK, out: '0.1.0\n', err: '' });
  });

  it('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(EXIT_OK);
    for (const c of ['run', 'status', 'suspend', 'functional', 'failover', 'config', 'lab']) expect(r.out).toContain(c);
    expect(r.out).toContain('3 cannot reach the daemon');
  });
});

describe('API commands', () => {
  it('status prints the human view', async () => {
    const r = await cli(['status', '--api', server.address, '--token-file', tokenFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('State      : active (reason: peer-dead) for 5m 0s');
  });

  it('status --json prints the full status; TANDEM_API and TANDEM_TOKEN_FILE are the defaults', async () => {
    const r = await cli(['status', '--json'], { env: { TANDEM_API: server.address, TANDEM_TOKEN_FILE: tokenFile } });
    expect(r.code).toBe(EXIT_OK);
    const st = JSON.parse(r.out);
    expect(st.local.name).toBe('fw-a');
    expect(st.links).toHaveLength(2);
  });

  it('commands print the daemon message; a refusal exits 1', async () => {
    controller.next = 'ok';
    let r = await cli(['suspend', '--api', server.address, '--token-file', tokenFile]);
    expect(r).toEqual({ code: EXIT_OK, out: 'suspend done\n', err: '' });
    r = await cli(['functional', '--api', server.address, '--token-file', tokenFile, '--json']);
    expect(JSON.parse(r.out)).toEqual({ message: 'functional done' });
    controller.next = 'refuse';
    r = await cli(['failover', '--api', server.address, '--token-file', tokenFile]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toBe('tandem: refused by the daemon: failover refused: not active\n');
    controller.next = 'ok';
  });

  it('a wrong token exits 1 with a hint', async () => {
    const bad = join(dir, 'bad.token');
    await writeFile(bad, 'wrong');
    const r = await cli(['status', '--api', server.address, '--token-file', bad]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toContain('rejected the API token');
  });

  it('a missing token file exits 1 and names it', async () => {
    const r = await cli(['status', '--api', server.address, '--token-file', join(dir, 'nope')]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toContain(join(dir, 'nope'));
    expect(r.err.split('\n')).toHaveLength(2); // one line
  });

  it('an unreachable daemon exits 3 and names the URL', async () => {
    let r = await cli(['status', '--api', 'http://127.0.0.1:1', '--token-file', tokenFile]);
    expect(r.code).toBe(EXIT_UNREACHABLE);
    expect(r.err).toMatch(/^tandem: cannot reach tandem API at http:\/\/127\.0\.0\.1:1: connection refused/);
    r = await cli(['suspend', '--api', `unix:${join(dir, 'none.sock')}`, '--token-file', tokenFile]);
    expect(r.code).toBe(EXIT_UNREACHABLE);
    expect(r.err).toContain('none.sock');
  });
});

const GOOD_CONFIG = `
device:
  id: 0
  name: fw-a
  priority: 50
  interfaces:
    lan: { device: eth1, address: 10.0.1.2/24 }
    wan: { device: eth2, address: 10.0.2.2/24 }
  ha:
    ha1: { local: 172.31.0.1, peer: 172.31.0.2 }
    keyFile: ha.key
  api: { listen: 127.0.0.1:9480, tokenFile: api.token }
  metrics: { listen: 127.0.0.1:9481 }
  stateDir: state
shared:
  ha:
    mode: active-passive
    groupId: 1
    timers: { profile: aggressive }
    preempt: { enabled: true, holdMs: 60000 }
  zones: { trust: [lan], untrust: [wan] }
  floatingIps:
    - { interface: lan, address: 10.0.1.1/24, owner: 0 }
    - { interface: wan, address: 10.0.2.1/24, owner: 0 }
  routes: [{ to: 0.0.0.0/0, via: 10.0.2.254, interface: wan }]
  policy:
    default: deny
    rules:
      - { name: ping, from: [trust], to: [untrust], service: [icmp], action: allow }
  nat: []
`;

describe('config validate (with the real loader)', () => {
  it('a good file: one line, exit 0', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(file, GOOD_CONFIG);
    const r = await cli(['config', 'validate', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: valid \\(device fw-a, id 0, priority 50, active-passive, group 1, timers aggressive`));
    const j = await cli(['config', 'validate', file, '--json']);
    expect(JSON.parse(j.out)).toMatchObject({ file, valid: true, device: { id: 0, name: 'fw-a', priority: 50 } });
  });

  it('a bad file: every issue on its own line, exit 4', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, GOOD_CONFIG.replace('priority: 50', 'priority: 300').replace('id: 0', 'id: 7'));
    const r = await cli(['config', 'validate', file]);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(r.err).toContain('device.priority');
    expect(r.err).toContain('device.id');
    for (const l of lines) expect(l.startsWith(`tandem: ${file}: `)).toBe(true);
    const j = await cli(['config', 'validate', file, '--json']);
    expect(j.code).toBe(EXIT_CONFIG);
    const body = JSON.parse(j.out);
    expect(body.valid).toBe(false);
    expect(body.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['device.priority', 'device.id']));
  });

  it('broken YAML and a missing file exit 4', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'device: [unclosed\n');
    expect((await cli(['config', 'validate', file])).code).toBe(EXIT_CONFIG);
    expect((await cli(['config', 'validate', join(dir, 'missing.yaml')])).code).toBe(EXIT_CONFIG);
  });
});

describe('run', () => {
  it('calls runDaemon with the config path', async () => {
    let got = '';
    const r = await cli(['run', '--config', '/etc/tandem/fw-a.yaml'], { runDaemon: async (p) => void (got = p) });
    expect(r.code).toBe(EXIT_OK);
    expect(got).toBe('/etc/tandem/fw-a.yaml');
  });

  it('a config error from the daemon exits 4', async () => {
    const err = Object.assign(new Error('x.yaml: device.id: got 7, expected 0 or 1'), {
      code: 'config-invalid',
      issues: [{ path: 'device.id', value: 7, expected: '0 or 1' }],
    });
    const r = await cli(['run', '--config', 'x.yaml'], { runDaemon: async () => Promise.reject(err) });
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.err).toBe('tandem: x.yaml: device.id: got 7, expected 0 or 1\n');
  });

  it('a failing daemon exits 1 with one line; a bug exits 70 without a stack unless TANDEM_DEBUG=1', async () => {
    let r = await cli(['run', '--config', 'x.yaml'], { runDaemon: async () => Promise.reject(new Error('cannot open lan0')) });
    expect(r).toMatchObject({ code: EXIT_FAILED, err: 'tandem: daemon: cannot open lan0\n' });
    r = await cli(['run', '--config', 'x.yaml'], { runDaemon: async () => Promise.reject(new TypeError('x is undefined')) });
    expect(r.code).toBe(EXIT_INTERNAL);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('internal error: x is undefined');
    r = await cli(['run', '--config', 'x.yaml'], {
      env: { TANDEM_DEBUG: '1' },
      runDaemon: async () => Promise.reject(new TypeError('x is undefined')),
    });
    expect(r.err).toContain('    at ');
  });
});

describe('lab', () => {
  const labStatus = {
    name: 'tlab',
    boxes: {
      fwa: { namespace: 'tlab-fwa', pid: 1234, state: 'active', reason: 'election-won', api: 'http://10.99.0.1:9480', metrics: 'http://10.99.0.1:9481' },
      fwb: { namespace: 'tlab-fwb', pid: 1235, state: 'passive', reason: 'peer-active', api: 'http://10.99.0.2:9480', metrics: 'http://10.99.0.2:9481' },
    },
    hosts: { client: { namespace: 'tlab-client', address: '10.0.1.10/24' }, server: { namespace: 'tlab-server', address: '10.0.2.10/24' } },
  };
  function fakeLab(calls: unknown[]): () => Promise<LabApi> {
    return async () => ({
      labUp: async (o) => (calls.push(['up', o]), { ...labStatus, name: o.name }),
      labDown: async (o) => void calls.push(['down', o]),
      labStatus: async (o) => (calls.push(['status', o]), { ...labStatus, name: o.name }),
      labDemo: async (o) => (calls.push(['demo', o]), { gapMs: 48, connectionsSurvived: 10, connections: 10 }),
    });
  }

  it('passes names and options through, default name tlab', async () => {
    const calls: unknown[] = [];
    const lab = fakeLab(calls);
    expect((await cli(['lab', 'up'], { lab })).code).toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--name', 'x1', '--config', '/tmp/cfg'], { lab })).code).toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--mode', 'active-active'], { lab })).code).toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--mode', 'active-standby'], { lab })).code).not.toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--ha-family', 'ipv6', '--ipv6-ra'], { lab })).code).toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--ha-family', 'ipv4'], { lab })).code).toBe(EXIT_OK);
    expect((await cli(['lab', 'up', '--ha-family', 'ipx'], { lab })).code).not.toBe(EXIT_OK);
    expect((await cli(['lab', 'down', '--name', 'x1'], { lab })).out).toBe('lab x1: removed\n');
    expect((await cli(['lab', 'demo'], { lab })).out).toBe('demo: OK\n');
    expect((await cli(['lab', 'demo', '--mode', 'active-active', '--name', 'ui1'], { lab })).out).toBe('demo: OK\n');
    expect((await cli(['lab', 'demo', '--mode', 'active-standby'], { lab })).code).not.toBe(EXIT_OK);
    expect(calls).toEqual([
      ['up', { name: 'tlab', mode: 'active-passive' }],
      ['up', { name: 'x1', mode: 'active-passive', configDir: '/tmp/cfg' }],
      ['up', { name: 'tlab', mode: 'active-active' }],
      ['up', { name: 'tlab', mode: 'active-passive', haFamily: 'ipv6', ipv6Ra: true }],
      ['up', { name: 'tlab', mode: 'active-passive' }],
      ['down', { name: 'x1' }],
      ['demo', { name: 'tlab' }],
      ['demo', { name: 'ui1', mode: 'active-active' }],
    ]);
  });

  it('lab status: a table, or the JSON as given', async () => {
    const lab = fakeLab([]);
    const r = await cli(['lab', 'status'], { lab });
    expect(r.out).toBe(
      [
        'Lab tlab',
        '',
        'BOX  NAMESPACE  PID   STATE    REASON        API                    METRICS',
        'fwa  tlab-fwa   1234  active   election-won  http://10.99.0.1:9480  http://10.99.0.1:9481',
        'fwb  tlab-fwb   1235  passive  peer-active   http://10.99.0.2:9480  http://10.99.0.2:9481',
        '',
        'HOST    NAMESPACE    ADDRESS',
        'client  tlab-client  10.0.1.10/24',
        'server  tlab-server  10.0.2.10/24',
        '',
      ].join('\n'),
    );
    const j = await cli(['lab', 'status', '--json', '--name', 'tlab'], { lab });
    expect(JSON.parse(j.out)).toEqual(labStatus);
  });

  it('lab status: the IPv6 columns and the HA family when the status has them', async () => {
    const dual = {
      ...labStatus,
      hosts: {
        client: { namespace: 'tlab-client', address: '10.0.1.10', gateway: '10.0.1.1', address6: '2001:db8:1::10', gateway6: 'fe80::1' },
        server: { namespace: 'tlab-server', address: '10.0.2.10', gateway: '10.0.2.1', address6: '2001:db8:2::10', gateway6: 'fe80::1' },
      },
      haFamily: 'ipv6',
      ipv6Ra: true,
    };
    const lab = async (): Promise<LabApi> => ({ ...(await fakeLab([])()), labStatus: async () => dual });
    const r = await cli(['lab', 'status'], { lab });
    expect(r.out.split('\n').slice(6)).toEqual([
      'HOST    NAMESPACE    ADDRESS    GATEWAY   ADDRESS6        GATEWAY6',
      'client  tlab-client  10.0.1.10  10.0.1.1  2001:db8:1::10  fe80::1 (RA)',
      'server  tlab-server  10.0.2.10  10.0.2.1  2001:db8:2::10  fe80::1',
      'HA links over IPv6; router advertisements on lan on',
      '',
    ]);
  });

  it('lab demo: --svg is passed on; a failed demo says why on one line and exits 1', async () => {
    const calls: unknown[] = [];
    const lab = async (): Promise<LabApi> => ({
      ...(await fakeLab([])()),
      labDemo: async (o) => (calls.push(o), { ok: false, errors: ['3 TCP connection(s) lost', 'no probe reached the server'] }),
    });
    const r = await cli(['lab', 'demo', '--svg', '/tmp/x.svg'], { lab });
    expect(calls).toEqual([{ name: 'tlab', svg: '/tmp/x.svg' }]);
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.out).toBe('demo: FAILED (3 TCP connection(s) lost; no probe reached the server)\n');
  });

  it('lab status: a daemon that does not answer shows its error; gateways and floating IPs', async () => {
    const st = {
      name: 'n2',
      boxes: { fwa: { namespace: 'n2-fwa', pid: null, state: null, reason: null, api: 'unix:/run/a.sock', metrics: 'http://x', error: 'ECONNREFUSED' } },
      hosts: { client: { namespace: 'n2-client', address: '10.0.1.10/24', gateway: '10.0.1.1' } },
      floatingIps: ['10.0.1.1/24', '10.0.2.1/24'],
    };
    const lab = async (): Promise<LabApi> => ({ ...(await fakeLab([])()), labStatus: async () => st });
    const r = await cli(['lab', 'status', '--name', 'n2'], { lab });
    expect(r.out).toContain('fwa  n2-fwa     -    -      ECONNREFUSED');
    expect(r.out).toContain('HOST    NAMESPACE  ADDRESS       GATEWAY\nclient  n2-client  10.0.1.10/24  10.0.1.1\n');
    expect(r.out).toContain('Floating IPs: 10.0.1.1/24, 10.0.2.1/24\n');
  });

  it('a lab failure exits 1 with one line', async () => {
    const lab = async (): Promise<LabApi> => ({
      labUp: async () => Promise.reject(new Error('ip: command not found')),
      labDown: async () => undefined,
      labStatus: async () => Promise.reject(new Error('lab tlab is not up')),
      labDemo: async () => undefined,
    });
    const r = await cli(['lab', 'status'], { lab });
    expect(r).toEqual({ code: EXIT_FAILED, out: '', err: 'tandem: lab status: lab tlab is not up\n' });
  });
});
