// `tandem doctor`: the checks an operator runs on a box before blaming tandem. Each check says ok,
// warn or fail with one line of what to do. The system is reached only through the `DoctorHost`
// interface, so every check is unit tested with a fake host.
import type { StatusResponse } from '../api/protocol.js';
import type { ApiTlsConfig, TandemConfig } from '../config/types.js';
import { captureStates } from './format-status.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  level: CheckLevel;
  detail: string;
}

export interface DoctorHost {
  loadConfig(path: string): Promise<TandemConfig>;
  /** Throws with a readable message when the secret file is missing, unreadable or not private. */
  checkSecret(path: string, what: 'key' | 'token'): void;
  /**
   * device.api.tls's files as the daemon reads them (the key file's mode included): the served
   * certificate's subject and notAfter; throws with the file at fault. Absent: not checked.
   */
  checkApiTls?(tls: ApiTlsConfig): { subject: string; notAfter: Date };
  /** Content of a /proc or /sys file, trimmed; null if it does not exist. */
  readSys(path: string): string | null;
  /** `ethtool -k DEV` output, null if ethtool is missing or fails. */
  ethtoolFeatures(device: string): Promise<string | null>;
  /** The daemon's status over its API (found from the config when it loaded); throws when it does not answer. */
  status(config: TandemConfig | null): Promise<StatusResponse>;
}

/** Offloads that hand the capture frames the NIC has not finished (DESIGN "Namespaces and traffic"). */
const OFFLOADS = [
  'rx-checksumming',
  'tx-checksumming',
  'tcp-segmentation-offload',
  'generic-segmentation-offload',
  'generic-receive-offload',
  'large-receive-offload',
];
/** The API URL a config's api.listen ("host:port" or "unix:path") is reached at; https:// with device.api.tls. */
export function apiUrlOf(listen: string, tls = false): string {
  return listen.startsWith('unix:') ? listen : `${tls ? 'https' : 'http'}://${listen}`;
}

/** CAP_NET_RAW is bit 13 of the capability sets in /proc/self/status. */
const CAP_NET_RAW_BIT = 13n;

type Add = (check: string, level: CheckLevel, detail: string) => void;

export async function runDoctor(configPath: string, host: DoctorHost): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add: Add = (check, level, detail) => out.push({ check, level, detail });
  const config = await checkConfigFile(configPath, host, add);
  if (config) {
    checkSecrets(config, host, add);
    checkApiTls(config, host, add);
    for (const [name, iface] of Object.entries(config.device.interfaces)) await checkInterface(name, iface.device, host, add);
  }
  checkCapabilities(host, add);
  await checkDaemon(config, host, add);
  return out;
}

/** Below this many days left, the API certificate is a warning (as in the daemon's own log line). */
const CERT_WARN_DAYS = 14;

function checkApiTls(config: TandemConfig, host: DoctorHost, add: Add): void {
  const tls = config.device.api.tls;
  if (!tls || !host.checkApiTls) return;
  try {
    const { subject, notAfter } = host.checkApiTls(tls);
    const days = Math.floor((notAfter.getTime() - Date.now()) / 86_400_000);
    const what = `${tls.certFile} (${subject}) ${days < 0 ? 'EXPIRED' : 'expires'} ${notAfter.toISOString()}`;
    if (days < 0) add('api tls', 'fail', `${what}: renew it (the daemon reloads new files by itself)`);
    else if (days < CERT_WARN_DAYS) add('api tls', 'warn', `${what}, in ${days} days: renew it (the daemon reloads new files by itself)`);
    else add('api tls', 'ok', `${what}, in ${days} days${tls.clientCaFile ? '; mutual TLS' : ''}`);
  } catch (err) {
    add('api tls', 'fail', (err as Error).message);
  }
}

async function checkConfigFile(configPath: string, host: DoctorHost, add: Add): Promise<TandemConfig | null> {
  try {
    const config = await host.loadConfig(configPath);
    add('config', 'ok', `${configPath} is valid (device ${config.device.name}, id ${config.device.id})`);
    return config;
  } catch (err) {
    add('config', 'fail', `${configPath}: ${(err as Error).message.split('\n').slice(0, 5).join('; ')}`);
    return null;
  }
}

function checkSecrets(config: TandemConfig, host: DoctorHost, add: Add): void {
  for (const [what, path] of [
    ['key', config.device.ha.keyFile],
    ['token', config.device.api.tokenFile],
  ] as const) {
    try {
      host.checkSecret(path, what);
      add(`${what} file`, 'ok', `${path} is private (mode 0600 or stricter)`);
    } catch (err) {
      add(`${what} file`, 'fail', (err as Error).message);
    }
  }
}

/** The kernel device behind a logical interface: present and up, kernel forwarding off, offloads off. */
async function checkInterface(name: string, dev: string, host: DoctorHost, add: Add): Promise<void> {
  const oper = host.readSys(`/sys/class/net/${dev}/operstate`);
  if (oper === null) {
    add(`interface ${name}`, 'fail', `kernel device ${dev} does not exist in this network namespace`);
    return;
  }
  add(
    `interface ${name}`,
    oper === 'up' ? 'ok' : 'warn',
    `${dev} operstate ${oper}${oper === 'up' ? '' : ': check the cable and `ip link set dev ' + dev + ' up`'}`,
  );
  const fwd = host.readSys(`/proc/sys/net/ipv4/conf/${dev}/forwarding`);
  if (fwd === '1')
    add(
      `forwarding ${name}`,
      'fail',
      `the kernel forwards on ${dev} and races the dataplane: sysctl -w net.ipv4.conf.${dev}.forwarding=0 (or net.ipv4.ip_forward=0)`,
    );
  else add(`forwarding ${name}`, 'ok', `kernel forwarding off on ${dev}`);
  checkIpv6Kernel(name, dev, host, add);
  const features = await host.ethtoolFeatures(dev);
  if (features === null) return add(`offloads ${name}`, 'warn', `cannot read offloads of ${dev} (is ethtool installed?)`);
  const on = OFFLOADS.filter((f) => new RegExp(`^${f}: on`, 'm').test(features));
  if (on.length === 0) add(`offloads ${name}`, 'ok', `checksum, segmentation and receive offloads off on ${dev}`);
  else
    add(
      `offloads ${name}`,
      'warn',
      `${on.join(', ')} on for ${dev}: the capture may see unfinished checksums or coalesced frames; ethtool -K ${dev} rx off tx off tso off gso off gro off lro off`,
    );
}

/**
 * The kernel's IPv6 on a traffic device (docs/ipv6.md): it must not forward (it would race the
 * dataplane) nor learn routes and addresses from router advertisements (the pair's own among
 * them). A kernel without IPv6 on the device is fine for an IPv4-only box.
 */
function checkIpv6Kernel(name: string, dev: string, host: DoctorHost, add: Add): void {
  const fwd6 = host.readSys(`/proc/sys/net/ipv6/conf/${dev}/forwarding`);
  if (fwd6 === null) return;
  if (fwd6 === '1')
    add(`ipv6 forwarding ${name}`, 'fail', `the kernel forwards IPv6 on ${dev} and races the dataplane: sysctl -w net.ipv6.conf.all.forwarding=0`);
  const ra = host.readSys(`/proc/sys/net/ipv6/conf/${dev}/accept_ra`);
  if (ra !== null && ra !== '0')
    add(`ipv6 router advertisements ${name}`, 'warn', `${dev} accepts router advertisements (the pair's own too): sysctl -w net.ipv6.conf.${dev}.accept_ra=0`);
  else if (fwd6 !== '1') add(`ipv6 ${name}`, 'ok', `kernel IPv6 forwarding and router advertisements off on ${dev}`);
}

function checkCapabilities(host: DoctorHost, add: Add): void {
  const status = host.readSys('/proc/self/status');
  const capEff = status === null ? null : /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff === undefined || capEff === null) add('capabilities', 'warn', 'cannot read the effective capabilities (/proc/self/status)');
  else if ((BigInt(`0x${capEff}`) >> CAP_NET_RAW_BIT) & 1n) add('capabilities', 'ok', 'CAP_NET_RAW present (capture and raw ICMP)');
  else add('capabilities', 'warn', 'this shell lacks CAP_NET_RAW: the daemon needs it (the systemd unit grants it); run doctor as the daemon user or root');
}

/** The running daemon, through its API: the peer, the HA links, config sync, monitors, capture. */
async function checkDaemon(config: TandemConfig | null, host: DoctorHost, add: Add): Promise<void> {
  let st: Awaited<ReturnType<DoctorHost['status']>>;
  try {
    st = await host.status(config);
  } catch (err) {
    return add('daemon', 'fail', `the API does not answer: ${(err as Error).message}`);
  }
  add('daemon', 'ok', `answers: ${st.local.name} is ${st.local.state} (${st.local.reason})`);
  if (!st.peer.up)
    add('peer', 'fail', 'the peer is not heard on any HA1 link or the heartbeat backup: check the HA cables, addresses and that its daemon runs');
  else add('peer', 'ok', `${st.peer.name ?? 'peer'} is ${st.peer.state} (${st.peer.reason ?? '-'})`);
  for (const l of st.links) {
    if (st.peer.up && !l.heartbeatUp) add(`HA link ${l.name}`, 'warn', `${l.local} -> ${l.peer} does not hear the peer (the pair runs on the other links)`);
    else if (st.peer.up) add(`HA link ${l.name}`, 'ok', `hears the peer (rtt ${l.rttMs ?? '-'} ms)`);
  }
  if (st.config && st.peer.up && !st.config.peer.inSync)
    add('config sync', 'warn', `the peer runs another shared config (${st.config.peer.lastError ?? 'see tandem config diff'})`);
  else if (st.config && st.peer.up) add('config sync', 'ok', `both run v${st.config.version}`);
  const faults = st.local.faults;
  if (faults.length > 0) add('monitors', 'warn', `faults: ${faults.join(', ')}`);
  const capture = captureStates((st as { dataplane?: unknown }).dataplane);
  for (const c of capture?.handles ?? []) {
    if (c.open) add(`capture ${c.name}`, 'ok', `${capture!.io} handle on ${c.device} open`);
    else
      add(
        `capture ${c.name}`,
        'fail',
        `${capture!.io} handle on ${c.device} closed (${c.error}): the dataplane cannot receive there until the device is up again (docs/packet-io.md)`,
      );
  }
}

export function formatDoctor(results: readonly CheckResult[]): string {
  const tag: Record<CheckLevel, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  const width = Math.max(...results.map((r) => r.check.length));
  const fails = results.filter((r) => r.level === 'fail').length;
  const warns = results.filter((r) => r.level === 'warn').length;
  return [
    ...results.map((r) => `${tag[r.level]}  ${r.check.padEnd(width)}  ${r.detail}`),
    '',
    `${fails} failed, ${warns} warnings, ${results.length - fails - warns} ok`,
  ].join('\n');
}
