// iperf3 (Debian's iperf3 package) as the benches' TCP load: a server in one namespace, a client
// in another, the client's JSON report (-J) parsed for what the server received.
//
// parseIperf3() is pure; startIperf3Server() and runIperf3Client() run the program inside a
// namespace and are stopped by their PIDs only.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from '../../src/lab/lab.js';

export interface Iperf3Result {
  /** What the server received, over the test (sum over the streams). */
  receivedBitsPerS: number;
  receivedBytes: number;
  /** What the client sent (sum over the streams). */
  sentBitsPerS: number;
  /** Segments the client's TCP retransmitted (sum over the streams). */
  retransmits: number;
  /** The test's length as iperf3 measured it on the receiving side. */
  seconds: number;
  /** iperf3's own CPU use, percent of one core: the client (host) and the server (remote). */
  clientCpuPct: number;
  serverCpuPct: number;
}

interface Iperf3Json {
  error?: string;
  end?: {
    sum_sent?: { bits_per_second?: number; retransmits?: number };
    sum_received?: { bits_per_second?: number; bytes?: number; seconds?: number };
    cpu_utilization_percent?: { host_total?: number; remote_total?: number };
  };
}

/** The figures of an iperf3 client's `-J` report; throws with iperf3's own error when it has one. Pure. */
export function parseIperf3(text: string): Iperf3Result {
  let doc: Iperf3Json;
  try {
    doc = JSON.parse(text) as Iperf3Json;
  } catch {
    throw new Error(`iperf3 printed no JSON report: ${text.trim().slice(0, 300)}`);
  }
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const received = doc.end?.sum_received;
  const sent = doc.end?.sum_sent;
  if (!received || typeof received.bits_per_second !== 'number') throw new Error('iperf3 report has no end.sum_received');
  return {
    receivedBitsPerS: received.bits_per_second,
    receivedBytes: received.bytes ?? 0,
    sentBitsPerS: sent?.bits_per_second ?? 0,
    retransmits: sent?.retransmits ?? 0,
    seconds: received.seconds ?? 0,
    clientCpuPct: doc.end?.cpu_utilization_percent?.host_total ?? 0,
    serverCpuPct: doc.end?.cpu_utilization_percent?.remote_total ?? 0,
  };
}

/** A running iperf3 server; stop() ends it by its PID. */
export interface Iperf3Server {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `iperf3 -s` in `ns`, bound to `address`:`port`, and records its PID in `runDir` as
 * iperf3-server<tag>.pid. Its log goes to runDir too, so its command line names runDir: labDown's
 * cleanup of the run dir's *.pid files stops it even if the bench itself dies first. One server
 * serves one test at a time: two clients loading at once need two servers (two tags and ports).
 */
export async function startIperf3Server(ns: string, address: string, port: number, runDir: string, tag = ''): Promise<Iperf3Server> {
  const logfile = join(runDir, `iperf3-server${tag}.log`);
  // `ip netns exec` execs iperf3 in place, so the child's PID is the server's
  const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-B', address, '-p', String(port), '--logfile', logfile], { stdio: 'ignore' });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run iperf3 (apt-get install iperf3): ${err.message}`)));
    child.once('spawn', () => resolve(child.pid as number));
  });
  writeFileSync(join(runDir, `iperf3-server${tag}.pid`), `${pid}\n`, { mode: 0o600 });
  // give it a moment to listen; a server that failed to start (port taken, no iperf3) has exited by then
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null) throw new Error(`iperf3 server in ${ns} exited at once (code ${child.exitCode}); see ${logfile}`);
  return { pid, stop: async () => void (await stopProcess(pid, runDir, 3000)) };
}

/** The running client, so a signal handler can stop it (by its PID, nothing broader). */
export let runningClient: ChildProcess | null = null;
/** Every running client (benches that load from two hosts at once), for the same reason. */
export const runningClients = new Set<ChildProcess>();

/** Runs `iperf3 -c server -p port -t seconds -P streams -J` in `ns` and parses its report. */
export function runIperf3Client(ns: string, server: string, port: number, seconds: number, streams: number): Promise<Iperf3Result> {
  const args = [
    'netns',
    'exec',
    ns,
    'iperf3',
    '-c',
    server,
    '-p',
    String(port),
    '-t',
    String(seconds),
    '-P',
    String(streams),
    '-J',
    '--connect-timeout',
    '3000',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    runningClient = child;
    runningClients.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // iperf3 ends on its own after -t; this bounds a client stuck on a dead path
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.once('error', (err) => {
      clearTimeout(guard);
      runningClient = null;
      runningClients.delete(child);
      reject(new Error(`cannot run iperf3 (apt-get install iperf3): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      runningClient = null;
      runningClients.delete(child);
      try {
        resolve(parseIperf3(stdout));
      } catch (err) {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(`iperf3 client (${why}): ${err instanceof Error ? err.message : String(err)}${stderr ? ` | ${stderr.trim()}` : ''}`));
      }
    });
  });
}
