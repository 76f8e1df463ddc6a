// The classic Linux HA firewall pair as a baseline for tandem: keepalived (VRRP) moving the floating
// IPs, conntrackd (FTFW) replicating the connection table over the HA2 link, and the stock
// primary-backup notify script that conntrackd ships (conntrackd -c / -f / -R / -B on becoming
// master). Everything a box needs (configs, pid files, the control socket, logs, the notify scripts)
// lives in one temp dir of the caller; daemons run only inside the box's namespace and are stopped
// by the PIDs started here.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsExec, sh, trySh } from '../../src/lab/exec.js';
import { BOX_DEVICE, LAB_ADDR, LAB_ADDR6, type LabBox } from '../../src/lab/topology.js';
import { KERNEL_FW_TABLE, kernelFirewallRuleset, nftLoad } from './kernel-fw.js';

/** Where Debian's conntrackd package puts the upstream example notify script. */
export const STOCK_NOTIFY_SCRIPT = '/usr/share/doc/conntrackd/examples/sync/primary-backup.sh';
const VRID_LAN = 51;
const VRID_WAN = 52;
/** The IPv6 instances' (VRRPv3 over IPv6 has its own vrid space; distinct ones anyway, for reading captures). */
const VRID_LAN6 = 61;
const VRID_WAN6 = 62;
const CONNTRACKD_PORT = 3780;

export interface VrrpTimers {
  /** 2 (keepalived's default) or 3 (needed for sub-second adverts). */
  version: 2 | 3;
  /** Seconds between adverts (keepalived default 1; VRRPv3 allows down to 0.01). */
  advertInt: number;
}

export type NatMode = 'snat' | 'masquerade';

/**
 * What a box carries besides IPv4. ipv6: the kernel forwards IPv6 too, keepalived moves IPv6
 * VIPs (the floating link-local fe80::1 and the global floating address on each side, in
 * instances of their own in the same sync group) and conntrackd ignores the boxes' IPv6 addresses.
 */
export interface BoxOptions {
  ipv6?: boolean;
}

/** Installs keepalived, conntrackd, conntrack and nftables with apt-get if any is missing (idempotent). */
export async function ensurePackages(log: (s: string) => void): Promise<void> {
  const need: Record<string, string> = {
    keepalived: '/usr/sbin/keepalived',
    conntrackd: '/usr/sbin/conntrackd',
    conntrack: '/usr/sbin/conntrack',
    nftables: '/usr/sbin/nft',
  };
  const missing = Object.entries(need)
    .filter(([, bin]) => !existsSync(bin))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} (apt-get install -y)`);
  // policy-rc.d-less hosts would start the system keepalived from /etc: we never rely on or touch it
  await sh('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { timeoutMs: 600_000 }).catch(async () => {
    await sh('apt-get', ['update'], { timeoutMs: 600_000 });
    await sh('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { timeoutMs: 600_000 });
  });
}

/** Files of one box in the caller's temp dir. */
export function boxFiles(dir: string, box: LabBox) {
  return {
    keepalivedConf: join(dir, `${box}-keepalived.conf`),
    keepalivedPid: join(dir, `${box}-keepalived.pid`),
    vrrpPid: join(dir, `${box}-vrrp.pid`),
    keepalivedLog: join(dir, `${box}-keepalived.log`),
    conntrackdConf: join(dir, `${box}-conntrackd.conf`),
    conntrackdSock: join(dir, `${box}-conntrackd.ctl`),
    conntrackdLock: join(dir, `${box}-conntrackd.lock`),
    conntrackdLog: join(dir, `${box}-conntrackd.log`),
    conntrackdOut: join(dir, `${box}-conntrackd.out`),
    notifyScript: join(dir, `${box}-primary-backup.sh`),
    notifyWrapper: join(dir, `${box}-notify.sh`),
    events: join(dir, `${box}-events.log`),
  };
}

/** The firewall rules of bench/lib/kernel-fw.ts; with `snat`, source NAT to the wan floating IP instead of masquerade. */
export function baselineRuleset(nat: NatMode): string {
  const base = kernelFirewallRuleset();
  if (nat === 'masquerade') return base;
  const out = base.replace(/\bmasquerade\b/, `snat ip to ${LAB_ADDR.floatingWan}`);
  if (out === base) throw new Error('baseline: kernel-fw ruleset has no masquerade statement to replace');
  return out;
}

export function keepalivedConf(dir: string, box: LabBox, timers: VrrpTimers, opts: BoxOptions = {}): string {
  const f = boxFiles(dir, box);
  const master = box === 'fwa';
  // keepalived runs every IPv6 instance as VRRPv3 whatever vrrp_version says (VRRPv2 is IPv4
  // only): `version 3` says so; its first VIP must be link-local (RFC 5798 5.2.9)
  const instance = (name: string, link: 'lan' | 'wan', vrid: number, vips: string[], v6 = false): string => `vrrp_instance ${name} {
    interface ${BOX_DEVICE[link]}
    state ${master ? 'MASTER' : 'BACKUP'}
    virtual_router_id ${vrid}
    priority ${master ? 150 : 100}
    advert_int ${timers.advertInt}
${v6 ? '    version 3\n' : ''}    virtual_ipaddress {
${vips.map((vip) => `        ${vip} dev ${BOX_DEVICE[link]}`).join('\n')}
    }
}
`;
  const v4 = (vip: string) => [`${vip}/${LAB_ADDR.prefixLength}`];
  const v6 = (vip: string) => [`${LAB_ADDR6.linkLocal}/64`, `${vip}/${LAB_ADDR6.prefixLength}`];
  const groupV6 = opts.ipv6 ? '\n        VI_LAN6\n        VI_WAN6' : '';
  const instancesV6 = opts.ipv6
    ? `
${instance('VI_LAN6', 'lan', VRID_LAN6, v6(LAB_ADDR6.floatingLan), true)}
${instance('VI_WAN6', 'wan', VRID_WAN6, v6(LAB_ADDR6.floatingWan), true)}`
    : '';
  return `# generated by bench/baseline.ts for lab box ${box}
global_defs {
    router_id ${box}
    script_user root
    vrrp_version ${timers.version}
}

vrrp_sync_group G1 {
    group {
        VI_LAN
        VI_WAN${groupV6}
    }
    notify_master "${f.notifyWrapper} primary"
    notify_backup "${f.notifyWrapper} backup"
    notify_fault "${f.notifyWrapper} fault"
}

${instance('VI_LAN', 'lan', VRID_LAN, v4(LAB_ADDR.floatingLan))}
${instance('VI_WAN', 'wan', VRID_WAN, v4(LAB_ADDR.floatingWan))}${instancesV6}`;
}

/** conntrackd FTFW over the ha2 link (unicast UDP between the two ha2 addresses), TCP and UDP synced. */
export function conntrackdConf(dir: string, box: LabBox, opts: BoxOptions = {}): string {
  const f = boxFiles(dir, box);
  const me = LAB_ADDR.boxes[box];
  const peer = LAB_ADDR.boxes[box === 'fwa' ? 'fwb' : 'fwa'];
  const ignore = [
    '127.0.0.1',
    LAB_ADDR.floatingLan,
    LAB_ADDR.floatingWan,
    me.lan,
    me.wan,
    me.ha1,
    me.ha1b,
    me.ha2,
    peer.lan,
    peer.wan,
    peer.ha1,
    peer.ha1b,
    peer.ha2,
  ];
  const ignore6 = opts.ipv6
    ? [
        '::1',
        LAB_ADDR6.linkLocal,
        LAB_ADDR6.floatingLan,
        LAB_ADDR6.floatingWan,
        LAB_ADDR6.boxes[box].lan,
        LAB_ADDR6.boxes[box].wan,
        LAB_ADDR6.boxes[box === 'fwa' ? 'fwb' : 'fwa'].lan,
        LAB_ADDR6.boxes[box === 'fwa' ? 'fwb' : 'fwa'].wan,
      ]
    : [];
  return `# generated by bench/baseline.ts for lab box ${box} (after /usr/share/doc/conntrackd/examples/sync/ftfw)
Sync {
    Mode FTFW {
    }
    UDP {
        IPv4_address ${me.ha2}
        IPv4_Destination_Address ${peer.ha2}
        Port ${CONNTRACKD_PORT}
        Interface ${BOX_DEVICE.ha2}
        SndSocketBuffer 1249280
        RcvSocketBuffer 1249280
        Checksum on
    }
}
General {
    HashSize 32768
    HashLimit 131072
    LogFile ${f.conntrackdLog}
    Syslog off
    LockFile ${f.conntrackdLock}
    UNIX {
        Path ${f.conntrackdSock}
    }
    NetlinkBufferSize 2097152
    NetlinkBufferSizeMaxGrowth 8388608
    Filter From Userspace {
        Protocol Accept {
            TCP
            UDP
        }
        Address Ignore {
${[...ignore.map((a) => `            IPv4_address ${a}`), ...ignore6.map((a) => `            IPv6_address ${a}`)].join('\n')}
        }
    }
}
`;
}

/**
 * The stock script with its two paths pointed at this box's files (the config and the lock file);
 * the commands and their order are untouched.
 */
export function stockNotifyScript(dir: string, box: LabBox): string {
  if (!existsSync(STOCK_NOTIFY_SCRIPT)) throw new Error(`${STOCK_NOTIFY_SCRIPT} is missing (apt-get install conntrackd)`);
  const f = boxFiles(dir, box);
  const text = readFileSync(STOCK_NOTIFY_SCRIPT, 'utf8');
  const out = text
    .replace(/^CONNTRACKD_LOCK=.*$/m, `CONNTRACKD_LOCK=${f.conntrackdLock}`)
    .replace(/^CONNTRACKD_CONFIG=.*$/m, `CONNTRACKD_CONFIG=${f.conntrackdConf}`);
  if (!out.includes(f.conntrackdConf) || !out.includes(f.conntrackdLock))
    throw new Error(`${STOCK_NOTIFY_SCRIPT}: unexpected layout, cannot point it at the lab's files`);
  return out;
}

/** keepalived's notify target: timestamps (ns, CLOCK_REALTIME) around the stock script. */
function notifyWrapper(dir: string, box: LabBox): string {
  const f = boxFiles(dir, box);
  return `#!/bin/sh
echo "$(date +%s%N) begin $1" >> ${f.events}
/bin/sh ${f.notifyScript} "$1"
echo "$(date +%s%N) end $1 rc=$?" >> ${f.events}
`;
}

export function writeBoxFiles(dir: string, box: LabBox, timers: VrrpTimers, opts: BoxOptions = {}): void {
  const f = boxFiles(dir, box);
  writeFileSync(f.keepalivedConf, keepalivedConf(dir, box, timers, opts), { mode: 0o600 });
  writeFileSync(f.conntrackdConf, conntrackdConf(dir, box, opts), { mode: 0o600 });
  writeFileSync(f.notifyScript, stockNotifyScript(dir, box), { mode: 0o700 });
  writeFileSync(f.notifyWrapper, notifyWrapper(dir, box), { mode: 0o700 });
  chmodSync(f.notifyWrapper, 0o700);
  writeFileSync(f.events, '', { mode: 0o600 });
}

/**
 * Kernel forwarding, the firewall rules (kept on both boxes), no floating IPs: keepalived adds those.
 * With ipv6 the kernel forwards IPv6 too (all.forwarding=1: every device; accept_ra stays 0 as the
 * lab set it, so the box learns nothing from RAs).
 */
export async function kernelBoxUp(ns: string, nat: NatMode, opts: BoxOptions = {}): Promise<void> {
  await nftLoad(ns, baselineRuleset(nat));
  await nsExec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  if (opts.ipv6) await nsExec(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
}

export { KERNEL_FW_TABLE };

/** A detached process in `ns`, output to `logFile`; resolves with its PID once spawned. */
function spawnIn(ns: string, cmd: string[], logFile: string): Promise<number> {
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { detached: true, stdio: ['ignore', fd, fd] });
    return new Promise<number>((res, rej) => {
      child.once('error', (err) => rej(new Error(`cannot start ${cmd[0]} in ${ns}: ${err.message}`)));
      child.once('spawn', () => {
        child.unref();
        res(child.pid as number);
      });
    });
  } finally {
    closeSync(fd);
  }
}

export interface BoxDaemons {
  box: LabBox;
  conntrackd: number;
  keepalived: number;
}

/** conntrackd first (the backup branch of the notify script would start one itself), then keepalived. */
export async function startBoxDaemons(dir: string, box: LabBox, ns: string): Promise<BoxDaemons> {
  const f = boxFiles(dir, box);
  const conntrackd = await spawnIn(ns, ['/usr/sbin/conntrackd', '-C', f.conntrackdConf], f.conntrackdOut);
  // wait for its control socket, so `conntrackd -c/-s` from the notify script finds it
  const deadline = Date.now() + 5000;
  while (!existsSync(f.conntrackdSock)) {
    if (!isAlive(conntrackd)) throw new Error(`conntrackd in ${ns} exited at start: ${tail(f.conntrackdOut)} ${tail(f.conntrackdLog)}`);
    if (Date.now() > deadline) throw new Error(`conntrackd in ${ns}: no control socket after 5 s`);
    await sleep(20);
  }
  const keepalived = await spawnIn(
    ns,
    [
      '/usr/sbin/keepalived',
      '--dont-fork',
      '--vrrp',
      '--log-console',
      '--log-detail',
      '--no-syslog',
      '-f',
      f.keepalivedConf,
      '-p',
      f.keepalivedPid,
      '-r',
      f.vrrpPid,
    ],
    f.keepalivedLog,
  );
  return { box, conntrackd, keepalived };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The PIDs of a box's daemons: the two started here and keepalived's VRRP child (from its pid file). */
export function daemonPids(dir: string, d: BoxDaemons): number[] {
  const pids = [d.keepalived, d.conntrackd];
  const child = readPid(boxFiles(dir, d.box).vrrpPid);
  if (child !== null && comm(child) === 'keepalived') pids.push(child);
  return pids.filter((p) => isAlive(p) && ['keepalived', 'conntrackd'].includes(comm(p)));
}

/** kill -9 of keepalived (parent and VRRP child) and conntrackd, all at once. */
export function crashDaemons(dir: string, d: BoxDaemons): number[] {
  const pids = daemonPids(dir, d);
  for (const p of pids) process.kill(p, 'SIGKILL');
  return pids;
}

/**
 * Stops what runs in a box namespace of ours: the daemons started here (SIGTERM, then SIGKILL), then
 * anything they left in that namespace (a notify script, a conntrackd the script started). Only
 * processes whose network namespace is this lab's box namespace are considered.
 */
export async function stopBox(dir: string, d: BoxDaemons | null, ns: string): Promise<void> {
  const ours = new Set<number>();
  if (d) for (const p of [...daemonPids(dir, d)]) ours.add(p);
  const inNs = await trySh('ip', ['netns', 'pids', ns]);
  for (const p of inNs?.stdout
    .trim()
    .split(/\s+/)
    .filter((x) => x !== '')
    .map(Number) ?? []) {
    if (['keepalived', 'conntrackd', 'conntrack', 'sh', 'logger', 'date'].includes(comm(p))) ours.add(p);
  }
  for (const p of ours) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + 3000;
  while ([...ours].some(isAlive) && Date.now() < deadline) await sleep(20);
  for (const p of ours) {
    if (isAlive(p)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** Lines of a box's events file: [epoch ms, what]. */
export function readEvents(dir: string, box: LabBox): Array<{ ms: number; what: string }> {
  try {
    return readFileSync(boxFiles(dir, box).events, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const [ns, ...rest] = l.split(' ');
        return { ms: Number(BigInt(ns) / 1000n) / 1000, what: rest.join(' ') };
      });
  } catch {
    return [];
  }
}

export function tail(file: string, n = 10): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .slice(-n)
      .join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
