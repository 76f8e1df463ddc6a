// `tandem config validate|commit|show|diff`. validate reads a file here (the loader, no daemon);
// the others talk to the daemon, which validates and applies (the config is the running box's).
import type { Command } from 'commander';
import { ApiError } from '../../api/client.js';
import { formatConfigIssue } from '../../config/errors.js';
import type { TandemConfig } from '../../config/types.js';
import { readConfigText, sharedOfFile } from '../config-file.js';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';
import { CliError, EXIT_CONFIG } from '../exit-codes.js';
import { formatCommit, formatConfigHeader, formatConfigSummary } from '../format-config.js';
import { configIssues } from '../report.js';

/** A commit waits for the peer's acknowledgement (up to 8 s) on top of validation and apply. */
const CONFIG_TIMEOUT_MS = 20_000;

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('configuration files');
  registerValidate(config, ctx);
  registerCommit(config, ctx);
  registerShow(config, ctx);
  registerDiff(config, ctx);
}

function registerValidate(config: Command, { io, out, json }: CliContext): void {
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
        // with --json the issues go to stdout as data; without, the report prints them (exit 4 either way)
        if (issues && opts.json) {
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
}

function registerCommit(config: Command, { io, out, json, client }: CliContext): void {
  apiCommand(config, 'commit', 'commit a config file on the active box: validate, apply, persist, push the shared half to the peer', CONFIG_TIMEOUT_MS)
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
      if (result.changed && !result.peer.synced && !/down/.test(result.peer.message))
        io.stderr(`tandem: warning: the peer is not in sync yet: ${result.peer.message}\n`);
    });
}

function registerShow(config: Command, { out, json, client }: CliContext): void {
  apiCommand(config, 'show', 'show the running shared config, its version and hash, and whether the peer runs the same', CONFIG_TIMEOUT_MS)
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
}

function registerDiff(config: Command, { out, json, client }: CliContext): void {
  apiCommand(config, 'diff', "compare the running shared config with the peer's (default) or with a file's shared half", CONFIG_TIMEOUT_MS)
    .argument('[file]', 'configuration file to compare with the running config')
    .option('--json', 'print the differences as JSON')
    .action(async (file: string | undefined, opts: ClientOpts) => {
      const c = await client(opts);
      const running = await c.config();
      const { diffConfig, formatDiff } = await import('../../config/diff.js');
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
}
