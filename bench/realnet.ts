// bench/realnet: issue 15's side-by-side. The packets real networks send, through tandem and
// through the Linux answer (kernel forwarding, nftables, keepalived + conntrackd: bench/lib/
// keepalived.ts, the baseline bench's pair) in the same lab topology, seen by the tools a user
// would run from the client:
//
//   traceroute  `traceroute -n -I` to the server: the first hop (the pair, or `*`)
//   ping        `ping -s N -c 3` for N = 3000, 8000, 20000 (fragmented by the client): answers
//   dns         `dig` of a TXT record larger than the MTU over UDP (dnsmasq in the server namespace):
//               the answer's size, or the failure
//   resets      an established TCP connection through source NAT; from the server namespace five
//               resets with random sequence numbers to the NAT address and port (a raw socket):
//               how many reach the client's wire (tcpdump there; the client's own stack drops
//               them as out of window, RFC 5961, so the connection surviving proves nothing)
//   pmtu        both boxes' wan0 at MTU 1400, the client and server at 1500: an N MiB TCP upload
//               (bounded at 15 s): bytes that arrived, and the time
//
//   npm run bench:realnet -- [--targets tandem,kernel] [--upload-mib 20] [--bound-s 15]
//
// Each target gets a fresh lab (tandem: `tandem lab up`; kernel: the same namespaces and cables,
// VRRP on lan0 and wan0); the checks run one after another; the pmtu check last (it changes MTUs).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExecError, nsExec } from '../src/lab/exec.js';
import { Lab, repoRoot } from '../src/lab/lab.js';
import { BOX_DEVICE, HOST_DEVICE, LAB_ADDR, buildTopology, destroyTopology, nsName, type LabBox } from '../src/lab/topology.js';
import { ensurePackages, kernelBoxUp, readEvents, startBoxDaemons, stopBox, writeBoxFiles, type BoxDaemons } from './lib/keepalived.js';

type TargetName = 'tandem' | 'kernel';
type Role = 'client' | 'server' | LabBox;

/** A lab with a firewall pair in it, whichever kind. */
interface Env {
  ns(role: Role): string;
  down(): Promise<void>;
}

const SERVER = LAB_ADDR.server;
const SINK_PORT = '5201';
const SMALL_MTU = 1400;
const PING_SIZES = [3000, 8000, 20000];
const FIXTURES = join(repoRoot(), 'test', 'integration', 'fixtures');
const TOOL = join(FIXTURES, 'net-tool.mjs');
const CHAT = join(FIXTURES, 'tcp-chat.mjs');
const RAW_RST = join(FIXTURES, 'raw-rst.py');
const CHAT_PORT = '5204';
const DNS_PORT = '5353';
/** 14 strings of 250 bytes: an answer of about 3.6 KB. */
const TXT = Array.from({ length: 14 }, (_, i) => `"${String.fromCharCode(97 + i).repeat(250)}"`).join(',');

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const targets = (argv.get('targets') ?? 'tandem,kernel').split(',').filter((t) => t !== '') as TargetName[];
for (const t of targets) if (t !== 'tandem' && t !== 'kernel') throw new Error(`--targets: tandem or kernel, got ${String(t)}`);
const uploadBytes = Number(argv.get('upload-mib') ?? '20') * 1024 * 1024;
const boundMs = Number(argv.get('bound-s') ?? '15') * 1000;

const log = (s: string) => process.stderr.write(`realnet: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tandemUp(): Promise<Env> {
  const lab = await Lab.up({ name: `rn${randomBytes(3).toString('hex')}`, out: process.stderr });
  return { ns: (r) => lab.ns(r), down: () => lab.down() };
}

async function kernelUp(): Promise<Env> {
  await ensurePackages(log);
  const name = `rk${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-realnet-'));
  const ns = (r: Role) => nsName(name, r);
  const daemons: Partial<Record<LabBox, BoxDaemons>> = {};
  const down = async () => {
    for (const box of ['fwa', 'fwb'] as const) await stopBox(dir, daemons[box] ?? null, ns(box)).catch((e: unknown) => log(`stop ${box}: ${String(e)}`));
    await destroyTopology(name).catch((e: unknown) => log(`teardown of ${name}: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await buildTopology(name);
    for (const box of ['fwa', 'fwb'] as const) {
      writeBoxFiles(dir, box, { version: 3, advertInt: 0.1 });
      await kernelBoxUp(ns(box), 'snat');
    }
    for (const box of ['fwa', 'fwb'] as const) daemons[box] = await startBoxDaemons(dir, box, ns(box));
    const deadline = Date.now() + 15_000;
    while (!readEvents(dir, 'fwa').some((e) => e.what.startsWith('end primary'))) {
      if (Date.now() > deadline) throw new Error('keepalived: fwa not MASTER after 15 s');
      await sleep(50);
    }
    return { ns, down };
  } catch (err) {
    await down();
    throw err;
  }
}

/** The first hop traceroute shows from the client (`*` when the pair sends no time exceeded). */
async function traceroute(env: Env): Promise<string> {
  const r = await nsExec(env.ns('client'), 'traceroute', ['-n', '-I', '-q', '1', '-w', '2', '-m', '3', SERVER], { timeoutMs: 30_000 });
  const hops = r.stdout
    .split('\n')
    .map((l) => /^\s*\d+\s+(\S+)/.exec(l)?.[1])
    .filter((h): h is string => h !== undefined);
  return `${hops.join(' -> ')}`;
}

/** Answers to 3 pings of `size` bytes of payload. */
async function ping(env: Env, size: number): Promise<number> {
  // ping exits 1 when answers are missing: its summary line is the figure either way
  const out = await nsExec(env.ns('client'), 'ping', ['-n', '-q', '-c', '3', '-i', '0.3', '-W', '2', '-s', String(size), SERVER], { timeoutMs: 20_000 }).then(
    (r) => r.stdout,
    (e: unknown) => (e instanceof ExecError ? e.stdout : ''),
  );
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

/** A net-tool mode in the background; its JSON lines. */
function background(ns: string, args: string[]): { child: ChildProcess; lines: Record<string, unknown>[]; ready: Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, TOOL, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const o = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(o);
        if (o.ready === true) resolve();
      }
    });
  });
  return { child, lines, ready };
}

/** The upload across the smaller wan: bytes that reached the server, and ms (or the bound). */
async function pmtu(env: Env): Promise<{ received: number; ms: number; done: boolean }> {
  for (const box of ['fwb', 'fwa'] as const) await nsExec(env.ns(box), 'ip', ['link', 'set', BOX_DEVICE.wan, 'mtu', String(SMALL_MTU)]);
  await sleep(1000); // tandem reopens its capture handle on a changed MTU
  await nsExec(env.ns('client'), 'ip', ['route', 'flush', 'cache']);
  const sink = background(env.ns('server'), ['tcp-sink', SINK_PORT]);
  try {
    await sink.ready;
    const t0 = Date.now();
    const r = await nsExec(env.ns('client'), process.execPath, [TOOL, 'tcp-upload', SERVER, SINK_PORT, String(uploadBytes), String(boundMs)], {
      timeoutMs: boundMs + 10_000,
    });
    const up = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { ok?: boolean; ms?: number };
    const until = Date.now() + 3000;
    while (!sink.lines.some((l) => typeof l.received === 'number') && Date.now() < until) await sleep(50);
    const received = Number(sink.lines.find((l) => typeof l.received === 'number')?.received ?? 0);
    return { received, ms: up.ok === true ? Math.round(up.ms ?? 0) : Date.now() - t0, done: up.ok === true && received === uploadBytes };
  } finally {
    sink.child.kill('SIGKILL');
  }
}

/** dig of the big TXT record from a dnsmasq in the server namespace: the answer's bytes, or what failed. */
async function dns(env: Env): Promise<string> {
  const dnsmasq = spawn(
    'ip',
    [
      'netns',
      'exec',
      env.ns('server'),
      'dnsmasq',
      '--no-daemon',
      '--no-resolv',
      '--no-hosts',
      `--port=${DNS_PORT}`,
      '--listen-address=' + SERVER,
      '--bind-interfaces',
      '--edns-packet-max=4096',
      `--txt-record=big.lab,${TXT}`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  try {
    await sleep(500);
    const r = await nsExec(
      env.ns('client'),
      'dig',
      ['+short', '+time=2', '+tries=1', '+ignore', '+bufsize=4096', '-p', DNS_PORT, `@${SERVER}`, 'big.lab', 'TXT'],
      {
        timeoutMs: 10_000,
      },
    ).then(
      (x) => x.stdout,
      (e: unknown) => (e instanceof ExecError ? e.stdout : ''),
    );
    const got = r.trim();
    return got.length > 3000 ? `${got.length} bytes of TXT` : `no answer (${got.split('\n')[0] || 'timeout'})`;
  } finally {
    dnsmasq.kill('SIGKILL');
  }
}

/** Five resets with random sequence numbers at an established connection's NAT address: does it survive? */
async function resets(env: Env): Promise<string> {
  const srv = spawn('ip', ['netns', 'exec', env.ns('server'), process.execPath, CHAT, 'server', CHAT_PORT], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => srv.stdout.once('data', () => resolve()));
  const cli = spawn('ip', ['netns', 'exec', env.ns('client'), process.execPath, CHAT, 'client', SERVER, CHAT_PORT], { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  cli.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  const echoes = () => lines.filter((l) => typeof l.echo === 'number').length;
  const roundTrip = async (): Promise<boolean> => {
    const want = echoes() + 1;
    cli.stdin.write('x\n');
    for (let t = 0; t < 40 && echoes() < want; t++) await sleep(50);
    return echoes() >= want && !lines.some((l) => l.error !== undefined || l.closed === true);
  };
  try {
    for (let t = 0; t < 100 && !lines.some((l) => l.connected === true || l.error !== undefined); t++) await sleep(50);
    if (!(await roundTrip())) return `no connection (${JSON.stringify(lines)})`;
    // the connection as the server sees it: the NAT address and port
    const ss = (await nsExec(env.ns('server'), 'ss', ['-Htn', 'state', 'established', `( sport = :${CHAT_PORT} )`])).stdout;
    const peer = /\s(\d+\.\d+\.\d+\.\d+):(\d+)\s*$/m.exec(ss.trim());
    if (peer === null) return `no established connection on the server (${ss.trim()})`;
    const seqs = Array.from({ length: 5 }, () => String(randomBytes(4).readUInt32BE(0)));
    const dump = spawn(
      'ip',
      ['netns', 'exec', env.ns('client'), 'tcpdump', '-n', '-l', '-i', HOST_DEVICE, `tcp[tcpflags] & tcp-rst != 0 and port ${CHAT_PORT}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let seen = '';
    dump.stdout.on('data', (d) => (seen += d));
    await new Promise<void>((resolve) => dump.stderr.on('data', (d) => String(d).includes('listening on') && resolve()));
    await nsExec(env.ns('server'), 'python3', [RAW_RST, peer[1], CHAT_PORT, peer[2], ...seqs]);
    await sleep(500);
    dump.kill('SIGINT');
    const reached = seen.split('\n').filter((l) => l.includes('[R')).length;
    return `${reached} of 5 reach the client; the connection ${(await roundTrip()) ? 'survives' : 'died'}`;
  } finally {
    cli.kill('SIGKILL');
    srv.kill('SIGKILL');
  }
}

interface Row {
  target: TargetName;
  hop: string;
  pings: number[];
  dns: string;
  resets: string;
  upload: { received: number; ms: number; done: boolean };
}

async function measure(target: TargetName): Promise<Row> {
  log(`${target}: up`);
  const env = target === 'tandem' ? await tandemUp() : await kernelUp();
  try {
    const hop = await traceroute(env);
    const pings: number[] = [];
    for (const size of PING_SIZES) pings.push(await ping(env, size));
    const dnsResult = await dns(env);
    const resetResult = await resets(env);
    const upload = await pmtu(env);
    return { target, hop, pings, dns: dnsResult, resets: resetResult, upload };
  } finally {
    await env.down();
  }
}

function print(rows: Row[]): void {
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(`\n| check | ${rows.map((r) => r.target).join(' | ')} |`);
  console.log(`|---|${rows.map(() => '---').join('|')}|`);
  console.log(`| traceroute -n -I: hops to the server | ${rows.map((r) => r.hop).join(' | ')} |`);
  PING_SIZES.forEach((size, i) => console.log(`| ping -s ${size}: answers of 3 | ${rows.map((r) => `${r.pings[i]} of 3`).join(' | ')} |`));
  console.log(`| dig of a ${TXT.length}-byte TXT over UDP (fragmented answer) | ${rows.map((r) => r.dns).join(' | ')} |`);
  console.log(`| 5 resets with random sequence numbers at the NAT address, from the server side | ${rows.map((r) => r.resets).join(' | ')} |`);
  const up = (r: Row) =>
    r.upload.done
      ? `${mib(r.upload.received)} MiB in ${(r.upload.ms / 1000).toFixed(2)} s`
      : `${mib(r.upload.received)} MiB in ${(r.upload.ms / 1000).toFixed(1)} s (stalled)`;
  console.log(`| ${mib(uploadBytes)} MiB upload, wan MTU ${SMALL_MTU} | ${rows.map(up).join(' | ')} |`);
}

const rows: Row[] = [];
for (const t of targets) rows.push(await measure(t));
print(rows);
