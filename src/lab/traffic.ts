// Starting the lab's traffic programs (probe.js, stream.js) inside namespaces and collecting their
// JSON output: shared by the demo, the integration tests and the benches.
//
// Each program runs as `ip netns exec NS node dist/src/lab/<prog>.js ... --lab MARKER`; `--lab` is
// ignored by the program but puts MARKER (the lab's run dir) on its command line, so that stopping
// it by PID can first check /proc/<pid>/cmdline, and labDown can stop what a crashed run left.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';

export interface LabProcess<T> {
  pid: number;
  /** Resolves with the program's final JSON line once it exits. */
  result: Promise<T>;
  /** SIGTERM (if still running and still ours), then the result. */
  stop(timeoutMs?: number): Promise<T>;
}

export interface TrafficOptions {
  /** The checkout holding dist/src/lab/*.js. */
  repo: string;
  /** Put on the command line (--lab) and checked before signalling. */
  marker: string;
  /** Write the PID here (labDown stops it after a crash). */
  pidFile?: string;
  /** With liveMs, the program prints `{"live":{...}}` that often while it runs; each goes here (never into the result). */
  liveMs?: number;
  onLive?: (live: Record<string, unknown>) => void;
}

function programPath(repo: string, prog: 'probe' | 'stream'): string {
  const p = join(repo, 'dist', 'src', 'lab', `${prog}.js`);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run build\` first`);
  return p;
}

/**
 * Starts a program in `ns`. Resolves once it printed a line satisfying `ready` (or at once when
 * ready is null). Its last stdout line that parses as JSON is the result.
 */
function startInNs<T>(
  ns: string,
  prog: 'probe' | 'stream',
  args: string[],
  opts: TrafficOptions,
  ready: ((line: Record<string, unknown>) => boolean) | null,
  readyTimeoutMs = 10_000,
): Promise<LabProcess<T>> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, programPath(opts.repo, prog), ...args, '--lab', opts.marker], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new ProgramOutput(child, opts.onLive);
  const what = `${prog} ${args[0] ?? ''} in ${ns}`;
  const result = resultOf<T>(child, output, what);

  return new Promise<LabProcess<T>>((resolve, reject) => {
    child.once('spawn', () => {
      const pid = child.pid as number;
      if (opts.pidFile) writeFileSync(opts.pidFile, `${pid}\n`, { mode: 0o600 });
      const handle = labProcess(child, pid, result, what, opts.marker);
      if (ready === null) {
        resolve(handle);
        return;
      }
      const timer = setTimeout(() => {
        if (isOurs(pid, opts.marker)) process.kill(pid, 'SIGKILL');
        reject(new Error(`${what} not ready within ${readyTimeoutMs} ms${output.stderrText()}`));
      }, readyTimeoutMs);
      output.onLine = (obj) => {
        if (ready(obj)) {
          clearTimeout(timer);
          output.onLine = null;
          resolve(handle);
        }
      };
      result.then(
        () => undefined,
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
    child.once('error', reject);
  });
}

/**
 * A program's output: stdout line by line (`{"live":...}` lines go to onLive; every other JSON
 * line is shown to onLine and the last one kept), and the tail of stderr for error messages.
 */
class ProgramOutput {
  /** The last JSON line that was not a live report (undefined: none yet). */
  lastJson: unknown = undefined;
  onLine: ((obj: Record<string, unknown>) => void) | null = null;
  private stdout = '';
  private stderr = '';

  constructor(child: ChildProcess, onLive?: (live: Record<string, unknown>) => void) {
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.stdout += d;
      let nl: number;
      while ((nl = this.stdout.indexOf('\n')) >= 0) {
        const line = this.stdout.slice(0, nl).trim();
        this.stdout = this.stdout.slice(nl + 1);
        this.line(line, onLive);
      }
    });
    child.stderr!.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
  }

  private line(line: string, onLive?: (live: Record<string, unknown>) => void): void {
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      if (typeof obj.live === 'object' && obj.live !== null) {
        onLive?.(obj.live as Record<string, unknown>);
        return;
      }
      this.lastJson = obj;
      this.onLine?.(obj);
    } catch {
      // not JSON: ignore
    }
  }

  /** `: <stderr>` for an error message, or '' when the program wrote none. */
  stderrText(): string {
    return this.stderr ? `: ${this.stderr.trim()}` : '';
  }
}

/** The program's result: its last JSON line once it exits (a rejection when it has none, or only its ready line). */
function resultOf<T>(child: ChildProcess, output: ProgramOutput, what: string): Promise<T> {
  const result = new Promise<T>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
    child.once('close', (code, signal) => {
      const last = output.lastJson;
      if (last !== undefined && (last as Record<string, unknown>).ready === undefined) resolve(last as T);
      else reject(new Error(`${what} exited (${code ?? signal}) without a result${output.stderrText()}`));
    });
  });
  result.catch(() => undefined); // the caller may only ever call stop()
  return result;
}

function labProcess<T>(child: ChildProcess, pid: number, result: Promise<T>, what: string, marker: string): LabProcess<T> {
  return {
    pid,
    result,
    stop: async (timeoutMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null && isOurs(pid, marker)) process.kill(pid, 'SIGTERM');
      const timer = new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`${what} did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs).unref(),
      );
      return Promise.race([result, timer]);
    },
  };
}

function isOurs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

/** UDP probe receiver in `ns` on `port`; its summary is also written to `outFile`. */
export function startProbeReceiver(
  ns: string,
  o: TrafficOptions & {
    port: number;
    outFile: string;
    durationS?: number;
    /** Count arrivals per binMs into the summary's `arrivals`. */
    binMs?: number;
    /** 6: listen on an IPv6 socket (probes to the host's IPv6 address). */
    family?: 4 | 6;
  },
): Promise<LabProcess<ReceiverSummary>> {
  const args = ['receive', '--port', String(o.port), '--out', o.outFile];
  if (o.family === 6) args.push('--family', '6');
  if (o.durationS !== undefined) args.push('--duration-s', String(o.durationS));
  if (o.binMs !== undefined) args.push('--bins-ms', String(o.binMs));
  if (o.liveMs !== undefined) args.push('--live-ms', String(o.liveMs));
  return startInNs<ReceiverSummary>(ns, 'probe', args, o, (l) => l.ready === true);
}

/** UDP probe sender in `ns` to `to` ("IP:PORT" or "[IPv6]:PORT"), one probe every intervalMs. */
export function startProbeSender(ns: string, o: TrafficOptions & { to: string; intervalMs?: number; durationS?: number }): Promise<LabProcess<SenderSummary>> {
  const args = ['send', '--to', o.to, '--interval-ms', String(o.intervalMs ?? 1)];
  if (o.durationS !== undefined) args.push('--duration-s', String(o.durationS));
  if (o.liveMs !== undefined) args.push('--live-ms', String(o.liveMs));
  return startInNs<SenderSummary>(ns, 'probe', args, o, null);
}

/** TCP echo server in `ns`. */
export function startStreamServer(ns: string, o: TrafficOptions & { port: number }): Promise<LabProcess<Record<string, never>>> {
  return startInNs<Record<string, never>>(ns, 'stream', ['server', '--port', String(o.port)], o, (l) => l.ready === true);
}

/** TCP streaming clients in `ns`; resolves once every connection is up or failed. */
export async function startStreamClient(
  ns: string,
  o: TrafficOptions & { to: string; conns: number; durationS?: number; intervalMs?: number; spread?: boolean },
): Promise<LabProcess<StreamSummary> & { connected: number }> {
  let connected = 0;
  const args = ['client', '--to', o.to, '--conns', String(o.conns)];
  if (o.durationS !== undefined) args.push('--duration-s', String(o.durationS));
  if (o.intervalMs !== undefined) args.push('--interval-ms', String(o.intervalMs));
  if (o.spread) args.push('--spread');
  const h = await startInNs<StreamSummary>(ns, 'stream', args, o, (l) => {
    if (typeof l.connected === 'number') {
      connected = l.connected;
      return true;
    }
    return false;
  });
  return Object.assign(h, { connected });
}
