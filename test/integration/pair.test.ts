// The pair, for real: two daemons in network namespaces, real frames, real failures.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/lab/lab.js';
import { repoRoot } from '../../src/lab/lab.js';
import { labNamespaces, listNamespaces } from '../../src/lab/topology.js';
import { startProbeReceiver, startProbeSender } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith, ping, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const PROBE_PORT = 5001;
/** Every virtual MAC of group 1 starts with these four bytes (src/dataplane/vmac.ts). */
const VMAC_PREFIX_FILTER = 'ether[6:4] == 0x02746400';

let lab: Lab | null = null;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  if (lab) await lab.down();
  lab = null;
});

const boxConfig = boxListeners;

function configDirWith(edit: (cfg: { shared: Record<string, any> }) => void): string {
  const dir = labConfigWith(edit);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** tcpdump on the switch side of a box's traffic ports, frames coming FROM the box only. */
function captureFromBox(l: Lab, box: 'fwa' | 'fwb', port: 'lan' | 'wan'): { stop: () => Promise<number> } {
  const file = join(l.runDir, `cap-${box}-${port}.pcap`);
  const dev = `${box === 'fwa' ? 'a' : 'b'}-${port}`;
  const child = spawn('ip', ['netns', 'exec', l.ns('sw'), 'tcpdump', '-i', dev, '-Q', 'in', '-n', '-U', '-w', file, VMAC_PREFIX_FILTER], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      if (!existsSync(file)) throw new Error(`no capture file ${file}`);
      const r = await new Promise<string>((resolve) => {
        const rd = spawn('tcpdump', ['-r', file, '-n', '-e']);
        let out = '';
        rd.stdout.on('data', (d) => (out += d));
        rd.on('close', () => resolve(out));
      });
      return r.split('\n').filter((x) => x.trim() !== '').length;
    },
  };
}

describe.skipIf(!isRoot())('the pair in the lab', () => {
  it('starts with exactly one active box and carries traffic through the floating IPs', async () => {
    lab = await upLab();
    const [a, b] = [await lab.boxState('fwa'), await lab.boxState('fwb')];
    expect([a?.state, b?.state].sort()).toEqual(['active', 'passive']);
    // fwa has the better priority (50 < 100) and both started together
    expect(a?.state).toBe('active');
    expect(await ping(lab, '10.0.1.1')).toBe(true);
    expect(await ping(lab, SERVER)).toBe(true);
    const neigh = (await lab.nsExec('client', 'ip', ['neigh', 'show', '10.0.1.1'])).stdout;
    expect(neigh).toContain('02:74:64:00:01:01');
    // the passive box forwarded nothing
    const passive = await scrape(boxConfig(lab, 'fwb').metrics);
    expect(metricValue(passive, 'tandem_dataplane_packets_total', { event: 'forwarded' })).toBe(0);
    const active = await scrape(boxConfig(lab, 'fwa').metrics);
    expect(metricValue(active, 'tandem_dataplane_packets_total', { event: 'forwarded' })).toBeGreaterThanOrEqual(6);
    expect(metricValue(active, 'tandem_ha_state', { state: 'active' })).toBe(1);
    expect(metricValue(active, 'tandem_ha_peer_up')).toBe(1);
  });

  it('kill -9 of the active: the passive takes over at once and traffic resumes', async () => {
    lab = await upLab();
    const repo = repoRoot();
    const rx = await startProbeReceiver(lab.ns('server'), { repo, marker: lab.runDir, port: PROBE_PORT, outFile: join(lab.runDir, 'rx.json') });
    const tx = await startProbeSender(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:${PROBE_PORT}`, intervalMs: 1 });
    cleanups.push(
      () => void tx.stop().catch(() => undefined),
      () => void rx.stop().catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 1000));
    // fwb's failovers so far: a start-up on two loaded cores may already have made it active once
    // (upLab then moves the role back to fwa), counted under the same reason
    const before = await scrape(boxConfig(lab, 'fwb').metrics);
    await lab.killBox('fwa', 'SIGKILL');
    const b = await waitState(lab, 'fwb', 'active', 5000);
    // The killed process tears down its threads and memory before its kernel closes the HA1
    // sockets: 13-20 ms measured on this 2-core VM, against the lab's 20 ms dead interval, so
    // either signal may come first (issue 13's crash-gap goal: both under 20 ms).
    expect(['peer-closed', 'peer-dead']).toContain(b.reason);
    await new Promise((r) => setTimeout(r, 1000));
    const sent = await tx.stop();
    await new Promise((r) => setTimeout(r, 200));
    const got = await rx.stop();
    expect(sent.sent).toBeGreaterThan(1000);
    // traffic resumed: probes arrived up to the end, and the gap is far below the dead interval path
    expect(got.lastSeq).toBeGreaterThan(sent.sent - 50);
    expect(got.maxGapMs).toBeLessThan(500);
    const m = await scrape(boxConfig(lab, 'fwb').metrics);
    const counted = (x: typeof m) => metricValue(x, 'tandem_ha_failovers_total', { reason: b.reason }) ?? 0;
    expect(counted(m) - counted(before)).toBe(1);

    // recovery: the killed box comes back and, with preemption off, stays passive
    await lab.startBox('fwa');
    const a = await waitState(lab, 'fwa', 'passive', 10_000);
    expect(a.reason).toBe('peer-active');
    expect((await lab.boxState('fwb'))?.state).toBe('active');
    expect(await ping(lab, SERVER)).toBe(true);
  });

  it('SIGSTOP of the active: takeover; after SIGCONT the woken box sends nothing as active before it hears the peer', async () => {
    lab = await upLab();
    const repo = repoRoot();
    const tx = await startProbeSender(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:${PROBE_PORT}`, intervalMs: 1 });
    cleanups.push(() => void tx.stop().catch(() => undefined));
    await new Promise((r) => setTimeout(r, 500));
    const before = await scrape(boxConfig(lab, 'fwa').metrics);
    await lab.killBox('fwa', 'SIGSTOP');
    cleanups.push(() => {
      const pid = lab?.pid('fwa');
      if (pid) process.kill(pid, 'SIGCONT');
    });
    const b = await waitState(lab, 'fwb', 'active', 5000);
    expect(b.reason).toBe('peer-dead');
    // Frames for the frozen box pile up in its capture buffer: probes sent to the virtual MAC
    // before the takeover's gratuitous ARP, and ARP requests for the floating IP (the client's
    // cache is flushed while it is frozen).
    const capLan = captureFromBox(lab, 'fwa', 'lan');
    const capWan = captureFromBox(lab, 'fwa', 'wan');
    await new Promise((r) => setTimeout(r, 500));
    await lab.nsExec('client', 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    await ping(lab, SERVER, 2);
    await lab.killBox('fwa', 'SIGCONT');
    const a = await waitState(lab, 'fwa', 'passive', 5000);
    await new Promise((r) => setTimeout(r, 1000));
    const fromA = (await capLan.stop()) + (await capWan.stop());
    expect(fromA).toBe(0);
    expect(a.state).toBe('passive');
    expect((await lab.boxState('fwb'))?.state).toBe('active');
    // the woken box did see frames and refused them (lease expired, or already passive)
    const after = await scrape(boxConfig(lab, 'fwa').metrics);
    const refused = (t: string) =>
      metricValue(t, 'tandem_dataplane_drops_total', { reason: 'lease-expired' }) + metricValue(t, 'tandem_dataplane_drops_total', { reason: 'passive' });
    expect(refused(after)).toBeGreaterThan(refused(before));
    await tx.stop();
    expect(await ping(lab, SERVER)).toBe(true);
  });

  it('preemption on: the better box takes the role back after the hold', async () => {
    const configDir = configDirWith((cfg) => {
      cfg.shared.ha.preempt = { enabled: true, holdMs: 1000 };
    });
    lab = await upLab({ configDir });
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    await lab.killBox('fwa', 'SIGKILL');
    await waitState(lab, 'fwb', 'active', 5000);
    await lab.startBox('fwa');
    await waitState(lab, 'fwa', 'passive', 10_000);
    const t0 = Date.now();
    const a = await waitState(lab, 'fwa', 'active', 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(a.reason).toBe('peer-request');
    const b = await waitState(lab, 'fwb', 'passive', 5000);
    expect(b.reason).toBe('preempted');
    expect(await ping(lab, SERVER)).toBe(true);
  });

  it('tandem test-failover moves the role to the peer and back and reports both legs', async () => {
    lab = await upLab();
    const r = await cli(lab, 'fwa', 'test-failover', '--peer-api', boxListeners(lab, 'fwb').api, '--hold-s', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { legs } = JSON.parse(r.stdout) as { legs: { from: string; to: string; movedMs: number; tookRoleAfterMs: number | null }[] };
    expect(legs.map((l) => `${l.from}->${l.to}`)).toEqual(['fw-a->fw-b', 'fw-b->fw-a']);
    for (const l of legs) expect(l.tookRoleAfterMs).not.toBeNull();
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    // handed the role back: tentative until fwa's dump has arrived, then passive
    expect((await waitState(lab, 'fwb', 'passive', 5000)).reason).toBe('operator-failover');
    // from the passive box it refuses, and says why
    const refused = await cli(lab, 'fwb', 'test-failover', '--peer-api', boxListeners(lab, 'fwa').api);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/fw-b is passive, not active/);
  });

  it('suspend, functional and failover from the CLI', async () => {
    lab = await upLab();
    let r = await cli(lab, 'fwa', 'suspend');
    expect(r.code, r.stderr).toBe(0);
    expect((await waitState(lab, 'fwa', 'suspended')).reason).toBe('operator-suspend');
    // the take-over request (TCP) and the heartbeat saying "suspended" (UDP) race; either is right
    expect(['peer-request', 'peer-not-functional']).toContain((await waitState(lab, 'fwb', 'active')).reason);
    expect(await ping(lab, SERVER)).toBe(true);

    r = await cli(lab, 'fwa', 'failover');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not active/);

    r = await cli(lab, 'fwa', 'functional');
    expect(r.code, r.stderr).toBe(0);
    expect((await waitState(lab, 'fwa', 'passive')).reason).toBe('operator-functional');

    r = await cli(lab, 'fwb', 'failover');
    expect(r.code, r.stderr).toBe(0);
    expect((await waitState(lab, 'fwa', 'active')).reason).toBe('peer-request');
    expect((await waitState(lab, 'fwb', 'passive')).reason).toBe('operator-failover');
    expect(await ping(lab, SERVER)).toBe(true);

    r = await cli(lab, 'fwa', 'status', '--json');
    expect(r.code).toBe(0);
    const st = JSON.parse(r.stdout) as { local: { state: string }; peer: { up: boolean; state: string } };
    expect(st.local.state).toBe('active');
    expect(st.peer).toMatchObject({ up: true, state: 'passive' });
  });

  it('one HA1 link cut: no failover; both cut: split brain, healed to one active when a link returns', async () => {
    lab = await upLab();
    await lab.setLink('fwb', 'ha1', false);
    await new Promise((r) => setTimeout(r, 500));
    // the backup link still hears the peer: nothing moves
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    expect((await lab.boxState('fwb'))?.state).toBe('passive');
    const st = await lab.api('fwb').status();
    expect(st.peer.up).toBe(true);
    expect(st.links.find((l) => l.name === 'ha1')?.heartbeatUp).toBe(false);
    expect(st.links.find((l) => l.name === 'ha1-backup')?.heartbeatUp).toBe(true);

    // both HA1 links and the heartbeat backup (mgmt) silent: the passive must assume the peer
    // dead (split brain, by design; test/integration/ha1-resilience.test.ts covers mgmt up)
    await lab.setLink('fwb', 'mgmt', false);
    await lab.setLink('fwb', 'ha1b', false);
    expect((await waitState(lab, 'fwb', 'active', 5000)).reason).toBe('peer-dead');
    expect((await lab.boxState('fwa'))?.state).toBe('active');

    // one link back: the worse box (fwb, priority 100) yields at its first heartbeat
    const t0 = Date.now();
    await lab.setLink('fwb', 'ha1b', true);
    expect((await waitState(lab, 'fwb', 'passive', 5000)).reason).toBe('split-brain-resolved');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    const m = await scrape(boxConfig(lab, 'fwa').metrics);
    // the better box stayed active throughout and re-announced the floating IPs
    expect(metricValue(m, 'tandem_ha_transitions_total', { to: 'passive' })).toBe(0);
    expect(await ping(lab, SERVER)).toBe(true);
  });

  it('a peer with a wrong key is refused and counted', async () => {
    lab = await upLab();
    await lab.killBox('fwb', 'SIGKILL');
    await waitState(lab, 'fwa', 'active');
    const wrong = join(lab.runDir, 'wrong.key');
    writeFileSync(wrong, 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n', { mode: 0o600 });
    const cfgPath = lab.configPath('fwb');
    copyFileSync(cfgPath, `${cfgPath}.orig`);
    writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('keyFile: ha.key', 'keyFile: wrong.key'));
    await lab.startBox('fwb');
    await new Promise((r) => setTimeout(r, 1500));
    const m = await scrape(boxConfig(lab, 'fwa').metrics);
    expect(metricValue(m, 'tandem_ha_messages_rejected_total', { reason: 'bad-mac' })).toBeGreaterThan(10);
    const st = await lab.api('fwa').status();
    expect(st.peer.up).toBe(false);
    expect(st.local.state).toBe('active');
    expect(readFileSync(lab.logPath('fwa'), 'utf8')).toMatch(/bad-mac/);
  });

  it('lab down leaves no namespace, veth or process behind', async () => {
    lab = await upLab();
    const pids = [lab.pid('fwa'), lab.pid('fwb')];
    expect(pids.every((p) => p !== null)).toBe(true);
    const name = lab.name;
    const runDir = lab.runDir;
    await lab.down();
    lab = null;
    const left = (await listNamespaces()).filter((n) => labNamespaces(name).includes(n));
    expect(left).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
    const links = await new Promise<string>((resolve) => {
      const c = spawn('ip', ['-o', 'link']);
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', () => resolve(out));
    });
    expect(links).not.toContain(name);
  });
});
