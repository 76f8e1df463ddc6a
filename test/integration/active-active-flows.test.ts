// Active/active in the lab, flow by flow: TCP, UDP and ICMP set up through either box and answered
// through the other (client through device 0, client2 through device 1, the server answering each
// through the other box), and established TCP and UDP flows of both clients through a SIGSTOP
// and an every-cable cut, of the primary and of the secondary, and a kill -9 of the secondary
// (kill -9 of the primary and its rejoin are active-active.test.ts's).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabBox, type LabHost } from '../../src/lab/lab.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { ping, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');
const CLIENTS = ['client', 'client2'] as const;

let lab: Lab | null = null;
const children: ChildProcess[] = [];
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  for (const c of children.splice(0)) c.kill('SIGKILL');
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** net-tool in a namespace, run to its end: its last JSON line. */
async function tool(l: Lab, ns: LabHost, ...args: string[]): Promise<Record<string, any>> {
  const r = await l.nsExec(ns, process.execPath, [TOOL, ...args]);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

/** net-tool started in a namespace; resolves once it printed ready. `done()` sends SIGTERM and resolves with its last line. */
function start(l: Lab, ns: LabHost, ...args: string[]): Promise<{ done: () => Promise<Record<string, any>> }> {
  const child = spawn('ip', ['netns', 'exec', l.ns(ns), process.execPath, TOOL, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: Record<string, any>[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
        if (lines.length === 1) {
          resolve({
            done: () =>
              new Promise((res) => {
                child.once('exit', () => res(lines[lines.length - 1]));
                child.kill('SIGTERM');
              }),
          });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`net-tool ${args[0]} exited (${code}) before it was ready`)));
  });
}

/** A dataplane event counter of a box, from its metrics. */
async function counter(l: Lab, box: LabBox, event: string): Promise<number> {
  const m = await scrape((await l.status()).boxes[box].metrics);
  return metricValue(m, 'tandem_dataplane_packets_total', { event }) ?? 0;
}

describe.skipIf(!isRoot())('active/active flows in the lab', () => {
  it('TCP, UDP and ICMP set up through either box are answered through the other, over HA3 to the owner', async () => {
    lab = await upLab({ mode: 'active-active' });
    const l = lab;
    const udp = await start(l, 'server', 'udp-listen', '5353');
    const tcp = await start(l, 'server', 'tcp-listen', '5021');
    stops.push(
      () => udp.done(),
      () => tcp.done(),
    );
    const before = { fwa: await counter(l, 'fwa', 'to-owner'), fwb: await counter(l, 'fwb', 'to-owner') };
    const setupBefore = { fwa: await counter(l, 'fwa', 'setup-local'), fwb: await counter(l, 'fwb', 'setup-local') };
    for (const host of CLIENTS) {
      expect(await ping(l, SERVER, 3, host), `${host}: ping`).toBe(true);
      expect(await tool(l, host, 'udp-send', SERVER, '5353'), `${host}: UDP`).toMatchObject({ ok: true });
      expect(await tool(l, host, 'tcp-connect', SERVER, '5021'), `${host}: TCP`).toMatchObject({ ok: true });
    }
    // each box set its own client's three flows up, and carried the other box's answers to it:
    // at least the echo replies, the UDP answer, the SYN-ACK and the echoed data of each
    for (const box of ['fwa', 'fwb'] as const) {
      expect((await counter(l, box, 'setup-local')) - setupBefore[box], `${box} setup-local`).toBeGreaterThanOrEqual(3);
      expect((await counter(l, box, 'to-owner')) - before[box], `${box} to-owner`).toBeGreaterThanOrEqual(3 + 1 + 2);
    }
  });

  it('established TCP and UDP flows of both clients survive SIGSTOP and every cable cut, of the primary and of the secondary, and kill -9 of the secondary', async () => {
    lab = await upLab({ mode: 'active-active' });
    const l = lab;
    const repo = repoRoot();
    const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: 5022 });
    stops.push(() => srv.stop());
    const echo = await start(l, 'server', 'udp-listen', '5354');
    stops.push(() => echo.done());
    const streams = await Promise.all(
      CLIENTS.map((host) => startStreamClient(l.ns(host), { repo, marker: l.runDir, to: `${SERVER}:5022`, conns: 20, intervalMs: 20 })),
    );
    for (const s of streams) stops.push(() => s.stop());
    const udp = await Promise.all(CLIENTS.map((host) => start(l, host, 'udp-stream', SERVER, '5354', '5')));
    await sleep(500);

    // the primary (fwa) stopped, then its cables: the secondary takes the primary role each time,
    // and the box that comes back rejoins as the secondary
    const failures: [LabBox, 'stop' | 'cut' | 'kill'][] = [
      ['fwa', 'stop'],
      ['fwb', 'cut'],
      // now fwa is the primary again: the secondary (fwb) stopped, cut, then killed
      ['fwb', 'stop'],
      ['fwb', 'cut'],
      ['fwb', 'kill'],
    ];
    for (const [box, how] of failures) {
      const other: LabBox = box === 'fwa' ? 'fwb' : 'fwa';
      if (how === 'stop') await l.killBox(box, 'SIGSTOP');
      else if (how === 'kill') await l.killBox(box, 'SIGKILL');
      else await l.setLink(box, 'all', false);
      await waitState(l, other, 'active-primary', 5000);
      await sleep(1500);
      if (how === 'stop') await l.killBox(box, 'SIGCONT');
      else if (how === 'kill') await l.startBox(box);
      else await l.setLink(box, 'all', true);
      await waitState(l, box, 'active-secondary', 15_000);
      await sleep(1000);
    }

    // the owner checks the TCP window (tcp-window.ts); a session the peer forwarded while it
    // took this box for down is checked with the synced slack until seen again: nothing refused
    for (const box of ['fwa', 'fwb'] as const) {
      const m = await scrape((await l.status()).boxes[box].metrics);
      expect(metricValue(m, 'tandem_dataplane_drops_total', { reason: 'tcp-out-of-window' }) ?? 0, `${box} tcp-out-of-window`).toBe(0);
    }
    for (const s of streams) {
      const summary = await s.stop();
      expect(summary.reset, JSON.stringify(summary.conns.filter((x) => x.error !== null).slice(0, 3))).toBe(0);
      expect(summary.survived).toBe(20);
    }
    for (const [i, u] of udp.entries()) {
      const r = await u.done();
      // every failure lasted 1.5 s at least: a gap shorter than that is the survivor's takeover
      expect(r.maxGapMs, `${CLIENTS[i]}: ${JSON.stringify(r)}`).toBeLessThan(800);
      expect(r.echoed / r.sent, `${CLIENTS[i]}: ${JSON.stringify(r)}`).toBeGreaterThan(0.9);
    }
  });
});
