// `tandem lab demo --pairs N` (issue 17): a fleet of N pairs (`lab up --pairs N`) and tandem
// central over it, then what an operator of many pairs does and sees:
//
//   1. the fleet view: every pair ok, from central's API (the page at /ui shows the same)
//   2. kill -9 of one pair's active: how long until central shows its passive active
//   3. a config template pushed to every pair: the failed-over pair is skipped (its killed box
//      is gone: never half-applied), the others committed on both members
//   4. the killed box restarted; the same push again: that pair committed, the others unchanged
//   5. central's merged timeline of it all
//
// Always a teardown (central, then every pair). Central runs as its own process (`tandem central
// run`) with its inventory in the first pair's run dir, so `lab down` stops it after a crash too.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ApiClient } from '../api/client.js';
import type { EventsResponse, FleetResponse, PushResponse } from '../central/protocol.js';
import { emptyFleetDemoResult, formatFleetDemo, type FleetDemoResult } from './demo-fleet-result.js';
import { Lab, labDown, labUp, pairLabName, runDirOf, type LabBox } from './lab.js';

export interface FleetDemoOptions {
  name: string;
  pairs: number;
  /** Progress lines and the table (default stderr). */
  out?: NodeJS.WritableStream;
}

const CENTRAL_TOKEN_BYTES = 32;
const SETTLE_TIMEOUT_MS = 30_000;
const SEEN_TIMEOUT_MS = 10_000;
/** The template's deny rule: a port the lab's policy allows (lab-test), so the change is visible. */
const TEMPLATE_PORT = 'tcp/5999';

interface Fleet {
  names: string[];
  central: { pid: number; address: string; client: ApiClient };
}

export async function labDemoFleet(opts: FleetDemoOptions): Promise<FleetDemoResult> {
  const out = opts.out ?? process.stderr;
  const say = (line: string): void => void out.write(`demo ${opts.name}: ${line}\n`);
  const result = emptyFleetDemoResult(opts.name, opts.pairs);
  try {
    const fleet = await bringUp(opts, say);
    await steps(fleet, result, say);
    result.ok = result.errors.length === 0;
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    result.ok = false;
  } finally {
    out.write(`\n${formatFleetDemo(result)}\n\n`);
    say('tearing down');
    await labDown({ name: opts.name, out }).catch((err: unknown) => say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`));
  }
  return result;
}

async function bringUp(opts: FleetDemoOptions, say: (line: string) => void): Promise<Fleet> {
  say(`building ${opts.pairs} pairs and starting ${2 * opts.pairs} daemons`);
  await labUp({ name: opts.name, pairs: opts.pairs, out: opts.out });
  const names = Array.from({ length: opts.pairs }, (_, i) => pairLabName(opts.name, i + 1));
  const config = await writeInventory(opts.name, names);
  const central = await startCentral(opts.name, config);
  say(
    `tandem central (pid ${central.pid}) watches them at ${central.address}; its fleet page: ${central.address}/ui (token: ${join(runDirOf(opts.name), 'central.token')})`,
  );
  return { names, central };
}

async function steps(fleet: Fleet, r: FleetDemoResult, say: (line: string) => void): Promise<void> {
  const c = fleet.central.client;
  const settled = await until(SETTLE_TIMEOUT_MS, async () => {
    const f = await c.call<FleetResponse>('GET', '/v1/fleet');
    return f.pairs.every((p) => p.health === 'ok') ? f : undefined;
  });
  r.before = rows(settled);
  say(`every pair ok in central's view: ${settled.pairs.map((p) => `${p.name} (${activeOf(p)} active)`).join(', ')}`);

  // 2. one pair fails over
  const victim = fleet.names[Math.min(1, fleet.names.length - 1)];
  const lab = new Lab(victim);
  const killed = (await lab.waitForPair(5000)).active;
  const survivor: LabBox = killed === 'fwa' ? 'fwb' : 'fwa';
  say(`kill -9 of ${victim}'s active ${killed}`);
  const t0 = Date.now();
  await lab.killBox(killed, 'SIGKILL');
  const seen = await until(SEEN_TIMEOUT_MS, async () => {
    const f = await c.call<FleetResponse>('GET', '/v1/fleet');
    const p = f.pairs.find((x) => x.name === victim);
    return p?.members.find((m) => m.name === survivor)?.state === 'active' ? f : undefined;
  });
  r.failover = { pair: victim, killed, survivor, seenMs: Date.now() - t0 };
  r.after = rows(seen);
  say(`central shows ${victim}'s ${survivor} active ${r.failover.seenMs} ms after the kill`);

  // 3. a template to every pair, the failed-over one skipped
  const template = fleetTemplate(fleet.names[0]);
  r.push = summary(await push(c, template));
  say(`push: ${r.push.map((x) => `${x.pair} ${x.outcome}`).join(', ')}`);
  for (const x of r.push) {
    const want = x.pair === victim ? 'skipped' : 'committed';
    if (x.outcome !== want) r.errors.push(`the push to ${x.pair} was ${x.outcome} (${x.reason}), expected ${want}`);
  }

  // 4. the killed box back; the same push reaches that pair now
  say(`restarting ${victim}'s ${killed}`);
  await lab.startBox(killed);
  await lab.waitForPair(20_000);
  await until(SETTLE_TIMEOUT_MS, async () => {
    const f = await c.call<FleetResponse>('GET', '/v1/fleet');
    return f.pairs.every((p) => p.health === 'ok') ? true : undefined;
  });
  r.repush = summary(await push(c, template));
  say(`push again: ${r.repush.map((x) => `${x.pair} ${x.outcome}`).join(', ')}`);
  for (const x of r.repush) {
    const want = x.pair === victim ? 'committed' : 'unchanged';
    if (x.outcome !== want) r.errors.push(`the second push to ${x.pair} was ${x.outcome} (${x.reason}), expected ${want}`);
    if (x.outcome === 'committed' && x.inSync !== true) r.errors.push(`${x.pair}: committed but not run by both members`);
  }

  // 5. the merged timeline
  const ev = await c.call<EventsResponse>('GET', '/v1/events?since=1h');
  r.timeline = ev.events
    .filter((e) => Date.parse(e.at) >= t0 - 1000)
    .map((e) => `${e.at.slice(11, 23)}  ${e.pair} ${e.member} ${e.kind}: ${e.from ?? '-'} -> ${e.to} (${e.reason})`);
}

/** The lab's policy with one deny rule first, named for the pair's site. */
function fleetTemplate(firstPair: string): string {
  const doc = parse(readFileSync(join(runDirOf(firstPair), 'fwa.yaml'), 'utf8')) as { shared?: { policy?: { rules?: unknown[] } } };
  const rules = doc.shared?.policy?.rules ?? [];
  const block = { name: 'fleet-block-${site}', from: ['trust'], to: ['untrust'], service: [TEMPLATE_PORT], action: 'deny' };
  return stringify({ shared: { policy: { default: 'deny', rules: [block, ...rules] } } });
}

async function push(c: ApiClient, template: string): Promise<PushResponse> {
  return c.call<PushResponse>('POST', '/v1/push', { template, source: 'fleet-template.yaml' });
}

function summary(r: PushResponse): FleetDemoResult['push'] {
  return r.results.map((x) => ({ pair: x.pair, outcome: x.outcome, member: x.member, version: x.version, inSync: x.inSync, reason: x.reason }));
}

function rows(f: FleetResponse): FleetDemoResult['before'] {
  return f.pairs.map((p) => ({
    pair: p.name,
    site: p.labels.site ?? '-',
    health: p.health,
    members: p.members.map((m) => `${m.name} ${m.reachable === false ? 'unreachable' : (m.state ?? '?')}`).join(', '),
    config: p.configVersion,
  }));
}

function activeOf(p: FleetResponse['pairs'][number]): string {
  return p.members.find((m) => m.state === 'active' || m.state === 'active-primary')?.name ?? 'none';
}

/** Central's inventory in the first pair's run dir: every pair, site dc1..dcN as label and variable. */
async function writeInventory(name: string, names: string[]): Promise<string> {
  const dir = runDirOf(name);
  const secret = (file: string, text: string): string => {
    writeFileSync(join(dir, file), `${text}\n`, { mode: 0o600 });
    chmodSync(join(dir, file), 0o600);
    return file;
  };
  const pairs = await Promise.all(
    names.map(async (pair, i) => {
      const st = await new Lab(pair).status();
      const site = `dc${i + 1}`;
      return {
        name: pair,
        labels: { site },
        variables: { site },
        members: (['fwa', 'fwb'] as const).map((b) => ({ name: b, api: st.boxes[b].api, tokenFile: join(runDirOf(pair), 'api.token') })),
      };
    }),
  );
  const doc = {
    listen: '127.0.0.1:0',
    tokenFile: secret('central.token', randomBytes(CENTRAL_TOKEN_BYTES).toString('hex')),
    database: 'central.db',
    pollIntervalMs: 500,
    pollTimeoutMs: 400,
    pairs,
  };
  writeFileSync(join(dir, 'central.yaml'), stringify(doc), { mode: 0o600 });
  return join(dir, 'central.yaml');
}

/** `tandem central run` in the background, its PID in the run dir (lab down stops it); resolves with its API address. */
async function startCentral(name: string, config: string): Promise<Fleet['central']> {
  const dir = runDirOf(name);
  const child = spawn(process.execPath, [join(new Lab(name).repo, 'bin', 'tandem.js'), 'central', 'run', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  writeFileSync(join(dir, 'central.pid'), `${child.pid}\n`, { mode: 0o600 });
  let log = '';
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tandem central did not start within 10 s: ${log.slice(-500)}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
      const m = /"address":"(https?:\/\/[^"]+)"[^\n]*central API listening/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tandem central exited (${code}): ${log.slice(-500)}`));
    });
  });
  // its log goes on being read (a full pipe would stall it) and is dropped
  child.stdout.resume();
  const token = readFileSync(join(dir, 'central.token'), 'utf8').trim();
  return { pid: child.pid!, address, client: new ApiClient({ url: address, token, timeoutMs: 60_000 }) };
}

/** Polls `fn` every 200 ms until it gives a value; throws after `ms`. */
async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`not within ${ms} ms${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
