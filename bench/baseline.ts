// bench/baseline: issue 5's side-by-side baseline. The same lab topology as tandem's failover-gap
// bench, without tandem: the Linux answer to a redundant stateful firewall in fwa and fwb (kernel
// forwarding, nftables stateful rules and source NAT as bench/lib/kernel-fw.ts, keepalived moving
// the floating IPs 10.0.1.1 / 10.0.2.1 by VRRP on lan0 and wan0, conntrackd FTFW over ha2, the stock
// primary-backup notify script), and the same probe: UDP every 1 ms client -> server, gap and lost;
// plus TCP connections (src/lab/stream.ts) that should survive.
//
//   npm run bench:baseline -- [--runs 3] [--profiles default,fast] [--modes crash] [--nat snat] [--conns 8]
//
// Failure of the master (fwa), after 1.5 s of steady traffic:
//   crash  the box dies: its traffic links pulled at the switch (one ip -batch), kill -9 of
//          keepalived (parent and VRRP child) and conntrackd, then its HA links pulled. Without the
//          links down the master's kernel would keep forwarding with the floating IPs still on it.
//   kill   kill -9 of both daemons only (the kernel keeps forwarding; for reference).
// Profiles: default = keepalived's defaults (VRRPv2, advert_int 1); fast = VRRPv3, advert_int
// --fast-advert (0.01 s, the smallest VRRPv3 allows).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { nsExec, sh } from '../src/lab/exec.js';
import { repoRoot } from '../src/lab/lab.js';
import { BOX_DEVICE, buildTopology, destroyTopology, nsName, LAB_ADDR, SW_PORT, type LabBox } from '../src/lab/topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from '../src/lab/traffic.js';
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
const PROBE_PORT = 5001;
const STREAM_PORT = 5002;
const STEADY_MS = 1500;

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const runs = Number(argv.get('runs') ?? '3');
const profiles = (argv.get('profiles') ?? 'default,fast').split(',').filter((p) => p !== '') as Profile[];
const modes = (argv.get('modes') ?? 'crash').split(',').filter((m) => m !== '') as Mode[];
const nat = (argv.get('nat') ?? 'snat') as NatMode;
const conns = Number(argv.get('conns') ?? '8');
const fastAdvert = Number(argv.get('fast-advert') ?? '0.01');
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
  const name = `kb${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-baseline-'));
  const ns = (r: 'fwa' | 'fwb' | 'client' | 'server') => nsName(name, r);
  const daemons: Partial<Record<LabBox, BoxDaemons>> = {};
  const procs: Array<LabProcess<unknown>> = [];
  const cleanup = async (): Promise<void> => {
    for (const p of procs) await p.stop(3000).catch(() => undefined);
    for (const box of ['fwa', 'fwb'] as const) await stopBox(dir, daemons[box] ?? null, ns(box)).catch((e: unknown) => log(`stop ${box}: ${String(e)}`));
    await destroyTopology(name).catch((e: unknown) => log(`teardown of ${name}: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  };
  cleanupCurrent = cleanup;
  try {
    await buildTopology(name);
    for (const box of ['fwa', 'fwb'] as const) {
      writeBoxFiles(dir, box, TIMERS[profile]);
      await kernelBoxUp(ns(box), nat);
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
    // VRRP's master-down timer runs from the last advert heard: a failure at a random point of the
    // advert interval, not always at the same phase (with 1 s adverts the gap moves by up to 1 s)
    const phaseMs = Math.floor(Math.random() * TIMERS[profile].advertInt * 1000);
    await sleep(STEADY_MS + phaseMs);

    const backupFlapsBefore = readEvents(dir, 'fwb').filter((e) => e.what.startsWith('begin primary')).length;
    const ext = await nsExec(ns('fwb'), '/usr/sbin/conntrackd', ['-C', boxFiles(dir, 'fwb').conntrackdConf, '-e']).catch(() => null);
    const externalCacheBefore = ext ? ext.stdout.split('\n').filter((l) => l.includes(SERVER)).length : -1;

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
    const sent = await tx.stop();
    const tcp = await cli.stop(10_000);
    await sleep(100);
    const got = await rx.stop();
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
      }
    }
  }
  const t = tandemFigures();
  console.log(
    `\nkeepalived + conntrackd baseline (UDP probe every 1 ms client -> server; ${nat === 'snat' ? `snat to ${LAB_ADDR.floatingWan}` : 'masquerade'}; ${conns} TCP streams)`,
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
    }
  }
  console.log(`\n${JSON.stringify({ nat, conns, timers: TIMERS, results })}`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
