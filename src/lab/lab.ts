// The namespace lab: `tandem lab up|down|status`, and the `Lab` handle the integration tests and
// benches drive. DESIGN.md "The lab" is the spec; topology.ts builds the network.
//
// Run dir /run/tandem-lab/<name>/ (0700): fwa.yaml, fwb.yaml (copied from deploy/lab or --config;
// rewritten for --ha-family ipv6 and --ipv6-ra by lab-config.ts),
// ha.key and api.token (0600, fresh random per run), state-fwa/, state-fwb/, fwa.log, fwb.log,
// fwa.pid, fwb.pid, and the daemons' API and metrics unix sockets. With --tls (lab-tls.ts): tls/
// (the lab's CA, each box's server certificate, the client certificate), the APIs on the boxes'
// management addresses over HTTPS with mutual TLS, and per box a relay (fwa-relay.pid) whose unix
// socket fwa-api-relay.sock carries the lab's own TLS connections into the box's namespace.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ApiClient } from '../api/client.js';
import { nsExec, trySh, type ExecOptions, type ExecResult } from './exec.js';
import { labApiAddress, labBoxConfig, type LabFleetPair, labOptionsOf, labTlsApiConfig } from './lab-config.js';
import { LAB_TLS_DIR, mintLabTls } from './lab-tls.js';
import {
  buildTopology,
  destroyTopology,
  existingLabNamespaces,
  isolateBox as isolateBoxTopo,
  LAB_ADDR,
  LAB_ADDR6,
  LAB_BOXES,
  hostGateway,
  hostGateway6,
  hostsOf,
  nsName,
  rolesOf,
  setLink as setLinkTopo,
  setBothBoxesLink as setBothBoxesLinkTopo,
  setBoxDevice as setBoxDeviceTopo,
  recreateBoxDevice as recreateBoxDeviceTopo,
  deleteBoxDevice as deleteBoxDeviceTopo,
  createBoxDevice as createBoxDeviceTopo,
  validateLabName,
  type LabBox,
  type LabHaFamily,
  type LabHost,
  type LabLink,
  type LabMode,
  type LabRole,
} from './topology.js';

export type { LabBox, LabHaFamily, LabHost, LabLink, LabMode, LabRole } from './topology.js';

export const LAB_RUN_ROOT = '/run/tandem-lab';
/** labUp's default wait for one active and one passive box. */
export const DEFAULT_UP_TIMEOUT_MS = 20_000;
/** SIGTERM, then SIGKILL after this long (the daemon's own shutdown forces exit after 3 s). */
const KILL_GRACE_MS = 4_000;
/** A wait that takes longer than this says what it is waiting for. */
const SLOW_STEP_MS = 2_000;

export interface LabOptions {
  name: string;
  /** The pair's mode (default active-passive): active-active builds the HA3 cable and client2. */
  mode?: LabMode;
  /** Directory holding fwa.yaml and fwb.yaml; default deploy/lab (deploy/lab/active-active) of this checkout. */
  configDir?: string;
  /**
   * The HA links' address family (default ipv4): ipv6 addresses the HA veths with LAB_ADDR6.ha and
   * rewrites the HA links of the copied configs to them (src/lab/lab-config.ts).
   */
  haFamily?: LabHaFamily;
  /**
   * Router advertisements on lan: the copied configs get LAB_RA, and the lan hosts learn their IPv6
   * default router from the pair (accept_ra=2) instead of a static route via fe80::1.
   */
  ipv6Ra?: boolean;
  /**
   * `lab up --pairs N` (default 1): N independent pairs, each a lab of its own (pairLabName), the
   * first being this one; each pair gets its own group id and the recommended timers (lab-config.ts
   * LabFleetPair). `lab status` lists them (LabStatus.pairs), `lab down` removes them all.
   */
  pairs?: number;
  /** Wait this long for one active and one passive box (default 20 s). */
  timeoutMs?: number;
  /** Progress lines go here (default stderr). */
  out?: NodeJS.WritableStream;
  /**
   * The daemon command before `--config FILE` (default: this node, bin/tandem.js, run). For
   * benches (node flags, a profiler) and tests (a stand-in daemon). Kept in the run dir, so a
   * restarted box runs the same command.
   */
  daemonCommand?: string[];
  /**
   * HTTPS with mutual TLS on each box's management address, certificates from a CA the lab mints
   * for itself (openssl); the lab reaches the APIs through relays (src/lab/api-relay.ts).
   */
  tls?: boolean;
}

export interface BoxStatus {
  namespace: string;
  /** PID of the daemon, null when none is recorded or the recorded one is gone. */
  pid: number | null;
  /** HA state from the API; null when the daemon does not answer. */
  state: string | null;
  reason: string | null;
  /** API URL (`unix:/run/tandem-lab/N/fwa-api.sock`; with --tls `https://<management address>:9480`). */
  api: string;
  /**
   * With --tls: the unix socket that relays to `api` from outside the box's namespace (`curl
   * --unix-socket`, ApiClient's socketPath); TLS runs through it to the daemon.
   */
  apiSocket?: string;
  metrics: string;
  /** Logical interface or HA link -> address (with prefix for interfaces). */
  addresses: Record<string, string>;
  /** Logical interface -> its own IPv6 address with prefix (`address6`), for interfaces that have one. */
  addresses6: Record<string, string>;
  log: string;
  config: string;
  /** Why state is null (the API error), absent when the daemon answered. */
  error?: string;
}

export interface LabStatus {
  name: string;
  runDir: string;
  /** The lab's namespaces that exist (all five when the lab is up). */
  namespaces: string[];
  boxes: Record<LabBox, BoxStatus>;
  /** client and server; client2 too in active/active. */
  hosts: Partial<Record<LabHost, LabHostStatus>> & Record<'client' | 'server', LabHostStatus>;
  /** The pair's mode, from the boxes' configs. */
  mode: LabMode;
  /** IPv4 and IPv6 ones, with prefix length, as the configs list them. */
  floatingIps: string[];
  /** The HA links' address family, from the boxes' configs (`lab up --ha-family`). */
  haFamily: LabHaFamily;
  /** Router advertisements on lan in the configs (`lab up --ipv6-ra`): the lan hosts learn their IPv6 router. */
  ipv6Ra: boolean;
  /**
   * `lab up --pairs N`: every pair's status, this lab (pair 1, whose status is also the top level)
   * first, each without its own `pairs`. Absent for a single pair.
   */
  pairs?: LabStatus[];
  /** With --tls: the lab's CA and the client certificate and key its tools (and central) use. */
  tls?: LabTlsStatus;
}

/** `lab up --pairs N` takes at most this many pairs: 2N daemons share the machine. */
export const MAX_LAB_PAIRS = 4;
/** In the run dir of a fleet's first pair: the names of all its pairs (pairLabName). */
const PAIRS_FILE = 'pairs.json';

/** The lab name of pair `i` (1-based) of `lab up --pairs` on lab `name`: pair 1 is the lab itself. */
export function pairLabName(name: string, i: number): string {
  return i === 1 ? name : `${name}-p${i}`;
}

/** The pairs of a fleet whose first pair is `name` (null: a single pair). */
function fleetPairsOf(name: string): string[] | null {
  const file = join(runDirOf(name), PAIRS_FILE);
  if (!existsSync(file)) return null;
  try {
    const names: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : null;
  } catch {
    return null;
  }
}

export interface LabTlsStatus {
  ca: string;
  clientCert: string;
  clientKey: string;
}

/** The files of `lab up --tls` in a run dir (they exist only in such a lab). */
export function labTlsFiles(runDir: string): LabTlsStatus {
  const dir = join(runDir, LAB_TLS_DIR);
  return { ca: join(dir, 'ca.crt'), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key') };
}

/** The relay socket of a box's API in a --tls lab. */
function relaySocket(runDir: string, box: LabBox): string {
  return join(runDir, `${box}-api-relay.sock`);
}

export interface LabHostStatus {
  namespace: string;
  /** IPv4 address, no prefix length. */
  address: string;
  /** IPv4 default gateway (a floating address). */
  gateway: string;
  /** IPv6 address, no prefix length (the /64 of its side). */
  address6: string;
  /**
   * IPv6 default router: fe80::1 (the floating link-local address of its side) or, for client2,
   * device 1's global floating address. With ipv6Ra a lan host learns it from the pair's RAs.
   */
  gateway6: string;
}

export function runDirOf(name: string): string {
  validateLabName(name);
  return join(LAB_RUN_ROOT, name);
}

/** The checkout this module belongs to (src/lab/lab.ts or dist/src/lab/lab.js). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tandem') return dir;
      } catch {
        // not ours, keep looking
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find the tandem checkout above ${fileURLToPath(import.meta.url)}`);
}

function say(out: NodeJS.WritableStream | undefined, name: string, line: string): void {
  (out ?? process.stderr).write(`lab ${name}: ${line}\n`);
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// --- processes ------------------------------------------------------------------------------------

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')'
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The process's argv, [] when it is gone. */
export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** True when pid is alive and its command line mentions `marker` (a path inside the run dir). */
export function isOurProcess(pid: number, marker: string): boolean {
  return isAlive(pid) && cmdlineOf(pid).some((a) => a.includes(marker));
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Stops a process we started: only if its command line mentions `marker`. SIGTERM, then SIGKILL
 * after graceMs. Resolves when it is gone (or was never ours).
 */
export async function stopProcess(pid: number, marker: string, graceMs = KILL_GRACE_MS): Promise<'gone' | 'terminated' | 'killed' | 'not-ours'> {
  if (!isAlive(pid)) return 'gone';
  if (!isOurProcess(pid, marker)) return 'not-ours';
  try {
    process.kill(pid, 'SIGCONT'); // a stopped (SIGSTOP) process cannot act on SIGTERM
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(50);
  }
  if (isOurProcess(pid, marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return 'terminated';
    }
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
  return 'killed';
}

// --- configs --------------------------------------------------------------------------------------

interface BoxConfigView {
  api: string;
  /** device.api.tls is set: the API is https:// and the lab reaches it through its relay. */
  tls: boolean;
  metrics: string;
  addresses: Record<string, string>;
  addresses6: Record<string, string>;
  floatingIps: string[];
  mode: LabMode;
  haFamily: LabHaFamily;
  ipv6Ra: boolean;
}

/** What status needs from a box's config file, read leniently (status must work with a bad file). */
function readBoxConfig(runDir: string, box: LabBox): BoxConfigView {
  const file = join(runDir, `${box}.yaml`);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(runDir, p));
  const url = (listen: unknown, fallback: string): string => {
    const l = typeof listen === 'string' ? listen : fallback;
    if (l.startsWith('unix:')) return `unix:${abs(l.slice(5))}`;
    return `${tls ? 'https' : 'http'}://${l}`;
  };
  // The parts of a box's YAML the lab reads; anything may be missing (a hand-edited run dir)
  type LabDoc = {
    device?: {
      interfaces?: Record<string, { address?: unknown; address6?: unknown }>;
      ha?: Record<string, { local?: unknown } | undefined>;
      api?: { listen?: unknown; tls?: unknown };
      metrics?: { listen?: unknown };
    };
    shared?: { floatingIps?: unknown; ha?: { mode?: unknown } };
  };
  let doc: LabDoc = {};
  try {
    doc = (parseYaml(readFileSync(file, 'utf8')) as LabDoc | null) ?? {};
  } catch {
    // missing or unreadable: the defaults below describe deploy/lab
  }
  const device = doc.device ?? {};
  const tls = typeof device.api?.tls === 'object' && device.api.tls !== null;
  const addresses: Record<string, string> = {};
  const addresses6: Record<string, string> = {};
  for (const [logical, iface] of Object.entries(device.interfaces ?? {})) {
    if (iface && typeof iface.address === 'string') addresses[logical] = iface.address;
    if (iface && typeof iface.address6 === 'string') addresses6[logical] = iface.address6;
  }
  for (const [key, label] of [
    ['ha1', 'ha1'],
    ['ha1Backup', 'ha1b'],
    ['heartbeatBackup', 'mgmt'],
    ['ha2', 'ha2'],
  ] as const) {
    const link = device.ha?.[key];
    if (link && typeof link.local === 'string') addresses[label] = link.local;
  }
  if (Object.keys(addresses).length === 0) {
    const d = LAB_ADDR.boxes[box];
    Object.assign(addresses, { lan: `${d.lan}/24`, wan: `${d.wan}/24`, ha1: d.ha1, ha1b: d.ha1b, ha2: d.ha2, mgmt: d.mgmt });
    const d6 = LAB_ADDR6.boxes[box];
    Object.assign(addresses6, { lan: `${d6.lan}/64`, wan: `${d6.wan}/64` });
  }
  const listed = doc.shared?.floatingIps;
  const fips = Array.isArray(listed)
    ? (listed as Array<{ address?: string }>).map((f) => String(f.address))
    : [
        `${LAB_ADDR.floatingLan}/24`,
        `${LAB_ADDR.floatingWan}/24`,
        `${LAB_ADDR6.floatingLan}/64`,
        `${LAB_ADDR6.linkLocal}/64`,
        `${LAB_ADDR6.floatingWan}/64`,
        `${LAB_ADDR6.linkLocal}/64`,
      ];
  return {
    api: url(device.api?.listen, `unix:${box}-api.sock`),
    tls,
    metrics: url(device.metrics?.listen, `unix:${box}-metrics.sock`),
    addresses,
    addresses6,
    floatingIps: fips,
    mode: doc.shared?.ha?.mode === 'active-active' ? 'active-active' : 'active-passive',
    ...labOptionsOf(doc),
  };
}

function readToken(runDir: string): string | null {
  try {
    return readFileSync(join(runDir, 'api.token'), 'utf8').trim();
  } catch {
    return null;
  }
}

/** Last `lines` lines of a file ('' when missing). */
export function tailFile(file: string, lines = 20): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .slice(-lines)
        .join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

// --- the Lab handle -------------------------------------------------------------------------------

/** A running (or crashed) lab by name: what the tests and benches drive. */
export class Lab {
  readonly name: string;
  readonly runDir: string;
  readonly repo: string;

  constructor(name: string, opts: { repoRoot?: string } = {}) {
    validateLabName(name);
    this.name = name;
    this.runDir = runDirOf(name);
    this.repo = opts.repoRoot ?? repoRoot();
  }

  /** Builds and starts a lab (labUp) and returns its handle. */
  static async up(opts: LabOptions): Promise<Lab> {
    await labUp(opts);
    return new Lab(opts.name);
  }

  /** The pair's mode, from the boxes' configs in the run dir. */
  get mode(): LabMode {
    return readBoxConfig(this.runDir, 'fwa').mode;
  }

  /** Namespace of a role: `N-fwa`, `N-client`, ... */
  ns(role: LabRole): string {
    return nsName(this.name, role);
  }

  configPath(box: LabBox): string {
    return join(this.runDir, `${box}.yaml`);
  }

  logPath(box: LabBox): string {
    return join(this.runDir, `${box}.log`);
  }

  /** Runs a command inside a role's namespace (`ip netns exec N-role cmd args...`). */
  nsExec(role: LabRole, cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return nsExec(this.ns(role), cmd, args, opts);
  }

  /** The recorded daemon PID, if that process is still alive and really this lab's daemon. */
  pid(box: LabBox): number | null {
    const pid = readPid(join(this.runDir, `${box}.pid`));
    return pid !== null && isOurProcess(pid, this.configPath(box)) ? pid : null;
  }

  api(box: LabBox, timeoutMs = 2000): ApiClient {
    const token = readToken(this.runDir);
    if (token === null) throw new Error(`lab ${this.name}: no API token in ${this.runDir} (is the lab up?)`);
    return labClient(this.runDir, box, readBoxConfig(this.runDir, box), token, timeoutMs);
  }

  /** Starts a --tls lab's relay of a box's API (see api-relay.ts) and records its PID. */
  async startRelay(box: LabBox): Promise<number> {
    const cfg = readBoxConfig(this.runDir, box);
    const { hostname, port } = new URL(cfg.api);
    const relay = join(this.repo, 'dist', 'src', 'lab', 'api-relay.js');
    if (!existsSync(relay)) throw new Error(`${relay} is missing: run \`npm run build\` first`);
    const socket = relaySocket(this.runDir, box);
    const child = spawn('ip', ['netns', 'exec', this.ns(box), process.execPath, relay, socket, hostname.replace(/^\[(.*)\]$/, '$1'), port], {
      cwd: this.runDir,
      detached: true,
      stdio: 'ignore',
    });
    const pid = await new Promise<number>((res, rej) => {
      child.once('error', (err) => rej(new Error(`lab ${this.name}: cannot start the API relay of ${box}: ${err.message}`)));
      child.once('spawn', () => res(child.pid as number));
    });
    child.unref();
    writeFileSync(join(this.runDir, `${box}-relay.pid`), `${pid}\n`, { mode: 0o600 });
    await this.waitFor(() => existsSync(socket), 5000, `the API relay of ${box} (${socket})`);
    return pid;
  }

  /** HA state by the API, null when the daemon does not answer. */
  async boxState(box: LabBox, timeoutMs = 1000): Promise<{ state: string; reason: string } | null> {
    try {
      const s = await this.api(box, timeoutMs).status();
      return { state: s.local.state, reason: s.local.reason };
    } catch {
      return null;
    }
  }

  /** Starts a box's daemon (detached, output appended to its log) and records its PID. */
  async startBox(box: LabBox): Promise<number> {
    const running = this.pid(box);
    if (running !== null) throw new Error(`lab ${this.name}: ${box} is already running (pid ${running})`);
    const command = this.daemonCommand();
    const log = this.logPath(box);
    const fd = openSync(log, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ lab: this.name, box, msg: 'lab: starting daemon', time: new Date().toISOString() })}\n`);
      const child = spawn('ip', ['netns', 'exec', this.ns(box), ...command, '--config', this.configPath(box)], {
        cwd: this.runDir,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      const pid = await new Promise<number>((res, rej) => {
        child.once('error', (err) => rej(new Error(`lab ${this.name}: cannot start ${box}: ${err.message}`)));
        child.once('spawn', () => res(child.pid as number));
      });
      child.unref();
      writeFileSync(join(this.runDir, `${box}.pid`), `${pid}\n`, { mode: 0o600 });
      return pid;
    } finally {
      closeSync(fd);
    }
  }

  /** The daemon command before `--config FILE`: the run dir's daemon-command.json, or the real daemon. */
  daemonCommand(): string[] {
    try {
      const cmd = JSON.parse(readFileSync(join(this.runDir, 'daemon-command.json'), 'utf8')) as unknown;
      if (Array.isArray(cmd) && cmd.length > 0 && cmd.every((a) => typeof a === 'string')) return cmd;
    } catch {
      // none recorded: the real daemon
    }
    const main = join(this.repo, 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    return [process.execPath, join(this.repo, 'bin', 'tandem.js'), 'run'];
  }

  /**
   * Sends a signal to a box's daemon (after checking the PID is really it). SIGKILL and SIGTERM
   * wait until the process is gone.
   */
  async killBox(box: LabBox, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<number> {
    const pid = this.pid(box);
    if (pid === null) throw new Error(`lab ${this.name}: ${box} is not running`);
    process.kill(pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await this.waitFor(() => !isAlive(pid), timeoutMs, `${box} (pid ${pid}) to exit after ${signal}`);
    }
    return pid;
  }

  /** Polls `predicate` every 20 ms until it holds; rejects after timeoutMs with `what`. Resolves with the elapsed ms. */
  async waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<number> {
    const start = Date.now();
    for (;;) {
      if (await predicate()) return Date.now() - start;
      if (Date.now() - start > timeoutMs) throw new Error(`lab ${this.name}: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(20);
    }
  }

  /**
   * Waits until one box is active and the other passive (not tentative: its bulk sync from the
   * active is complete); returns which is which.
   */
  async waitForPair(timeoutMs = DEFAULT_UP_TIMEOUT_MS, out?: NodeJS.WritableStream): Promise<{ active: LabBox; passive: LabBox; ms: number }> {
    const start = Date.now();
    let lastReport = start;
    let states: Record<LabBox, { state: string; reason: string } | null> = { fwa: null, fwb: null };
    const describe = (): string =>
      LAB_BOXES.map((b) => `${b}=${states[b] ? `${states[b].state} (${states[b].reason})` : this.pid(b) === null ? 'not running' : 'no answer'}`).join(', ');
    for (;;) {
      const [a, b] = await Promise.all([this.boxState('fwa'), this.boxState('fwb')]);
      states = { fwa: a, fwb: b };
      if (a && b) {
        // active/active: the active-primary and the active-secondary (both forward)
        const [ra, rb] = [pairRole(a.state), pairRole(b.state)];
        if (ra === 'active' && rb === 'passive') return { active: 'fwa', passive: 'fwb', ms: Date.now() - start };
        if (rb === 'active' && ra === 'passive') return { active: 'fwb', passive: 'fwa', ms: Date.now() - start };
      }
      // liveness of the PIDs we recorded, not pid(): while `ip netns exec` execs node, the
      // process's cmdline reads empty for an instant and the ownership check would fail
      const dead = LAB_BOXES.filter((box) => {
        const pid = readPid(join(this.runDir, `${box}.pid`));
        return pid === null || !isAlive(pid);
      });
      if (dead.length > 0) throw new Error(`lab ${this.name}: ${dead.join(' and ')} exited while waiting for an active/passive pair`);
      const now = Date.now();
      if (now - start > timeoutMs) throw new Error(`lab ${this.name}: no active/passive pair after ${secs(timeoutMs)}: ${describe()}`);
      if (now - lastReport >= SLOW_STEP_MS) {
        lastReport = now;
        say(out, this.name, `waiting for an active/passive pair (${secs(now - start)}): ${describe()}`);
      }
      await sleep(100);
    }
  }

  /** `all` of a box in an active/active lab is its HA3 cable too: every link the box has. */
  async setLink(node: LabBox | LabHost, link: LabLink | 'all', up: boolean): Promise<void> {
    await setLinkTopo(this.name, node, link, up);
    if (link === 'all' && this.mode === 'active-active' && (LAB_BOXES as readonly string[]).includes(node)) await setLinkTopo(this.name, node, 'ha3', up);
  }

  /** Both boxes' cables on one traffic link pulled (or plugged) at once, as a dead switch would. */
  setBothBoxesLink(link: 'lan' | 'wan', up: boolean): Promise<void> {
    return setBothBoxesLinkTopo(this.name, link, up);
  }

  /** The box's own lan0 or wan0 set down or up inside the box (setLink pulls the cable at the switch). */
  setBoxDevice(box: LabBox, link: 'lan' | 'wan', up: boolean): Promise<void> {
    return setBoxDeviceTopo(this.name, box, link, up);
  }

  /** The box's lan0 or wan0 deleted (createBoxDevice brings it back). */
  deleteBoxDevice(box: LabBox, link: 'lan' | 'wan'): Promise<void> {
    return deleteBoxDeviceTopo(this.name, box, link);
  }

  createBoxDevice(box: LabBox, link: 'lan' | 'wan'): Promise<void> {
    return createBoxDeviceTopo(this.name, box, link);
  }

  /** The box's lan0 or wan0 deleted and created again (new ifindex and MAC, same address and port). */
  recreateBoxDevice(box: LabBox, link: 'lan' | 'wan'): Promise<void> {
    return recreateBoxDeviceTopo(this.name, box, link);
  }

  isolateBox(box: LabBox, cut: boolean): Promise<void> {
    return isolateBoxTopo(this.name, box, cut);
  }

  logTail(box: LabBox, lines = 20): string {
    return tailFile(this.logPath(box), lines);
  }

  status(): Promise<LabStatus> {
    return labStatus({ name: this.name });
  }

  down(out?: NodeJS.WritableStream): Promise<void> {
    return labDown({ name: this.name, out });
  }
}

// --- up / down / status ---------------------------------------------------------------------------

/** A shown HA state as the pair's role: active/active's primary and secondary stand for active and passive. */
function pairRole(state: string): string {
  if (state === 'active-primary') return 'active';
  if (state === 'active-secondary') return 'passive';
  return state;
}

/** Builds the namespaces, writes the run dir, starts both daemons and waits for active + passive. */
export async function labUp(opts: LabOptions): Promise<LabStatus> {
  if ((opts.pairs ?? 1) !== 1) return labUpPairs(opts);
  return labUpPair(opts);
}

/**
 * `lab up --pairs N`: the pairs one after the other, each settled before the next starts. The list
 * of pairs is written as soon as the first is up, so `lab down` finds every pair even after a
 * failure half-way (which takes down what was built).
 */
async function labUpPairs(opts: LabOptions): Promise<LabStatus> {
  const n = opts.pairs ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LAB_PAIRS) throw new Error(`--pairs ${n}: expected 1 to ${MAX_LAB_PAIRS} pairs`);
  const names = Array.from({ length: n }, (_, i) => pairLabName(opts.name, i + 1));
  for (const name of names) {
    try {
      validateLabName(name);
    } catch {
      throw new Error(`lab name ${JSON.stringify(opts.name)} is too long for ${n} pairs: pair ${n} would be ${JSON.stringify(name)} (at most 20 characters)`);
    }
  }
  try {
    for (let i = 0; i < n; i++) {
      await labUpPair({ ...opts, name: names[i], pairs: 1 }, { pair: i + 1 });
      if (i === 0) writeFileSync(join(runDirOf(names[0]), PAIRS_FILE), `${JSON.stringify(names)}\n`, { mode: 0o644 });
    }
  } catch (err) {
    await labDown({ name: opts.name, out: opts.out }).catch(() => undefined);
    throw err;
  }
  return labStatus({ name: opts.name });
}

async function labUpPair(opts: LabOptions, fleet?: LabFleetPair): Promise<LabStatus> {
  validateLabName(opts.name);
  const { name, out } = opts;
  const runDir = runDirOf(name);
  const lab = new Lab(name);
  const mode = opts.mode ?? 'active-passive';
  const configDir = resolve(opts.configDir ?? (mode === 'active-active' ? join(lab.repo, 'deploy', 'lab', 'active-active') : join(lab.repo, 'deploy', 'lab')));
  for (const box of LAB_BOXES) {
    if (!existsSync(join(configDir, `${box}.yaml`))) throw new Error(`lab ${name}: ${join(configDir, `${box}.yaml`)} is missing`);
  }
  const leftover = await existingLabNamespaces(name);
  if (leftover.length > 0 || existsSync(runDir)) {
    throw new Error(
      `lab ${name} is already up or was not cleaned up (${leftover.length > 0 ? leftover.join(', ') : runDir}): run \`tandem lab down --name ${name}\` first`,
    );
  }
  const t0 = Date.now();
  try {
    const topo = { haFamily: opts.haFamily ?? 'ipv4', ipv6Ra: opts.ipv6Ra === true } as const;
    await buildTopology(name, mode, topo);
    say(out, name, `namespaces ${name}-{${rolesOf(mode).join(',')}} built (${secs(Date.now() - t0)})`);

    mkdirSync(LAB_RUN_ROOT, { recursive: true, mode: 0o755 });
    mkdirSync(runDir, { mode: 0o700 });
    for (const box of LAB_BOXES) {
      // as they are, or rewritten for --ha-family ipv6 and --ipv6-ra
      writeFileSync(join(runDir, `${box}.yaml`), labBoxConfig(readFileSync(join(configDir, `${box}.yaml`), 'utf8'), box, topo, fleet), { mode: 0o644 });
      mkdirSync(join(runDir, `state-${box}`), { mode: 0o700 });
    }
    // one pre-shared key and one API token per run, never reused
    writeFileSync(join(runDir, 'ha.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(join(runDir, 'api.token'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    if (opts.daemonCommand) writeFileSync(join(runDir, 'daemon-command.json'), `${JSON.stringify(opts.daemonCommand)}\n`, { mode: 0o600 });
    if (opts.tls) await setUpTls(lab, topo.haFamily, out);

    const pids: string[] = [];
    for (const box of LAB_BOXES) pids.push(`${box} pid ${await lab.startBox(box)}`);
    say(out, name, `daemons started (${pids.join(', ')}); logs in ${runDir}`);

    const pair = await lab.waitForPair(opts.timeoutMs ?? DEFAULT_UP_TIMEOUT_MS, out);
    say(out, name, `${pair.active} active, ${pair.passive} passive (${secs(pair.ms)} after start)`);
    return await labStatus({ name });
  } catch (err) {
    for (const box of LAB_BOXES) {
      const tail = lab.logTail(box, 15);
      if (tail) say(out, name, `last lines of ${box}.log:\n${tail}`);
    }
    say(out, name, 'tearing down after the failure');
    await labDown({ name, out }).catch((e: unknown) => say(out, name, `teardown failed too: ${e instanceof Error ? e.message : String(e)}`));
    throw err;
  }
}

/**
 * Stops the recorded daemons (SIGTERM, then SIGKILL; only PIDs whose command line is this lab's),
 * removes the namespaces and the run dir. Idempotent; works after a crash.
 */
export async function labDown(opts: { name: string; out?: NodeJS.WritableStream }): Promise<void> {
  validateLabName(opts.name);
  // a fleet (`lab up --pairs`): the other pairs first, then this one (with the list)
  for (const other of (fleetPairsOf(opts.name) ?? []).filter((n) => n !== opts.name).reverse()) await labDown({ name: other, out: opts.out });
  const runDir = runDirOf(opts.name);
  if (existsSync(runDir)) {
    // daemons first (marker: their config path), then any helper the demo or a test recorded in
    // *.pid files of the run dir (marker: the run dir, which they carry on their command line)
    const pidFiles = readdirSync(runDir).filter((f) => f.endsWith('.pid'));
    await Promise.all(
      pidFiles.map(async (f) => {
        const pid = readPid(join(runDir, f));
        if (pid === null) return;
        const box = f.slice(0, -4);
        // a daemon's (and tandem central's, lab demo --pairs) marker is its config file
        const marker = (LAB_BOXES as readonly string[]).includes(box) || box === 'central' ? join(runDir, `${box}.yaml`) : runDir;
        const how = await stopProcess(pid, marker);
        if (how === 'killed') say(opts.out, opts.name, `${box} (pid ${pid}) ignored SIGTERM and was killed`);
      }),
    );
  }
  for (const ns of await existingLabNamespaces(opts.name)) {
    // a namespace with processes in it outlives its name: say so rather than kill what we did not start
    const pids = await trySh('ip', ['netns', 'pids', ns]);
    const left =
      pids?.stdout
        .trim()
        .split(/\s+/)
        .filter((p) => p !== '') ?? [];
    if (left.length > 0) say(opts.out, opts.name, `processes still in ${ns} (not started by the lab, left alone): ${left.join(', ')}`);
  }
  await destroyTopology(opts.name);
  if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
}

/** Namespaces, addresses, daemon PIDs, API and metrics URLs and HA states (and, for a fleet, every pair's). */
export async function labStatus(opts: { name: string }): Promise<LabStatus> {
  const fleet = fleetPairsOf(opts.name);
  const own = await pairStatus(opts);
  if (fleet === null) return own;
  const others = await Promise.all(fleet.filter((n) => n !== opts.name).map((name) => pairStatus({ name })));
  return { ...own, pairs: [own, ...others] };
}

async function pairStatus(opts: { name: string }): Promise<LabStatus> {
  const lab = new Lab(opts.name);
  const namespaces = await existingLabNamespaces(opts.name);
  const token = readToken(lab.runDir);
  // filled in LAB_BOXES order whatever order the APIs answer in (a stable JSON shape)
  const boxes = Object.fromEntries(LAB_BOXES.map((b) => [b, null])) as unknown as Record<LabBox, BoxStatus>;
  let floatingIps: string[] = [];
  await Promise.all(
    LAB_BOXES.map(async (box) => {
      const cfg = readBoxConfig(lab.runDir, box);
      floatingIps = cfg.floatingIps;
      const status: BoxStatus = {
        namespace: lab.ns(box),
        pid: lab.pid(box),
        state: null,
        reason: null,
        api: cfg.api,
        metrics: cfg.metrics,
        addresses: cfg.addresses,
        addresses6: cfg.addresses6,
        log: lab.logPath(box),
        config: lab.configPath(box),
        ...(cfg.tls ? { apiSocket: relaySocket(lab.runDir, box) } : {}),
      };
      if (token !== null) {
        try {
          const s = await labClient(lab.runDir, box, cfg, token, 1000).status();
          status.state = s.local.state;
          status.reason = s.local.reason;
        } catch (err) {
          status.error = err instanceof Error ? err.message : String(err);
        }
      } else status.error = 'lab is not up (no run dir)';
      boxes[box] = status;
    }),
  );
  const { mode, haFamily, ipv6Ra, tls } = readBoxConfig(lab.runDir, 'fwa');
  const hosts = Object.fromEntries(
    hostsOf(mode).map((h): [LabHost, LabHostStatus] => [
      h,
      { namespace: lab.ns(h), address: LAB_ADDR[h], gateway: hostGateway(h), address6: LAB_ADDR6[h], gateway6: hostGateway6(h, ipv6Ra) },
    ]),
  ) as LabStatus['hosts'];
  return {
    name: opts.name,
    runDir: lab.runDir,
    namespaces,
    boxes,
    hosts,
    mode,
    floatingIps,
    haFamily,
    ipv6Ra,
    ...(tls ? { tls: labTlsFiles(lab.runDir) } : {}),
  };
}

/** The lab's client of a box: with TLS, the lab's CA and client certificate, through the box's relay. */
function labClient(runDir: string, box: LabBox, cfg: BoxConfigView, token: string, timeoutMs: number): ApiClient {
  if (!cfg.tls) return new ApiClient({ url: cfg.api, token, timeoutMs });
  const files = labTlsFiles(runDir);
  return new ApiClient({
    url: cfg.api,
    token,
    timeoutMs,
    caFile: files.ca,
    certFile: files.clientCert,
    keyFile: files.clientKey,
    socketPath: relaySocket(runDir, box),
  });
}

/**
 * `lab up --tls`: mints the CA and the certificates (each box's for its management address and its
 * device name), points both configs' device.api at them, and starts the relays.
 */
async function setUpTls(lab: Lab, haFamily: LabHaFamily, out: NodeJS.WritableStream | undefined): Promise<void> {
  const t0 = Date.now();
  const texts = Object.fromEntries(LAB_BOXES.map((box) => [box, readFileSync(lab.configPath(box), 'utf8')])) as Record<LabBox, string>;
  const servers = Object.fromEntries(
    LAB_BOXES.map((box) => [box, { address: labApiAddress(texts[box], box, haFamily), dnsName: deviceNameOf(texts[box], box) }]),
  );
  const minted = await mintLabTls(lab.runDir, lab.name, servers);
  for (const box of LAB_BOXES) {
    const api = { address: servers[box].address, certFile: minted.boxes[box].cert, keyFile: minted.boxes[box].key, clientCaFile: minted.ca.cert };
    writeFileSync(lab.configPath(box), labTlsApiConfig(texts[box], box, api), { mode: 0o644 });
  }
  for (const box of LAB_BOXES) await lab.startRelay(box);
  say(out, lab.name, `TLS: CA and certificates minted in ${join(lab.runDir, LAB_TLS_DIR)}, API relays started (${secs(Date.now() - t0)})`);
}

/** device.name of a box's config text (its certificate's DNS name), the box's lab name when absent. */
function deviceNameOf(text: string, box: LabBox): string {
  const name = (parseYaml(text) as { device?: { name?: unknown } } | null)?.device?.name;
  return typeof name === 'string' ? name : box;
}
