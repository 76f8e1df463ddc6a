// The chaos run's long-lived flows, a program run inside a lab namespace for the whole run, asked
// for figures between failovers (src/lab/stream.ts and probe.ts only report once, at the end):
//
//   ip netns exec N-client node dist/bench/chaos/flows.js tcp --to 10.0.2.10:5002 --conns 500 [--interval-ms 100] --lab MARKER
//   ip netns exec N-server node dist/bench/chaos/flows.js udp --port 5001 --lab MARKER
//
// stdin takes one command a line; each is answered with one JSON line on stdout:
//   mark  the figures since the previous mark (a failover's share), then a new segment starts
//   end   (tcp) stop writing, wait up to 5 s for the echoes, and the final verdict per connection
// The tcp client writes 1 KiB per connection every --interval-ms (connections spread over the
// interval) to the lab's echo server (stream.js server) and checks every echoed byte. A
// connection reset, closed, or without an echo for 10 s is lost, reported, and replaced by a new
// one, so the load stays the same for the failovers that follow. --lab is
// ignored: it puts the lab's run dir on the command line, so only our processes are signalled.
import { connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { decodeProbe, PROBE_LEN } from '../../src/lab/gaps.js';
import { patternByte } from '../../src/lab/stream.js';

const CHUNK_BYTES = 1024;
const CONNECT_TIMEOUT_MS = 5000;
const DRAIN_WAIT_MS = 5000;
/** A connection that waited longer than this for an echo at a mark is listed as stalled there. */
const STALL_REPORT_MS = 1000;
/** No echo for this long: the connection is lost (and replaced). */
const STALL_LOST_MS = 10_000;
const REPLACE_AFTER_MS = 200;
/** Silences of the UDP probe longer than this are listed (five 1 ms probe intervals). */
const UDP_GAP_LIST_MS = 5;

export interface TcpLoss {
  id: number;
  /** ECONNRESET, 'closed by peer', 'echo mismatch', 'echo incomplete (a/b bytes)', ... */
  why: string;
  /** When it happened (epoch ms); for an incomplete echo, when the connection began to wait. */
  atMs: number;
}

export interface TcpMark {
  mark: number;
  atMs: number;
  /** Connections that failed in this segment. */
  lost: TcpLoss[];
  /**
   * Longest wait for an echo among the connections: waits that ended in the segment, and waits
   * still going that began in it (a connection stalled since before the segment is in stalledNow).
   */
  maxStallMs: number;
  /** Connections waiting longer than STALL_REPORT_MS for an echo right now. */
  stalledNow: number;
  alive: number;
}

export interface TcpEnd {
  end: true;
  /** Connections opened over the run (the initial ones and the replacements of lost ones). */
  total: number;
  connected: number;
  survived: number;
  lost: TcpLoss[];
}

export interface UdpMark {
  mark: number;
  atMs: number;
  received: number;
  /** Sequence numbers skipped in this segment (never arrived, as far as the segment saw). */
  lost: number;
  /** Arrivals below the highest sequence seen (late or duplicate). */
  late: number;
  maxGapMs: number;
  /** Silences over UDP_GAP_LIST_MS: when they began (epoch ms) and how long they were. */
  gaps: { atMs: number; gapMs: number }[];
}

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function commands(handlers: Record<string, () => void | Promise<void>>): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const h = handlers[line.trim()];
    if (h) void h();
  });
}

function runTcp(opts: { host: string; port: number; conns: number; intervalMs: number }): void {
  interface Conn {
    id: number;
    s: Socket;
    connected: boolean;
    sent: number;
    echoed: number;
    error: TcpLoss | null;
    /** Since when it waits for an echo (bytes outstanding, none arrived since), -1 when not. */
    waitingSince: number;
    segMaxWaitMs: number;
    replaced: boolean;
  }
  /** One live connection per slot; a lost one is replaced, so that every failover has the full load to lose. */
  const conns: Conn[] = [];
  let nextId = 0;
  let pending = opts.conns;
  let stopping = false;
  let markNo = 0;
  let segStart = Date.now();
  let segLost: TcpLoss[] = [];
  const allLost: TcpLoss[] = [];
  let opened = 0;
  const fail = (c: Conn, why: string): void => {
    if (c.error !== null || stopping) return;
    c.error = { id: c.id, why, atMs: Date.now() };
    segLost.push(c.error);
    allLost.push(c.error);
  };
  const open = (slot: number, initial: boolean): void => {
    const id = nextId++;
    opened++;
    const s = connect({ host: opts.host, port: opts.port });
    const c: Conn = { id, s, connected: false, sent: 0, echoed: 0, error: null, waitingSince: -1, segMaxWaitMs: 0, replaced: false };
    conns[slot] = c;
    s.setNoDelay(true);
    let counted = !initial;
    const connDone = (): void => {
      if (counted) return;
      counted = true;
      if (--pending === 0) out({ connected: conns.filter((x) => x.connected).length });
    };
    const timeout = setTimeout(() => {
      if (c.connected) return;
      fail(c, 'connect timeout');
      s.destroy();
      connDone();
    }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timeout);
      c.connected = true;
      connDone();
    });
    s.on('data', (d: Buffer) => {
      for (let k = 0; k < d.length; k++) {
        if (d[k] !== patternByte(id, c.echoed + k)) {
          fail(c, 'echo mismatch');
          s.destroy();
          return;
        }
      }
      c.echoed += d.length;
      const now = Date.now();
      if (c.waitingSince >= 0) c.segMaxWaitMs = Math.max(c.segMaxWaitMs, now - c.waitingSince);
      c.waitingSince = c.echoed < c.sent ? now : -1;
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      fail(c, err.code ?? err.message);
      if (!c.connected) {
        clearTimeout(timeout);
        connDone();
      }
    });
    s.on('close', () => fail(c, 'closed by peer'));
  };
  for (let slot = 0; slot < opts.conns; slot++) open(slot, true);

  // A connection with no echo for STALL_LOST_MS is lost (TCP's backed-off retransmissions after
  // an outage of a second or two come well within it); lost ones are replaced after a moment.
  const janitor = setInterval(() => {
    if (stopping || pending > 0) return;
    const now = Date.now();
    conns.forEach((c, slot) => {
      if (c.error === null && c.waitingSince >= 0 && now - c.waitingSince > STALL_LOST_MS) {
        fail(c, `stalled (no echo for ${now - c.waitingSince} ms)`);
        c.error!.atMs = c.waitingSince;
        c.s.destroy();
      }
      if (c.error !== null && !c.replaced && now - c.error.atMs > REPLACE_AFTER_MS) {
        c.replaced = true;
        c.s.destroy();
        open(slot, false);
      }
    });
  }, 250);

  // each connection writes on its own 10 ms tick of the interval: a steady flow, not a burst
  const tickMs = Math.min(opts.intervalMs, 10);
  const slots = Math.max(1, Math.round(opts.intervalMs / tickMs));
  let tick = 0;
  const writer = setInterval(() => {
    const slot = tick++ % slots;
    for (let i = slot; i < conns.length; i += slots) {
      const c = conns[i];
      if (!c.connected || c.error !== null || c.s.destroyed) continue;
      // TCP holds what is in flight while the path is down: do not queue without bound
      if (c.s.writableLength > 64 * CHUNK_BYTES) continue;
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      for (let k = 0; k < CHUNK_BYTES; k++) chunk[k] = patternByte(c.id, c.sent + k);
      if (c.echoed === c.sent) c.waitingSince = Date.now();
      c.sent += CHUNK_BYTES;
      c.s.write(chunk);
    }
  }, tickMs);

  commands({
    mark: () => {
      const now = Date.now();
      let maxStallMs = 0;
      let stalledNow = 0;
      for (const c of conns) {
        const ongoing = c.error === null && c.waitingSince >= 0 ? now - c.waitingSince : 0;
        maxStallMs = Math.max(maxStallMs, c.segMaxWaitMs, c.waitingSince >= segStart ? ongoing : 0);
        if (ongoing > STALL_REPORT_MS) stalledNow++;
        c.segMaxWaitMs = 0;
      }
      const m: TcpMark = {
        mark: markNo++,
        atMs: now,
        lost: segLost,
        maxStallMs,
        stalledNow,
        alive: conns.filter((c) => c.connected && c.error === null).length,
      };
      segLost = [];
      segStart = now;
      out(m);
    },
    end: async () => {
      if (stopping) return;
      clearInterval(writer);
      clearInterval(janitor);
      const deadline = Date.now() + DRAIN_WAIT_MS;
      while (Date.now() < deadline && conns.some((c) => c.connected && c.error === null && c.echoed < c.sent)) await new Promise((r) => setTimeout(r, 20));
      stopping = true;
      const lost: TcpLoss[] = [...allLost];
      for (const c of conns) {
        if (c.error !== null) continue;
        if (!c.connected) lost.push({ id: c.id, why: 'never connected', atMs: Date.now() });
        else if (c.echoed < c.sent) lost.push({ id: c.id, why: `echo incomplete (${c.echoed}/${c.sent} bytes)`, atMs: c.waitingSince });
      }
      for (const c of conns) c.s.destroy();
      const e: TcpEnd = { end: true, total: opened, connected: conns.filter((c) => c.connected).length, survived: opened - lost.length, lost };
      out(e);
      process.exit(0);
    },
  });
}

function runUdp(port: number): void {
  const sock = createSocket('udp4');
  let runId: number | null = null;
  let highest = -1;
  let lastMono = -1;
  let markNo = 0;
  let seg = { received: 0, late: 0, startHighest: -1, maxGapMs: 0, gaps: [] as { atMs: number; gapMs: number }[] };
  sock.on('message', (msg) => {
    const now = performance.now();
    const p = msg.length === PROBE_LEN ? decodeProbe(msg) : null;
    if (!p) return;
    if (runId === null) runId = p.runId;
    else if (p.runId !== runId) return; // a stale sender
    if (lastMono >= 0) {
      const gap = now - lastMono;
      if (gap > seg.maxGapMs) seg.maxGapMs = gap;
      if (gap > UDP_GAP_LIST_MS && seg.gaps.length < 1000) seg.gaps.push({ atMs: Date.now() - gap, gapMs: Math.round(gap * 10) / 10 });
    }
    lastMono = now;
    if (p.seq > highest) {
      if (seg.startHighest < 0) seg.startHighest = highest < 0 ? p.seq - 1 : highest;
      highest = p.seq;
      seg.received++;
    } else seg.late++;
  });
  sock.bind(port, () => {
    sock.setRecvBufferSize(4 * 1024 * 1024);
    out({ ready: true, port });
  });
  commands({
    mark: () => {
      const span = seg.startHighest < 0 ? 0 : highest - seg.startHighest;
      const m: UdpMark = {
        mark: markNo++,
        atMs: Date.now(),
        received: seg.received,
        lost: Math.max(0, span - seg.received),
        late: seg.late,
        maxGapMs: Math.round(seg.maxGapMs * 10) / 10,
        gaps: seg.gaps,
      };
      seg = { received: 0, late: 0, startHighest: -1, maxGapMs: 0, gaps: [] };
      out(m);
    },
  });
}

function arg(argv: string[], key: string): string | undefined {
  const i = argv.indexOf(`--${key}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function intArg(argv: string[], key: string, fallback: number, min: number, max: number): number {
  const text = arg(argv, key);
  const v = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${key}: got ${JSON.stringify(text)}, expected a whole number from ${min} to ${max}`);
  return v;
}

export function flowsMain(argv: string[]): void {
  const [cmd] = argv;
  process.on('SIGTERM', () => process.exit(0));
  if (cmd === 'tcp') {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(arg(argv, 'to') ?? '');
    if (!m) throw new Error('--to: expected IPv4:PORT');
    runTcp({ host: m[1], port: Number(m[2]), conns: intArg(argv, 'conns', 100, 1, 5000), intervalMs: intArg(argv, 'interval-ms', 100, 1, 10_000) });
  } else if (cmd === 'udp') {
    runUdp(intArg(argv, 'port', 0, 1, 65535));
  } else throw new Error('usage: flows.js tcp --to IP:PORT [--conns N] [--interval-ms M] | udp --port P');
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    flowsMain(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`flows: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
