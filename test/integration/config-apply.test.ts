// A committed shared half applied to the running dataplane, with real frames: the dataplane (built
// dist/, run by fixtures/dataplane-harness.mjs with the stateful firewall) between a client and a
// server namespace, live TCP connections across the commit.
//
//   <P>c (client 10.0.1.10/24, gw 10.0.1.1) <P>cl --- <P>fl  <P>f (box: lan 10.0.1.2/24,
//                                                           wan 10.0.2.2/24, ip_forward=0)
//   <P>s (server 10.0.2.10/24, gw 10.0.2.1) <P>sw --- <P>fw
//
// Before: tcp/5001 and tcp/5002 allowed, tcp/5003 not; source NAT to the wan floating IP 10.0.2.1.
// The commit: tcp/5002 no longer allowed, tcp/5003 allowed, and a new wan floating IP 10.0.2.5
// listed first, so new flows are translated to it (interface-floating takes an interface's first).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharedConfig } from '../../src/config/types.js';
import { ensureBuilt } from './helpers/build.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const harnessPath = path.join(root, 'test/integration/fixtures/dataplane-harness.mjs');
const toolPath = path.join(root, 'test/integration/fixtures/net-tool.mjs');
const isRoot = process.getuid?.() === 0;
const P =
  'cap' +
  randomBytes(3)
    .toString('base64url')
    .replace(/[^a-z0-9]/gi, 'x')
    .slice(0, 4)
    .toLowerCase();
const ns = { c: `${P}c`, f: `${P}f`, s: `${P}s` };
const dev = { cl: `${P}cl`, fl: `${P}fl`, fw: `${P}fw`, sw: `${P}sw` };
const SERVER = '10.0.2.10';

const rule = (name: string, service: string): SharedConfig['policy']['rules'][number] => ({
  name,
  from: ['trust'],
  to: ['untrust'],
  source: ['10.0.1.0/24'],
  destination: ['10.0.2.0/24'],
  service: [service],
  action: 'allow',
});

function sharedConfig(edit: (s: SharedConfig) => void = () => undefined): SharedConfig {
  const s: SharedConfig = {
    ha: {
      mode: 'active-passive',
      activeActive: {
        sessionOwner: 'first-packet',
        sessionSetup: 'ip-modulo',
        ipHash: { key: 'source', seed: 0 },
        deferMs: 10,
        arpLoadSharing: { method: 'ip-modulo', seed: 0 },
      },
      groupId: 7,
      timers: {
        profile: 'aggressive',
        heartbeatIntervalMs: 50,
        heartbeatMissed: 3,
        helloIntervalMs: 1000,
        promotionHoldMs: 0,
        preemptHoldMs: 1000,
        flapMax: 3,
        initialWaitMs: 100,
      } as SharedConfig['ha']['timers'],
      preempt: { enabled: false, holdMs: 1000 },
      garp: { count: 3, intervalMs: 20, periodicS: 0 },
      virtualMac: true,
      encryption: 'none',
    },
    zones: { trust: ['lan'], untrust: ['wan'] },
    floatingIps: [
      { interface: 'lan', address: '10.0.1.1/24', owner: 0 },
      { interface: 'wan', address: '10.0.2.1/24', owner: 0 },
    ],
    routes: [],
    policy: { default: 'deny', rules: [rule('keep', 'tcp/5001'), rule('drop-me', 'tcp/5002'), { ...rule('ping', 'icmp'), destination: ['0.0.0.0/0'] }] },
    nat: [
      {
        name: 'hide-lan',
        from: ['trust'],
        to: ['untrust'],
        source: ['10.0.1.0/24'],
        destination: ['0.0.0.0/0'],
        service: ['any'],
        translate: { source: 'interface-floating' },
      },
    ],
    routerAdvertisements: [],
    sessions: { max: 1000, tcpEstablishedS: 3600, tcpTransitoryS: 20, udpS: 30, icmpS: 10, tcpWindowCheck: 'strict' },
  };
  edit(s);
  return s;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A process whose stdout is JSON lines; waitFor() finds a line. */
class JsonLines {
  readonly proc: ChildProcess;
  readonly lines: Msg[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  constructor(n: string, args: string[]) {
    this.proc = spawn('ip', ['netns', 'exec', n, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Msg);
      } catch {
        this.stderr += line + '\n';
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  send(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }

  /** The first line from index `from` on that satisfies pred. */
  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 8000, from = 0): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; lines=${JSON.stringify(this.lines).slice(-2000)} stderr=${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends `line` and waits for the next answer of `type`. */
  async ask(line: string, type: string, timeoutMs?: number): Promise<Msg> {
    const from = this.lines.length;
    this.send(line);
    return this.waitFor((m) => m.type === type, timeoutMs, from);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || !this.proc.pid) return;
    this.proc.kill('SIGKILL');
    await new Promise((r) => this.proc.once('exit', r));
  }
}

// An echo server on several ports: one line per connection with the port and the peer's address.
const SERVER_JS = `
const net = require('node:net');
for (const port of [5001, 5002, 5003]) {
  net.createServer((s) => {
    console.log(JSON.stringify({ type: 'conn', port, remote: s.remoteAddress }));
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  }).listen(port, '0.0.0.0', () => console.log(JSON.stringify({ type: 'listening', port })));
}`;

// One long-lived connection; each "echo" line on stdin sends a message and reports whether the
// echo came back within 2 s (TCP retransmits meanwhile).
const CLIENT_JS = (port: number) => `
const s = require('node:net').connect({ host: '${SERVER}', port: ${port} });
let pending = null;
s.on('connect', () => console.log(JSON.stringify({ type: 'connected' })));
s.on('error', (e) => console.log(JSON.stringify({ type: 'echo', ok: false, error: e.code })));
s.on('data', () => { if (pending) { clearTimeout(pending); pending = null; console.log(JSON.stringify({ type: 'echo', ok: true })); } });
require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
  s.write('ping');
  pending = setTimeout(() => { pending = null; console.log(JSON.stringify({ type: 'echo', ok: false, error: 'timeout' })); }, 2000);
});`;

function setup(): void {
  for (const n of Object.values(ns)) sh('ip', ['netns', 'add', n]);
  sh('ip', ['link', 'add', dev.cl, 'type', 'veth', 'peer', 'name', dev.fl]);
  sh('ip', ['link', 'add', dev.fw, 'type', 'veth', 'peer', 'name', dev.sw]);
  const place: [string, string][] = [
    [dev.cl, ns.c],
    [dev.fl, ns.f],
    [dev.fw, ns.f],
    [dev.sw, ns.s],
  ];
  for (const [d, n] of place) {
    sh('ip', ['link', 'set', d, 'netns', n]);
    sh('ip', ['netns', 'exec', n, 'ethtool', '-K', d, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    sh('ip', ['-n', n, 'link', 'set', d, 'up']);
  }
  for (const n of Object.values(ns)) sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', ns.c, 'addr', 'add', '10.0.1.10/24', 'dev', dev.cl]);
  sh('ip', ['-n', ns.c, 'route', 'add', 'default', 'via', '10.0.1.1']);
  sh('ip', ['-n', ns.f, 'addr', 'add', '10.0.1.2/24', 'dev', dev.fl]);
  sh('ip', ['-n', ns.f, 'addr', 'add', '10.0.2.2/24', 'dev', dev.fw]);
  sh('ip', ['netns', 'exec', ns.f, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
  sh('ip', ['-n', ns.s, 'addr', 'add', `${SERVER}/24`, 'dev', dev.sw]);
  sh('ip', ['-n', ns.s, 'route', 'add', 'default', 'via', '10.0.2.1']);
}

function teardown(): void {
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
}

/** A new connection from the client: {ok, localPort} or {error}. */
function connect(port: number): Record<string, unknown> {
  const r = spawnSync('ip', ['netns', 'exec', ns.c, process.execPath, toolPath, 'tcp-connect', SERVER, String(port)], { encoding: 'utf8', timeout: 15_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
}

describe.skipIf(!isRoot)('applying a committed config to the running dataplane (real frames)', () => {
  let dir: string;
  let h: JsonLines;
  let server: JsonLines;
  const clients: JsonLines[] = [];

  /** The harness's answer to `apply` of this shared half. */
  async function apply(shared: unknown): Promise<Record<string, any>> {
    const file = path.join(dir, `shared-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(shared));
    const m = await h.ask(`apply ${file}`, 'applied', 15_000);
    return m.result as Record<string, any>;
  }

  /** The server's connection lines for a port since index `from`. */
  const remotes = (port: number, from = 0) =>
    server.lines
      .slice(from)
      .filter((l) => l.type === 'conn' && l.port === port)
      .map((l) => l.remote);

  async function longLived(port: number): Promise<JsonLines> {
    const c = new JsonLines(ns.c, [process.execPath, '-e', CLIENT_JS(port)]);
    clients.push(c);
    await c.waitFor((m) => m.type === 'connected');
    return c;
  }

  beforeAll(async () => {
    await ensureBuilt(['src/dataplane/host.js', 'src/wire/firewall-stats.js']);
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-config-apply-'));
    try {
      setup();
    } catch (err) {
      teardown();
      throw err;
    }
    const first = path.join(dir, 'shared.json');
    writeFileSync(first, JSON.stringify(sharedConfig()));
    h = new JsonLines(ns.f, [process.execPath, harnessPath, root, dev.fl, dev.fw, first]);
    const ready = await h.waitFor((m) => m.type === 'ready' || m.type === 'fatal', 10_000);
    if (ready.type === 'fatal') throw new Error(`dataplane: ${String(ready.error)}`);
    await h.ask('active', 'ack');
    server = new JsonLines(ns.s, [process.execPath, '-e', SERVER_JS]);
    for (const port of [5001, 5002, 5003]) await server.waitFor((m) => m.type === 'listening' && m.port === port);
  });

  afterAll(async () => {
    try {
      for (const c of clients) await c.stop();
      await server?.stop();
      if (h && h.proc.exitCode === null) {
        h.send('stop');
        await Promise.race([new Promise((r) => h.proc.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
        await h.stop();
      }
    } finally {
      teardown();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a flow the new policy still allows keeps passing with its NAT; a flow it denies stops; new flows follow the new policy and NAT', async () => {
    // before the commit
    const kept = await longLived(5001);
    const dropped = await longLived(5002);
    expect(await kept.ask('echo', 'echo')).toMatchObject({ ok: true });
    expect(await dropped.ask('echo', 'echo')).toMatchObject({ ok: true });
    expect(remotes(5001)).toEqual(['10.0.2.1']);
    expect(connect(5003)).toMatchObject({ error: 'timeout' });
    const hitsBefore = (await h.ask('rules', 'rules')).data as Record<string, number>;
    expect(hitsBefore).toMatchObject({ keep: 1, 'drop-me': 1 });

    const result = await apply(
      sharedConfig((s) => {
        s.policy.rules = [rule('new-5003', 'tcp/5003'), rule('keep', 'tcp/5001'), { ...rule('ping', 'icmp'), destination: ['0.0.0.0/0'] }];
        s.floatingIps = [
          { interface: 'lan', address: '10.0.1.1/24', owner: 0 },
          { interface: 'wan', address: '10.0.2.5/24', owner: 0 },
          { interface: 'wan', address: '10.0.2.1/24', owner: 0 },
        ];
      }),
    );
    expect(result).toMatchObject({ ok: true, sessionsRemoved: 1, restartRequired: [], ruleNames: ['new-5003', 'keep', 'ping'], natRuleNames: ['hide-lan'] });

    // the allowed connection goes on, still from 10.0.2.1 (its translation is kept)
    expect(await kept.ask('echo', 'echo')).toMatchObject({ ok: true });
    expect(await kept.ask('echo', 'echo')).toMatchObject({ ok: true });
    // the denied one is cut: its segments find no session
    expect(await dropped.ask('echo', 'echo', 8000)).toMatchObject({ ok: false });
    // new flows: the new rule lets 5003 through, 5002 is denied, and both allowed ones leave from
    // the new first floating IP of wan (which the dataplane now answers ARP for)
    const mark = server.lines.length;
    expect(connect(5003)).toMatchObject({ ok: true });
    expect(connect(5001)).toMatchObject({ ok: true });
    expect(connect(5002)).toMatchObject({ error: 'timeout' });
    // connect() blocks this process: the server's lines are read only now
    await server.waitFor((l) => l.type === 'conn' && l.port === 5001, 5000, mark);
    await server.waitFor((l) => l.type === 'conn' && l.port === 5003, 5000, mark);
    expect(remotes(5003, mark)).toEqual(['10.0.2.5']);
    expect(remotes(5001, mark)).toEqual(['10.0.2.5']);
    expect(remotes(5002, mark)).toEqual([]);

    const counters = (await h.ask('counters', 'counters')).data as Record<string, number>;
    expect(counters['policy-rematch']).toBe(1);
    expect(counters['tcp-no-session']).toBeGreaterThanOrEqual(1);
    expect(counters['policy-deny']).toBeGreaterThanOrEqual(2); // 5003 before, 5002 after
    // rule counters carried over by name into the new layout, and counting on
    const hitsAfter = (await h.ask('rules', 'rules')).data as Record<string, number>;
    expect(hitsAfter).toEqual({ 'new-5003': 1, keep: 2, ping: 0 });
    const sessions = (await h.ask('sessions', 'sessions')).data as { sessions: { original: { dstPort: number }; rule: string; reply: { dst: string } }[] };
    const byPort = sessions.sessions.filter((x) => x.original.dstPort === 5001).map((x) => [x.rule, x.reply.dst]);
    expect(byPort).toEqual(
      expect.arrayContaining([
        ['keep', '10.0.2.1'],
        ['keep', '10.0.2.5'],
      ]),
    );
  });

  it('a commit the dataplane cannot compile changes nothing: the live flow keeps passing under the old config', async () => {
    const kept = clients[0];
    const bad = sharedConfig((s) => {
      s.policy.rules = [];
      s.routes.push({ to: '192.168.0.0/16', via: '10.0.2.254', interface: 'dmz' });
    });
    const result = await apply(bad);
    expect(result.ok).toBe(false);
    expect(String(result.error)).toContain('dmz');
    expect(await kept.ask('echo', 'echo')).toMatchObject({ ok: true });
    expect(connect(5003)).toMatchObject({ ok: true });
    const counters = (await h.ask('counters', 'counters')).data as Record<string, number>;
    expect(counters['policy-rematch']).toBe(1);
  });
});
