// A real Prometheus (Debian's package) scrapes both lab daemons over the management network with
// the shipped alert rules loaded, and an operator failover shows up in its query API: the failover
// counter of the new active rises and tandem_ha_state{state="active"} moves from one instance to
// the other. Prometheus runs in fwa's namespace, which holds both ends of the mgmt veth.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { isRoot, upLab } from './helpers/lab.js';
import { cli, labConfigWith, waitState } from './helpers/daemon.js';

const TARGET = { fwa: '172.31.9.1:9481', fwb: '172.31.9.2:9481' } as const;
// fwa's namespace is fresh: nothing else listens on its loopback
const PROM_ADDR = '127.0.0.1:19090';

let lab: Lab | null = null;
let prom: ChildProcess | null = null;
const dirs: string[] = [];

afterEach(async () => {
  const p = prom;
  prom = null; // a stop we asked for is not worth its log
  if (p) await stopProcess(p);
  if (lab) await lab.down();
  lab = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function startPrometheus(l: Lab, dir: string): ChildProcess {
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [join(repoRoot(), 'deploy', 'prometheus', 'tandem-alerts.yml')],
      scrape_configs: [{ job_name: 'tandem', static_configs: [{ targets: [TARGET.fwa, TARGET.fwb], labels: { pair: 'lab' } }] }],
    }),
  );
  // `ip netns exec` execs Prometheus in place, so child.pid is Prometheus itself
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      l.ns('fwa'),
      'prometheus',
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${PROM_ADDR}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (prom === child) process.stderr.write(`prometheus exited (${code ?? signal}); last log:\n${log}\n`);
  });
  return child;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** GET on Prometheus's HTTP API from inside fwa's namespace (it listens on that namespace's loopback). */
async function promApi<T>(l: Lab, path: string, params: Record<string, string> = {}): Promise<T> {
  const url = `http://${PROM_ADDR}${path}?${new URLSearchParams(params).toString()}`;
  const { stdout } = await l.nsExec('fwa', 'curl', ['-sS', '--max-time', '5', url], { timeoutMs: 10_000 });
  const body = JSON.parse(stdout) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? stdout}`);
  return body.data;
}

async function query(l: Lab, expr: string): Promise<Sample[]> {
  return (await promApi<{ result: Sample[] }>(l, '/api/v1/query', { query: expr })).result;
}

/** The single value per instance of an instant query, as instance -> number. */
async function byInstance(l: Lab, expr: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await query(l, expr)) out[s.metric.instance] = Number(s.value[1]);
  return out;
}

describe.skipIf(!isRoot())('Prometheus scraping both daemons', () => {
  it('sees both targets up with the alert rules loaded, and an operator failover in its query API', async () => {
    const configDir = labConfigWith((cfg) => {
      (cfg.device as { metrics: { listen: string } }).metrics.listen = cfg.device.id === 0 ? TARGET.fwa : TARGET.fwb;
    });
    dirs.push(configDir);
    lab = await upLab({ configDir });
    await waitState(lab, 'fwa', 'active');
    await waitState(lab, 'fwb', 'passive');

    const promDir = mkdtempSync(join(tmpdir(), 'tandem-prom-'));
    dirs.push(promDir);
    prom = startPrometheus(lab, promDir);

    await lab.waitFor(
      async () => {
        const targets = await promApi<{ activeTargets: { labels: Record<string, string>; health: string }[] }>(lab!, '/api/v1/targets').catch(() => null);
        const up = targets?.activeTargets.filter((t) => t.health === 'up' && t.labels.job === 'tandem' && t.labels.pair === 'lab') ?? [];
        return up.length === 2;
      },
      30_000,
      'Prometheus to scrape both daemons',
    );
    const rules = await promApi<{ groups: { name: string; rules: unknown[] }[] }>(lab, '/api/v1/rules');
    expect(rules.groups.map((g) => g.name)).toContain('tandem-ha');

    // Prometheus's view before: fwa is the active instance
    await lab.waitFor(
      async () => {
        const a = await byInstance(lab!, 'tandem_ha_state{job="tandem",state="active"}');
        return a[TARGET.fwa] === 1 && a[TARGET.fwb] === 0;
      },
      15_000,
      'Prometheus to see fwa active and fwb not',
    );
    const failoversBefore = (await byInstance(lab, 'sum by (instance) (tandem_ha_failovers_total{job="tandem"})'))[TARGET.fwb] ?? 0;
    const beforeS = Date.now() / 1000;

    const r = await cli(lab, 'fwa', 'failover');
    expect(r.code, r.stderr).toBe(0);
    await waitState(lab, 'fwb', 'active');
    await waitState(lab, 'fwa', 'passive');

    // Prometheus's view after: the role moved to fwb, and fwb counted a failover
    await lab.waitFor(
      async () => {
        const a = await byInstance(lab!, 'tandem_ha_state{job="tandem",state="active"}');
        return a[TARGET.fwa] === 0 && a[TARGET.fwb] === 1;
      },
      15_000,
      'Prometheus to see fwb active and fwa not',
    );
    const failovers = await byInstance(lab, 'sum by (instance) (tandem_ha_failovers_total{job="tandem"})');
    expect(failovers[TARGET.fwb]).toBeGreaterThanOrEqual(1);
    expect(failovers[TARGET.fwb]).toBeGreaterThan(failoversBefore);

    // the stored series itself shows the move: each instance's active flag changed since before the failover
    const windowS = Math.ceil(Date.now() / 1000 - beforeS) + 2;
    const changes = await byInstance(lab, `changes(tandem_ha_state{job="tandem",state="active"}[${windowS}s])`);
    expect(changes[TARGET.fwa]).toBeGreaterThanOrEqual(1);
    expect(changes[TARGET.fwb]).toBeGreaterThanOrEqual(1);
    // the pair-wide rule expression sees exactly one active box
    const pairActive = await query(lab, 'sum by (pair) (tandem_ha_state{job="tandem",state="active"})');
    expect(pairActive.map((s) => [s.metric.pair, Number(s.value[1])])).toEqual([['lab', 1]]);
  }, 60_000);
});
