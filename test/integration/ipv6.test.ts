// IPv6 through the pair with real daemons and real frames (issue 16, docs/ipv6.md): ping6 (also
// in fragments) and TCP over IPv6 through the pair and to its floating addresses; established IPv6 connections surviving
// kill -9, SIGSTOP and every cable of the active pulled, while the client's neighbour entry for
// its router (fe80::1) keeps the virtual MAC and its default route stays the floating link-local;
// packet too big reaching the sender when the server side has the smaller MTU, and a TCP upload
// completing through it; hostile IPv6 frames counted, changing nothing.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { LAB_ADDR6 } from '../../src/lab/topology.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { checksum, sum16 } from '../../src/net/checksum.js';
import { parseIpv6 } from '../../src/net/ipv6.js';
import { boxListeners, cli, run, waitState, type Box } from './helpers/daemon.js';
import { isRoot, upLab } from './helpers/lab.js';
import { setBoxMtu } from './helpers/links.js';
import { metricValue, scrape } from './metrics-client.js';

const CLIENT6 = LAB_ADDR6.client;
const SERVER6 = LAB_ADDR6.server;
const LAN_FLOAT6 = '2001:db8:1::1';
/** The lab's lan virtual MAC (group 1, interface lan): what hosts must hold for fe80::1 and the floating addresses. */
const LAN_VMAC = '02:74:64:00:01:01';
const FIXTURES = join(repoRoot(), 'test', 'integration', 'fixtures');
const NET_TOOL = join(FIXTURES, 'net-tool.mjs');
const SEND_FRAMES = join(FIXTURES, 'send-frames.mjs');
/** The lab policy's lab-test rule allows tcp/5000-5999 lan -> wan in both families. */
const STREAM_PORT = 5402;
const SINK_PORT = 5403;

let lab: Lab;

beforeAll(async () => {
  if (!isRoot()) return;
  lab = await upLab();
}, 120_000);

afterAll(async () => {
  await lab?.down();
});

const metrics = async (box: Box) => scrape(boxListeners(lab, box).metrics);
const drops = async (box: Box, reason: string) => metricValue(await metrics(box), 'tandem_dataplane_drops_total', { reason });
const events = async (box: Box, event: string) => metricValue(await metrics(box), 'tandem_dataplane_packets_total', { event });

async function activeBox(): Promise<Box> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

async function ping6(to: string, count = 3, size = 56): Promise<boolean> {
  try {
    await lab.nsExec('client', 'ping', ['-6', '-c', String(count), '-i', '0.05', '-W', '1', '-s', String(size), to]);
    return true;
  } catch {
    return false;
  }
}

/** The client's neighbour entry for its router, fe80::1, and its IPv6 default route's gateway. */
async function clientRouter(): Promise<{ lladdr: string | null; gateway: string | null }> {
  await ping6('fe80::1%eth0', 1);
  const neigh = JSON.parse((await lab.nsExec('client', 'ip', ['-6', '-j', 'neigh', 'show', 'dev', 'eth0'])).stdout) as { dst: string; lladdr?: string }[];
  const route = JSON.parse((await lab.nsExec('client', 'ip', ['-6', '-j', 'route', 'show', 'default'])).stdout) as { gateway?: string }[];
  return { lladdr: neigh.find((n) => n.dst === 'fe80::1')?.lladdr ?? null, gateway: route[0]?.gateway ?? null };
}

/** TCP streams client -> server over IPv6 (echoed), running while `fail` happens; all must survive. */
async function survives(what: string, fail: (box: Box) => Promise<() => Promise<void>>): Promise<void> {
  const repo = repoRoot();
  const server = await startStreamServer(lab.ns('server'), { repo, marker: lab.runDir, port: STREAM_PORT });
  try {
    const streams = await startStreamClient(lab.ns('client'), {
      repo,
      marker: lab.runDir,
      to: `[${SERVER6}]:${STREAM_PORT}`,
      conns: 4,
      durationS: 6,
      intervalMs: 20,
    });
    expect(streams.connected, what).toBe(4);
    const was = await activeBox();
    const other: Box = was === 'fwa' ? 'fwb' : 'fwa';
    await waitSynced(other, 4);
    const before = await clientRouter();
    expect(before, what).toEqual({ lladdr: LAN_VMAC, gateway: 'fe80::1' });
    const restore = await fail(was);
    expect((await waitState(lab, other, 'active', 5000)).state, what).toBe('active');
    const summary = await streams.result;
    expect(summary, what).toMatchObject({ total: 4, survived: 4 });
    // the takeover changed nothing the client holds: the router's MAC is the virtual MAC, the
    // default router the floating link-local address
    expect(await clientRouter(), what).toEqual({ lladdr: LAN_VMAC, gateway: 'fe80::1' });
    expect(await ping6(SERVER6), what).toBe(true);
    await restore();
    // settled again (after a cut, the split brain's resolution may hand the role back: either way)
    await lab.waitForPair(20_000);
  } finally {
    await server.stop();
  }
}

/** Waits until `box` holds `n` IPv6 TCP sessions to the stream port (synced over HA2). */
async function waitSynced(box: Box, n: number): Promise<void> {
  await lab.waitFor(
    async () => {
      const r = await cli(lab, box, 'sessions', '--protocol', 'tcp', '--port', String(STREAM_PORT), '--json');
      if (r.code !== 0) return false;
      const list = JSON.parse(r.stdout) as { sessions: { original: { src: string }; state: string }[] };
      return list.sessions.filter((s) => s.original.src === CLIENT6 && s.state === 'established').length >= n;
    },
    5000,
    `${box} to hold ${n} IPv6 sessions`,
  );
}

/** Runs net-tool in a namespace; resolves with its JSON lines once it exits (or its first line when `untilReady`). */
function netTool(ns: string, args: string[], untilReady = false): Promise<{ lines: Record<string, unknown>[]; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, NET_TOOL, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    const stop = () => child.kill('SIGTERM');
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
        if (untilReady && lines.length === 1) resolve({ lines, stop });
      }
    });
    child.once('error', reject);
    child.once('exit', () => resolve({ lines, stop }));
  });
}

describe.skipIf(!isRoot())('IPv6 through the pair', () => {
  it('answers ping6 on its floating addresses and forwards ping6 and TCP over IPv6 through sessions both boxes hold', async () => {
    expect(await ping6(LAN_FLOAT6)).toBe(true);
    expect(await ping6('fe80::1%eth0')).toBe(true);
    expect(await ping6(SERVER6)).toBe(true);
    expect(await clientRouter()).toEqual({ lladdr: LAN_VMAC, gateway: 'fe80::1' });
    // fragmented by the client: reassembled by the pair for the firewall, forwarded as they came
    const reassembled = await events(await activeBox(), 'reassembled');
    expect(await ping6(SERVER6, 3, 3000)).toBe(true);
    expect(await ping6(SERVER6, 2, 8000)).toBe(true);
    expect(await ping6(LAN_FLOAT6, 2, 3000)).toBe(true);
    expect(await events(await activeBox(), 'reassembled')).toBeGreaterThanOrEqual(reassembled + 7);

    const sink = await netTool(lab.ns('server'), ['tcp-sink', String(SINK_PORT)], true);
    try {
      const up = await netTool(lab.ns('client'), ['tcp-upload', SERVER6, String(SINK_PORT), String(4 * 1024 * 1024)]);
      expect(up.lines.at(-1)).toMatchObject({ ok: true });
    } finally {
      sink.stop();
    }
    const active = await activeBox();
    const passive: Box = active === 'fwa' ? 'fwb' : 'fwa';
    // the ping's session on the active, and on the passive through HA2 (IPv6 record fields)
    const holds = async (box: Box) => {
      const r = await cli(lab, box, 'sessions', '--protocol', 'icmp6', '--json');
      if (r.code !== 0) return false;
      const icmp = JSON.parse(r.stdout) as { sessions: { original: { src: string; dst: string } }[] };
      return icmp.sessions.some((s) => s.original.src === CLIENT6 && s.original.dst === SERVER6);
    };
    expect(await holds(active)).toBe(true);
    await lab.waitFor(() => holds(passive), 3000, `${passive} to hold the IPv6 echo session`);
    expect(await events(active, 'nd-advert-sent')).toBeGreaterThan(0);
  });

  it('keeps established IPv6 connections through kill -9 of the active', async () => {
    await survives('kill -9', async (box) => {
      await lab.killBox(box, 'SIGKILL');
      return async () => void (await lab.startBox(box));
    });
  });

  it('keeps them through SIGSTOP of the active', async () => {
    await survives('SIGSTOP', async (box) => {
      await lab.killBox(box, 'SIGSTOP');
      return async () => void (await lab.killBox(box, 'SIGCONT'));
    });
  });

  it('keeps them when every cable of the active is pulled', async () => {
    await survives('all links down', async (box) => {
      await lab.setLink(box, 'all', false);
      return async () => lab.setLink(box, 'all', true);
    });
  });

  it("needs no advertisement to reach the hosts: with every unsolicited NA dropped on them (keepalived #375's case), kill -9 still costs IPv6 milliseconds", async () => {
    // the hosts drop every neighbour advertisement sent to all nodes: the takeover's announcements never reach them
    for (const host of ['client', 'server'] as const) {
      await lab.nsExec(host, 'nft', ['add', 'table', 'inet', 't6']);
      await lab.nsExec(host, 'nft', ['add', 'chain', 'inet', 't6', 'in', '{ type filter hook input priority 0; }']);
      await lab.nsExec(host, 'nft', ['add', 'rule', 'inet', 't6', 'in', 'ip6', 'daddr', 'ff02::1', 'icmpv6', 'type', 'nd-neighbor-advert', 'counter', 'drop']);
    }
    try {
      const pinging = lab.nsExec('client', 'ping', ['-6', '-q', '-c', '400', '-i', '0.01', '-W', '1', SERVER6]);
      await new Promise((r) => setTimeout(r, 1500));
      const was = await activeBox();
      await lab.killBox(was, 'SIGKILL');
      const { stdout } = await pinging;
      const received = Number(/(\d+) received/.exec(stdout)?.[1] ?? '0');
      // 10 ms apart: a gap of about 30 ms loses 2-4 echoes; keepalived's hosts waited 33-43 s here
      expect(received, stdout).toBeGreaterThanOrEqual(390);
      // the new active's announcements did come, and were dropped
      const dropped = (await lab.nsExec('client', 'nft', ['list', 'table', 'inet', 't6'])).stdout;
      expect(Number(/counter packets (\d+)/.exec(dropped)?.[1] ?? '0'), dropped).toBeGreaterThan(0);
      expect(await clientRouter()).toEqual({ lladdr: LAN_VMAC, gateway: 'fe80::1' });
      await lab.startBox(was);
      await lab.waitForPair(20_000);
    } finally {
      for (const host of ['client', 'server'] as const) await lab.nsExec(host, 'nft', ['delete', 'table', 'inet', 't6']).catch(() => undefined);
    }
  });

  it('sends packet too big when the server side of the pair has the smaller MTU, and a TCP upload completes through it', async () => {
    const active = await activeBox();
    // the pair's wan links are narrower than the client's lan (the server itself would clamp the
    // MSS if its own link were the narrow one, and no packet would ever be too big)
    for (const box of ['fwa', 'fwb'] as const) await setBoxMtu(lab, box, 'wan', 1400);
    const oversize = await drops(active, 'oversize');
    const sink = await netTool(lab.ns('server'), ['tcp-sink', String(SINK_PORT)], true);
    try {
      const up = await netTool(lab.ns('client'), ['tcp-upload', SERVER6, String(SINK_PORT), String(8 * 1024 * 1024)]);
      expect(up.lines.at(-1)).toMatchObject({ ok: true });
    } finally {
      sink.stop();
      for (const box of ['fwa', 'fwb'] as const) await setBoxMtu(lab, box, 'wan', 1500);
    }
    expect(await drops(active, 'oversize')).toBeGreaterThan(oversize);
    // the client learnt the path MTU from the pair's packet too big
    const route = (await lab.nsExec('client', 'ip', ['-6', 'route', 'get', SERVER6])).stdout;
    expect(route).toMatch(/mtu 1400/);
  });

  it('counts hostile IPv6 frames and changes nothing', async () => {
    const active = await activeBox();
    const pid = lab.pid(active);
    const before = {
      ext: await drops(active, 'ip6-ext-limit'),
      rh0: await drops(active, 'ip6-rh0'),
      hdr: await drops(active, 'bad-ip6-header'),
      hop: await drops(active, 'nd-hop-limit'),
      conflict: await events(active, 'nd-conflict'),
      unknown: await drops(active, 'ip6-unknown-header'),
      overlap: await drops(active, 'frag-overlap'),
      tiny: await drops(active, 'frag-tiny'),
      nd: await events(active, 'nd-handled'),
    };
    const frames: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      frames.push(frame6(CLIENT6, SERVER6, 60, [...chain(9), ...udp6Body()])); // nine extension headers
      frames.push(frame6(CLIENT6, SERVER6, 43, [17, 2, 0, 1, 0, 0, 0, 0, ...parseBytes(LAN_FLOAT6), ...udp6Body()])); // routing header type 0
      frames.push(badLength());
      frames.push(frame6(CLIENT6, SERVER6, 253, [0, 0, 0, 0, 0, 0, 0, 0])); // an experimental next header
    }
    // a flood of solicitations for the floating address that were routed (hop limit 64: forged)
    for (let i = 0; i < 100; i++) frames.push(nsFrame(`2001:db8:1::${(i + 0x100).toString(16)}`, LAN_FLOAT6, 64));
    // advertisements from another node claiming the floating address (a spoofer; never the peer)
    for (let i = 0; i < 50; i++) frames.push(naClaim(LAN_FLOAT6));
    // router advertisements from a host (a rogue router): heard, never obeyed
    for (let i = 0; i < 50; i++) frames.push(rogueRa());
    // overlapping fragments (RFC 5722: the whole datagram dropped), and first fragments too short
    // to hold the upper-layer header (RFC 7112)
    for (let i = 0; i < 20; i++) frames.push(...overlapping(0x7000 + i));
    for (let i = 0; i < 20; i++) frames.push(tinyFirst(0x7100 + i));
    await sendFrames(frames);
    expect(await drops(active, 'ip6-ext-limit')).toBeGreaterThanOrEqual(before.ext + 20);
    expect(await drops(active, 'ip6-rh0')).toBeGreaterThanOrEqual(before.rh0 + 20);
    expect(await drops(active, 'bad-ip6-header')).toBeGreaterThanOrEqual(before.hdr + 20);
    expect(await drops(active, 'ip6-unknown-header')).toBeGreaterThanOrEqual(before.unknown + 20);
    expect(await drops(active, 'nd-hop-limit')).toBeGreaterThanOrEqual(before.hop + 100);
    expect(await events(active, 'nd-conflict')).toBeGreaterThanOrEqual(before.conflict + 50);
    expect(await events(active, 'nd-handled')).toBeGreaterThanOrEqual(before.nd + 50);
    expect(await drops(active, 'frag-overlap')).toBeGreaterThanOrEqual(before.overlap + 20);
    expect(await drops(active, 'frag-tiny')).toBeGreaterThanOrEqual(before.tiny + 20);
    // nothing changed: the same process is active, hosts still reach each other, the router's MAC is the virtual one
    expect(lab.pid(active)).toBe(pid);
    expect((await lab.boxState(active))?.state).toBe('active');
    expect(await ping6(SERVER6)).toBe(true);
    expect(await clientRouter()).toEqual({ lladdr: LAN_VMAC, gateway: 'fe80::1' });
  });
});

// ---- hostile frames, built here from RFC 8200 / RFC 4861 ----

const CLIENT_MAC_PLACEHOLDER = '02:00:00:00:00:99';

function parseBytes(ip: string): number[] {
  const w = parseIpv6(ip);
  return [...w].flatMap((v) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
}

const macBytes = (s: string) => s.split(':').map((h) => parseInt(h, 16));

/** An Ethernet frame with an IPv6 packet from the client to the lan virtual MAC (or `dstMac`). */
function frame6(src: string, dst: string, next: number, payload: number[], hopLimit = 64, dstMac = LAN_VMAC, srcMac = CLIENT_MAC_PLACEHOLDER): Buffer {
  const n = payload.length;
  return Buffer.from([
    ...macBytes(dstMac),
    ...macBytes(srcMac),
    0x86,
    0xdd,
    0x60,
    0,
    0,
    0,
    n >> 8,
    n & 255,
    next,
    hopLimit,
    ...parseBytes(src),
    ...parseBytes(dst),
    ...payload,
  ]);
}

/** `n` destination-options headers (8 bytes each, PadN), the last one pointing at UDP. */
function chain(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i === n - 1 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0);
  return out;
}

function udp6Body(): number[] {
  return [0x9c, 0x40, 0x13, 0x8a, 0, 12, 0, 0, 1, 2, 3, 4];
}

/** A payload length past the frame. */
function badLength(): Buffer {
  const f = frame6(CLIENT6, SERVER6, 17, udp6Body());
  f.writeUInt16BE(1000, 18);
  return f;
}

/** ICMPv6 with its checksum (RFC 4443 2.3: over the pseudo-header). */
function icmp6(src: string, dst: string, body: number[]): number[] {
  const m = Buffer.from(body);
  const pseudo = Buffer.from([...parseBytes(src), ...parseBytes(dst), 0, 0, m.length >> 8, m.length & 255, 0, 0, 0, 58]);
  m.writeUInt16BE(checksum(m, 0, m.length, sum16(pseudo, 0, pseudo.length)), 2);
  return [...m];
}

function nsFrame(src: string, target: string, hopLimit: number): Buffer {
  const body = [135, 0, 0, 0, 0, 0, 0, 0, ...parseBytes(target), 1, 1, ...macBytes(CLIENT_MAC_PLACEHOLDER)];
  return frame6(src, LAN_FLOAT6, 58, icmp6(src, LAN_FLOAT6, body), hopLimit);
}

/** An unsolicited advertisement (to all nodes, O set) claiming `target` for the spoofer's MAC. */
function naClaim(target: string): Buffer {
  const body = [136, 0, 0, 0, 0x20, 0, 0, 0, ...parseBytes(target), 2, 1, ...macBytes(CLIENT_MAC_PLACEHOLDER)];
  return frame6(CLIENT6, 'ff02::1', 58, icmp6(CLIENT6, 'ff02::1', body), 255, '33:33:00:00:00:01');
}

/** A router advertisement from the client (router lifetime 1800 s, no options). */
function rogueRa(): Buffer {
  const src = 'fe80::99';
  const body = [134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
  return frame6(src, 'ff02::1', 58, icmp6(src, 'ff02::1', body), 255, '33:33:00:00:00:01');
}

/** A fragment header (RFC 8200 4.5) before `next`, at `offset` bytes, M set or not. */
function fragHeader(next: number, offset: number, more: boolean, id: number): number[] {
  const w = offset | (more ? 1 : 0);
  return [next, 0, w >> 8, w & 255, id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255];
}

/** Two UDP fragments of one datagram whose second overlaps the first by 8 bytes. */
function overlapping(id: number): Buffer[] {
  const first = [...udp6Body(), ...new Array(20).fill(7)]; // 32 bytes
  return [
    frame6(CLIENT6, SERVER6, 44, [...fragHeader(17, 0, true, id), ...first]),
    frame6(CLIENT6, SERVER6, 44, [...fragHeader(17, 24, false, id), ...new Array(16).fill(9)]),
  ];
}

/** A first fragment of 8 bytes holding only a destination-options header: the UDP header (the ports) would come in a later one. */
function tinyFirst(id: number): Buffer {
  return frame6(CLIENT6, SERVER6, 44, [...fragHeader(60, 0, true, id), 17, 0, 1, 4, 0, 0, 0, 0]);
}

async function sendFrames(frames: Buffer[]): Promise<void> {
  const r = await run(
    'ip',
    ['netns', 'exec', lab.ns('client'), process.execPath, SEND_FRAMES, repoRoot(), 'eth0', '0'],
    JSON.stringify(frames.map((f) => f.toString('hex'))),
  );
  expect(r.code, r.stderr).toBe(0);
  await new Promise((res) => setTimeout(res, 300));
}
