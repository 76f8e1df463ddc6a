// ARP load sharing in the active/active lab (docs/active-active.md "ARP load sharing"): client
// (10.0.1.10, even) and client2 (10.0.1.11, odd) both use one shared gateway, 10.0.1.9, owner
// shared, split by ip-modulo. With both boxes up each client's ARP entry holds its own device's
// MAC and its traffic goes to that box; when fwb dies, fwa answers for both and the switch learns
// device 1's MAC on fwa (its probe), so client2 keeps its entry and its connections; when fwb
// rejoins and takes its class back, the switch moves the MAC back and the split is as before.
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { repoRoot, type Lab, type LabBox } from '../../src/lab/lab.js';
import type { LabHost } from '../../src/lab/topology.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { ExecError } from '../../src/lab/exec.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { labConfigWith, ping, waitState } from './helpers/daemon.js';

const SERVER = '10.0.2.10';
const SHARED_GW = '10.0.1.9';
const STREAM_PORT = 5021;
const CONNS = 30;
/** The lan class MACs of group 1 (lan is the first interface with floating IPs): 02:74:64:<c>:01:01. */
const LAN_D0 = '02:74:64:01:01:01';
const LAN_D1 = '02:74:64:02:01:01';
const CLIENTS: readonly LabHost[] = ['client', 'client2'];

let lab: Lab | null = null;
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The MAC in `host`'s ARP entry for the shared gateway (null: none). */
async function gatewayMac(l: Lab, host: LabHost): Promise<string | null> {
  const out = await l.nsExec(host, 'ip', ['-j', 'neigh', 'show', SHARED_GW, 'dev', 'eth0']);
  const entries = JSON.parse(out.stdout || '[]') as { lladdr?: string }[];
  return entries[0]?.lladdr ?? null;
}

/** The lab switch's port for `mac` on the lan bridge (a-lan: fwa, b-lan: fwb), from its forwarding table. */
async function switchPort(l: Lab, mac: string): Promise<string | null> {
  const out = await l.nsExec('sw', 'bridge', ['-j', 'fdb', 'show', 'br', 'lan']);
  const entries = JSON.parse(out.stdout || '[]') as { mac: string; ifname: string; flags?: string[] }[];
  return entries.find((e) => e.mac === mac && !(e.flags ?? []).includes('self'))?.ifname ?? null;
}

/** The sessions each device owns, as box `box` sees them (GET /v1/status dataplane.activeActive). */
async function sessionsOwned(l: Lab, box: LabBox): Promise<[number, number]> {
  const status = (await l.api(box).status()) as unknown as { dataplane?: { activeActive?: { sessionsOwned: [number, number] } } };
  return status.dataplane?.activeActive?.sessionsOwned ?? [0, 0];
}

/** `count` pings 10 ms apart from `host`: how many were answered (a run with none answered counts 0). */
async function pingRun(l: Lab, host: LabHost, count: number): Promise<{ sent: number; received: number }> {
  let stdout: string;
  try {
    stdout = (await l.nsExec(host, 'ping', ['-c', String(count), '-i', '0.01', '-W', '1', SERVER], { timeoutMs: 60_000 })).stdout;
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    stdout = err.stdout;
  }
  const m = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
  return { sent: Number(m?.[1] ?? count), received: Number(m?.[2] ?? 0) };
}

/** The pair as it stands, for a failure's message: states, transitions, what each box serves and counted. */
async function pairNow(l: Lab): Promise<string> {
  const out: string[] = [];
  for (const box of ['fwa', 'fwb'] as const) {
    try {
      const st = (await l.api(box).status()) as unknown as {
        transitions: { from: string; to: string; reason: string }[];
        dataplane?: { floatingIps: { address: string; class: string | null; served: boolean }[] };
      };
      const served = (st.dataplane?.floatingIps ?? []).filter((f) => f.served).map((f) => f.address);
      const moves = st.transitions.map((t) => `${t.from}->${t.to} (${t.reason})`).join(', ');
      out.push(`${box}: ${moves}; serves ${served.join(' ')}`);
    } catch (err) {
      out.push(`${box}: ${String(err)}`);
    }
  }
  return out.join(' | ');
}

/** Pings the server from `host` (3, as ping() does); on failure the message says where the pair stands. */
async function expectPing(l: Lab, host: LabHost): Promise<void> {
  if (await ping(l, SERVER, 3, host)) return;
  expect.fail(`${host} cannot reach the server; gateway MAC ${await gatewayMac(l, host)}; ${await pairNow(l)}`);
}

/**
 * Waits (at most 2 s: an announcement is a few ms) until the switch has `mac` on `port`; fails
 * with where it is and where the pair stands.
 */
async function expectPort(l: Lab, mac: string, port: string): Promise<void> {
  try {
    await l.waitFor(async () => (await switchPort(l, mac)) === port, 2000, `${mac} on ${port}`);
  } catch {
    expect.fail(`the switch has ${mac} on ${await switchPort(l, mac)}, not ${port}; ${await pairNow(l)}`);
  }
}

/** The MAC `host` holds for the shared gateway is `mac`, or the failure says where the pair stands. */
async function expectGatewayMac(l: Lab, host: LabHost, mac: string): Promise<void> {
  const got = await gatewayMac(l, host);
  if (got !== mac) expect.fail(`${host} holds ${got} for ${SHARED_GW}, not ${mac}; ${await pairNow(l)}`);
}

describe.skipIf(!isRoot())('active/active ARP load sharing in the lab', () => {
  it('one shared gateway split between the boxes by the clients addresses; the survivor answers both; the split returns after the rejoin', async () => {
    const dir = labConfigWith((cfg) => {
      cfg.shared.floatingIps.push({ interface: 'lan', address: `${SHARED_GW}/24`, owner: 'shared' });
      cfg.shared.ha.activeActive.arpLoadSharing = { method: 'ip-modulo' };
    }, 'active-active');
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    lab = await upLab({ mode: 'active-active', configDir: dir, name: uniqueLabName('ar') });
    const l = lab;
    expect((await l.boxState('fwa'))?.state).toBe('active-primary');
    expect((await l.boxState('fwb'))?.state).toBe('active-secondary');
    // both clients go out through the shared gateway (the server still answers through its own routes)
    for (const host of CLIENTS) await l.nsExec(host, 'ip', ['route', 'replace', 'default', 'via', SHARED_GW]);
    for (const host of CLIENTS) await expectPing(l, host);

    // the split: client (even) holds device 0's MAC, served by fwa; client2 (odd) device 1's, by fwb
    await expectGatewayMac(l, 'client', LAN_D0);
    await expectGatewayMac(l, 'client2', LAN_D1);
    await expectPort(l, LAN_D0, 'a-lan');
    await expectPort(l, LAN_D1, 'b-lan');

    const repo = repoRoot();
    const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
    stops.push(() => srv.stop());
    const clients = await Promise.all(
      CLIENTS.map((host) => startStreamClient(l.ns(host), { repo, marker: l.runDir, to: `${SERVER}:${STREAM_PORT}`, conns: CONNS, intervalMs: 20 })),
    );
    for (const c of clients) stops.push(() => c.stop());
    for (const c of clients) expect(c.connected).toBe(CONNS);
    // first-packet owner: each client's connections belong to the box its ARP answer named
    const owned = await sessionsOwned(l, 'fwa');
    expect(owned[0]).toBeGreaterThanOrEqual(CONNS);
    expect(owned[1]).toBeGreaterThanOrEqual(CONNS);

    // fwb dies: fwa serves device 1's class, answers every client, and the switch learns device 1's MAC on fwa
    const pings = CLIENTS.map((host) => pingRun(l, host, 300));
    await sleep(500);
    await l.killBox('fwb', 'SIGKILL');
    const losses = await Promise.all(pings);
    process.stderr.write(`arp sharing, kill -9 fwb: pings lost ${losses.map((p, i) => `${CLIENTS[i]} ${p.sent - p.received}/${p.sent}`).join(', ')}\n`);
    // a second of pings at most (the takeover is tens of ms): a MAC left on the dead box's port loses every ping after the kill
    for (const p of losses) expect(p.sent - p.received).toBeLessThan(100);
    expect((await l.boxState('fwa'))?.state).toBe('active-primary');
    await expectPort(l, LAN_D1, 'a-lan');
    await expectGatewayMac(l, 'client2', LAN_D1);
    for (const host of CLIENTS) await expectPing(l, host);
    // every requester is answered by fwa now, each still with its own device's MAC
    for (const host of CLIENTS) await l.nsExec(host, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    for (const host of CLIENTS) await expectPing(l, host);
    await expectGatewayMac(l, 'client', LAN_D0);
    await expectGatewayMac(l, 'client2', LAN_D1);

    // fwb rejoins through tentative and takes device 1's class back: the switch moves the MAC back
    await l.startBox('fwb');
    // the pings cover the hand-back: from the rejoining box's bulk sync (tentative) on
    await l.waitFor(async () => ['tentative', 'active-secondary'].includes((await l.boxState('fwb'))?.state ?? ''), 15_000, 'fwb tentative');
    const back = CLIENTS.map((host) => pingRun(l, host, 300));
    await waitState(l, 'fwb', 'active-secondary', 15_000);
    const lossesBack = await Promise.all(back);
    process.stderr.write(`arp sharing, fwb rejoins: pings lost ${lossesBack.map((p, i) => `${CLIENTS[i]} ${p.sent - p.received}/${p.sent}`).join(', ')}\n`);
    for (const p of lossesBack) expect(p.sent - p.received).toBeLessThan(100);
    await expectPort(l, LAN_D1, 'b-lan');
    await expectPort(l, LAN_D0, 'a-lan');
    for (const host of CLIENTS) await l.nsExec(host, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    for (const host of CLIENTS) await expectPing(l, host);
    await expectGatewayMac(l, 'client', LAN_D0);
    await expectGatewayMac(l, 'client2', LAN_D1);
    // a new flow of client2 reaches fwb first again: device 1 owns it
    const before = (await sessionsOwned(l, 'fwb'))[1];
    await expectPing(l, 'client2');
    expect((await sessionsOwned(l, 'fwb'))[1]).toBeGreaterThan(before);

    await sleep(500);
    for (const c of clients) {
      const summary = await c.stop();
      const why = JSON.stringify(summary.conns.filter((x) => !x.survived).slice(0, 3));
      expect(summary.reset, why).toBe(0);
      expect(summary.survived, why).toBe(CONNS);
    }
  });
});
