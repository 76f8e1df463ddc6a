// IPv6 in active/active with real daemons and real frames (docs/active-active.md "IPv6"): client
// routes through device 0's floating link-local fe80::1, client2 through device 1's
// 2001:db8:1::4, and the server answers each through the other box, so every IPv6 flow is
// asymmetric and its answers cross HA3 to the session's owner (with the HA3 INSERT/ACK of the
// IPv6 session first). Each host's neighbour entry for its router is its class's MAC and stays so
// when the other box takes the class over: established IPv6 TCP connections of both clients
// survive a kill -9 of either box.
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabBox, type LabHost } from '../../src/lab/lab.js';
import { LAB_ADDR6 } from '../../src/lab/topology.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER6 = LAB_ADDR6.server;
const STREAM_PORT = 5406;
const CONNS = 20;
/** The lab's lan class MACs (group 1, lan is floating interface 1): device 0's and device 1's. */
const LAN_D0 = '02:74:64:01:01:01';
const LAN_D1 = '02:74:64:02:01:01';

let lab: Lab | null = null;
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function counter(l: Lab, box: LabBox, event: string): Promise<number> {
  const m = await scrape((await l.status()).boxes[box].metrics);
  return metricValue(m, 'tandem_dataplane_packets_total', { event }) ?? 0;
}

async function ping6(l: Lab, host: LabHost, to: string): Promise<boolean> {
  try {
    await l.nsExec(host, 'ping', ['-6', '-c', '3', '-i', '0.05', '-W', '1', to]);
    return true;
  } catch {
    return false;
  }
}

/** The host's neighbour entry (MAC) for its IPv6 router, after a ping that makes sure it exists. */
async function routerMac(l: Lab, host: LabHost, router: string): Promise<string | null> {
  await ping6(l, host, router.startsWith('fe80') ? `${router}%eth0` : router);
  const neigh = JSON.parse((await l.nsExec(host, 'ip', ['-6', '-j', 'neigh', 'show', 'dev', 'eth0'])).stdout) as { dst: string; lladdr?: string }[];
  return neigh.find((n) => n.dst === router)?.lladdr ?? null;
}

describe.skipIf(!isRoot())('active/active IPv6 in the lab', () => {
  it('asymmetric IPv6 flows of both clients cross HA3 to their owner and survive kill -9 of either box; routers keep their class MACs', async () => {
    lab = await upLab({ mode: 'active-active' });
    const l = lab;
    expect(await ping6(l, 'client', SERVER6)).toBe(true);
    expect(await ping6(l, 'client2', SERVER6)).toBe(true);
    // each host's router is answered with its class's MAC, by the box serving the class
    expect(await routerMac(l, 'client', LAB_ADDR6.linkLocal)).toBe(LAN_D0);
    expect(await routerMac(l, 'client2', LAB_ADDR6.floatingLan1)).toBe(LAN_D1);

    const repo = repoRoot();
    const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
    stops.push(() => srv.stop());
    const clients = await Promise.all(
      (['client', 'client2'] as const).map((host) =>
        startStreamClient(l.ns(host), { repo, marker: l.runDir, to: `[${SERVER6}]:${STREAM_PORT}`, conns: CONNS, intervalMs: 20 }),
      ),
    );
    for (const c of clients) stops.push(() => c.stop());
    for (const c of clients) expect(c.connected).toBe(CONNS);
    await sleep(1000);
    // every answer reached the box that does not own its session: both carried IPv6 to the owner
    for (const box of ['fwa', 'fwb'] as const) expect(await counter(l, box, 'to-owner')).toBeGreaterThan(50);
    // the first packets waited for the peer's ACK of the IPv6 session (HA3 INSERT of 112 bytes)
    expect((await counter(l, 'fwa', 'defer-acked')) + (await counter(l, 'fwb', 'defer-acked'))).toBeGreaterThan(0);

    // the primary dies: the secondary serves device 0's class too, from device 0's class MAC
    await l.killBox('fwa', 'SIGKILL');
    await waitState(l, 'fwb', 'active-primary', 5000);
    await sleep(1000);
    expect(await routerMac(l, 'client', LAB_ADDR6.linkLocal)).toBe(LAN_D0);
    expect(await ping6(l, 'client', SERVER6)).toBe(true);

    // the killed box rejoins, then the other box dies: fwa alone serves both classes
    await l.startBox('fwa');
    await waitState(l, 'fwa', 'active-secondary', 15_000);
    await sleep(1000);
    await l.killBox('fwb', 'SIGKILL');
    await waitState(l, 'fwa', 'active-primary', 5000);
    await sleep(1000);
    expect(await routerMac(l, 'client2', LAB_ADDR6.floatingLan1)).toBe(LAN_D1);

    for (const c of clients) {
      const summary = await c.stop();
      expect(summary.reset, JSON.stringify(summary.conns.filter((x) => x.error !== null).slice(0, 3))).toBe(0);
      expect(summary.survived).toBe(CONNS);
    }
  });
});
