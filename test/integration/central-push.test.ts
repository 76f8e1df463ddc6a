// tandem central pushing a config template to a real fleet (`lab up --pairs 2`, four daemons):
// a dry run shows each pair's diff and changes nothing; the push reaches every pair's active and
// passive (same version and hash, the pair's own variable in its rule) and the dataplane enforces
// it; a pair whose member does not answer is skipped and left untouched while the other is
// pushed; a config a box refuses is refused with its issues; every push is in the history.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ApiClient } from '../../src/api/client.js';
import type { EventsResponse, FleetResponse, PushResponse } from '../../src/central/protocol.js';
import { runCli } from '../../src/cli/program.js';
import { Lab, labDown, labUp, pairLabName, repoRoot, runDirOf } from '../../src/lab/lab.js';
import { eventually, startCentralProcess, writeInventory, type CentralProcess } from './helpers/central.js';
import { ensureBuilt, isRoot, uniqueLabName } from './helpers/lab.js';

const NAME = uniqueLabName('cp');
const PAIRS = [NAME, pairLabName(NAME, 2)];
const SITES = ['dc1', 'dc2'];
let config: string;
let central: CentralProcess | null = null;
const listeners: ChildProcess[] = [];

/** The lab policy with one deny rule first (so it wins for its port), named for the pair's site. */
function template(ruleName = 'block-${site}'): string {
  const lab = parse(readFileSync(join(runDirOf(NAME), 'fwa.yaml'), 'utf8')) as { shared: { policy: { rules: unknown[] } } };
  const block = { name: ruleName, from: ['trust'], to: ['untrust'], service: ['${port}'], action: 'deny' };
  return stringify({ variables: { port: 'tcp/5999' }, shared: { policy: { default: 'deny', rules: [block, ...lab.shared.policy.rules] } } });
}

async function push(file: string, ...args: string[]): Promise<{ code: number; res: PushResponse }> {
  let out = '';
  const code = await runCli(['central', 'push', '--template', file, '--json', ...args], {
    stdout: (t) => (out += t),
    stderr: () => undefined,
    env: { TANDEM_CENTRAL: central!.address, TANDEM_CENTRAL_TOKEN_FILE: join(config, '..', 'central.token') },
  });
  return { code, res: JSON.parse(out) as PushResponse };
}

/** Each member's running config (version, hash, rule names), through its own API. */
async function running(pair: string) {
  const token = readFileSync(join(runDirOf(pair), 'api.token'), 'utf8').trim();
  const st = await new Lab(pair).status();
  return Promise.all(
    (['fwa', 'fwb'] as const).map(async (b) => {
      const c = await new ApiClient({ url: st.boxes[b].api, token, timeoutMs: 3000 }).config();
      return { version: c.version, hash: c.hash, rules: c.shared.policy.rules.map((r) => r.name) };
    }),
  );
}

const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');

/** net-tool tcp-connect from the pair's client to its server's port 5999: ok, or the error (timeout: dropped). */
async function connect5999(pair: string): Promise<string> {
  const r = await new Lab(pair).nsExec('client', process.execPath, [TOOL, 'tcp-connect', '10.0.2.10', '5999']);
  const last = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { ok?: boolean; error?: string };
  return last.ok === true ? 'ok' : (last.error ?? 'nothing');
}

/** An echo server on each pair's server, port 5999 (stopped with the lab). */
async function listen5999(pair: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', new Lab(pair).ns('server'), process.execPath, TOOL, 'tcp-listen', '5999'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`tcp-listen exited (${code})`)));
  });
  return child;
}

async function fleetOk(): Promise<FleetResponse> {
  return eventually('both pairs ok', 20_000, async () => {
    const f = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
    return f.pairs.every((p) => p.health === 'ok') ? f : undefined;
  });
}

describe.skipIf(!isRoot())('central push to a fleet', () => {
  beforeAll(async () => {
    await ensureBuilt(['src/cli/main.js']);
    await labUp({ name: NAME, pairs: 2 });
    for (const pair of PAIRS) listeners.push(await listen5999(pair));
    const specs = await Promise.all(
      PAIRS.map(async (pair, i) => {
        const st = await new Lab(pair).status();
        const token = readFileSync(join(runDirOf(pair), 'api.token'), 'utf8').trim();
        return {
          name: pair,
          labels: { site: SITES[i] },
          variables: { site: SITES[i] },
          members: [
            { name: 'fwa', api: st.boxes.fwa.api, token },
            { name: 'fwb', api: st.boxes.fwb.api, token },
          ] as [{ name: string; api: string; token: string }, { name: string; api: string; token: string }],
        };
      }),
    );
    config = writeInventory(specs, { pollIntervalMs: 300, pollTimeoutMs: 250 });
    central = await startCentralProcess(config);
  }, 120_000);

  afterAll(async () => {
    for (const l of listeners) l.kill('SIGKILL');
    await central?.stop();
    await labDown({ name: NAME });
  });

  it('a dry run shows each diff and changes nothing; the push reaches both members of every pair', async () => {
    await fleetOk();
    const file = join(config, '..', 'fleet.yaml');
    writeFileSync(file, template());
    const before = await Promise.all(PAIRS.map(running));
    // before: the lab's policy lets the client reach port 5999 (the lab-test rule)
    expect(await Promise.all(PAIRS.map(connect5999))).toEqual(['ok', 'ok']);

    const dry = await push(file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.res.results.map((r) => [r.pair, r.outcome])).toEqual(PAIRS.map((p) => [p, 'dry-run']));
    expect(dry.res.results[1].diff.map((d) => d.path)).toContain('policy.rules[name=block-dc2]');
    expect(await Promise.all(PAIRS.map(running))).toEqual(before);

    const done = await push(file);
    expect(done.code, JSON.stringify(done.res)).toBe(0);
    expect(done.res.results.map((r) => [r.pair, r.outcome, r.inSync])).toEqual(PAIRS.map((p) => [p, 'committed', true]));
    for (const [i, pair] of PAIRS.entries()) {
      const [a, b] = await running(pair);
      expect(a.version).toBe(before[i][0].version + 1);
      expect(b).toEqual(a); // same version, hash and rules on the passive
      expect(a.rules[0]).toBe(`block-${SITES[i]}`);
    }
    // the rule is enforced: a TCP connection to the denied port is dropped by policy on each pair
    expect(await Promise.all(PAIRS.map(connect5999))).toEqual(['timeout', 'timeout']);
    // the same template again: nothing to do
    expect((await push(file)).res.results.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);
  });

  it('a pair with a member that does not answer is skipped and untouched; the other is pushed', async () => {
    await fleetOk();
    const file = join(config, '..', 'fleet2.yaml');
    writeFileSync(file, template('block2-${site}'));
    const second = new Lab(PAIRS[1]);
    const stopped = second.pid('fwb')!;
    const before = (await running(PAIRS[1]))[0];
    process.kill(stopped, 'SIGSTOP');
    try {
      await eventually('fwb of the second pair unreachable', 10_000, async () => {
        const f = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
        return f.pairs[1].members[1].reachable === false ? true : undefined;
      });
      const r = await push(file);
      expect(r.code).toBe(1);
      expect(r.res.results.map((x) => [x.pair, x.outcome])).toEqual([
        [PAIRS[0], 'committed'],
        [PAIRS[1], 'skipped'],
      ]);
      expect(r.res.results[1].reason).toMatch(/^fwb not reachable \(fwb: (timeout|unreachable)\)$/);
      // its active still runs what it ran (the stopped passive cannot answer: read the active alone)
      const token = readFileSync(join(runDirOf(PAIRS[1]), 'api.token'), 'utf8').trim();
      const st = await second.status();
      const active = await new ApiClient({ url: st.boxes.fwa.api, token, timeoutMs: 3000 }).config();
      expect([active.version, active.hash]).toEqual([before.version, before.hash]);
    } finally {
      process.kill(stopped, 'SIGCONT');
    }
  });

  it('a config the boxes refuse is refused with their issues, nothing committed; every push is in the history', async () => {
    await fleetOk();
    const file = join(config, '..', 'bad.yaml');
    writeFileSync(file, 'shared:\n  zones: { trust: [lan], untrust: [wan], dmz: [dmz] }\n');
    const before = await Promise.all(PAIRS.map(running));
    const r = await push(file);
    expect(r.code).toBe(1);
    expect(r.res.results.map((x) => x.outcome)).toEqual(['refused', 'refused']);
    expect(r.res.results[0].issues.map((i) => i.path)).toContain('shared.zones.dmz[0]');
    expect(await Promise.all(PAIRS.map(running))).toEqual(before);

    const ev = await central!.client.call<EventsResponse>('GET', '/v1/events?since=1h');
    const pushes = ev.events.filter((e) => e.kind === 'push').map((e) => [e.pair, e.detail?.outcome]);
    expect(pushes).toEqual(
      expect.arrayContaining([
        [PAIRS[0], 'committed'],
        [PAIRS[1], 'committed'],
        [PAIRS[1], 'skipped'],
        [PAIRS[0], 'refused'],
      ]),
    );
    const metrics = await (await fetch(`${central!.address}/metrics`)).text();
    expect(metrics).toMatch(/tandem_central_pushes_total\{result="committed"\} 3/);
    expect(metrics).toMatch(/tandem_central_pushes_total\{result="skipped"\} 1/);
  });
});
