// bench/baseline: issue 5's side-by-side baseline. The same lab topology as tandem's failover-gap
// bench, without tandem: the Linux answer to a redundant stateful firewall in fwa and fwb (kernel
// forwarding, nftables stateful rules and source NAT as bench/lib/kernel-fw.ts, keepalived moving
// the floating IPs 10.0.1.1 / 10.0.2.1 by VRRP on lan0 and wan0, conntrackd FTFW over ha2, the stock
// primary-backup notify script), and the same probe: UDP every 1 ms client -> server, gap and lost;
// plus TCP connections (src/lab/stream.ts) that should survive.
// IPv6 beside IPv4 in the same run (same failure; --ipv6 0 leaves it out): the boxes' kernels
// forward IPv6 too, keepalived moves IPv6 VIPs (fe80::1, the hosts' default router, and
// 2001:db8:1::1 / 2001:db8:2::1) in instances of their own in the same sync group, and a second
// UDP probe (client 2001:db8:1::10 -> server [2001:db8:2::10]:5003, no NAT) and --conns6 TCP
// streams over IPv6 run through the failure; its row follows each IPv4 row. If the IPv6 probe has
// not resumed when the run's window ends, the run waits for it up to --v6-wait-s more (keepalived
// #375: 30-45 s when the hosts keep the old master's MAC). The hosts' neighbour entries for fe80::1
// are watched (`ip monitor neigh`): whose MAC they hold before and after, and when they changed.
//
//   npm run bench:baseline -- [--runs 3] [--profiles default,fast] [--modes crash] [--nat snat] [--conns 8]
//       [--ipv6 1] [--conns6 8] [--v6-wait-s 60] [--drop-unsolicited-na 0]
//
// --drop-unsolicited-na 1: the hosts drop every neighbour advertisement sent to ff02::1 (an nft
// rule in their own namespaces), so keepalived's unsolicited NAs never reach them: keepalived
// #375's case, where only the hosts' neighbour unreachability detection moves them to the new master.
//
// Failure of the master (fwa), after 1.5 s of steady traffic:
//   crash  the box dies: its traffic links pulled at the switch (one ip -batch), kill -9 of
//          keepalived (parent and VRRP child) and conntrackd, then its HA links pulled. Without the
//          links down the master's kernel would keep forwarding with the floating IPs still on it.
//   kill   kill -9 of both daemons only (the kernel keeps forwarding; for reference).
// Profiles: default = keepalived's defaults (VRRPv2, advert_int 1); fast = VRRPv3, advert_int
// --fast-advert (0.01 s, the smallest VRRPv3 allows).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { nsExec, sh } from '../src/lab/exec.js';
import { nftLoad } from './lib/kernel-fw.js';
import { repoRoot } from '../src/lab/lab.js';
import { BOX_DEVICE, buildTopology, destroyTopology, nsName, HOST_DEVICE, LAB_ADDR, LAB_ADDR6, SW_PORT, type LabBox } from '../src/lab/topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from '../src/lab/traffic.js';
import type { ProbeProgress } from '../src/lab/gaps.js';
import type { ReceiverSummary, SenderSummary } from '../src/lab/probe.js';
import type { StreamSummary } from '../src/lab/stream.js';
import {
  boxFiles,
  crashDaemons,
  ensurePackages,
  kernelBoxUp,
  readEvents,
  startBoxDaemons,
  stopBox,
  tail,
  writeBoxFiles,
  type BoxDaemons,
  type NatMode,
  type VrrpTimers,
} from './lib/keepalived.js';

type Mode = 'crash' | 'kill';
type Profile = 'default' | 'fast';
const SERVER = LAB_ADDR.server;
const SERVER6 = LAB_ADDR6.server;
const PROBE_PORT = 5001;
/** The stream server listens on both families (::); the IPv6 streams use the same port. */
const STREAM_PORT = 5002;
/** The IPv6 probe beside the IPv4 one (the port failover-gap's IPv6 probe uses). */
const PROBE6_PORT = 5003;
const STEADY_MS = 1500;

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const runs = Number(argv.get('runs') ?? '3');
const profiles = (argv.get('profiles') ?? 'default,fast').split(',').filter((p) => p !== '') as Profile[];
const modes = (argv.get('modes') ?? 'crash').split(',').filter((m) => m !== '') as Mode[];
const nat = (argv.get('nat') ?? 'snat') as NatMode;
const conns = Number(argv.get('conns') ?? '8');
const fastAdvert = Number(argv.get('fast-advert') ?? '0.01');
/** IPv6 beside IPv4 in every run (--ipv6 0: IPv4 only, as before). */
const withV6 = argv.get('ipv6') !== '0';
/** The hosts drop unsolicited NAs (to ff02::1): keepalived #375's case. */
const dropNa = withV6 && (argv.get('drop-unsolicited-na') ?? '0') !== '0';
const NA_TABLE = 'bench_drop_na';
const conns6 = withV6 ? Number(argv.get('conns6') ?? String(conns)) : 0;
/** How long a run waits past its window for an IPv6 probe that has not resumed. */
const v6WaitS = Number(argv.get('v6-wait-s') ?? '60');
if (!Number.isFinite(v6WaitS) || v6WaitS < 0) throw new Error('--v6-wait-s: a number of seconds >= 0');
for (const p of profiles) if (p !== 'default' && p !== 'fast') throw new Error(`--profiles: unknown ${String(p)}`);
for (const m of modes) if (m !== 'crash' && m !== 'kill') throw new Error(`--modes: unknown ${String(m)}`);
if (nat !== 'snat' && nat !== 'masquerade') throw new Error(`--nat: snat or masquerade, got ${String(nat)}`);

const TIMERS: Record<Profile, VrrpTimers> = { default: { version: 2, advertInt: 1 }, fast: { version: 3, advertInt: fastAdvert } };
/** After the failure: long enough for the takeover, TCP's backed-off retransmission and the stream drain. */
const AFTER_MS: Record<Profile, number> = { default: 9000, fast: 3000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`baseline: ${s}\n`);

let cleanupCurrent: (() => Promise<void>) | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: tearing down`);
    void (cleanupCurrent ?? (async () => undefined))().finally(() => process.exit(130));
  });
}

interface RunResult {
  profile: Profile;
  mode: Mode;
  gapMs: number;
  lost: number;
  sent: number;
  /** failure -> the peer's keepalived runs notify_master (it has become MASTER and added the VIPs). */
  takeoverMs: number | null;
  /** failure -> the stock script's primary branch (conntrackd -c, -f, -R, -B) finished. */
  commitDoneMs: number | null;
  /** TCP connections through the pair before the failure / still alive and complete after. */
  tcpConnected: number;
  tcpSurvived: number;
  tcpErrors: string[];
  /** Longest time any connection had data in flight with no echo arriving (stream.ts maxEchoGapMs). */
  tcpStallMs: number;
  /** Extra steady time before the failure, random in [0, advert_int): the failure's phase against the adverts. */
  phaseMs: number;
  /** Entries for the server in the backup's external cache just before the failure. */
  externalCacheBefore: number;
  /** Transitions of the backup to MASTER before the failure (false failovers). */
  backupFlapsBefore: number;
  cutMs: number;
  /** The IPv6 probe and streams beside them (null with --ipv6 0). */
  v6: V6Result | null;
  /** --drop-unsolicited-na: NAs to ff02::1 the client and the server dropped (null without). */
  naDropped: { client: number; server: number } | null;
}

/** Packets counted by the unsolicited-NA drop rule in a host namespace. */
async function naDropCount(ns: string): Promise<number> {
  const out = await sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', NA_TABLE]).catch(() => null);
  const m = out ? /counter packets (\d+)/.exec(out.stdout) : null;
  return m ? Number(m[1]) : -1;
}

/** A host's neighbour entry for its IPv6 router fe80::1: whose MAC it holds. */
interface NeighSnap {
  owner: LabBox | 'other' | 'none';
  lladdr: string | null;
  state: string;
  router: boolean;
}

interface V6Result {
  /** Longest silence at the IPv6 receiver; without recovery, failure side silence up to the end (a lower bound). */
  gapMs: number;
  lost: number;
  sent: number;
  /** The IPv6 probe flowed again before the run ended. */
  recovered: boolean;
  /** ms waited past the run's window for the IPv6 probe to resume (0: it had resumed within it). */
  waitedMs: number;
  tcpConnected: number;
  tcpSurvived: number;
  tcpErrors: string[];
  tcpStallMs: number;
  /** Entries for the server's IPv6 address in the backup's external cache just before the failure. */
  externalCacheBefore: number;
  /** The hosts' entries for fe80::1 before the failure and at the end, and every change (ms after the failure). */
  neigh: Record<'client' | 'server', { before: NeighSnap; after: NeighSnap; changes: Array<{ ms: number; line: string }> }>;
}

/** The MACs of the boxes' traffic devices, to name a neighbour entry's owner. */
async function boxMacs(name: string): Promise<Map<string, LabBox>> {
  const macs = new Map<string, LabBox>();
  for (const box of ['fwa', 'fwb'] as const) {
    for (const link of ['lan', 'wan'] as const) {
      const out = await sh('ip', ['-n', nsName(name, box), '-j', 'link', 'show', 'dev', BOX_DEVICE[link]]);
      const mac = (JSON.parse(out.stdout) as Array<{ address?: string }>)[0]?.address;
      if (mac) macs.set(mac.toLowerCase(), box);
    }
  }
  return macs;
}

async function routerNeigh(ns: string, macs: Map<string, LabBox>): Promise<NeighSnap> {
  const out = await sh('ip', ['-n', ns, '-6', '-j', 'neigh', 'show', 'dev', HOST_DEVICE]).catch(() => null);
  const entries = out ? (JSON.parse(out.stdout || '[]') as Array<{ dst: string; lladdr?: string; state?: string[]; router?: unknown }>) : [];
  const e = entries.find((x) => x.dst === LAB_ADDR6.linkLocal);
  if (!e) return { owner: 'none', lladdr: null, state: '-', router: false };
  const lladdr = e.lladdr?.toLowerCase() ?? null;
  return { owner: lladdr === null ? 'none' : (macs.get(lladdr) ?? 'other'), lladdr, state: (e.state ?? []).join(','), router: 'router' in e };
}

/** `ip -ts monitor neigh` in `ns`, its output to `file`; stop() kills exactly that process. */
function monitorNeigh(ns: string, file: string): { stop: () => void } {
  const fd = openSync(file, 'a', 0o600);
  const child = spawn('ip', ['-n', ns, '-ts', 'monitor', 'neigh'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.on('error', () => undefined);
  return {
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** Lines of a monitor file about fe80::1, with ms relative to t0 (epoch ms). */
function neighChanges(file: string, t0: number): Array<{ ms: number; line: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ ms: number; line: string }> = [];
  for (const line of text.split('\n')) {
    // [2026-12-07T14:55:01.123456] fe80::1 dev eth0 lladdr ... (local time, µs)
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?\]\s*(.*)$/.exec(line.trim());
    if (!m || !m[3].includes(`${LAB_ADDR6.linkLocal} `)) continue;
    const ms = new Date(m[1]).getTime() + Number(m[2] ?? 0) * 1000;
    out.push({ ms: Math.round(ms - t0), line: m[3] });
  }
  return out;
}

async function waitEvent(dir: string, box: LabBox, what: string, timeoutMs: number, after = 0): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = readEvents(dir, box).find((ev) => ev.what.startsWith(what) && ev.ms >= after);
    if (e) return e.ms;
    if (Date.now() > deadline) return null;
    await sleep(10);
  }
}

async function oneRun(profile: Profile, mode: Mode): Promise<RunResult> {
  // kb6: this bench's labs (unique per run), never another bench's or engineer's
  const name = `kb6${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-baseline-'));
  const ns = (r: 'fwa' | 'fwb' | 'client' | 'server') => nsName(name, r);
  const daemons: Partial<Record<LabBox, BoxDaemons>> = {};
  const procs: Array<LabProcess<unknown>> = [];
  const monitors: Array<{ stop: () => void }> = [];
  const cleanup = async (): Promise<void> => {
    for (const m of monitors) m.stop();
    for (const p of procs) await p.stop(3000).catch(() => undefined);
    for (const box of ['fwa', 'fwb'] as const) await stopBox(dir, daemons[box] ?? null, ns(box)).catch((e: unknown) => log(`stop ${box}: ${String(e)}`));
    await destroyTopology(name).catch((e: unknown) => log(`teardown of ${name}: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  };
  cleanupCurrent = cleanup;
  try {
    await buildTopology(name);
    if (dropNa) {
      for (const host of ['client', 'server'] as const) {
        await nftLoad(
          ns(host),
          `table inet ${NA_TABLE} {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    ip6 daddr ff02::1 icmpv6 type nd-neighbor-advert counter drop comment "unsolicited NA"\n  }\n}\n`,
        );
      }
    }
    for (const box of ['fwa', 'fwb'] as const) {
      writeBoxFiles(dir, box, TIMERS[profile], { ipv6: withV6 });
      await kernelBoxUp(ns(box), nat, { ipv6: withV6 });
    }
    for (const box of ['fwa', 'fwb'] as const) daemons[box] = await startBoxDaemons(dir, box, ns(box));
    const upA = await waitEvent(dir, 'fwa', 'end primary', 15_000);
    const upB = await waitEvent(dir, 'fwb', 'end backup', 15_000);
    if (upA === null || upB === null) {
      throw new Error(
        `no MASTER/BACKUP pair after 15 s (fwa events: ${JSON.stringify(readEvents(dir, 'fwa'))}, fwb: ${JSON.stringify(readEvents(dir, 'fwb'))})\n` +
          `fwa keepalived:\n${tail(boxFiles(dir, 'fwa').keepalivedLog)}\nfwb keepalived:\n${tail(boxFiles(dir, 'fwb').keepalivedLog)}`,
      );
    }
    const repo = repoRoot();
    const rx = await startProbeReceiver(ns('server'), { repo, marker: dir, port: PROBE_PORT, outFile: join(dir, 'rx.json') });
    procs.push(rx);
    const srv = await startStreamServer(ns('server'), { repo, marker: dir, port: STREAM_PORT });
    procs.push(srv);
    const cli = await startStreamClient(ns('client'), { repo, marker: dir, to: `${SERVER}:${STREAM_PORT}`, conns });
    procs.push(cli);
    const tx = await startProbeSender(ns('client'), { repo, marker: dir, to: `${SERVER}:${PROBE_PORT}`, intervalMs: 1 });
    procs.push(tx);
    let live6: ProbeProgress | null = null;
    let v6: { rx: LabProcess<ReceiverSummary>; tx: LabProcess<SenderSummary>; cli: LabProcess<StreamSummary> | null } | null = null;
    if (withV6) {
      const rx6 = await startProbeReceiver(ns('server'), {
        repo,
        marker: dir,
        port: PROBE6_PORT,
        family: 6,
        outFile: join(dir, 'rx6.json'),
        liveMs: 100,
        onLive: (l) => (live6 = l as unknown as ProbeProgress),
      });
      procs.push(rx6);
      const cli6 = conns6 > 0 ? await startStreamClient(ns('client'), { repo, marker: dir, to: `[${SERVER6}]:${STREAM_PORT}`, conns: conns6 }) : null;
      if (cli6) procs.push(cli6);
      const tx6 = await startProbeSender(ns('client'), { repo, marker: dir, to: `[${SERVER6}]:${PROBE6_PORT}`, intervalMs: 1 });
      procs.push(tx6);
      v6 = { rx: rx6, tx: tx6, cli: cli6 };
    }
    // VRRP's master-down timer runs from the last advert heard: a failure at a random point of the
    // advert interval, not always at the same phase (with 1 s adverts the gap moves by up to 1 s)
    const phaseMs = Math.floor(Math.random() * TIMERS[profile].advertInt * 1000);
    await sleep(STEADY_MS + phaseMs);

    const backupFlapsBefore = readEvents(dir, 'fwb').filter((e) => e.what.startsWith('begin primary')).length;
    const ext = await nsExec(ns('fwb'), '/usr/sbin/conntrackd', ['-C', boxFiles(dir, 'fwb').conntrackdConf, '-e']).catch(() => null);
    const externalCacheBefore = ext ? ext.stdout.split('\n').filter((l) => l.includes(SERVER)).length : -1;
    const externalCacheBefore6 = ext ? ext.stdout.split('\n').filter((l) => l.includes(SERVER6)).length : -1;
    const macs = withV6 ? await boxMacs(name) : new Map<string, LabBox>();
    const neighBefore = withV6 ? { client: await routerNeigh(ns('client'), macs), server: await routerNeigh(ns('server'), macs) } : null;
    if (withV6) for (const host of ['client', 'server'] as const) monitors.push(monitorNeigh(ns(host), join(dir, `neigh-${host}.log`)));

    // the crash: the box's traffic links pulled (one `ip -batch` in the switch: traffic and VRRP
    // adverts stop at the same instant), both daemons SIGKILLed, then its HA links pulled (conntrackd
    // and its HA2 link are gone before anything could be resent). The gap thus starts at the failure.
    writeFileSync(join(dir, 'cut-sw.batch'), `link set ${SW_PORT.fwa.lan} down\nlink set ${SW_PORT.fwa.wan} down\n`);
    writeFileSync(join(dir, 'cut-fwa.batch'), (['ha1', 'ha1b', 'ha2'] as const).map((l) => `link set ${BOX_DEVICE[l]} down\n`).join(''));
    const t0 = Date.now();
    if (mode === 'crash') await sh('ip', ['-n', nsName(name, 'sw'), '-batch', join(dir, 'cut-sw.batch')]);
    crashDaemons(dir, daemons.fwa!);
    if (mode === 'crash') await sh('ip', ['-n', ns('fwa'), '-batch', join(dir, 'cut-fwa.batch')]);
    const cutMs = Date.now() - t0;
    const takeover = await waitEvent(dir, 'fwb', 'begin primary', AFTER_MS[profile], t0);
    const done = await waitEvent(dir, 'fwb', 'end primary', AFTER_MS[profile], t0);
    const elapsed = Date.now() - t0;
    await sleep(Math.max(0, AFTER_MS[profile] - elapsed));
    // the IPv6 probe silent still (its receiver's last report): wait for it, up to --v6-wait-s
    const silent6 = () => (live6?.sinceLastMs ?? Infinity) > 200;
    const waitFrom = Date.now();
    if (v6 && silent6()) {
      log(`IPv6 probe still silent ${Date.now() - t0} ms after the failure: waiting up to ${v6WaitS} s for it`);
      while (silent6() && Date.now() - waitFrom < v6WaitS * 1000) await sleep(100);
      if (!silent6()) await sleep(500);
    }
    const waitedMs = v6 ? Date.now() - waitFrom : 0;
    const silentAtEnd6 = (live6 as ProbeProgress | null)?.sinceLastMs ?? null;
    const sent = await tx.stop();
    const sent6 = v6 ? await v6.tx.stop() : null;
    const tcp = await cli.stop(10_000);
    const tcp6 = v6?.cli ? await v6.cli.stop(10_000) : null;
    await sleep(100);
    const got = await rx.stop();
    const got6 = v6 ? await v6.rx.stop() : null;
    const neighAfter = withV6 ? { client: await routerNeigh(ns('client'), macs), server: await routerNeigh(ns('server'), macs) } : null;
    for (const m of monitors) m.stop();
    const recovered6 = silentAtEnd6 !== null && silentAtEnd6 <= 200;
    const v6Result: V6Result | null =
      sent6 && got6 && neighBefore && neighAfter
        ? {
            gapMs: recovered6 ? got6.maxGapMs : Math.max(got6.maxGapMs, silentAtEnd6 ?? 0),
            lost: sent6.sent - got6.received,
            sent: sent6.sent,
            recovered: recovered6,
            waitedMs,
            tcpConnected: tcp6?.connected ?? 0,
            tcpSurvived: tcp6?.survived ?? 0,
            tcpErrors: [...new Set((tcp6?.conns ?? []).filter((c) => c.error !== null).map((c) => c.error as string))],
            tcpStallMs: Math.round(tcp6?.maxEchoGapMs ?? 0),
            externalCacheBefore: externalCacheBefore6,
            neigh: {
              client: { before: neighBefore.client, after: neighAfter.client, changes: neighChanges(join(dir, 'neigh-client.log'), t0) },
              server: { before: neighBefore.server, after: neighAfter.server, changes: neighChanges(join(dir, 'neigh-server.log'), t0) },
            },
          }
        : null;
    return {
      profile,
      mode,
      gapMs: got.maxGapMs,
      lost: sent.sent - got.received,
      sent: sent.sent,
      takeoverMs: takeover === null ? null : Math.round(takeover - t0),
      commitDoneMs: done === null ? null : Math.round(done - t0),
      tcpConnected: tcp.connected,
      tcpSurvived: tcp.survived,
      tcpErrors: [...new Set(tcp.conns.filter((c) => c.error !== null).map((c) => c.error as string))],
      tcpStallMs: Math.round(tcp.maxEchoGapMs),
      phaseMs,
      externalCacheBefore,
      backupFlapsBefore,
      cutMs,
      v6: v6Result,
      naDropped: dropNa ? { client: await naDropCount(ns('client')), server: await naDropCount(ns('server')) } : null,
    };
  } finally {
    cleanupCurrent = null;
    await cleanup();
  }
}

function stats(xs: number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${f(s[0])} / ${f(median(s))} / ${f(s[s.length - 1])}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** tandem's medians from bench/README.md's failover-gap table (recorded figures, not re-measured here). */
function tandemFigures(): Record<'kill' | 'cut', { gap: number; lost: number; stall: number | null }> {
  const fallback = { kill: { gap: 12.8, lost: 11, stall: 29 }, cut: { gap: 76.7, lost: 73, stall: 95 } };
  try {
    const text = readFileSync(join(repoRoot(), 'bench', 'README.md'), 'utf8');
    const row = (label: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`| ${label}`));
      const cells = line?.split('|').map((c) => c.trim()) ?? [];
      const mid = (cell: string | undefined) => Number(cell?.split('/')[1]?.trim());
      const gap = mid(cells[3]);
      const lost = mid(cells[4]);
      const stall = mid(cells[6]);
      return Number.isFinite(gap) && Number.isFinite(lost) ? { gap, lost, stall: Number.isFinite(stall) ? stall : null } : null;
    };
    return { kill: row('`kill -9` of its daemon') ?? fallback.kill, cut: row('every link cut') ?? fallback.cut };
  } catch {
    return fallback;
  }
}

async function main(): Promise<void> {
  await ensurePackages(log);
  const results: RunResult[] = [];
  for (const profile of profiles) {
    for (const mode of modes) {
      for (let i = 0; i < runs; i++) {
        const r = await oneRun(profile, mode);
        results.push(r);
        log(
          `${profile} ${mode} run ${i + 1}/${runs}: gap ${r.gapMs.toFixed(1)} ms, lost ${r.lost}/${r.sent}, peer MASTER after ${r.takeoverMs ?? 'never'} ms, ` +
            `notify done ${r.commitDoneMs ?? '-'} ms, TCP ${r.tcpSurvived}/${r.tcpConnected} survived, stall ${r.tcpStallMs} ms${r.tcpErrors.length ? ` (${r.tcpErrors.join(', ')})` : ''}, ` +
            `external cache ${r.externalCacheBefore} entries, backup flaps before ${r.backupFlapsBefore}, links cut in ${r.cutMs} ms, phase +${r.phaseMs} ms`,
        );
        if (r.v6) {
          const n = (h: 'client' | 'server') => {
            const x = r.v6!.neigh[h];
            // the first change to the new owner's MAC (or the first change at all when the MAC stayed)
            const moved = x.after.lladdr !== null && x.after.lladdr !== x.before.lladdr;
            const first = x.changes.find((c) => c.ms >= 0 && (!moved || c.line.includes(`lladdr ${x.after.lladdr} `)));
            return `${h} fe80::1 ${x.before.owner} -> ${x.after.owner} (${x.after.state}${x.after.router ? ', router' : ''})${first ? `, first update +${first.ms} ms: ${first.line}` : ''}`;
          };
          log(
            `  IPv6: gap ${r.v6.gapMs.toFixed(1)} ms${r.v6.recovered ? '' : ' (NOT recovered by the end: a lower bound)'}, lost ${r.v6.lost}/${r.v6.sent}, waited ${r.v6.waitedMs} ms past the window, ` +
              `TCP ${r.v6.tcpSurvived}/${r.v6.tcpConnected} survived, stall ${r.v6.tcpStallMs} ms${r.v6.tcpErrors.length ? ` (${r.v6.tcpErrors.join(', ')})` : ''}, external cache ${r.v6.externalCacheBefore} entries; ${n('client')}; ${n('server')}` +
              `${r.naDropped ? `; unsolicited NAs dropped: client ${r.naDropped.client}, server ${r.naDropped.server}` : ''}`,
          );
        }
      }
    }
  }
  const t = tandemFigures();
  console.log(
    `\nkeepalived + conntrackd baseline (UDP probe every 1 ms client -> server; ${nat === 'snat' ? `snat to ${LAB_ADDR.floatingWan}` : 'masquerade'}; ${conns} TCP streams` +
      `${withV6 ? `; IPv6 rows: a second probe to [${SERVER6}]:${PROBE6_PORT} and ${conns6} TCP streams over IPv6 in the same runs, no NAT` : ''}` +
      `${dropNa ? '; the hosts DROP unsolicited NAs (--drop-unsolicited-na)' : ''})`,
  );
  console.log(
    '| profile | failure | runs | gap ms min / median / max | lost probes min / median / max | peer MASTER ms (median) | notify script done ms (median) | TCP stall ms min / median / max | TCP survived | tandem kill -9 gap / lost / TCP stall (median) | ratio tandem / baseline, gap | tandem links cut gap / lost / TCP stall | ratio, gap |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const profile of profiles) {
    for (const mode of modes) {
      const rs = results.filter((r) => r.profile === profile && r.mode === mode);
      if (rs.length === 0) continue;
      const tm = rs.map((r) => r.takeoverMs).filter((x): x is number => x !== null);
      const cd = rs.map((r) => r.commitDoneMs).filter((x): x is number => x !== null);
      const gapMed = median(rs.map((r) => r.gapMs));
      const label = profile === 'default' ? `default (VRRPv2, advert_int ${TIMERS.default.advertInt})` : `fast (VRRPv3, advert_int ${TIMERS.fast.advertInt})`;
      console.log(
        `| ${label} | ${mode === 'crash' ? 'kill -9 + links down' : 'kill -9 only'} | ${rs.length} | ${stats(rs.map((r) => r.gapMs))} | ${stats(rs.map((r) => r.lost))} | ` +
          `${tm.length ? Math.round(median(tm)) : '-'} | ${cd.length ? Math.round(median(cd)) : '-'} | ${stats(rs.map((r) => r.tcpStallMs))} | ${rs.map((r) => `${r.tcpSurvived}/${r.tcpConnected}`).join(', ')} | ` +
          `${t.kill.gap} / ${t.kill.lost} / ${t.kill.stall ?? '-'} | ${(t.kill.gap / gapMed).toFixed(3)} | ${t.cut.gap} / ${t.cut.lost} / ${t.cut.stall ?? '-'} | ${(t.cut.gap / gapMed).toFixed(3)} |`,
      );
      const v6s = rs.map((r) => r.v6).filter((v): v is V6Result => v !== null);
      if (v6s.length > 0) {
        const unrecovered = v6s.filter((v) => !v.recovered).length;
        // takeover and notify are the same sync group's (one for both families); the tandem columns are IPv4's
        console.log(
          `| ${label}, IPv6 (VRRPv3) | same | ${v6s.length} | ${stats(v6s.map((v) => v.gapMs))}${unrecovered ? ` (${unrecovered} not recovered: lower bound)` : ''} | ${stats(v6s.map((v) => v.lost))} | ` +
            `same | same | ${conns6 > 0 ? stats(v6s.map((v) => v.tcpStallMs)) : '-'} | ${conns6 > 0 ? v6s.map((v) => `${v.tcpSurvived}/${v.tcpConnected}`).join(', ') : '-'} | - | - | - | - |`,
        );
      }
    }
  }
  if (withV6) {
    console.log("\nIPv6: the hosts' neighbour entry for fe80::1 (their default router), whose MAC before the failure -> at the end");
    for (const r of results) {
      if (!r.v6) continue;
      const n = (h: 'client' | 'server') => `${h} ${r.v6!.neigh[h].before.owner} -> ${r.v6!.neigh[h].after.owner} (${r.v6!.neigh[h].after.state})`;
      console.log(`  ${r.profile} ${r.mode}: ${n('client')}, ${n('server')}; gap ${r.v6.gapMs.toFixed(1)} ms${r.v6.recovered ? '' : ' not recovered'}`);
    }
  }
  console.log(`\n${JSON.stringify({ nat, conns, conns6, ipv6: withV6, dropUnsolicitedNa: dropNa, timers: TIMERS, results })}`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
