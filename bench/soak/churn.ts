// The soak run's connection churn, run inside the lab's client namespace for the whole run:
//
//   ip netns exec N-client node dist/bench/soak/churn.js --to 10.0.2.10:5002 --rate 20 --lab MARKER
//
// Opens --rate short TCP connections a second to the lab's echo server; each writes 64 bytes,
// waits for the echo and closes, so the firewall creates, closes and expires sessions (and NAT
// ports) all the time. At most MAX_IN_FLIGHT are open at once (past it a tick is skipped and
// counted: the churn itself stays bounded). Prints {"live":{...}} every --live-ms and the totals as
// the last line on SIGTERM. --lab is ignored (it marks the command line as the lab's).
import { connect } from 'node:net';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PAYLOAD = Buffer.alloc(64, 0x5a);
const CONN_TIMEOUT_MS = 5000;
const MAX_IN_FLIGHT = 500;

export interface ChurnTotals {
  opened: number;
  ok: number;
  failed: number;
  /** Failures by reason (ECONNREFUSED, timeout, echo mismatch, ...). */
  why: Record<string, number>;
  skipped: number;
  inFlight: number;
}

function run(host: string, port: number, rate: number, liveMs: number): void {
  const t: ChurnTotals = { opened: 0, ok: 0, failed: 0, why: {}, skipped: 0, inFlight: 0 };
  const fail = (why: string): void => {
    t.failed++;
    t.why[why] = (t.why[why] ?? 0) + 1;
  };
  const one = (): void => {
    if (t.inFlight >= MAX_IN_FLIGHT) {
      t.skipped++;
      return;
    }
    t.opened++;
    t.inFlight++;
    let got = 0;
    let done = false;
    const finish = (why: string | null): void => {
      if (done) return;
      done = true;
      t.inFlight--;
      clearTimeout(timer);
      if (why === null) t.ok++;
      else fail(why);
      sock.destroy();
    };
    const sock = connect(port, host, () => sock.write(PAYLOAD));
    const timer = setTimeout(() => finish('timeout'), CONN_TIMEOUT_MS);
    sock.on('data', (d: Buffer) => {
      for (const b of d) if (b !== 0x5a) return finish('echo mismatch');
      got += d.length;
      if (got >= PAYLOAD.length) sock.end();
    });
    sock.on('end', () => finish(got >= PAYLOAD.length ? null : `echo incomplete`));
    sock.on('close', () => finish(got >= PAYLOAD.length ? null : 'closed early'));
    sock.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  };
  const start = performance.now();
  let started = 0;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (started < due) {
      started++;
      one();
    }
  };
  setInterval(tick, Math.max(5, Math.floor(1000 / rate))).unref();
  setInterval(() => process.stdout.write(`${JSON.stringify({ live: t })}\n`), liveMs);
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify(t)}\n`);
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
}

function arg(argv: string[], key: string): string | undefined {
  const i = argv.indexOf(`--${key}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const argv = process.argv.slice(2);
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(arg(argv, 'to') ?? '');
  const rate = Number(arg(argv, 'rate') ?? '20');
  const liveMs = Number(arg(argv, 'live-ms') ?? '10000');
  if (!m || !(rate > 0 && rate <= 1000) || !(liveMs >= 100)) {
    process.stderr.write('usage: churn.js --to IP:PORT [--rate 1-1000 per s] [--live-ms M] --lab MARKER\n');
    process.exit(2);
  }
  run(m[1], Number(m[2]), rate, liveMs);
}
