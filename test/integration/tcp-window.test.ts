// TCP window tracking in real daemons (issue 15): an established connection client -> server
// through the pair (source NAT to 10.0.2.1) survives resets with wrong sequence numbers sent from
// the server's namespace with a raw socket (dropped and counted as tcp-out-of-window on the
// active); a failover keeps it flowing with no tcp-out-of-window on the survivor, which still
// drops a blind reset; a reset at the exact next sequence (read from a tcpdump in the server
// namespace) kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const NAT_ADDRESS = '10.0.2.1';
/** The policy's lab-test rule allows tcp/5000-5999. */
const PORT = 5201;
const FIXTURES = join(repoRoot(), 'test', 'integration', 'fixtures');
const BLIND = 5;

let lab: Lab;
const children: ChildProcess[] = [];

type Box = 'fwa' | 'fwb';
async function active(): Promise<Box> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}
const outOfWindow = async (box: Box) =>
  metricValue(await scrape(boxListeners(lab, box).metrics), 'tandem_dataplane_drops_total', { reason: 'tcp-out-of-window' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process in a namespace whose stdout lines are collected (JSON, or raw text). */
function run(ns: 'client' | 'server', cmd: string, args: string[], json = true) {
  const child = spawn('ip', ['netns', 'exec', lab.ns(ns), cmd, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: any[] = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(json ? JSON.parse(line) : line);
    }
  });
  return { child, lines };
}

/** Crafted segments from the server toward the NAT address (tcp-inject.py); its JSON answer. */
async function inject(natPort: number, seq: string, count: number): Promise<{ sent: number; seqs: number[] }> {
  const args = ['--src', SERVER, '--dst', NAT_ADDRESS, '--sport', String(PORT), '--dport', String(natPort), '--seq', seq, '--count', String(count)];
  const r = await lab.nsExec('server', '/usr/bin/python3', [join(FIXTURES, 'tcp-inject.py'), ...args], { timeoutMs: 10_000 });
  return JSON.parse(r.stdout.trim());
}

describe.skipIf(!isRoot())('TCP window tracking through the pair', () => {
  let hold: ReturnType<typeof run>;
  let dump: ReturnType<typeof run>;
  let natPort = 0;

  /** Segments the server sent to the NAT address and port: [start, end) of each, as tcpdump -S prints them. */
  const serverSegments = (port = natPort): [number, number][] =>
    dump.lines
      .filter((l: string) => l.includes(`> ${NAT_ADDRESS}.${port}:`))
      .map((l: string) => /seq (\d+):(\d+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [Number(m[1]), Number(m[2])]);
  const closed = (h = hold) => h.lines.find((l) => l.closed !== undefined)?.closed;
  /** The connection still carries data: new segments from the server within 3 s. */
  const flows = async (h = hold, port = natPort) => {
    const n = serverSegments(port).length;
    await lab.waitFor(async () => serverSegments(port).length >= n + 3, 3000, 'the server keeps answering');
    expect(closed(h)).toBeUndefined();
  };
  /** The NAT port of a connection the server answers after `known` ports were seen. */
  const newPort = (known: number[]) => {
    for (const l of dump.lines as string[]) {
      const m = new RegExp(`> ${NAT_ADDRESS.replace(/\./g, '\\.')}\\.(\\d+):`).exec(l);
      if (m !== null && !known.includes(Number(m[1]))) return Number(m[1]);
    }
    return 0;
  };

  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('tw') });
    const srv = run('server', process.execPath, [join(FIXTURES, 'net-tool.mjs'), 'tcp-listen', String(PORT)]);
    await lab.waitFor(async () => srv.lines.some((l) => l.ready), 5000, 'echo server ready');
    dump = run('server', 'tcpdump', ['-i', 'any', '-n', '-S', '-l', `tcp and src port ${PORT} and dst host ${NAT_ADDRESS}`], false);
    await sleep(1000);
    hold = run('client', process.execPath, [join(FIXTURES, 'tcp-hold.mjs'), SERVER, String(PORT), '100', '150000']);
    await lab.waitFor(async () => hold.lines.some((l) => l.ready), 5000, 'connection established');
    await lab.waitFor(async () => newPort([]) > 0, 5000, 'tcpdump sees the server answer');
    natPort = newPort([]);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
  });

  it('blind resets toward the NAT address are dropped and counted on the active; the connection survives', async () => {
    const box = await active();
    const before = await outOfWindow(box);
    const r = await inject(natPort, 'random', BLIND);
    expect(r.sent).toBe(BLIND);
    await flows();
    expect((await outOfWindow(box)) - before).toBeGreaterThanOrEqual(BLIND);
    process.stderr.write(`tcp-window: ${BLIND} blind resets (${r.seqs.join(', ')}) dropped on ${box}; ${serverSegments().length} server segments so far\n`);
  });

  it('after a failover the connection still flows (no tcp-out-of-window on the survivor), and a blind reset is still dropped', async () => {
    const from = await active();
    const to: Box = from === 'fwa' ? 'fwb' : 'fwa';
    const before = await outOfWindow(to);
    await lab.api(from).failover();
    await lab.waitFor(async () => (await lab.boxState(to))?.state === 'active', 10_000, `${to} active`);
    await flows();
    await sleep(1000);
    await flows();
    expect((await outOfWindow(to)) - before).toBe(0);
    const r = await inject(natPort, 'random', BLIND);
    await flows();
    expect((await outOfWindow(to)) - before).toBeGreaterThanOrEqual(BLIND);
    process.stderr.write(`tcp-window: after failover ${from} -> ${to}, flowing; ${r.sent} blind resets dropped by ${to}\n`);
  });

  it('a reset at the exact next sequence number kills the connection', async () => {
    hold.child.kill('SIGUSR1'); // no more data: the server's next sequence stays put
    await sleep(800);
    const segs = serverSegments();
    const next = segs[segs.length - 1][1];
    // one below the next sequence is in window for the pair, but not the exact one a Linux
    // receiver takes (RFC 5961: it answers with a challenge ACK): the connection lives on
    await inject(natPort, String((next - 1) >>> 0), 1);
    await sleep(500);
    expect(closed()).toBeUndefined();
    await inject(natPort, String(next), 1);
    await lab.waitFor(async () => closed() !== undefined, 3000, 'the client sees the reset');
    expect(closed()).toBe('ECONNRESET');
  });

  it('after kill -9 of the active a new connection still flows on the survivor, which drops a blind reset', async () => {
    const h2 = run('client', process.execPath, [join(FIXTURES, 'tcp-hold.mjs'), SERVER, String(PORT), '100', '60000']);
    await lab.waitFor(async () => h2.lines.some((l) => l.ready), 5000, 'second connection established');
    await lab.waitFor(async () => newPort([natPort]) > 0, 5000, 'tcpdump sees the second connection');
    const port2 = newPort([natPort]);
    await sleep(1500); // synced to the passive, and well past its handshake
    const from = await active();
    const to: Box = from === 'fwa' ? 'fwb' : 'fwa';
    const before = await outOfWindow(to);
    await lab.killBox(from, 'SIGKILL');
    await lab.waitFor(async () => (await lab.boxState(to))?.state === 'active', 10_000, `${to} active`);
    await flows(h2, port2);
    await sleep(1000);
    await flows(h2, port2);
    expect((await outOfWindow(to)) - before).toBe(0);
    await inject(port2, 'random', BLIND);
    await flows(h2, port2);
    expect((await outOfWindow(to)) - before).toBeGreaterThanOrEqual(BLIND);
    process.stderr.write(`tcp-window: after kill -9 of ${from}, ${to} carries the connection; ${BLIND} blind resets dropped\n`);
  });
});
