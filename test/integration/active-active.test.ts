// Active/active in the lab (docs/active-active.md): both boxes forward, client through device 0 and
// client2 through device 1, the server answering each through the other box, so every flow is
// asymmetric and its answers cross HA3 to the session's owner. TCP streams from both clients must
// survive a kill -9 of the primary, its rejoin through tentative, and a kill -9 of the other box.
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabBox } from '../../src/lab/lab.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { labConfigWith, ping, waitState } from './helpers/daemon.js';
import { rmSync } from 'node:fs';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const STREAM_PORT = 5020;
const CONNS = 50;

let lab: Lab | null = null;
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A dataplane counter of a box, from its metrics. */
async function counter(l: Lab, box: LabBox, event: string): Promise<number> {
  const m = await scrape((await l.status()).boxes[box].metrics);
  return metricValue(m, 'tandem_dataplane_packets_total', { event }) ?? 0;
}

describe.skipIf(!isRoot())('active/active in the lab', () => {
  it('both boxes forward asymmetric flows over HA3; connections survive kill -9 of either box and a rejoin through tentative', async () => {
    lab = await upLab({ mode: 'active-active' });
    const l = lab;
    expect((await l.boxState('fwa'))?.state).toBe('active-primary');
    expect((await l.boxState('fwb'))?.state).toBe('active-secondary');
    expect(await ping(l, SERVER)).toBe(true);
    expect(await ping(l, SERVER, 3, 'client2')).toBe(true);

    const repo = repoRoot();
    const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
    stops.push(() => srv.stop());
    const clients = await Promise.all(
      (['client', 'client2'] as const).map((host) =>
        startStreamClient(l.ns(host), { repo, marker: l.runDir, to: `${SERVER}:${STREAM_PORT}`, conns: CONNS, intervalMs: 20 }),
      ),
    );
    for (const c of clients) stops.push(() => c.stop());
    for (const c of clients) expect(c.connected).toBe(CONNS);
    await sleep(1000);
    // every answer reached the box that does not own its session: both carried packets to the owner
    for (const box of ['fwa', 'fwb'] as const) expect(await counter(l, box, 'to-owner')).toBeGreaterThan(100);

    // the primary dies: the secondary takes the primary role, device 0's addresses and sessions
    await l.killBox('fwa', 'SIGKILL');
    const b = await waitState(l, 'fwb', 'active-primary', 5000);
    expect(['peer-closed', 'peer-dead']).toContain(b.reason);
    await sleep(1000);

    // the killed box rejoins through tentative and forwards again as the secondary
    await l.startBox('fwa');
    await waitState(l, 'fwa', 'active-secondary', 15_000);
    const joined = (await l.api('fwa').status()).transitions.map((t) => `${t.from}->${t.to}`);
    expect(joined).toContain('initial->tentative');
    expect(joined).toContain('tentative->active-secondary');
    await sleep(1000);

    // and the other box dies: fwa is primary alone
    await l.killBox('fwb', 'SIGKILL');
    await waitState(l, 'fwa', 'active-primary', 5000);
    await sleep(1000);

    for (const c of clients) {
      const summary = await c.stop();
      expect(summary.reset, JSON.stringify(summary.conns.filter((x) => x.error !== null).slice(0, 3))).toBe(0);
      expect(summary.survived).toBe(CONNS);
    }
  });

  it('source NAT on both boxes at once: each device hands out ports of its own half of one shared address, never the same', async () => {
    // client's flows are set up by device 0 (even source), client2's by device 1; both hide behind
    // 10.0.2.9, which the primary answers for (owner primary): answers for device 1's sessions cross HA3
    const dir = labConfigWith((cfg) => {
      cfg.shared.floatingIps.push({ interface: 'wan', address: '10.0.2.9/24', owner: 'primary' });
      cfg.shared.nat = [0, 1].map((bind) => ({
        name: `hide-${bind}`,
        from: ['trust'],
        to: ['untrust'],
        source: ['10.0.1.0/24'],
        translate: { source: '10.0.2.9', bind },
      }));
    }, 'active-active');
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    lab = await upLab({ mode: 'active-active', configDir: dir });
    const l = lab;
    const repo = repoRoot();
    const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
    stops.push(() => srv.stop());
    const clients = await Promise.all(
      (['client', 'client2'] as const).map((host) =>
        startStreamClient(l.ns(host), { repo, marker: l.runDir, to: `${SERVER}:${STREAM_PORT}`, conns: 200, intervalMs: 50 }),
      ),
    );
    for (const c of clients) stops.push(() => c.stop());
    for (const c of clients) expect(c.connected).toBe(200);
    // what the server sees on the wire: the peers of its established connections. A handshake
    // whose last ACK was lost (a daemon frozen a moment on a loaded machine: counted as ring-full)
    // completes with the client's first data, 50 ms later: wait for all 400
    let peers: string[] = [];
    await l.waitFor(
      async () => {
        const ss = await l.nsExec('server', 'ss', ['-Htn', 'state', 'established', `( sport = :${STREAM_PORT} )`]);
        peers = ss.stdout
          .split('\n')
          .map((line) => line.trim().split(/\s+/).pop() ?? '')
          .filter((p) => p !== '');
        return peers.length >= 400;
      },
      5000,
      'the server to hold 400 established connections',
    );
    expect(peers).toHaveLength(400);
    expect(new Set(peers).size).toBe(400);
    const ports = peers.map((p) => {
      // 10.0.2.9:PORT, or [::ffff:10.0.2.9]:PORT from a dual-stack listener
      const m = /(\d+\.\d+\.\d+\.\d+)\]?:(\d+)$/.exec(p);
      expect(m?.[1], p).toBe('10.0.2.9');
      return Number(m?.[2]);
    });
    // device 0's half is 1024-33279, device 1's 33280-65535 (src/dataplane/owner.ts natPortRange)
    expect(ports.filter((p) => p >= 1024 && p <= 33279)).toHaveLength(200);
    expect(ports.filter((p) => p >= 33280)).toHaveLength(200);
    await sleep(500);
    for (const c of clients) {
      const summary = await c.stop();
      const why = JSON.stringify(summary.conns.filter((x) => !x.survived).slice(0, 3));
      expect(summary.reset, why).toBe(0);
      expect(summary.survived, why).toBe(200);
    }
  });

  it('an HA3 cut is counted and survived: no role moves, no daemon dies, traffic that must cross waits and resumes when it returns', async () => {
    lab = await upLab({ mode: 'active-active' });
    const l = lab;
    expect(await ping(l, SERVER)).toBe(true);
    const pids = [l.pid('fwa'), l.pid('fwb')];
    await l.setLink('fwa', 'ha3', false);
    // past HA3_SILENT_MS (1 s): packets for the peer's sessions are dropped as ha3-down, not sent into a dead link
    await sleep(1500);
    // the client's answers come back through fwb and must cross to fwa, the owner
    expect(await ping(l, SERVER, 3)).toBe(false);
    const status = await l.api('fwb').status();
    const dp = (status as unknown as { dataplane?: { activeActive?: { ha3: { hearsPeer: boolean } } } }).dataplane;
    expect(dp?.activeActive?.ha3.hearsPeer).toBe(false);
    const m = await scrape((await l.status()).boxes.fwb.metrics);
    expect(metricValue(m, 'tandem_dataplane_drops_total', { reason: 'ha3-down' }) ?? 0).toBeGreaterThan(0);
    // HA1 still hears the peer: the roles stay where they were, both daemons run
    expect((await l.boxState('fwa'))?.state).toBe('active-primary');
    expect((await l.boxState('fwb'))?.state).toBe('active-secondary');
    expect([l.pid('fwa'), l.pid('fwb')]).toEqual(pids);
    await l.setLink('fwa', 'ha3', true);
    await l.waitFor(() => ping(l, SERVER, 1), 5000, 'ping through the pair again');
  });
});
