// The lab's TCP streams: a standalone program run inside a namespace, to show that established
// connections ride through a failover.
//
//   ip netns exec N-server node dist/src/lab/stream.js server --port 5001
//   ip netns exec N-client node dist/src/lab/stream.js client --to 10.0.2.10:5001 --conns 8 [--duration-s S]
//
// The server echoes. Each client connection writes a 1 KiB chunk every 10 ms and checks that the
// echo comes back byte for byte. The client prints `{"connected":N}` once every connection is up
// (or failed; --spread staggers the connections' writes over the interval), and on SIGTERM/SIGINT or after --duration-s stops writing, waits up to 3 s for the
// echoes to catch up, closes and prints a StreamSummary. A connection survived if it never saw an
// error or a close and got back every byte it sent.
import { createServer, connect, type Socket } from 'node:net';
import { runAsProgram } from './program.js';
import { formatHostPort, parseHostPort } from '../net/family.js';

export interface StreamConnResult {
  id: number;
  connected: boolean;
  survived: boolean;
  sent: number;
  echoed: number;
  /** What ended it early ("ECONNRESET", "closed by peer", "echo mismatch", ...), null if it survived. */
  error: string | null;
  /**
   * Longest stall: the longest time this connection had bytes written and not yet echoed while no
   * echo arrived (from the write that left the connection waiting, or the previous echo, to the
   * next echo; still waiting at the end counts up to then). With a write every interval this is
   * the longest gap between echo arrivals while data was in flight.
   */
  maxEchoGapMs: number;
  /** When that longest stall ended (Date.now() ms), null if it never waited. */
  maxEchoGapEndMs: number | null;
}

export interface StreamSummary {
  to: string;
  total: number;
  connected: number;
  survived: number;
  /** Connections reset (ECONNRESET) or closed by the far end. */
  reset: number;
  /** The longest maxEchoGapMs over all connections, and when it ended (Date.now() ms). */
  maxEchoGapMs: number;
  maxEchoGapEndMs: number | null;
  /** Median over the connections of their maxEchoGapMs (connected ones). */
  medianMaxEchoGapMs: number;
  conns: StreamConnResult[];
}

const CHUNK_BYTES = 1024;
const WRITE_INTERVAL_MS = 10;
const CONNECT_TIMEOUT_MS = 5000;
const DRAIN_WAIT_MS = 3000;
/** Above the largest burst the lab opens (10,000 connections in the benches); the kernel caps it at somaxconn. */
const LISTEN_BACKLOG = 16_384;

/** The byte at stream offset i: a pattern that catches loss, duplication and reordering (bench/chaos/flows.ts checks the same). */
export function patternByte(id: number, i: number): number {
  return (i * 31 + id * 7 + (i >>> 8)) & 0xff;
}

export function runStreamServer(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    server.on('error', reject);
    // A backlog for every connection of a burst: with node's default (511) a 1000-connection burst
    // overflowed the SYN queue and the kernel answered with SYN cookies, which hold no state. A
    // connection whose handshake ACK and first data segment were lost in a failover then reached
    // the server first with a later segment, failed the cookie check (the cookie is checked
    // against seq - 1) and was reset: nothing the firewall did (TcpExtSyncookiesFailed = resets).
    server.listen({ port, backlog: LISTEN_BACKLOG }, () => process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`));
    const stop = (): void => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        process.stdout.write(`${JSON.stringify({ stopped: true, port })}\n`);
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export interface StreamClientOptions {
  host: string;
  port: number;
  conns: number;
  durationS?: number;
  intervalMs?: number;
  /**
   * Instead of every connection writing on the same timer tick, the interval is cut into ticks of
   * at most 10 ms and each connection writes on its own tick (id modulo the tick count), so many
   * connections at a low rate make a steady flow rather than a burst per interval.
   */
  spread?: boolean;
}

/** Runs the client until SIGTERM/SIGINT or durationS, then resolves with its summary. */
export function runStreamClient(opts: StreamClientOptions): Promise<StreamSummary> {
  return new Promise((resolve) => {
    const client = new StreamClient(opts);
    for (let id = 0; id < opts.conns; id++) client.connect(id);
    client.startWriting();
    const stop = (): void => {
      void client.stop().then((summary) => {
        if (summary !== null) resolve(summary);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (opts.durationS !== undefined) setTimeout(stop, opts.durationS * 1000);
  });
}

/** The connections of one client run, their writer and their results. */
class StreamClient {
  private readonly results: StreamConnResult[] = [];
  private readonly sockets: Socket[] = [];
  /** Per connection: since when it waits for an echo (bytes outstanding, none arrived since), or -1. */
  private readonly waitingSince: number[] = [];
  private writer: NodeJS.Timeout | undefined;
  /** Connections neither connected nor failed yet. */
  private pending: number;
  private stopping = false;

  constructor(private readonly opts: StreamClientOptions) {
    this.pending = opts.conns;
  }

  /** Opens connection `id`; it checks every echoed byte against patternByte. */
  connect(id: number): void {
    const r: StreamConnResult = { id, connected: false, survived: false, sent: 0, echoed: 0, error: null, maxEchoGapMs: 0, maxEchoGapEndMs: null };
    this.results.push(r);
    this.waitingSince.push(-1);
    const s = connect({ host: this.opts.host, port: this.opts.port });
    this.sockets.push(s);
    s.setNoDelay(true);
    const fail = (why: string): void => {
      if (r.error === null && !(this.stopping && why === 'closed by peer')) r.error = why;
    };
    const timeout = setTimeout(() => {
      if (!r.connected) {
        fail('connect timeout');
        s.destroy();
        this.connDone();
      }
    }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timeout);
      r.connected = true;
      this.connDone();
    });
    s.on('data', (d: Buffer) => {
      for (let k = 0; k < d.length; k++) {
        if (d[k] !== patternByte(id, r.echoed + k)) {
          fail('echo mismatch');
          s.destroy();
          return;
        }
      }
      r.echoed += d.length;
      const now = Date.now();
      this.noteGap(r, now);
      this.waitingSince[id] = r.echoed < r.sent ? now : -1;
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      fail(err.code ?? err.message);
      if (!r.connected) {
        clearTimeout(timeout);
        this.connDone();
      }
    });
    s.on('close', () => fail('closed by peer'));
  }

  /** One more connection up or failed; once all are, prints `{"connected":N}`. */
  private connDone(): void {
    if (--this.pending === 0) process.stdout.write(`${JSON.stringify({ connected: this.results.filter((r) => r.connected).length })}\n`);
  }

  /** Ends a wait for an echo at `now`: the longest one is the connection's maxEchoGapMs. */
  private noteGap(r: StreamConnResult, now: number): void {
    const since = this.waitingSince[r.id];
    if (since < 0) return;
    if (now - since > r.maxEchoGapMs) {
      r.maxEchoGapMs = now - since;
      r.maxEchoGapEndMs = now;
    }
  }

  /** A chunk per connection per interval (on its own tick with spread). */
  startWriting(): void {
    const intervalMs = this.opts.intervalMs ?? WRITE_INTERVAL_MS;
    const tickMs = this.opts.spread ? Math.min(intervalMs, WRITE_INTERVAL_MS) : intervalMs;
    const slots = this.opts.spread ? Math.max(1, Math.round(intervalMs / tickMs)) : 1;
    let tick = 0;
    this.writer = setInterval(() => {
      const slot = tick++ % slots;
      for (let id = slot; id < this.sockets.length; id += slots) this.write(id);
    }, tickMs);
  }

  private write(id: number): void {
    const s = this.sockets[id];
    const r = this.results[id];
    if (!r.connected || r.error !== null || s.destroyed) return;
    // do not queue without bound while the path is down: TCP holds what is in flight
    if (s.writableLength > 64 * CHUNK_BYTES) return;
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let k = 0; k < CHUNK_BYTES; k++) chunk[k] = patternByte(id, r.sent + k);
    if (r.echoed === r.sent) this.waitingSince[id] = Date.now();
    r.sent += CHUNK_BYTES;
    s.write(chunk);
  }

  /**
   * Stops writing, waits up to DRAIN_WAIT_MS for the echoes to catch up, closes every connection
   * and sums up. Null when already stopping (the first call's summary is the one).
   */
  async stop(): Promise<StreamSummary | null> {
    if (this.stopping) return null;
    this.stopping = true;
    if (this.writer) clearInterval(this.writer);
    const results = this.results;
    const deadline = Date.now() + DRAIN_WAIT_MS;
    while (Date.now() < deadline && results.some((r) => r.connected && r.error === null && r.echoed < r.sent)) {
      await new Promise((res) => setTimeout(res, 20));
    }
    const end = Date.now();
    for (const r of results) {
      // an error ends the wait for an echo; a connection still waiting stalled until now
      if (r.error === null) this.noteGap(r, end);
      if (r.error === null && r.connected && r.echoed < r.sent) r.error = `echo incomplete (${r.echoed}/${r.sent} bytes)`;
      r.survived = r.connected && r.error === null;
    }
    for (const s of this.sockets) s.destroy();
    return summarize(formatHostPort(this.opts.host, this.opts.port), results);
  }
}

function summarize(to: string, results: StreamConnResult[]): StreamSummary {
  let worst: StreamConnResult | null = null;
  for (const r of results) if (worst === null || r.maxEchoGapMs > worst.maxEchoGapMs) worst = r;
  const gaps = results
    .filter((r) => r.connected)
    .map((r) => r.maxEchoGapMs)
    .sort((a, b) => a - b);
  return {
    to,
    total: results.length,
    connected: results.filter((r) => r.connected).length,
    survived: results.filter((r) => r.survived).length,
    reset: results.filter((r) => r.error === 'ECONNRESET' || r.error === 'closed by peer' || r.error === 'EPIPE').length,
    maxEchoGapMs: worst?.maxEchoGapMs ?? 0,
    maxEchoGapEndMs: worst?.maxEchoGapEndMs ?? null,
    medianMaxEchoGapMs: gaps.length === 0 ? 0 : gaps[Math.floor(gaps.length / 2)],
    conns: results,
  };
}

function arg(argv: string[], key: string): string | undefined {
  const i = argv.indexOf(`--${key}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function streamMain(argv: string[]): Promise<number> {
  const [cmd] = argv;
  if (cmd === 'server') {
    const port = Number(arg(argv, 'port'));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port: expected 1-65535');
    await runStreamServer(port);
    return 0;
  }
  if (cmd === 'client') {
    const m = parseHostPort(arg(argv, 'to') ?? '');
    if (!m) throw new Error('--to: expected IPv4:PORT or [IPv6]:PORT');
    const conns = Number(arg(argv, 'conns') ?? '8');
    if (!Number.isInteger(conns) || conns < 1 || conns > 1000) throw new Error('--conns: expected 1-1000');
    const d = arg(argv, 'duration-s');
    // many connections at a lower rate each: 1000 connections x 1 KiB every 100 ms is ~10 MB/s
    const intervalMs = Number(arg(argv, 'interval-ms') ?? String(WRITE_INTERVAL_MS));
    if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 10_000) throw new Error('--interval-ms: expected 1-10000');
    const spread = argv.includes('--spread');
    const summary = await runStreamClient({ host: m.host, port: m.port, conns, intervalMs, spread, durationS: d === undefined ? undefined : Number(d) });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  throw new Error('usage: stream.js server --port P | client --to IP:PORT [--conns N] [--interval-ms M] [--spread] [--duration-s S]');
}

runAsProgram(import.meta.url, 'stream', streamMain);
