// The `tandem` command: parses arguments (commander), then calls the API client, the config
// loader, the lab or the daemon. The daemon, the config loader and the lab are imported lazily, so
// `tandem status` loads neither the dataplane nor the lab. `runCli` never exits the process: it
// returns the exit code (see exit-codes.ts), which makes every command testable in-process.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiClient, ApiError, readTokenFile } from '../api/client.js';
import { DEFAULT_API_URL, DEFAULT_TOKEN_FILE, type StatusResponse } from '../api/protocol.js';
import {
  DEFAULT_SESSIONS_LIMIT,
  SESSION_PARAM_EXPECTED,
  SessionQueryError,
  parseSessionParam,
  type SessionFilter,
  type SessionProtocol,
  type SessionQueryParam,
} from '../api/sessions.js';
import type { TandemConfig } from '../config/types.js';
import {
  CliError,
  EXIT_CONFIG,
  EXIT_FAILED,
  EXIT_INTERNAL,
  EXIT_OK,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
  type ExitCode,
} from './exit-codes.js';
import { formatConfigSummary, formatLabStatus, formatRecord, formatSessions, formatStatus, type LabStatusView } from './format.js';
import { formatCommit, formatConfigHeader } from './format-config.js';
import { formatTimeline, timeline } from './format-events.js';
import { formatConfigIssue } from '../config/errors.js';

/** The lab's entry points (src/lab/lab.ts and src/lab/demo.ts). */
export interface LabApi {
  labUp(opts: { name: string; configDir?: string }): Promise<LabStatusView>;
  labDown(opts: { name: string }): Promise<unknown>;
  labStatus(opts: { name: string }): Promise<LabStatusView>;
  /** Progress goes to the lab's default (stderr); the result is printed here. */
  labDemo(opts: { name: string; svg?: string }): Promise<unknown>;
}

/** Everything the CLI touches outside itself; tests replace any of it. */
export interface CliEnv {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  now(): number;
  runDaemon(configPath: string): Promise<void>;
  loadConfig(path: string): TandemConfig | Promise<TandemConfig>;
  lab(): Promise<LabApi>;
}

export const DEFAULT_LAB_NAME = 'tlab';

// Imported lazily: the daemon pulls in the dataplane, the lab its helpers; neither should load
// for `tandem status`. demo.ts is held in a variable until it lands (no compile-time check yet).
const DEMO_MODULE = '../lab/demo.js';

export function defaultCliEnv(): CliEnv {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    now: () => Date.now(),
    runDaemon: async (path) => (await import('../daemon/daemon.js')).runDaemon(path),
    // zod and yaml load only for the commands that read a config
    loadConfig: async (path) => (await import('../config/load.js')).loadConfig(path),
    lab: async () => {
      try {
        const lab = await import('../lab/lab.js');
        return {
          labUp: lab.labUp,
          labDown: lab.labDown,
          labStatus: lab.labStatus,
          labDemo: async (opts) => ((await import(DEMO_MODULE)) as Pick<LabApi, 'labDemo'>).labDemo(opts),
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
          throw new CliError(EXIT_FAILED, `the lab is not part of this build (${(err as Error).message})`);
        }
        throw err;
      }
    },
  };
}

/**
 * Runs a step of the daemon or the lab: an ordinary Error from it (a command that failed, a lab
 * that is not up) is a failed command (exit 1), not a bug; programming errors (TypeError, ...)
 * and the errors with their own exit code pass through.
 */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError || err instanceof ApiError || configIssues(err) || isBug(err)) throw err;
    throw new CliError(EXIT_FAILED, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function isBug(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError || !(err instanceof Error);
}

interface ClientOpts {
  api?: string;
  tokenFile?: string;
  timeoutMs?: string;
  json?: boolean;
}

export async function runCli(argv: readonly string[], partial: Partial<CliEnv> = {}): Promise<ExitCode> {
  const io: CliEnv = { ...defaultCliEnv(), ...partial };
  const out = (text: string): void => io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

  const program = new Command('tandem');
  program
    .description('HA pair of stateful firewalls: daemon, management CLI and namespace lab')
    .exitOverride()
    .configureOutput({
      writeOut: (t) => io.stdout(t),
      writeErr: (t) => io.stderr(t),
      // usage errors: one line, like every other error
      outputError: (t, write) => write(`tandem: ${t.replace(/^error: /, '').trimEnd()} (see \`tandem --help\`)\n`),
    })
    .helpCommand(true)
    .version(packageVersion(), '-V, --version')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 command failed or refused by the daemon, 2 usage error,\n' +
        '3 cannot reach the daemon, 4 invalid config, 70 internal error (TANDEM_DEBUG=1 for stacks).',
    );

  // ---- the daemon
  program
    .command('run')
    .description('run the tandem daemon of this box (foreground; logs JSON to stdout)')
    .requiredOption('-c, --config <file>', 'configuration file')
    .action(async (opts: { config: string }) => {
      await step('daemon', () => io.runDaemon(opts.config));
    });

  // ---- API commands
  /** A subcommand of `parent` that talks to the daemon: --api, --token-file, --timeout-ms. */
  const apiCommand = (parent: Command, name: string, description: string, timeoutMs: number): Command =>
    parent
      .command(name)
      .description(description)
      .option('--api <url>', `daemon API: http://host:port or unix:/path (env TANDEM_API, default ${DEFAULT_API_URL})`)
      .option('--token-file <file>', `API bearer token file (env TANDEM_TOKEN_FILE, default ${DEFAULT_TOKEN_FILE})`)
      .addOption(new Option('--timeout-ms <ms>', 'per-request timeout').default(String(timeoutMs)).argParser(positiveInt('--timeout-ms')));
  const clientCommand = (name: string, description: string): Command => apiCommand(program, name, description, 5000);

  const client = async (opts: ClientOpts): Promise<ApiClient> => {
    const url = opts.api ?? io.env.TANDEM_API ?? DEFAULT_API_URL;
    const tokenFile = opts.tokenFile ?? io.env.TANDEM_TOKEN_FILE ?? DEFAULT_TOKEN_FILE;
    let token: Buffer;
    try {
      token = await readTokenFile(tokenFile);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
      throw new CliError(EXIT_FAILED, `cannot read API token file ${tokenFile}: ${why} (use --token-file or TANDEM_TOKEN_FILE)`);
    }
    return new ApiClient({ url, token, timeoutMs: Number(opts.timeoutMs ?? 5000) });
  };

  clientCommand('status', 'show the HA state of the pair, as this box sees it')
    .option('--json', 'print the full status as JSON')
    .action(async (opts: ClientOpts) => {
      const status: StatusResponse = await (await client(opts)).status();
      if (opts.json) json(status);
      else out(formatStatus(status, io.now()));
    });

  clientCommand('doctor', 'check this box: config, key and token permissions, interfaces, kernel forwarding, offloads, capabilities, the daemon and its peer')
    .option('-c, --config <file>', 'the daemon\'s configuration file', '/etc/tandem/tandem.yaml')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: ClientOpts & { config: string }) => {
      const { runDoctor, formatDoctor, apiUrlOf } = await import('./doctor.js');
      const { loadSecretFile } = await import('../wire/keyfile.js');
      const { execFile } = await import('node:child_process');
      const results = await runDoctor(opts.config, {
        loadConfig: async (path) => io.loadConfig(path),
        checkSecret: (path, what) => void loadSecretFile(path, what),
        readSys: (path) => {
          try {
            return readFileSync(path, 'utf8').trim();
          } catch {
            return null;
          }
        },
        ethtoolFeatures: (device) =>
          new Promise((resolve) => execFile('ethtool', ['-k', device], { timeout: 3000 }, (err, stdout) => resolve(err ? null : stdout))),
        // the daemon this config describes, unless --api / --token-file (or their env) say otherwise
        status: async (cfg) =>
          (
            await client({
              ...opts,
              api: opts.api ?? io.env.TANDEM_API ?? (cfg ? apiUrlOf(cfg.device.api.listen) : undefined),
              tokenFile: opts.tokenFile ?? io.env.TANDEM_TOKEN_FILE ?? cfg?.device.api.tokenFile,
            })
          ).status(),
      });
      if (opts.json) json({ checks: results, ok: !results.some((r) => r.level === 'fail') });
      else out(formatDoctor(results));
      if (results.some((r) => r.level === 'fail')) throw new CliError(EXIT_FAILED, '');
    });

  clientCommand('test-failover', 'a planned failover to the peer and back (run against the active box), measured over both APIs')
    .requiredOption('--peer-api <url>', "the peer's API (to fail back from it): http://host:port or unix:/path")
    .option('--peer-token-file <file>', "the peer's API token file (default: this box's)")
    .addOption(new Option('--hold-s <s>', 'seconds on the peer before failing back').default('3').argParser(positiveInt('--hold-s')))
    .option('--json', 'print both legs as JSON')
    .action(async (opts: ClientOpts & { peerApi: string; peerTokenFile?: string; holdS: string }) => {
      const { testFailover, formatTestFailover, TestFailoverError } = await import('./test-failover.js');
      const local = await client(opts);
      const peer = await client({ ...opts, api: opts.peerApi, tokenFile: opts.peerTokenFile ?? opts.tokenFile });
      try {
        const legs = await testFailover(local, peer, { holdMs: Number(opts.holdS) * 1000 });
        if (opts.json) json({ legs });
        else out(formatTestFailover(legs));
      } catch (err) {
        if (err instanceof TestFailoverError) throw new CliError(EXIT_FAILED, err.message);
        throw err;
      }
    });

  clientCommand('events', 'the failover timeline of this box: every transition with its time, reason and the time spent in the state before')
    .option('--json', 'print the events as JSON')
    .action(async (opts: ClientOpts) => {
      const status = await (await client(opts)).status();
      const events = timeline(status.transitions);
      if (opts.json) json({ box: status.local.name, events });
      else out(formatTimeline(status.local.name, events));
    });

  for (const [name, description] of [
    ['suspend', 'suspend this box: it leaves the active role and takes no part in elections until `functional`'],
    ['functional', 'return a suspended box to service'],
    ['failover', 'move the active role to the peer (run on the active box)'],
  ] as const) {
    clientCommand(name, description)
      .option('--json', 'print the answer as JSON')
      .action(async (opts: ClientOpts) => {
        const c = await client(opts);
        const result = await c[name]();
        if (opts.json) json(result);
        else out(result.message);
      });
  }

  clientCommand('sessions', 'list the session table (like PAN-OS `show session all`), filtered')
    .addOption(sessionOption('address', '--address <ip>', 'sessions with this IPv4 address at either end, before or after NAT'))
    .addOption(sessionOption('port', '--port <n>', 'sessions with this port at either end, before or after NAT (ICMP: echo id)'))
    .addOption(sessionOption('protocol', '--protocol <p>', 'tcp, udp or icmp'))
    .addOption(sessionOption('state', '--state <s>', 'sessions in this state (TCP: syn-sent, established, fin-wait, ...; UDP/ICMP: new, established)'))
    .addOption(sessionOption('rule', '--rule <name>', 'sessions allowed by this policy rule ("(default)": the default action)'))
    .addOption(sessionOption('limit', '--limit <n>', `show at most n sessions (default ${DEFAULT_SESSIONS_LIMIT}; 0: counts only)`))
    .option('--json', 'print {total, matched, sessions, truncated} as JSON')
    .action(async (opts: ClientOpts & Partial<Record<SessionQueryParam, string | number>>) => {
      const filter: SessionFilter = {};
      if (opts.address !== undefined) filter.address = String(opts.address);
      if (opts.port !== undefined) filter.port = Number(opts.port);
      if (opts.protocol !== undefined) filter.protocol = opts.protocol as SessionProtocol;
      if (opts.state !== undefined) filter.state = String(opts.state);
      if (opts.rule !== undefined) filter.rule = String(opts.rule);
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      const list = await (await client(opts)).sessions(filter, limit);
      if (opts.json) json(list);
      else out(formatSessions(list));
    });

  // ---- config
  const config = program.command('config').description('configuration files');
  config
    .command('validate')
    .description('check a configuration file: every problem, one per line (exit 4 if any)')
    .argument('<file>', 'configuration file')
    .option('--json', 'print {file, valid, issues|summary} as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      let cfg: TandemConfig;
      try {
        cfg = await io.loadConfig(file);
      } catch (err) {
        const issues = configIssues(err);
        if (!issues) throw err;
        if (opts.json) {
          json({ file, valid: false, issues });
          throw new CliError(EXIT_CONFIG, '');
        }
        throw err;
      }
      if (opts.json) {
        json({
          file,
          valid: true,
          device: { id: cfg.device.id, name: cfg.device.name, priority: cfg.device.priority },
          mode: cfg.shared.ha.mode,
          groupId: cfg.shared.ha.groupId,
          timers: cfg.shared.ha.timers,
        });
      } else out(formatConfigSummary(file, cfg));
    });

  // a commit waits for the peer's acknowledgement (up to 8 s) on top of validation and apply
  const configClientCommand = (name: string, description: string): Command => apiCommand(config, name, description, 20_000);

  configClientCommand('commit', 'commit a config file on the active box: validate, apply, persist, push the shared half to the peer')
    .argument('<file>', 'configuration file (the whole file, or one with only shared:)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: ClientOpts) => {
      const text = await readConfigText(file);
      const c = await client(opts);
      let result;
      try {
        result = await c.commitConfig(text, file);
      } catch (err) {
        // the daemon's issues, one line each and named after the file, as `config validate` prints them
        if (err instanceof ApiError && err.code === 'invalid-config' && err.issues)
          throw new CliError(EXIT_CONFIG, [`${err.message}:`, ...err.issues.map((i) => formatConfigIssue(i, file))].join('\n'));
        throw err;
      }
      if (opts.json) json(result);
      else out(formatCommit(result));
      if (result.changed && !result.peer.synced && !/down/.test(result.peer.message)) io.stderr(`tandem: warning: the peer is not in sync yet: ${result.peer.message}\n`);
    });

  configClientCommand('show', 'show the running shared config, its version and hash, and whether the peer runs the same')
    .option('--peer', "show the peer's running shared config instead (fetched over HA1)")
    .option('--json', 'print it as JSON')
    .action(async (opts: ClientOpts & { peer?: boolean }) => {
      const c = await client(opts);
      const { stringify } = await import('yaml');
      if (opts.peer) {
        const peer = await c.peerConfig();
        if (opts.json) return json(peer);
        out(`# peer's shared config v${peer.version} (hash ${peer.hash.slice(0, 12)}), committed ${peer.committedAt} on ${peer.committedBy}`);
        return out(stringify({ shared: peer.shared }));
      }
      const cfg = await c.config();
      if (opts.json) return json(cfg);
      out(formatConfigHeader(cfg));
      out(stringify({ shared: cfg.shared }));
    });

  configClientCommand('diff', "compare the running shared config with the peer's (default) or with a file's shared half")
    .argument('[file]', 'configuration file to compare with the running config')
    .option('--json', 'print the differences as JSON')
    .action(async (file: string | undefined, opts: ClientOpts) => {
      const c = await client(opts);
      const running = await c.config();
      const { diffConfig, formatDiff } = await import('../config/diff.js');
      let other: unknown;
      let label: string;
      if (file === undefined) {
        const peer = await c.peerConfig();
        other = peer.shared;
        label = `peer v${peer.version} (${peer.hash.slice(0, 12)})`;
      } else {
        other = await sharedOfFile(file);
        label = file;
      }
      const entries = diffConfig(running.shared, other);
      if (opts.json) json({ from: `running v${running.version}`, to: label, differences: entries });
      else out(formatDiff(entries, { from: `running v${running.version} (${running.hash.slice(0, 12)})`, to: label }));
    });

  // ---- lab
  const lab = program.command('lab').description('the network-namespace lab: two boxes, a client and a server on one machine');
  const nameOption = (): Option => new Option('--name <name>', 'lab name (prefix of every namespace)').default(DEFAULT_LAB_NAME);
  lab
    .command('up')
    .description('build the namespaces, start both daemons, wait for active/passive')
    .addOption(nameOption())
    .option('--config <dir>', 'directory with the two boxes\' configs (default: deploy/lab)')
    .option('--json', 'print the lab status as JSON')
    .action(async (opts: { name: string; config?: string; json?: boolean }) => {
      const api = await io.lab();
      const st = await step('lab up', () => api.labUp({ name: opts.name, ...(opts.config ? { configDir: opts.config } : {}) }));
      if (opts.json) json(st);
      else out(formatLabStatus(st));
    });
  lab
    .command('down')
    .description('stop the daemons and remove every namespace of the lab (also after a crash)')
    .addOption(nameOption())
    .action(async (opts: { name: string }) => {
      const api = await io.lab();
      await step('lab down', () => api.labDown({ name: opts.name }));
      out(`lab ${opts.name}: removed`);
    });
  lab
    .command('status')
    .description('namespaces, addresses, daemon PIDs, API and metrics URLs, HA states')
    .addOption(nameOption())
    .option('--json', 'print as JSON (stable shape, for scripts)')
    .action(async (opts: { name: string; json?: boolean }) => {
      const api = await io.lab();
      const st = await step('lab status', () => api.labStatus({ name: opts.name }));
      if (opts.json) json(st);
      else out(formatLabStatus(st));
    });
  lab
    .command('demo')
    .description('up, live traffic, crash the active box, measure the takeover, recover, clean up')
    .addOption(nameOption())
    .option('--json', 'print the result as JSON')
    .option('--svg <path>', 'where to write the failover timeline picture (default ./tandem-failover.svg)')
    .action(async (opts: { name: string; json?: boolean; svg?: string }) => {
      const api = await io.lab();
      const result = await step('lab demo', () => api.labDemo({ name: opts.name, ...(opts.svg ? { svg: opts.svg } : {}) }));
      if (opts.json) json(result);
      // the demo has printed its own table and the picture's path: one verdict line is enough
      const verdict = demoVerdict(result);
      if (!opts.json) out(verdict.ok ? 'demo: OK\n' : `demo: FAILED${verdict.errors.length > 0 ? ` (${verdict.errors.join('; ')})` : ''}\n`);
      if (!verdict.ok) throw new CliError(EXIT_FAILED, '');
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return report(err, io);
  }
}

/** The demo's verdict: `ok` and `errors` of its result (a result without them is taken as ok). */
function demoVerdict(result: unknown): { ok: boolean; errors: string[] } {
  const r = (typeof result === 'object' && result !== null ? result : {}) as { ok?: unknown; errors?: unknown };
  const errors = Array.isArray(r.errors) ? r.errors.map(String) : [];
  return { ok: r.ok !== false, errors };
}

/** The version in package.json, found upwards from this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tandem' && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

async function readConfigText(file: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(EXIT_CONFIG, `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/** The shared half of a file, parsed and defaulted like the daemon does (semantic checks need the box's device half: the daemon does those). */
async function sharedOfFile(file: string): Promise<unknown> {
  const text = await readConfigText(file);
  const { parseYaml } = await import('../config/load.js');
  const { ConfigError } = await import('../config/errors.js');
  const { sharedSchema, issuesFromZod } = await import('../config/schema.js');
  const raw = parseYaml(text, file) as { shared?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || !('shared' in raw))
    throw new ConfigError([{ path: '(document)', value: undefined, expected: 'a mapping with a shared: half' }], file);
  const parsed = sharedSchema.safeParse(raw.shared);
  if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, raw.shared).map((i) => ({ ...i, path: `shared.${i.path}` })), file);
  return parsed.data;
}

/** `issues` of a ConfigError (by shape: the loader is a separately loaded module). */
function configIssues(err: unknown): unknown[] | null {
  if (err instanceof Error && (err as { code?: unknown }).code === 'config-invalid' && Array.isArray((err as { issues?: unknown }).issues)) {
    return (err as unknown as { issues: unknown[] }).issues;
  }
  return null;
}

/** An option of `tandem sessions`, validated exactly as the API validates its query parameter. */
function sessionOption(param: SessionQueryParam, flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string) => {
    try {
      return parseSessionParam(param, value);
    } catch (err) {
      if (err instanceof SessionQueryError) throw new InvalidArgumentError(`Expected ${SESSION_PARAM_EXPECTED[param]}.`);
      throw err;
    }
  });
}

function positiveInt(flag: string): (value: string) => string {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${flag} expects a positive integer`);
    return value;
  };
}

/** Map any failure to an exit code and one line on stderr (the stack only with TANDEM_DEBUG=1). */
function report(err: unknown, io: CliEnv): ExitCode {
  const debug = io.env.TANDEM_DEBUG === '1';
  const line = (text: string): void => {
    if (text !== '') io.stderr(`tandem: ${text}\n`);
  };
  if (debug && err instanceof Error && err.stack && !(err instanceof CommanderError)) io.stderr(`${err.stack}\n`);
  if (err instanceof CommanderError) {
    // commander has already printed its message (through writeErr)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT_OK;
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    for (const l of err.message.split('\n')) line(l);
    return err.exitCode;
  }
  if (err instanceof ApiError) {
    if (err.code === 'invalid-config' && err.issues) {
      line(err.message);
      for (const issue of err.issues) line(formatConfigIssue(issue, '(file)'));
      return EXIT_CONFIG;
    }
    if (err.code === 'bad-url') {
      line(err.message);
      return EXIT_USAGE;
    }
    if (err.status === 0 && (err.code === 'unreachable' || err.code === 'timeout')) {
      line(err.message);
      return EXIT_UNREACHABLE;
    }
    if (err.status === 401) line(`the daemon rejected the API token (${err.message}); check --token-file`);
    else if (err.status === 409) line(`refused by the daemon: ${err.message}`);
    else line(`the daemon answered ${err.status === 0 ? 'badly' : `HTTP ${err.status}`}: ${err.message}`);
    return EXIT_FAILED;
  }
  if (configIssues(err)) {
    // one issue per line, each already "<file>: <path>: got <value>, expected <what>"
    for (const l of (err as Error).message.split('\n')) line(l);
    return EXIT_CONFIG;
  }
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof errno === 'string' && (err as NodeJS.ErrnoException).syscall) {
    // a system call failed (a file, a socket): the command failed, it is not a bug
    line(err.message);
    return EXIT_FAILED;
  }
  line(`internal error: ${err instanceof Error ? err.message : String(err)}${debug ? '' : ' (TANDEM_DEBUG=1 shows the stack trace)'}`);
  return EXIT_INTERNAL;
}
