// Counters the benches read before and after a run: interface statistics in a namespace, nft
// counters, a process's CPU time and RSS, the machine's CPU split, the kernel's backlog drops and
// the daemon's Prometheus metrics over its unix socket.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { sh } from '../../src/lab/exec.js';

export interface LinkStats {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

interface IpLinkJson {
  stats64?: {
    rx: { packets: number; bytes: number; dropped: number };
    tx: { packets: number; bytes: number; dropped: number };
  };
}

/** `ip -s -j link show dev DEV` in `ns`. */
export async function linkStats(ns: string, dev: string): Promise<LinkStats> {
  const { stdout } = await sh('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const s = (JSON.parse(stdout) as IpLinkJson[])[0]?.stats64;
  if (!s) throw new Error(`no statistics for ${dev} in ${ns}`);
  return { rxPackets: s.rx.packets, rxBytes: s.rx.bytes, rxDropped: s.rx.dropped, txPackets: s.tx.packets, txBytes: s.tx.bytes, txDropped: s.tx.dropped };
}

export async function linkMac(ns: string, dev: string): Promise<string> {
  const { stdout } = await sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev]);
  const mac = (JSON.parse(stdout) as Array<{ address?: string }>)[0]?.address;
  if (!mac) throw new Error(`no MAC for ${dev} in ${ns}`);
  return mac;
}

/** Packets counted by the nft rules of `ns` that carry `comment`. */
export async function nftCounter(ns: string, comment: string): Promise<number> {
  const { stdout } = await sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  type Rule = { rule?: { comment?: string; expr?: Array<{ counter?: { packets: number } }> } };
  const items = (JSON.parse(stdout) as { nftables: Rule[] }).nftables;
  let n = 0;
  for (const it of items) {
    if (it.rule?.comment !== comment) continue;
    for (const e of it.rule.expr ?? []) if (e.counter) n += e.counter.packets;
  }
  return n;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux that matters). */
const USER_HZ = 100;

/** CPU seconds (user + system, every thread) a process has used. */
export function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 of proc(5) are utime and stime; f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

/** Resident set size in MiB (VmRSS). */
export function processRssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface MachineCpu {
  user: number;
  system: number;
  softirq: number;
  idle: number;
  total: number;
}

/** The `cpu` line of /proc/stat, in ticks (user includes nice; idle includes iowait). */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { user: user + nice, system: system + irq, softirq, idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + (steal || 0) };
}

/** Frames the kernel dropped because a CPU's input backlog was full (/proc/net/softnet_stat, column 2). */
export function backlogDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((n, l) => n + parseInt(l.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

/** GET /metrics over a unix socket. */
export function scrapeMetrics(socketPath: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`metrics scrape of ${socketPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Every sample of `family` as label text -> value, e.g. `reason="no-route"` -> 12. */
export function metricSamples(text: string, family: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const rest = line.slice(family.length);
    let labels = '';
    let value: string;
    if (rest.startsWith('{')) {
      const end = rest.indexOf('}');
      labels = rest.slice(1, end);
      value = rest.slice(end + 1).trim();
    } else if (rest.startsWith(' ')) value = rest.trim();
    else continue;
    out.set(labels, (out.get(labels) ?? 0) + Number(value.split(' ')[0]));
  }
  return out;
}

/** after - before for each sample, dropping zeros. */
export function sampleDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}
