// bench/failover-gap: how long traffic stops when the active box fails, measured with real frames
// in the namespace lab, and whether a saturated dataplane causes false failovers.
//
//   npm run bench:failover-gap -- [--runs 5] [--modes kill,stop,cut] [--saturate-s 60]
//
// Per run: a fresh lab, a UDP probe every 1 ms from client to server through the floating IPs,
// 1.5 s of steady traffic, then the failure of the active box:
//   kill  kill -9 of its daemon (the peer sees its HA1 sessions closed by the kernel)
//   stop  SIGSTOP of its daemon (silent: the peer must miss heartbeats for the dead interval)
//   cut   every link of the box pulled (traffic and HA links: silent, like a dead switch port)
// then 1.5 s more. The gap is the longest silence at the receiver; lost = sent - received.
// False failovers: one lab, a UDP blaster saturating the active box's dataplane for --saturate-s,
// and every HA transition on either box during that time counted (there should be none).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Lab, labDown, labUp, repoRoot, type LabBox } from '../src/lab/lab.js';
import { startProbeReceiver, startProbeSender } from '../src/lab/traffic.js';

type Mode = 'kill' | 'stop' | 'cut';
const SERVER = '10.0.2.10';
const PROBE_PORT = 5001;
const BLAST_PORT = 5999;
const STEADY_MS = 1500;
const AFTER_MS = 1500;

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const runs = Number(argv.get('runs') ?? '5');
const modes = (argv.get('modes') ?? 'kill,stop,cut').split(',').filter((m) => m !== '') as Mode[];
const saturateS = Number(argv.get('saturate-s') ?? '60');
/** One blaster tops out near what the dataplane forwards; two make the dataplane the bottleneck. */
const blasters = Number(argv.get('blasters') ?? '2');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labName = () => `bf${randomBytes(3).toString('hex')}`;

interface RunResult {
  mode: Mode;
  gapMs: number;
  lost: number;
  sent: number;
  takeoverMs: number | null;
  newActive: string | null;
  reason: string | null;
}

async function oneRun(mode: Mode): Promise<RunResult> {
  const name = labName();
  await labUp({ name });
  const lab = new Lab(name);
  const repo = repoRoot();
  let frozenPid: number | null = null;
  try {
    const rx = await startProbeReceiver(lab.ns('server'), { repo, marker: lab.runDir, port: PROBE_PORT, outFile: join(lab.runDir, 'rx.json') });
    const tx = await startProbeSender(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:${PROBE_PORT}`, intervalMs: 1 });
    await sleep(STEADY_MS);
    const active: LabBox = (await lab.boxState('fwa'))?.state === 'active' ? 'fwa' : 'fwb';
    const other: LabBox = active === 'fwa' ? 'fwb' : 'fwa';
    const t0 = Date.now();
    if (mode === 'kill') await lab.killBox(active, 'SIGKILL');
    else if (mode === 'stop') frozenPid = await lab.killBox(active, 'SIGSTOP');
    else await lab.isolateBox(active, true);
    let takeoverMs: number | null = null;
    let reason: string | null = null;
    try {
      await lab.waitFor(async () => {
        const s = await lab.boxState(other, 500);
        reason = s?.reason ?? null;
        return s?.state === 'active';
      }, 5000, `${other} active`);
      takeoverMs = Date.now() - t0;
    } catch {
      // reported as no takeover
    }
    await sleep(AFTER_MS);
    const sent = await tx.stop();
    await sleep(100);
    const got = await rx.stop();
    return { mode, gapMs: got.maxGapMs, lost: sent.sent - got.received, sent: sent.sent, takeoverMs, newActive: takeoverMs === null ? null : other, reason };
  } finally {
    if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
    await labDown({ name });
  }
}

function scrape(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

function sum(text: string, family: string, label?: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family) || (label && !line.includes(label))) continue;
    if (line[family.length] !== '{' && line[family.length] !== ' ') continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function saturation(seconds: number): Promise<Record<string, number>> {
  const name = labName();
  await labUp({ name });
  const lab = new Lab(name);
  try {
    const sock = (box: LabBox) => join(lab.runDir, `${box}-metrics.sock`);
    const before = { a: await scrape(sock('fwa')), b: await scrape(sock('fwb')) };
    const outs = await Promise.all(
      Array.from({ length: blasters }, () => {
        const blaster = spawn('ip', ['netns', 'exec', lab.ns('client'), process.execPath, join(repoRoot(), 'dist', 'bench', 'blast.js'), '--to', `${SERVER}:${BLAST_PORT}`, '--duration-s', String(seconds)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        blaster.stdout.on('data', (d) => (out += d));
        return new Promise<string>((r) => blaster.once('close', () => r(out)));
      }),
    );
    const after = { a: await scrape(sock('fwa')), b: await scrape(sock('fwb')) };
    const transitions = sum(after.a, 'tandem_ha_transitions_total') - sum(before.a, 'tandem_ha_transitions_total') + sum(after.b, 'tandem_ha_transitions_total') - sum(before.b, 'tandem_ha_transitions_total');
    const forwarded = sum(after.a, 'tandem_dataplane_packets_total', 'event="forwarded"') - sum(before.a, 'tandem_dataplane_packets_total', 'event="forwarded"');
    const rx = sum(after.a, 'tandem_dataplane_packets_total', 'event="rx"') - sum(before.a, 'tandem_dataplane_packets_total', 'event="rx"');
    const sent = outs.reduce((n, out) => n + ((JSON.parse(out.trim().split('\n').pop() || '{}') as { sent?: number }).sent ?? 0), 0);
    return { seconds, blasters, sentPps: Math.round(sent / seconds), rxPps: Math.round(rx / seconds), forwardedPps: Math.round(forwarded / seconds), falseFailovers: transitions };
  } finally {
    await labDown({ name });
  }
}

function stats(xs: number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${f(s[0])} / ${f(med)} / ${f(s[s.length - 1])}`;
}

async function main(): Promise<void> {
  const results: RunResult[] = [];
  for (const mode of modes) {
    for (let i = 0; i < runs; i++) {
      const r = await oneRun(mode);
      results.push(r);
      console.error(`${mode} run ${i + 1}/${runs}: gap ${r.gapMs.toFixed(1)} ms, lost ${r.lost}/${r.sent}, takeover by API ${r.takeoverMs ?? 'none'} ms (${r.reason})`);
    }
  }
  const sat = saturateS > 0 ? await saturation(saturateS) : null;

  console.log('\nfailover gap (UDP probe every 1 ms, client -> server through the pair; aggressive profile)');
  console.log('failure        runs  gap ms min/median/max     lost probes min/median/max  takeover by API ms (median)');
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode);
    const label = { kill: 'kill -9', stop: 'SIGSTOP', cut: 'links cut' }[mode];
    const took = rs.map((r) => r.takeoverMs).filter((x): x is number => x !== null);
    console.log(
      `${label.padEnd(14)} ${String(rs.length).padEnd(5)} ${stats(rs.map((r) => r.gapMs)).padEnd(25)} ${stats(rs.map((r) => r.lost)).padEnd(27)} ${stats(took)}${took.length < rs.length ? ` (${rs.length - took.length} without takeover)` : ''}`,
    );
  }
  if (sat) {
    console.log(`\nsaturated dataplane for ${sat.seconds} s: ${sat.blasters} blasters, ${sat.sentPps} pps offered, active box received ${sat.rxPps} pps and forwarded ${sat.forwardedPps} pps; false failovers: ${sat.falseFailovers}`);
  }
  console.log(`\n${JSON.stringify({ results, saturation: sat })}`);
}

await main();
