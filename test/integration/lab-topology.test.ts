// The lab's network without daemons: namespaces, cables, addresses, offloads, sysctls, the probe
// programs end to end (through a kernel stand-in router), cable pulls, and clean teardown (also of
// a half-built lab and of a crashed run).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, nsExec, trySh } from '../../src/lab/exec.js';
import { isAlive, Lab, labDown, labStatus, labUp, repoRoot, runDirOf } from '../../src/lab/lab.js';
import { labDemo } from '../../src/lab/demo.js';
import {
  buildTopology,
  destroyTopology,
  existingLabNamespaces,
  isolateBox,
  LAB_ADDR,
  LAB_ADDR6,
  labNamespaces,
  listNamespaces,
  nsName,
  recreateBoxDevice,
  setBoxDevice,
  setLink,
} from '../../src/lab/topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { ensureBuilt, isRoot, uniqueLabName } from './helpers/lab.js';

const NAME = uniqueLabName();
const ns = (role: 'client' | 'server' | 'fwa' | 'fwb' | 'sw'): string => nsName(NAME, role);

async function links(
  namespace: string,
): Promise<Array<{ ifname: string; operstate: string; flags: string[]; master?: string; linkinfo?: { info_kind?: string } }>> {
  const { stdout } = await sh('ip', ['-n', namespace, '-j', '-d', 'link', 'show']);
  return JSON.parse(stdout);
}

async function addrs(namespace: string, dev: string): Promise<string[]> {
  const { stdout } = await sh('ip', ['-n', namespace, '-j', 'addr', 'show', 'dev', dev]);
  const parsed = JSON.parse(stdout) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  return parsed.flatMap((l) => l.addr_info.map((a) => `${a.family === 'inet' ? '' : `${a.family} `}${a.local}/${a.prefixlen}`));
}

/** The IPv4 addresses only (what the lab had before it was dual-stack). */
async function addrs4(namespace: string, dev: string): Promise<string[]> {
  return (await addrs(namespace, dev)).filter((a) => !a.startsWith('inet6 '));
}

/** The IPv6 addresses, without the kernel's own link-local one (fe80::/64 from the MAC). */
async function addrs6(namespace: string, dev: string): Promise<string[]> {
  return (await addrs(namespace, dev)).filter((a) => a.startsWith('inet6 ') && !/^inet6 fe80::(?!1\/)/.test(a));
}

async function sysctlOf(namespace: string, key: string): Promise<string> {
  return (await nsExec(namespace, 'sysctl', ['-n', key])).stdout.trim();
}

async function ping6(from: string, to: string): Promise<boolean> {
  return (await trySh('ip', ['netns', 'exec', from, 'ping', '-6', '-c', '2', '-i', '0.3', '-W', '1', '-q', to])) !== null;
}

async function ping(from: string, to: string): Promise<boolean> {
  // two tries: right after a cable is plugged back, the first ARP can still race the carrier
  return (await trySh('ip', ['netns', 'exec', from, 'ping', '-c', '2', '-i', '0.3', '-W', '1', '-q', to])) !== null;
}

describe.skipIf(!isRoot())('lab topology', () => {
  beforeAll(async () => {
    await ensureBuilt();
    await buildTopology(NAME);
  });

  afterAll(async () => {
    await destroyTopology(NAME);
  });

  it('creates exactly the five namespaces of the lab', async () => {
    const mine = (await listNamespaces()).filter((n) => n.startsWith(`${NAME}-`));
    expect(mine.sort()).toEqual(labNamespaces(NAME, 'active-passive').sort());
  });

  it('refuses to build over an existing lab', async () => {
    await expect(buildTopology(NAME)).rejects.toThrow(/already exists/);
    expect(await existingLabNamespaces(NAME)).toHaveLength(5); // and did not tear it down
  });

  it('wires the switch: two bridges, six ports, all up', async () => {
    const sw = await links(ns('sw'));
    const byName = new Map(sw.map((l) => [l.ifname, l]));
    for (const bridge of ['lan', 'wan']) expect(byName.get(bridge)?.linkinfo?.info_kind).toBe('bridge');
    const ports: Record<string, string> = { 'c-lan': 'lan', 'a-lan': 'lan', 'b-lan': 'lan', 'a-wan': 'wan', 'b-wan': 'wan', 's-wan': 'wan' };
    for (const [port, bridge] of Object.entries(ports)) {
      const l = byName.get(port);
      expect(l, port).toBeDefined();
      expect(l!.master, port).toBe(bridge);
      expect(l!.flags, port).toContain('UP');
      expect(l!.operstate, port).toBe('UP');
    }
  });

  it('gives every box and host its devices and addresses', async () => {
    for (const box of ['fwa', 'fwb'] as const) {
      const names = (await links(ns(box))).map((l) => l.ifname).sort();
      expect(names).toEqual(['ha1', 'ha1b', 'ha2', 'lan0', 'lo', 'mgmt', 'wan0']);
      const a = LAB_ADDR.boxes[box];
      expect(await addrs4(ns(box), 'lan0')).toEqual([`${a.lan}/24`]);
      expect(await addrs4(ns(box), 'wan0')).toEqual([`${a.wan}/24`]);
      // the HA links over IPv4 (the default) have no IPv6 at all
      expect(await addrs(ns(box), 'ha1')).toEqual([`${a.ha1}/24`]);
      expect(await addrs(ns(box), 'ha1b')).toEqual([`${a.ha1b}/24`]);
      expect(await addrs(ns(box), 'ha2')).toEqual([`${a.ha2}/24`]);
      expect(await addrs(ns(box), 'mgmt')).toEqual([`${a.mgmt}/24`]);
      // dual-stack traffic devices: the box's own address6
      const a6 = LAB_ADDR6.boxes[box];
      expect(await addrs6(ns(box), 'lan0')).toEqual([`inet6 ${a6.lan}/64`]);
      expect(await addrs6(ns(box), 'wan0')).toEqual([`inet6 ${a6.wan}/64`]);
      // the floating addresses are not kernel addresses (the daemon answers for them)
      expect(await addrs(ns(box), 'lan0')).not.toContain(`${LAB_ADDR.floatingLan}/24`);
      for (const dev of ['lan0', 'wan0']) {
        expect(await addrs(ns(box), dev)).not.toContain(`inet6 ${LAB_ADDR6.linkLocal}/64`);
        expect(await addrs(ns(box), dev)).not.toContain(`inet6 ${LAB_ADDR6.floatingLan}/64`);
      }
    }
    expect(await addrs4(ns('client'), 'eth0')).toEqual(['10.0.1.10/24']);
    expect(await addrs4(ns('server'), 'eth0')).toEqual(['10.0.2.10/24']);
    expect(await addrs6(ns('client'), 'eth0')).toEqual([`inet6 ${LAB_ADDR6.client}/64`]);
    expect(await addrs6(ns('server'), 'eth0')).toEqual([`inet6 ${LAB_ADDR6.server}/64`]);
    expect((await sh('ip', ['-n', ns('client'), 'route', 'show', 'default'])).stdout).toMatch(/default via 10\.0\.1\.1 dev eth0/);
    expect((await sh('ip', ['-n', ns('server'), 'route', 'show', 'default'])).stdout).toMatch(/default via 10\.0\.2\.1 dev eth0/);
    // IPv6: through the floating link-local address of the host's side
    for (const host of ['client', 'server'] as const) {
      expect((await sh('ip', ['-n', ns(host), '-6', 'route', 'show', 'default'])).stdout, host).toMatch(/^default via fe80::1 dev eth0 /);
    }
    for (const role of ['client', 'server', 'fwa', 'fwb', 'sw'] as const) {
      const lo = (await links(ns(role))).find((l) => l.ifname === 'lo');
      expect(lo?.flags, `lo in ${role}`).toContain('UP');
    }
  });

  it('turns offloads off on every veth', async () => {
    let checked = 0;
    for (const role of ['client', 'server', 'fwa', 'fwb', 'sw'] as const) {
      for (const l of await links(ns(role))) {
        if (l.linkinfo?.info_kind !== 'veth') continue;
        const { stdout } = await nsExec(ns(role), 'ethtool', ['-k', l.ifname]);
        for (const feature of ['rx-checksumming', 'tx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
          expect(stdout, `${feature} on ${l.ifname} in ${role}`).toMatch(new RegExp(`^${feature}: off`, 'm'));
        }
        checked++;
      }
    }
    // 2 host cables + 4 box cables (both ends) + 3 HA pairs and the mgmt pair (both ends)
    expect(checked).toBe(2 * 2 + 4 * 2 + 4 * 2);
  });

  it('keeps kernel forwarding off in the firewall namespaces, IPv6 on where it carries traffic, no RAs learnt', async () => {
    for (const box of ['fwa', 'fwb'] as const) {
      expect(await sysctlOf(ns(box), 'net.ipv4.ip_forward')).toBe('0');
      for (const scope of ['all', 'default', 'lan0', 'wan0']) {
        expect(await sysctlOf(ns(box), `net.ipv6.conf.${scope}.disable_ipv6`), scope).toBe('0');
        expect(await sysctlOf(ns(box), `net.ipv6.conf.${scope}.forwarding`), scope).toBe('0');
        expect(await sysctlOf(ns(box), `net.ipv6.conf.${scope}.accept_ra`), scope).toBe('0');
      }
      // the HA links over IPv4: IPv6 off on them, as before the lab was dual-stack
      for (const dev of ['ha1', 'ha1b', 'ha2', 'mgmt']) {
        expect(await sysctlOf(ns(box), `net.ipv6.conf.${dev}.disable_ipv6`), dev).toBe('1');
        expect(
          (await addrs(ns(box), dev)).some((a) => a.startsWith('inet6')),
          dev,
        ).toBe(false);
      }
    }
    for (const host of ['client', 'server'] as const) {
      expect(await sysctlOf(ns(host), 'net.ipv6.conf.all.disable_ipv6'), host).toBe('0');
      expect(await sysctlOf(ns(host), 'net.ipv6.conf.eth0.accept_ra'), host).toBe('0');
    }
    // the switch only bridges: no IPv6 of its own on bridges or ports
    for (const l of await links(ns('sw'))) {
      if (l.ifname === 'lo') continue;
      expect(await sysctlOf(ns('sw'), `net.ipv6.conf.${l.ifname}.disable_ipv6`), l.ifname).toBe('1');
    }
  });

  it("carries IPv6 on the lan and wan: hosts reach the boxes' own address6, and not each other", async () => {
    expect(await ping6(ns('client'), LAB_ADDR6.boxes.fwa.lan)).toBe(true);
    expect(await ping6(ns('client'), LAB_ADDR6.boxes.fwb.lan)).toBe(true);
    expect(await ping6(ns('server'), LAB_ADDR6.boxes.fwa.wan)).toBe(true);
    // no kernel forwards, and nobody answers for fe80::1 without the daemons
    expect(await ping6(ns('client'), LAB_ADDR6.server)).toBe(false);
  });

  it('routes IPv6 client -> server through fe80::1 of a stand-in router', async () => {
    // the kernel of fwa forwards IPv6 and owns fe80::1 on both sides, only in this test
    await nsExec(ns('fwa'), 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    for (const dev of ['lan0', 'wan0']) await sh('ip', ['-n', ns('fwa'), '-6', 'addr', 'add', `${LAB_ADDR6.linkLocal}/64`, 'dev', dev, 'nodad']);
    try {
      expect(await ping6(ns('client'), LAB_ADDR6.server)).toBe(true);
      expect(await ping6(ns('server'), LAB_ADDR6.client)).toBe(true);
    } finally {
      for (const dev of ['lan0', 'wan0']) await trySh('ip', ['-n', ns('fwa'), '-6', 'addr', 'del', `${LAB_ADDR6.linkLocal}/64`, 'dev', dev]);
      await nsExec(ns('fwa'), 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=0']);
      // the hosts forget the stand-in's MAC for fe80::1
      for (const host of ['client', 'server'] as const) await trySh('ip', ['-n', ns(host), '-6', 'neigh', 'flush', 'dev', 'eth0']);
    }
    expect(await sysctlOf(ns('fwa'), 'net.ipv6.conf.lan0.forwarding')).toBe('0');
  });

  it('reaches the boxes on their own addresses and the HA links end to end', async () => {
    expect(await ping(ns('client'), LAB_ADDR.boxes.fwa.lan)).toBe(true);
    expect(await ping(ns('client'), LAB_ADDR.boxes.fwb.lan)).toBe(true);
    expect(await ping(ns('server'), LAB_ADDR.boxes.fwb.wan)).toBe(true);
    for (const link of ['ha1', 'ha1b', 'ha2', 'mgmt'] as const) expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb[link]), link).toBe(true);
    // no path between client and server while no box forwards
    expect(await ping(ns('client'), LAB_ADDR.server)).toBe(false);
  });

  it('carries probes and TCP streams client -> server through a stand-in router without loss', async () => {
    // stand-in for the daemon, only in this test: the kernel of fwa forwards and owns the floating IPs
    const marker = mkdtempSync(join(tmpdir(), `${NAME}-probe-`));
    await nsExec(ns('fwa'), 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await sh('ip', ['-n', ns('fwa'), 'addr', 'add', `${LAB_ADDR.floatingLan}/24`, 'dev', 'lan0']);
    await sh('ip', ['-n', ns('fwa'), 'addr', 'add', `${LAB_ADDR.floatingWan}/24`, 'dev', 'wan0']);
    const opts = { repo: repoRoot(), marker };
    const started: Array<{ stop(): Promise<unknown> }> = [];
    try {
      const outFile = join(marker, 'probe.json');
      const receiver = await startProbeReceiver(ns('server'), { ...opts, port: 5000, outFile });
      started.push(receiver);
      const echo = await startStreamServer(ns('server'), { ...opts, port: 5001 });
      started.push(echo);
      const streams = await startStreamClient(ns('client'), { ...opts, to: `${LAB_ADDR.server}:5001`, conns: 3, durationS: 2 });
      started.push(streams);
      expect(streams.connected).toBe(3);
      const sender = await startProbeSender(ns('client'), { ...opts, to: `${LAB_ADDR.server}:5000`, intervalMs: 1, durationS: 2 });
      started.push(sender);
      const sent = await sender.result;
      const tcp = await streams.result;
      await new Promise((r) => setTimeout(r, 100)); // the last probes in flight
      const summary = await receiver.stop();
      expect(sent.sent).toBeGreaterThan(1500);
      expect(sent.errors).toBe(0);
      expect(summary.received).toBe(sent.sent);
      expect(summary.lost).toBe(0);
      expect(summary.firstSeq).toBe(0);
      expect(summary.lastSeq).toBe(sent.sent - 1);
      expect(tcp.total).toBe(3);
      expect(tcp.survived).toBe(3);
      expect(tcp.conns.every((c) => c.sent > 0 && c.echoed === c.sent)).toBe(true);
    } finally {
      await Promise.allSettled(started.map((p) => p.stop()));
      await trySh('ip', ['-n', ns('fwa'), 'addr', 'del', `${LAB_ADDR.floatingLan}/24`, 'dev', 'lan0']);
      await trySh('ip', ['-n', ns('fwa'), 'addr', 'del', `${LAB_ADDR.floatingWan}/24`, 'dev', 'wan0']);
      await nsExec(ns('fwa'), 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
      rmSync(marker, { recursive: true, force: true });
    }
    expect((await nsExec(ns('fwa'), 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('0');
  });

  it('pulls and plugs cables: traffic links at the switch port, HA links at the box', async () => {
    const state = async (namespace: string, dev: string): Promise<string> =>
      (await links(namespace)).find((l) => l.ifname === dev)!.flags.includes('UP') ? 'up' : 'down';

    await setLink(NAME, 'fwa', 'lan', false);
    expect(await state(ns('sw'), 'a-lan')).toBe('down');
    expect(await ping(ns('client'), LAB_ADDR.boxes.fwa.lan)).toBe(false);
    expect(await ping(ns('client'), LAB_ADDR.boxes.fwb.lan)).toBe(true);
    await setLink(NAME, 'fwa', 'lan', true);
    expect(await state(ns('sw'), 'a-lan')).toBe('up');
    expect(await ping(ns('client'), LAB_ADDR.boxes.fwa.lan)).toBe(true);

    await setLink(NAME, 'fwb', 'ha1', false);
    expect(await state(ns('fwb'), 'ha1')).toBe('down');
    expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb.ha1)).toBe(false);
    expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb.ha1b)).toBe(true);
    await setLink(NAME, 'fwb', 'ha1', true);
    expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb.ha1)).toBe(true); // address and route come back

    await isolateBox(NAME, 'fwb', true);
    for (const [n, d] of [
      [ns('sw'), 'b-lan'],
      [ns('sw'), 'b-wan'],
      [ns('fwb'), 'ha1'],
      [ns('fwb'), 'ha1b'],
      [ns('fwb'), 'ha2'],
      [ns('fwb'), 'mgmt'],
    ] as const) {
      expect(await state(n, d), d).toBe('down');
    }
    expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb.ha2)).toBe(false);
    await isolateBox(NAME, 'fwb', false);
    expect(await ping(ns('fwa'), LAB_ADDR.boxes.fwb.ha2)).toBe(true);
    expect(await ping(ns('server'), LAB_ADDR.boxes.fwb.wan)).toBe(true);

    await setLink(NAME, 'client', 'lan', false);
    expect(await state(ns('sw'), 'c-lan')).toBe('down');
    await setLink(NAME, 'client', 'all', true);
    expect(await state(ns('sw'), 'c-lan')).toBe('up');
  });

  it("keeps a box's address6 through its device set down and up, and re-creates it with the device", async () => {
    await setBoxDevice(NAME, 'fwb', 'lan', false);
    await setBoxDevice(NAME, 'fwb', 'lan', true);
    expect(await addrs6(ns('fwb'), 'lan0')).toEqual([`inet6 ${LAB_ADDR6.boxes.fwb.lan}/64`]);
    await recreateBoxDevice(NAME, 'fwb', 'wan');
    expect(await addrs4(ns('fwb'), 'wan0')).toEqual([`${LAB_ADDR.boxes.fwb.wan}/24`]);
    expect(await addrs6(ns('fwb'), 'wan0')).toEqual([`inet6 ${LAB_ADDR6.boxes.fwb.wan}/64`]);
    expect(await ping6(ns('server'), LAB_ADDR6.boxes.fwb.wan)).toBe(true);
    expect(await ping6(ns('client'), LAB_ADDR6.boxes.fwb.lan)).toBe(true);
  });

  it('destroys everything, and a second destroy is a no-op', async () => {
    await destroyTopology(NAME);
    expect((await listNamespaces()).filter((n) => n.startsWith(`${NAME}-`))).toEqual([]);
    await destroyTopology(NAME);
    expect((await listNamespaces()).filter((n) => n.startsWith(`${NAME}-`))).toEqual([]);
  });
});

describe.skipIf(!isRoot())('lab teardown after a crash', () => {
  it('removes a half-built topology', async () => {
    const name = uniqueLabName();
    try {
      // what a run killed in the middle of buildTopology leaves
      await sh('ip', ['netns', 'add', `${name}-client`]);
      await sh('ip', ['netns', 'add', `${name}-sw`]);
      await sh('ip', ['link', 'add', 'eth0', 'netns', `${name}-client`, 'type', 'veth', 'peer', 'name', 'c-lan', 'netns', `${name}-sw`]);
      expect(await existingLabNamespaces(name)).toEqual([`${name}-client`, `${name}-sw`]);
      await destroyTopology(name);
      expect((await listNamespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
    } finally {
      for (const n of labNamespaces(name)) await trySh('ip', ['netns', 'del', n]);
    }
  });

  it('labDown of a crashed lab removes namespaces and run dir, and leaves a PID that is not its daemon alone', async () => {
    const name = uniqueLabName();
    const runDir = runDirOf(name);
    // a stranger process whose PID ended up in a stale pid file (PID reuse after a crash)
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await buildTopology(name);
      mkdirSync(runDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(runDir, 'fwa.pid'), `${stranger.pid}\n`);
      writeFileSync(join(runDir, 'fwb.pid'), '999999999\n');
      await labDown({ name, out: { write: () => true } as unknown as NodeJS.WritableStream });
      expect(await existingLabNamespaces(name)).toEqual([]);
      expect(isAlive(stranger.pid!)).toBe(true);
      expect(existsSync(runDir)).toBe(false);
      await labDown({ name }); // idempotent
    } finally {
      stranger.kill('SIGKILL');
      await destroyTopology(name).catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isRoot())('lab orchestration with a stand-in daemon', () => {
  const fake = [process.execPath, join(repoRoot(), 'test', 'integration', 'helpers', 'fake-daemon.mjs')];
  const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

  /** Processes whose command line mentions `text` (our daemons and helpers carry the run dir). */
  function processesMentioning(text: string): number[] {
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
      } catch {
        // gone
      }
    }
    return found;
  }

  it('up, status, kill -9, restart, down', async () => {
    await ensureBuilt();
    const name = uniqueLabName();
    const runDir = runDirOf(name);
    try {
      const st = await labUp({ name, daemonCommand: fake, out: quiet, timeoutMs: 10_000 });
      expect(st.name).toBe(name);
      expect(st.namespaces).toHaveLength(5);
      expect([st.boxes.fwa.state, st.boxes.fwb.state].sort()).toEqual(['active', 'passive']);
      expect(st.boxes.fwa.api).toBe(`unix:${runDir}/fwa-api.sock`);
      expect(st.boxes.fwb.metrics).toBe(`unix:${runDir}/fwb-metrics.sock`);
      expect(st.boxes.fwa.addresses.lan).toBe('10.0.1.2/24');
      expect(st.boxes.fwa.addresses6).toEqual({ lan: '2001:db8:1::2/64', wan: '2001:db8:2::2/64' });
      expect(st.hosts.client).toEqual({
        namespace: `${name}-client`,
        address: '10.0.1.10',
        gateway: '10.0.1.1',
        address6: '2001:db8:1::10',
        gateway6: 'fe80::1',
      });
      expect(st.hosts.server).toMatchObject({ address: '10.0.2.10', address6: '2001:db8:2::10', gateway6: 'fe80::1' });
      expect(st.floatingIps).toEqual(['10.0.1.1/24', '10.0.2.1/24', '2001:db8:1::1/64', 'fe80::1/64', '2001:db8:2::1/64', 'fe80::1/64']);
      expect(st).toMatchObject({ haFamily: 'ipv4', ipv6Ra: false });
      // the configs copied as they are
      expect(readFileSync(join(runDir, 'fwa.yaml'), 'utf8')).toBe(readFileSync(join(repoRoot(), 'deploy', 'lab', 'fwa.yaml'), 'utf8'));
      for (const f of ['ha.key', 'api.token']) expect(statSync(join(runDir, f)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(runDir, 'ha.key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);

      const lab = new Lab(name);
      const active = st.boxes.fwa.state === 'active' ? 'fwa' : 'fwb';
      const passive = active === 'fwa' ? 'fwb' : 'fwa';
      const pid = await lab.killBox(active, 'SIGKILL');
      expect(isAlive(pid)).toBe(false);
      expect(lab.pid(active)).toBeNull();
      await lab.waitFor(async () => (await lab.boxState(passive))?.state === 'active', 5000, 'takeover');
      await lab.startBox(active);
      const pair = await lab.waitForPair(10_000, quiet);
      expect(pair).toMatchObject({ active: passive, passive: active });
      const again = await labStatus({ name });
      expect(again.boxes[active].pid).not.toBeNull();
      expect(again.boxes[active].state).toBe('passive');
      // refuses a second lab of the same name
      await expect(labUp({ name, daemonCommand: fake, out: quiet })).rejects.toThrow(/already up/);
    } finally {
      await labDown({ name, out: quiet });
    }
    expect(existsSync(runDir)).toBe(false);
    expect(await existingLabNamespaces(name)).toEqual([]);
    expect(processesMentioning(runDir)).toEqual([]);
    const gone = await labStatus({ name });
    expect(gone.boxes.fwa).toMatchObject({ pid: null, state: null, reason: null });
  });

  it('labUp tears down when the pair never forms', async () => {
    const name = uniqueLabName();
    // a "daemon" that exits at once
    await expect(labUp({ name, daemonCommand: [process.execPath, '-e', 'process.exit(3)', '--'], out: quiet, timeoutMs: 5000 })).rejects.toThrow(/exited/);
    expect(existsSync(runDirOf(name))).toBe(false);
    expect(await existingLabNamespaces(name)).toEqual([]);
  });

  it('the demo runs its steps and always tears down (no forwarding here: traffic is reported lost)', async () => {
    await ensureBuilt();
    const name = uniqueLabName();
    const lines: string[] = [];
    const out = { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream;
    const pictureDir = mkdtempSync(join(tmpdir(), 'tandem-demo-'));
    const svgPath = join(pictureDir, 'failover.svg');
    const result = await labDemo({ name, out, daemonCommand: fake, svg: svgPath });
    expect(result.killed).not.toBeNull();
    expect(result.tookOver).not.toBeNull();
    expect(result.tookOver).not.toBe(result.killed);
    expect(result.takeoverMs).toBeLessThan(3000);
    expect(result.recoveredState).toBe('passive');
    expect(result.probes?.sent).toBeGreaterThan(3000);
    expect(result.tcp?.total).toBe(8);
    expect(result.ok).toBe(false); // the stand-in forwards nothing
    expect(lines.join('')).toMatch(/TCP connections surviving\s+0 \/ 8/);
    // not a terminal: plain progress lines, never an escape code
    expect(lines.join('')).not.toMatch(/\x1b\[/);
    expect(lines.join('')).toMatch(/^\[\d+\.\d s\] building the lab/m);
    // the picture still tells what happened, with no probe in it
    expect(result.svg).toBe(svgPath);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg).toContain('class="empty"');
    for (const kind of ['crash', 'takeover', 'restart', 'recovered']) expect(svg).toContain(`data-kind="${kind}"`);
    expect(svg).toContain('(seen by the demo)'); // the stand-in keeps no transition log
    rmSync(pictureDir, { recursive: true, force: true });
    expect(existsSync(runDirOf(name))).toBe(false);
    expect(await existingLabNamespaces(name)).toEqual([]);
    expect(processesMentioning(runDirOf(name))).toEqual([]);
  });
});

describe.skipIf(!isRoot())('the demo with the real daemons', () => {
  it('forwards through the crash and the restore, and draws the failover timeline', async () => {
    await ensureBuilt();
    const name = uniqueLabName();
    const lines: string[] = [];
    const out = { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream;
    const pictureDir = mkdtempSync(join(tmpdir(), 'tandem-demo-'));
    const svgPath = join(pictureDir, 'failover.svg');
    try {
      const result = await labDemo({ name, out, svg: svgPath });
      const text = lines.join('');
      expect(result.tookOver, text).not.toBeNull();
      expect(result.recoveredState, text).toBe('passive');
      expect(result.probes!.received).toBeGreaterThan(1000);
      // live lines along the way: both boxes' states and the probes counted
      expect(text).toMatch(/\| fw[ab] active \([^)]*\), \d+ sessions? \| fw[ab] passive/);
      expect(text).toMatch(/\| probes [\d,]+ sent, [\d,]+ received/);
      expect(text).toMatch(/sessions synced/);
      // the kill of the forwarding box silences the probes until the survivor forwards
      const crash = result.steps.find((st) => st.step === 'crash')!;
      expect(crash.changeGapMs, text).toBeGreaterThan(5);
      expect(text).toMatch(/crash\s+\d+\.\d ms/);
      expect(text).toMatch(/restore\s+/);

      const svg = readFileSync(svgPath, 'utf8');
      expect(svg.length).toBeGreaterThan(5000);
      expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toContain('class="arrivals"');
      for (const kind of ['crash', 'takeover', 'restart', 'recovered']) expect(svg).toContain(`data-kind="${kind}"`);
      expect(svg).toContain(`kill -9 ${result.killed}`);
      // the takeover and the return come from the daemons' own transition logs
      expect(svg).toMatch(new RegExp(`>${result.tookOver} active \\(\\+\\d+ ms\\)<`));
      expect(svg).toContain(`${result.killed} back (passive)`);
      expect(svg).toContain('class="gap key-gap"');
      expect(svg).toMatch(/failover gap \d+(\.\d)? (ms|s)/);
    } finally {
      rmSync(pictureDir, { recursive: true, force: true });
      await labDown({ name }).catch(() => undefined);
    }
    expect(existsSync(runDirOf(name))).toBe(false);
    expect(await existingLabNamespaces(name)).toEqual([]);
  });
});
