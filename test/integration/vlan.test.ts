// 802.1Q VLAN interfaces, for real (docs/firewall.md "VLAN interfaces"): the standard lab with its
// lan side made a VLAN switch, so that the boxes' lan0 is a trunk carrying two VLANs.
//
//   N-client  eth0 (10.0.1.10) --- c-lan   access port, VLAN 10 ---+
//   N-client2 eth0 (10.0.3.10) --- c2-lan  access port, VLAN 20 ---+-- vlan-switch.mjs in N-sw
//   N-fwa / N-fwb lan0 ----------- a-lan / b-lan  trunk ports, VLANs 10, 20, 30 (tagged)
//
// The switch is a userspace one (fixtures/vlan-switch.mjs): kernels without 802.1Q devices or VLAN
// filtering in the bridge (this lab's CI kernel has neither) still carry tagged frames on veth.
// On each box: lan = VLAN 10 of lan0 (zone trust, floating 10.0.1.1), guest = VLAN 20 of lan0
// (zone guest, floating 10.0.3.1), wan = wan0 untagged. fwa runs the ring backend, fwb the pcap
// backend: the ring gets the tag from the kernel's tpacket header (the kernel untags every frame it
// receives, veth or NIC, rx VLAN offload or not: packet-ring.test.ts), libpcap writes it back into
// the frame; both tag on send, so both receive paths and both send paths carry real traffic here.
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { startStreamClient, startStreamServer, type LabProcess } from '../../src/lab/traffic.js';
import type { StreamSummary } from '../../src/lab/stream.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners, labConfigWith, ping, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const CLIENT = '10.0.1.10';
const CLIENT2 = '10.0.3.10';
const CONNS = 20;
const SWITCH = join(repoRoot(), 'test/integration/fixtures/vlan-switch.mjs');
const STREAM_INTERVAL_MS = 50;

let lab: Lab | null = null;
let configDir = '';
const stops: (() => Promise<unknown>)[] = [];

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
const inNs = (ns: string, cmd: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
/** Checksum and segmentation offloads off (the lab's rule for captured frames). */
const offloadsOff = (ns: string, dev: string) => inNs(ns, 'ethtool', '-K', dev, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off');

function vlanConfig(): string {
  return labConfigWith((cfg) => {
    const dev = cfg.device as { id: number; interfaces: Record<string, unknown>; dataplane?: unknown };
    const me = dev.id === 0 ? 2 : 3;
    dev.interfaces = {
      // dual-stack as the lab (its IPv6 floating addresses need the interfaces' prefixes)
      lan: { device: 'lan0', vlan: 10, address: `10.0.1.${me}/24`, address6: `2001:db8:1::${me}/64` },
      guest: { device: 'lan0', vlan: 20, address: `10.0.3.${me}/24` },
      wan: { device: 'wan0', address: `10.0.2.${me}/24`, address6: `2001:db8:2::${me}/64` },
    };
    if (dev.id === 1) dev.dataplane = { io: 'pcap' };
    const s = cfg.shared;
    s.zones = { trust: ['lan'], guest: ['guest'], untrust: ['wan'] };
    s.floatingIps.push({ interface: 'guest', address: '10.0.3.1/24', owner: 0 });
    s.ha.linkMonitoring = { failureCondition: 'any', interfaces: ['lan', 'guest', 'wan'] };
    // as the lab's other tests: timers that two loaded cores keep (sync.test.ts)
    s.ha.timers = { profile: 'aggressive', heartbeatIntervalMs: 10, heartbeatMissed: 6 };
    s.policy.rules.push(
      { name: 'guest-out', from: ['guest'], to: ['untrust'], service: ['icmp', 'tcp/5000-5999'], action: 'allow' },
      // between the VLANs: trust may open to guest, never the other way (default deny)
      { name: 'trust-to-guest', from: ['trust'], to: ['guest'], service: ['icmp', 'tcp/5000-5999'], action: 'allow' },
    );
    s.nat.push({ name: 'hide-guest', from: ['guest'], to: ['untrust'], source: ['10.0.3.0/24'], translate: { source: 'interface-floating' } });
  });
}

/**
 * The lan side made a VLAN switch: client on an access port of VLAN 10, client2 (a namespace of its
 * own) on an access port of VLAN 20, the boxes' lan cables trunks. The ports leave the lab's bridge
 * for the userspace switch, whose PID goes in the run dir for the lab's teardown.
 */
async function vlanTopology(l: Lab): Promise<void> {
  const sw = l.ns('sw');
  const c2 = l.ns('client2');
  sh('ip', ['netns', 'add', c2]);
  sh('ip', ['-n', c2, 'link', 'set', 'lo', 'up']);
  for (const scope of ['all', 'default']) inNs(c2, 'sysctl', '-q', '-w', `net.ipv6.conf.${scope}.disable_ipv6=1`);
  sh('ip', ['link', 'add', 'eth0', 'netns', c2, 'type', 'veth', 'peer', 'name', 'c2-lan', 'netns', sw]);
  offloadsOff(c2, 'eth0');
  offloadsOff(sw, 'c2-lan');
  sh('ip', ['-n', sw, 'link', 'set', 'c2-lan', 'up']);
  sh('ip', ['-n', c2, 'addr', 'add', `${CLIENT2}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', c2, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', c2, 'route', 'add', 'default', 'via', '10.0.3.1']);
  for (const port of ['c-lan', 'a-lan', 'b-lan']) sh('ip', ['-n', sw, 'link', 'set', port, 'nomaster']);
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      sw,
      process.execPath,
      SWITCH,
      repoRoot(),
      'switch',
      'c-lan=access:10',
      'c2-lan=access:20',
      'a-lan=trunk:10,20,30',
      'b-lan=trunk:10,20,30',
      `--marker=${l.runDir}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  writeFileSync(join(l.runDir, 'vlan-switch.pid'), `${child.pid}\n`);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`vlan switch exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => line.includes('"ready"') && resolve());
  });
  // the ports' carrier (veth reports it through linkwatch, up to a second)
  await l.waitFor(
    () => ['c2-lan'].every((d) => execFileSync('ip', ['-n', sw, '-j', 'link', 'show', d], { encoding: 'utf8' }).includes('"operstate":"UP"')),
    3000,
    'c2-lan up',
  );
}

/** Frames put on both boxes' trunk cables as they are (fixtures/vlan-switch.mjs inject). */
function inject(l: Lab, frames: string[]): void {
  for (const port of ['a-lan', 'b-lan']) sh('ip', ['netns', 'exec', l.ns('sw'), process.execPath, SWITCH, repoRoot(), 'inject', port, ...frames]);
}

/** An ARP request from 22:00:00:00:05:0a for 10.0.5.1, behind `tags` (hex, after the MACs). */
function arpFrame(tags: string): string {
  const arp = '0001080006040001' + '22000000050a' + '0a00050a' + '000000000000' + '0a000501';
  return 'ffffffffffff' + '22000000050a' + tags + '0806' + arp;
}

async function drops(l: Lab, box: 'fwa' | 'fwb', reason: string): Promise<number> {
  return metricValue(await scrape(boxListeners(l, box).metrics), 'tandem_dataplane_drops_total', { reason });
}

async function stream(l: Lab, from: 'client' | 'client2', to: string, port: number): Promise<LabProcess<StreamSummary> & { connected: number }> {
  const repo = repoRoot();
  const toNs = to === SERVER ? l.ns('server') : to === CLIENT2 ? l.ns('client2') : l.ns('client');
  const srv = await startStreamServer(toNs, { repo, marker: l.runDir, port });
  stops.push(() => srv.stop());
  const cl = await startStreamClient(l.ns(from), { repo, marker: l.runDir, to: `${to}:${port}`, conns: CONNS, intervalMs: STREAM_INTERVAL_MS });
  stops.push(() => cl.stop());
  return cl;
}

describe.skipIf(!isRoot())('VLAN interfaces on a trunk', () => {
  beforeAll(async () => {
    configDir = vlanConfig();
    lab = await upLab({ name: uniqueLabName('vl'), configDir });
    await vlanTopology(lab);
  }, 120_000);

  afterAll(async () => {
    for (const s of stops.splice(0)) await s().catch(() => undefined);
    await lab?.down();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('lists the VLAN interfaces by their config names, on the trunk, in status and metrics', async () => {
    const st = (await lab!.api('fwa').status()) as unknown as {
      dataplane: { interfaces: { name: string; device: string; vlan: number | null; capture: { open: boolean } }[] };
    };
    expect(st.dataplane.interfaces.map((i) => [i.name, i.device, i.vlan, i.capture.open])).toEqual([
      ['guest', 'lan0', 20, true],
      ['lan', 'lan0', 10, true],
      ['wan', 'wan0', null, true],
    ]);
    const m = await scrape(boxListeners(lab!, 'fwa').metrics);
    for (const name of ['guest', 'lan', 'wan']) {
      expect(metricValue(m, 'tandem_dataplane_capture_open', { interface: name }), name).toBe(1);
      expect(metricValue(m, 'tandem_link_monitor_interface_up', { interface: name }), name).toBe(1);
    }
  });

  it('pings the server from both VLANs through their own floating gateways', async () => {
    expect(await ping(lab!, SERVER, 3, 'client')).toBe(true);
    expect(await ping(lab!, SERVER, 3, 'client2')).toBe(true);
  });

  it('between the VLANs, the policy decides: trust reaches guest, guest does not reach trust', async () => {
    expect(await ping(lab!, CLIENT2, 3, 'client')).toBe(true);
    const denied = await drops(lab!, 'fwa', 'policy-deny');
    expect(await ping(lab!, CLIENT, 2, 'client2')).toBe(false);
    expect(await drops(lab!, 'fwa', 'policy-deny')).toBeGreaterThan(denied);
  });

  it('drops and counts frames of a VLAN nobody configured, untagged frames on the trunk and double tags (ring and pcap)', async () => {
    const reasons = ['unknown-vlan', 'vlan-untagged', 'vlan-double-tag'];
    const before = await Promise.all((['fwa', 'fwb'] as const).map(async (box) => Promise.all(reasons.map((r) => drops(lab!, box, r)))));
    inject(lab!, [
      arpFrame('8100001e'), // VLAN 30: on the trunk, but no interface of the boxes'
      arpFrame(''), // untagged: lan0 has VLAN interfaces only
      arpFrame('88a800148100000a'), // QinQ: S-tag 20, C-tag 10
      arpFrame('8100001481000028'), // two C-tags: 20, then 40
    ]);
    for (const [b, box] of (['fwa', 'fwb'] as const).entries()) {
      await lab!.waitFor(async () => (await drops(lab!, box, 'vlan-double-tag')) - before[b][2] === 2, 3000, `${box} to count both double-tagged frames`);
      const after = await Promise.all(reasons.map((r) => drops(lab!, box, r)));
      expect(
        after.map((n, i) => n - before[b][i]),
        box,
      ).toEqual([1, 1, 2]);
    }
  });

  it('TCP from both VLANs to the server and between the VLANs survives kill -9 of the active; the gateways move per VLAN', async () => {
    const l = lab!;
    const streams = [await stream(l, 'client', SERVER, 5020), await stream(l, 'client2', SERVER, 5021), await stream(l, 'client', CLIENT2, 5022)];
    for (const s of streams) expect(s.connected).toBe(CONNS);
    await l.waitFor(
      async () => metricValue(await scrape(boxListeners(l, 'fwb').metrics), 'tandem_dataplane_packets_total', { event: 'sync-applied' }) >= 3 * CONNS,
      10_000,
      'fwb to hold the streams synced',
    );
    const fwbForwarded = async () => metricValue(await scrape(boxListeners(l, 'fwb').metrics), 'tandem_dataplane_packets_total', { event: 'forwarded' });
    const forwardedBefore = await fwbForwarded();
    await l.killBox('fwa', 'SIGKILL');
    await waitState(l, 'fwb', 'active', 5000);
    await new Promise((r) => setTimeout(r, 1500));
    // new flows too, in both VLANs, through fwb (the pcap backend) answering for the moved gateways
    expect(await ping(l, SERVER, 3, 'client')).toBe(true);
    expect(await ping(l, SERVER, 3, 'client2')).toBe(true);
    expect(await ping(l, CLIENT2, 3, 'client')).toBe(true);
    for (const s of streams) {
      const summary = await s.stop();
      expect(summary.reset, summary.to).toBe(0);
      expect(summary.survived, summary.to).toBe(CONNS);
    }
    const m = await scrape(boxListeners(l, 'fwb').metrics);
    expect(metricValue(m, 'tandem_dataplane_packets_total', { event: 'garp-sent' })).toBeGreaterThanOrEqual(3);
    // it was fwb, on the pcap backend, that carried them
    expect(((await l.api('fwb').status()) as unknown as { dataplane: { io: string } }).dataplane.io).toBe('pcap');
    expect(await fwbForwarded()).toBeGreaterThan(forwardedBefore + 100);
  });
});
