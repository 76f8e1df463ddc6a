// The lab's traffic probe: a standalone program run inside a namespace.
//
//   ip netns exec N-server node dist/src/lab/probe.js receive --port 5000 --out /run/.../probe.json [--duration-s S]
//   ip netns exec N-client node dist/src/lab/probe.js send --to 10.0.2.10:5000 [--interval-ms 1] [--duration-s S]
//
// The receiver records the arrival of every sequence-numbered UDP probe on the monotonic clock and,
// on SIGTERM/SIGINT or after --duration-s, writes a JSON summary (ProbeSummary from gaps.ts plus
// the port and wall-clock start) to --out and stdout. It prints `{"ready":true,...}` on stdout
// once it listens. With --bins-ms W it also counts arrivals per W ms (the failover picture's
// data, bounded by MAX_ARRIVAL_BINS); with --live-ms M it prints `{"live":{...}}` (ProbeProgress)
// every M ms while it runs, for a live view. The sender paces probes on the monotonic clock (catching up after a late
// timer, so the average rate holds), and prints `{"sent":N,...}` on exit (and, with --live-ms,
// `{"live":{"sent":N,"errors":E}}` while it runs).
import { createSocket } from 'node:dgram';
import { renameSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { runAsProgram } from './program.js';
import { isIpv6 } from '../net/ipv6.js';
import { formatHostPort, parseHostPort } from '../net/family.js';
import { ArrivalBins, decodeProbe, encodeProbe, GapTracker, PROBE_LEN, type ArrivalHistogram, type ProbeSummary } from './gaps.js';

export interface ReceiverSummary extends ProbeSummary {
  port: number;
  /** Wall clock when the receiver started listening (ISO 8601), to line gaps up with daemon logs. */
  startedAt: string;
  /** Wall clock of the first arrival; gap startMs are relative to it. */
  firstArrivalAt: string | null;
  /** Datagrams that were not probes. */
  foreign: number;
  /** Probes of a different run id than the first one seen (a stale sender). */
  otherRun: number;
  /** Arrivals per bin (only with --bins-ms; null when nothing arrived). */
  arrivals?: ArrivalHistogram | null;
}

export interface SenderSummary {
  sent: number;
  /** Sends that failed locally (no route, buffer full...). */
  errors: number;
  to: string;
  runId: number;
  durationMs: number;
}

/** Bursts are capped so that a long stall (SIGSTOP) does not turn into a flood on wake-up. */
const MAX_BURST = 100;

function parseArgs(argv: string[]): { cmd: string; opts: Map<string, string> } {
  const [cmd = '', ...rest] = argv;
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i];
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(key)}`);
    const eq = key.indexOf('=');
    if (eq > 0) opts.set(key.slice(2, eq), key.slice(eq + 1));
    else {
      const value = rest[i + 1];
      if (value === undefined) throw new Error(`${key} needs a value`);
      opts.set(key.slice(2), value);
      i++;
    }
  }
  return { cmd, opts };
}

function num(opts: Map<string, string>, key: string, fallback: number | undefined, min: number, max: number): number {
  const text = opts.get(key);
  if (text === undefined) {
    if (fallback === undefined) throw new Error(`--${key} is required`);
    return fallback;
  }
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${key}: got ${JSON.stringify(text)}, expected a number from ${min} to ${max}`);
  return v;
}

export function runReceiver(opts: {
  port: number;
  out?: string;
  durationS?: number;
  thresholdMs?: number;
  binMs?: number;
  liveMs?: number;
  /** 6: an IPv6 socket (on ::, which takes IPv4 too); default 4. */
  family?: 4 | 6;
}): Promise<ReceiverSummary> {
  return new Promise((resolve, reject) => {
    const tracker = new GapTracker({ thresholdMs: opts.thresholdMs });
    const bins = opts.binMs !== undefined ? new ArrivalBins({ binMs: opts.binMs }) : null;
    let live: NodeJS.Timeout | undefined;
    const sock = createSocket(opts.family === 6 ? 'udp6' : 'udp4');
    const startedAt = new Date().toISOString();
    let firstArrivalAt: string | null = null;
    let foreign = 0;
    let otherRun = 0;
    let runId: number | null = null;
    let done = false;

    const finish = (): void => {
      if (done) return;
      done = true;
      if (live) clearInterval(live);
      try {
        sock.close();
      } catch {
        // already closed
      }
      const summary: ReceiverSummary = { ...tracker.summary(), port: opts.port, startedAt, firstArrivalAt, foreign, otherRun };
      if (bins) summary.arrivals = bins.summary();
      const text = JSON.stringify(summary);
      if (opts.out) {
        // readers poll for the file: it appears whole or not at all
        writeFileSync(`${opts.out}.tmp`, `${text}\n`);
        renameSync(`${opts.out}.tmp`, opts.out);
      }
      process.removeListener('SIGTERM', finish);
      process.removeListener('SIGINT', finish);
      resolve(summary);
    };

    sock.on('message', (msg) => {
      const now = performance.now();
      const p = msg.length === PROBE_LEN ? decodeProbe(msg) : null;
      if (!p) {
        foreign++;
        return;
      }
      if (runId === null) runId = p.runId;
      else if (p.runId !== runId) {
        otherRun++;
        return;
      }
      if (firstArrivalAt === null) firstArrivalAt = new Date().toISOString();
      tracker.record(p.seq, now);
      // timeOrigin + now: the wall clock on the monotonic clock's scale, with sub-ms resolution
      bins?.record(now, performance.timeOrigin + now);
    });
    sock.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    sock.bind(opts.port, () => {
      sock.setRecvBufferSize(4 * 1024 * 1024);
      process.stdout.write(`${JSON.stringify({ ready: true, port: opts.port, pid: process.pid })}\n`);
      if (opts.durationS !== undefined) setTimeout(finish, opts.durationS * 1000);
      if (opts.liveMs !== undefined) {
        live = setInterval(() => process.stdout.write(`${JSON.stringify({ live: tracker.progress(performance.now()) })}\n`), opts.liveMs);
      }
    });
    process.on('SIGTERM', finish);
    process.on('SIGINT', finish);
  });
}

export function runSender(opts: { host: string; port: number; intervalMs: number; durationS?: number; liveMs?: number }): Promise<SenderSummary> {
  return new Promise((resolve) => {
    const sock = createSocket(isIpv6(opts.host) ? 'udp6' : 'udp4');
    const runId = randomInt(0, 0xffffffff);
    const start = performance.now();
    let sent = 0;
    let errors = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const live =
      opts.liveMs === undefined ? undefined : setInterval(() => process.stdout.write(`${JSON.stringify({ live: { sent, errors } })}\n`), opts.liveMs);

    const finish = (): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (live) clearInterval(live);
      process.removeListener('SIGTERM', finish);
      process.removeListener('SIGINT', finish);
      // let queued sends leave before closing
      setTimeout(() => {
        sock.close();
        resolve({ sent, errors, to: formatHostPort(opts.host, opts.port), runId, durationMs: Math.round(performance.now() - start) });
      }, 20);
    };

    const tick = (): void => {
      if (done) return;
      const elapsed = performance.now() - start;
      if (opts.durationS !== undefined && elapsed >= opts.durationS * 1000) {
        finish();
        return;
      }
      const due = Math.floor(elapsed / opts.intervalMs) + 1;
      let burst = Math.min(due - sent, MAX_BURST);
      if (due - sent > MAX_BURST) sent = due - MAX_BURST; // skipped, as if the wire had been cut
      while (burst-- > 0) {
        const seq = sent++;
        sock.send(encodeProbe(runId, seq), (err) => {
          if (err) errors++;
        });
      }
      timer = setTimeout(tick, Math.max(0, Math.min(opts.intervalMs, sent * opts.intervalMs - (performance.now() - start))));
    };

    sock.on('error', () => {
      errors++;
    });
    process.on('SIGTERM', finish);
    process.on('SIGINT', finish);
    sock.connect(opts.port, opts.host, () => {
      // connected: send() without an address, and ICMP errors surface as send errors (counted)
      tick();
    });
  });
}

export async function probeMain(argv: string[]): Promise<number> {
  const { cmd, opts } = parseArgs(argv);
  if (cmd === 'receive') {
    const summary = await runReceiver({
      port: num(opts, 'port', undefined, 1, 65535),
      out: opts.get('out'),
      durationS: opts.has('duration-s') ? num(opts, 'duration-s', undefined, 0, 86400) : undefined,
      thresholdMs: opts.has('gap-threshold-ms') ? num(opts, 'gap-threshold-ms', undefined, 0, 60000) : undefined,
      binMs: opts.has('bins-ms') ? num(opts, 'bins-ms', undefined, 0.1, 60000) : undefined,
      liveMs: opts.has('live-ms') ? num(opts, 'live-ms', undefined, 10, 60000) : undefined,
      family: num(opts, 'family', 4, 4, 6) === 6 ? 6 : 4,
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  if (cmd === 'send') {
    const to = opts.get('to') ?? '';
    const m = parseHostPort(to);
    if (!m) throw new Error(`--to: got ${JSON.stringify(to)}, expected IPv4:PORT or [IPv6]:PORT`);
    const summary = await runSender({
      host: m.host,
      port: m.port,
      intervalMs: num(opts, 'interval-ms', 1, 0.1, 60000),
      durationS: opts.has('duration-s') ? num(opts, 'duration-s', undefined, 0, 86400) : undefined,
      liveMs: opts.has('live-ms') ? num(opts, 'live-ms', undefined, 10, 60000) : undefined,
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  throw new Error(
    `usage: probe.js receive --port P [--family 4|6] [--out FILE] [--duration-s S] [--bins-ms W] [--live-ms M] | send --to IP:PORT [--interval-ms 1] [--duration-s S] [--live-ms M]`,
  );
}

runAsProgram(import.meta.url, 'probe', probeMain);
