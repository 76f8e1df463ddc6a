// The dual-stack lab with the real daemons: the hosts' IPv6 addresses and routes, `lab status`
// listing them, the daemons settling on the dual-stack configs as before, and a pair whose HA
// links (HA1, its backup, the heartbeat backup, HA2) run over IPv6 (`lab up --ha-family ipv6`)
// failing over on a kill -9 with its TCP connections surviving (sessions synced over IPv6 HA2).
//
// IPv6 traffic through the pair is test/integration/ipv6.test.ts's; here only the router the
// client learns from the pair's advertisements (--ipv6-ra) and keeps through a failover.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabStatus } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/exec.js';
import { LAB_ADDR, LAB_ADDR6 } from '../../src/lab/topology.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { ping, run, waitState } from './helpers/daemon.js';

const STREAM_PORT = 5002;

let lab: Lab | null = null;

afterEach(async () => {
  if (lab) await lab.down();
  lab = null;
});

async function addrsOf(l: Lab, role: 'client' | 'server' | 'fwa' | 'fwb', dev: string): Promise<{ family: string; local: string; prefixlen: number }[]> {
  const { stdout } = await sh('ip', ['-n', l.ns(role), '-j', 'addr', 'show', 'dev', dev]);
  return (JSON.parse(stdout) as Array<{ addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }>).flatMap((x) =>
    x.addr_info.filter((a) => a.scope !== 'link').map(({ family, local, prefixlen }) => ({ family, local, prefixlen })),
  );
}

async function defaultRoutes6(l: Lab, role: 'client' | 'server'): Promise<{ gateway?: string; dev: string; protocol?: string }[]> {
  const { stdout } = await sh('ip', ['-n', l.ns(role), '-6', '-j', 'route', 'show', 'default']);
  return JSON.parse(stdout) as { gateway?: string; dev: string; protocol?: string }[];
}

/** `tandem lab status --name N --json`, the command scripts use. */
async function statusJson(l: Lab): Promise<LabStatus> {
  const r = await run(process.execPath, [join(repoRoot(), 'bin', 'tandem.js'), 'lab', 'status', '--name', l.name, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LabStatus;
}

async function sockets(l: Lab, box: 'fwa' | 'fwb', args: string[]): Promise<string> {
  return (await l.nsExec(box, 'ss', ['-H', '-n', ...args])).stdout;
}

describe.skipIf(!isRoot())('the dual-stack lab with the real daemons', () => {
  it('gives the hosts their IPv6 addresses and routes, lists them in lab status, and settles as before', async () => {
    lab = await upLab();
    // settled as before the lab was dual-stack: fwa active, fwb passive
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    expect((await waitState(lab, 'fwb', 'passive')).state).toBe('passive');

    expect(await addrsOf(lab, 'client', 'eth0')).toEqual([
      { family: 'inet', local: LAB_ADDR.client, prefixlen: 24 },
      { family: 'inet6', local: LAB_ADDR6.client, prefixlen: 64 },
    ]);
    expect(await addrsOf(lab, 'server', 'eth0')).toEqual([
      { family: 'inet', local: LAB_ADDR.server, prefixlen: 24 },
      { family: 'inet6', local: LAB_ADDR6.server, prefixlen: 64 },
    ]);
    for (const host of ['client', 'server'] as const) {
      expect(await defaultRoutes6(lab, host), host).toEqual([expect.objectContaining({ gateway: 'fe80::1', dev: 'eth0' })]);
    }
    for (const box of ['fwa', 'fwb'] as const) {
      expect((await addrsOf(lab, box, 'lan0')).map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
        `${LAB_ADDR.boxes[box].lan}/24`,
        `${LAB_ADDR6.boxes[box].lan}/64`,
      ]);
      expect((await addrsOf(lab, box, 'ha1')).map((a) => a.family)).toEqual(['inet']);
    }

    const st = await statusJson(lab);
    expect(st.hosts.client).toEqual({
      namespace: lab.ns('client'),
      address: '10.0.1.10',
      gateway: '10.0.1.1',
      address6: '2001:db8:1::10',
      gateway6: 'fe80::1',
    });
    expect(st.hosts.server).toEqual({
      namespace: lab.ns('server'),
      address: '10.0.2.10',
      gateway: '10.0.2.1',
      address6: '2001:db8:2::10',
      gateway6: 'fe80::1',
    });
    expect(st).toMatchObject({ mode: 'active-passive', haFamily: 'ipv4', ipv6Ra: false });
    expect(st.floatingIps).toEqual(expect.arrayContaining(['10.0.1.1/24', '2001:db8:1::1/64', 'fe80::1/64', '2001:db8:2::1/64']));
    expect(st.boxes.fwb.addresses6).toEqual({ lan: '2001:db8:1::3/64', wan: '2001:db8:2::3/64' });
    expect(st.boxes.fwb.addresses.ha1).toBe('172.31.0.2');
    expect([st.boxes.fwa.state, st.boxes.fwb.state]).toEqual(['active', 'passive']);

    // IPv4 through the pair as before
    expect(await ping(lab, LAB_ADDR.server)).toBe(true);
  });

  it('--ha-family ipv6 --ipv6-ra: HA over IPv6 settles, lan hosts wait for RAs, kill -9 fails over with TCP surviving', async () => {
    lab = await upLab({ haFamily: 'ipv6', ipv6Ra: true });
    const l = lab;
    expect((await l.boxState('fwa'))?.state).toBe('active');
    expect((await waitState(l, 'fwb', 'passive')).state).toBe('passive');

    // the HA veths carry IPv6 only
    for (const box of ['fwa', 'fwb'] as const) {
      for (const [dev, link] of [
        ['ha1', 'ha1'],
        ['ha1b', 'ha1b'],
        ['ha2', 'ha2'],
        ['mgmt', 'mgmt'],
      ] as const) {
        expect(await addrsOf(l, box, dev), `${box} ${dev}`).toEqual([{ family: 'inet6', local: LAB_ADDR6.ha[box][link], prefixlen: 64 }]);
      }
    }
    // and the daemons talk over it: HA1 (TCP 28769) on both HA1 links, HA2 (TCP 28770), heartbeats (UDP 28771)
    const tcp = await sockets(l, 'fwa', ['-t', 'state', 'established']);
    expect(tcp).toMatch(/\[fd00:31::[12]\]:28769\b/);
    expect(tcp).toMatch(/\[fd00:31:1::[12]\]:28769\b/);
    expect(tcp).toMatch(/\[fd00:31:2::[12]\]:28770\b/);
    expect(tcp).not.toMatch(/172\.31\./);
    const udp = await sockets(l, 'fwa', ['-u', '-a']);
    expect(udp).toMatch(/\[fd00:31::1\]:28771\b/);
    expect(udp).toMatch(/\[fd00:31:9::1\]:28771\b/);

    const st = await statusJson(l);
    expect(st).toMatchObject({ haFamily: 'ipv6', ipv6Ra: true });
    expect(st.boxes.fwa.addresses).toMatchObject({ ha1: 'fd00:31::1', ha1b: 'fd00:31:1::1', ha2: 'fd00:31:2::1', mgmt: 'fd00:31:9::1' });
    expect(st.hosts.client).toMatchObject({ address6: '2001:db8:1::10', gateway6: 'fe80::1' });

    // RAs: the client learns its router (accept_ra=2) and has no static IPv6 default route; the
    // server keeps its static one. (Only a route the client learnt may appear: proto ra.)
    expect((await l.nsExec('client', 'sysctl', ['-n', 'net.ipv6.conf.eth0.accept_ra'])).stdout.trim()).toBe('2');
    // the active's first advertisement comes at once (RFC 4861 6.2.4): the client's default router
    // is the floating link-local address, learned, and IPv6 flows through it
    await l.waitFor(
      async () => (await defaultRoutes6(l, 'client')).some((r) => r.protocol === 'ra' && r.gateway === 'fe80::1'),
      10_000,
      'a default route from RAs',
    );
    for (const r of await defaultRoutes6(l, 'client')) expect(r).toMatchObject({ protocol: 'ra', gateway: 'fe80::1' });
    await l.nsExec('client', 'ping', ['-6', '-c', '3', '-i', '0.05', '-W', '1', LAB_ADDR6.server]);
    expect((await l.nsExec('server', 'sysctl', ['-n', 'net.ipv6.conf.eth0.accept_ra'])).stdout.trim()).toBe('0');
    expect(await defaultRoutes6(l, 'server')).toEqual([expect.objectContaining({ gateway: 'fe80::1', dev: 'eth0' })]);
    // the boxes never learn from the pair's RAs
    for (const box of ['fwa', 'fwb'] as const) expect((await l.nsExec(box, 'sysctl', ['-n', 'net.ipv6.conf.lan0.accept_ra'])).stdout.trim()).toBe('0');

    // kill -9 of the active: the passive takes over over IPv6 heartbeats, and the TCP connections
    // it learnt over IPv6 HA2 survive (IPv4 traffic through the pair)
    const repo = repoRoot();
    const server = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
    try {
      const streams = await startStreamClient(l.ns('client'), {
        repo,
        marker: l.runDir,
        to: `${LAB_ADDR.server}:${STREAM_PORT}`,
        conns: 4,
        durationS: 6,
        intervalMs: 20,
      });
      expect(streams.connected).toBe(4);
      await new Promise((r) => setTimeout(r, 1500)); // established and synced
      await l.killBox('fwa', 'SIGKILL');
      expect((await waitState(l, 'fwb', 'active', 5000)).state).toBe('active');
      const summary = await streams.result;
      expect(summary.total).toBe(4);
      expect(summary.survived).toBe(4);
      expect(await ping(l, LAB_ADDR.server)).toBe(true);
      // a failover never withdraws the router: the client keeps its learned default route
      expect(await defaultRoutes6(l, 'client')).toEqual([expect.objectContaining({ protocol: 'ra', gateway: 'fe80::1' })]);
      // the killed box comes back passive, again over IPv6
      await l.startBox('fwa');
      expect((await waitState(l, 'fwa', 'passive', 15_000)).state).toBe('passive');
    } finally {
      await server.stop();
    }

    // an orderly end of the whole pair (the passive stopped first, then the active, which then has
    // no peer to take over): its last advertisement says router lifetime 0, and the client drops
    // the pair as its default router at once rather than after 1800 s
    await l.killBox('fwa', 'SIGTERM');
    expect(await defaultRoutes6(l, 'client')).toEqual([expect.objectContaining({ protocol: 'ra', gateway: 'fe80::1' })]);
    await l.killBox('fwb', 'SIGTERM');
    await l.waitFor(async () => (await defaultRoutes6(l, 'client')).length === 0, 3000, 'the client to drop its IPv6 default route');
  });
});

describe.skipIf(!isRoot())('the dual-stack active/active lab', () => {
  it('--mode active-active --ha-family ipv6: settles, client2 routes IPv6 through device 1, IPv4 flows from both clients', async () => {
    lab = await upLab({ mode: 'active-active', haFamily: 'ipv6' });
    const l = lab;
    expect((await l.boxState('fwa'))?.state).toBe('active-primary');
    expect((await waitState(l, 'fwb', 'active-secondary')).state).toBe('active-secondary');
    expect(await addrsOf(l, 'fwb', 'ha2')).toEqual([{ family: 'inet6', local: LAB_ADDR6.ha.fwb.ha2, prefixlen: 64 }]);
    // HA3 is layer 2 only, in both families
    expect(await addrsOf(l, 'fwa', 'ha3')).toEqual([]);

    const { stdout } = await sh('ip', ['-n', l.ns('client2'), '-6', '-j', 'route', 'show', 'default']);
    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ gateway: LAB_ADDR6.floatingLan1, dev: 'eth0' })]);
    const server = JSON.parse((await sh('ip', ['-n', l.ns('server'), '-6', '-j', 'route', 'show'])).stdout) as { dst: string; gateway?: string }[];
    expect(server).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: LAB_ADDR6.client, gateway: LAB_ADDR6.floatingWan1 }),
        expect.objectContaining({ dst: LAB_ADDR6.client2, gateway: LAB_ADDR6.floatingWan }),
        expect.objectContaining({ dst: 'default', gateway: 'fe80::1' }),
      ]),
    );

    const st = await statusJson(l);
    expect(st).toMatchObject({ mode: 'active-active', haFamily: 'ipv6', ipv6Ra: false });
    expect(st.hosts.client2).toEqual({
      namespace: l.ns('client2'),
      address: '10.0.1.11',
      gateway: '10.0.1.4',
      address6: '2001:db8:1::11',
      gateway6: '2001:db8:1::4',
    });
    expect(st.floatingIps).toEqual(expect.arrayContaining(['2001:db8:1::4/64', '2001:db8:2::4/64', 'fe80::1/64']));

    expect(await ping(l, LAB_ADDR.server, 3, 'client')).toBe(true);
    expect(await ping(l, LAB_ADDR.server, 3, 'client2')).toBe(true);
  });
});
