// TCP window tracking with real daemons (issue 15 part 3; docs/firewall.md "TCP sequence
// windows"): an established connection client -> server through the pair's source NAT; from the
// server's namespace, resets with wrong sequence numbers sent from a raw socket to the NAT address
// and port are dropped and counted (tcp-out-of-window) and the connection goes on, while a reset
// at the sequence the session view shows kills it. After kill -9 of the active the connection
// still flows through the survivor, which drops none of its segments, and still drops a blind
// reset; an exact reset then kills it there too.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { boxListeners, cli, waitState, type Box } from './helpers/daemon.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const FIXTURES = join(repoRoot(), 'test', 'integration', 'fixtures');
const CHAT = join(FIXTURES, 'tcp-chat.mjs');
const RAW_RST = join(FIXTURES, 'raw-rst.py');
/** The lab policy's lab-test rule allows tcp/5000-5999. */
const PORT_1 = 5301;
const PORT_2 = 5302;
const PORT_BULK = 5303;
const BULK_BYTES = 32 * 1024 * 1024;
const NET_TOOL = join(FIXTURES, 'net-tool.mjs');

let lab: Lab;
const children: ChildProcess[] = [];

interface Side {
  seqEnd: number;
  maxAck: number;
  synced: boolean;
}
interface Session {
  state: string;
  reply: { dst: string; dstPort: number };
  window: [Side | null, Side | null];
}

const outOfWindow = async (box: Box) =>
  metricValue(await scrape(boxListeners(lab, box).metrics), 'tandem_dataplane_drops_total', { reason: 'tcp-out-of-window' });

const syncApplied = async (box: Box) => metricValue(await scrape(boxListeners(lab, box).metrics), 'tandem_dataplane_packets_total', { event: 'sync-applied' });

async function active(): Promise<Box> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

/** The session of the connection to `port` on `box`, as `tandem sessions --json` shows it. */
async function session(box: Box, port: number): Promise<Session> {
  const r = await cli(lab, box, 'sessions', '--protocol', 'tcp', '--port', String(port), '--json');
  expect(r.code, r.stderr).toBe(0);
  const list = JSON.parse(r.stdout) as { sessions: Session[] };
  expect(list.sessions).toHaveLength(1);
  return list.sessions[0];
}

/** Resets from the server's namespace to the NAT address and port of `s`, one per sequence number. */
async function resets(s: Session, port: number, seqs: number[]): Promise<void> {
  const r = await lab.nsExec('server', 'python3', [RAW_RST, s.reply.dst, String(port), String(s.reply.dstPort), ...seqs.map((x) => String(x >>> 0))]);
  expect(JSON.parse(r.stdout.trim())).toEqual({ sent: seqs.length });
}

/** Blind sequence numbers: far from the server's next sequence (a quarter of the space and beyond). */
function blind(s: Session, n: number): number[] {
  const end = s.window[1]!.seqEnd;
  return Array.from({ length: n }, (_, i) => (end + 0x4000_0000 + i * 0x1234_5678) >>> 0);
}

/** A client connection driven line by line (fixtures/tcp-chat.mjs). */
class Chat {
  readonly lines: Record<string, any>[] = [];
  private readonly child: ChildProcess;
  private sent = 0;

  constructor(port: number) {
    this.child = spawn('ip', ['netns', 'exec', lab.ns('client'), process.execPath, CHAT, 'client', SERVER, String(port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(this.child);
    let buf = '';
    this.child.stdout!.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
  }

  async connected(): Promise<void> {
    await lab.waitFor(() => this.lines.some((l) => l.connected), 5000, 'the client connected');
  }

  /** Sends one message and waits for its echo: the connection still carries data both ways. */
  async roundTrip(timeoutMs = 5000): Promise<void> {
    const n = ++this.sent;
    this.child.stdin!.write('x\n');
    await lab.waitFor(() => this.lines.some((l) => l.echo === n) || this.failed(), timeoutMs, `echo ${n}`);
    expect(this.failed(), JSON.stringify(this.lines)).toBe(false);
  }

  failed(): boolean {
    return this.lines.some((l) => l.error !== undefined || l.closed);
  }
}

describe.skipIf(!isRoot())('TCP window tracking through the pair', () => {
  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('tw') });
    for (const port of [PORT_1, PORT_2]) {
      const srv = spawn('ip', ['netns', 'exec', lab.ns('server'), process.execPath, CHAT, 'server', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.stdout.once('data', () => resolve());
        srv.once('exit', () => reject(new Error('chat server exited')));
      });
    }
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
  });

  it('blind resets to the NAT address and port are dropped and counted; a reset at the right sequence kills the connection', async () => {
    const chat = new Chat(PORT_1);
    await chat.connected();
    for (let i = 0; i < 3; i++) await chat.roundTrip();
    const box = await active();
    const s = await session(box, PORT_1);
    expect(s.state).toBe('established');
    const before = await outOfWindow(box);
    await resets(s, PORT_1, blind(s, 5));
    await lab.waitFor(async () => (await outOfWindow(box)) - before >= 5, 3000, 'the blind resets counted');
    for (let i = 0; i < 3; i++) await chat.roundTrip();
    expect(await outOfWindow(box)).toBe(before + 5);
    expect((await session(box, PORT_1)).state).toBe('established');

    // the server's next sequence, as the pair tracks it, is the client's RCV.NXT: the client takes it
    const now = await session(box, PORT_1);
    await resets(now, PORT_1, [now.window[1]!.seqEnd]);
    await lab.waitFor(() => chat.failed(), 3000, 'the client connection reset');
    expect(chat.lines.find((l) => l.error !== undefined)?.error).toBe('ECONNRESET');
    expect((await session(box, PORT_1)).state).toBe('close');
  });

  it('a 32 MiB upload (window scaling on) has no segment refused, and its sessions are replicated on the sequence stride', async () => {
    const box = await active();
    const other: Box = box === 'fwa' ? 'fwb' : 'fwa';
    const sink = spawn('ip', ['netns', 'exec', lab.ns('server'), process.execPath, NET_TOOL, 'tcp-sink', String(PORT_BULK)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(sink);
    let got = '';
    sink.stdout.on('data', (d) => (got += d));
    await lab.waitFor(() => got.includes('"ready"'), 5000, 'the sink listens');
    const before = await outOfWindow(box);
    const appliedBefore = await syncApplied(other);
    const up = await lab.nsExec('client', process.execPath, [NET_TOOL, 'tcp-upload', SERVER, String(PORT_BULK), String(BULK_BYTES)], { timeoutMs: 30_000 });
    expect(JSON.parse(up.stdout.trim().split('\n').pop()!)).toMatchObject({ ok: true });
    await lab.waitFor(() => got.includes(`"received":${BULK_BYTES}`), 5000, 'the sink got every byte');
    expect(await outOfWindow(box)).toBe(before);
    // 32 MiB at one record per MiB of sequence (plus the handshake and close): the passive kept up
    expect((await syncApplied(other)) - appliedBefore).toBeGreaterThanOrEqual(BULK_BYTES / (1 << 20));
  });

  it('after kill -9 of the active the connection flows through the survivor, which drops none of its segments and still drops a blind reset', async () => {
    const chat = new Chat(PORT_2);
    await chat.connected();
    for (let i = 0; i < 3; i++) await chat.roundTrip();
    const first = await active();
    const other: Box = first === 'fwa' ? 'fwb' : 'fwa';
    // the survivor holds the session, its window state synced
    await lab.waitFor(
      async () => {
        const r = await cli(lab, other, 'sessions', '--protocol', 'tcp', '--port', String(PORT_2), '--json');
        return r.code === 0 && (JSON.parse(r.stdout) as { matched: number }).matched === 1;
      },
      5000,
      'the passive holds the synced session',
    );
    const synced = await session(other, PORT_2);
    expect(synced.window[1]?.synced).toBe(true);
    const survivorBefore = await outOfWindow(other);

    await lab.killBox(first, 'SIGKILL');
    await waitState(lab, other, 'active', 10_000);
    for (let i = 0; i < 5; i++) await chat.roundTrip(10_000);
    expect(await outOfWindow(other)).toBe(survivorBefore);
    const s = await session(other, PORT_2);
    expect(s.state).toBe('established');
    // both sides seen since the take-over: checked exactly again
    expect([s.window[0]?.synced, s.window[1]?.synced]).toEqual([false, false]);

    await resets(s, PORT_2, blind(s, 3));
    await lab.waitFor(async () => (await outOfWindow(other)) - survivorBefore >= 3, 3000, 'the blind resets counted on the survivor');
    await chat.roundTrip();
    expect(await outOfWindow(other)).toBe(survivorBefore + 3);

    const now = await session(other, PORT_2);
    await resets(now, PORT_2, [now.window[1]!.seqEnd]);
    await lab.waitFor(() => chat.failed(), 3000, 'the client connection reset');
    expect(chat.lines.find((l) => l.error !== undefined)?.error).toBe('ECONNRESET');
    process.stderr.write(`tcp-window: survivor ${other}: tcp-out-of-window ${survivorBefore} -> ${await outOfWindow(other)} (3 blind resets)\n`);
  });
});
