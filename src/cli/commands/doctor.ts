// `tandem doctor`: the checks of ../doctor.ts against this host (files, /proc and /sys, ethtool)
// and the daemon its config describes. Exit 1 when any check fails.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';
import { CliError, EXIT_FAILED } from '../exit-codes.js';

/** ethtool asks the driver, which may hang: past this, the offload check says it could not read them. */
const ETHTOOL_TIMEOUT_MS = 3000;

export function registerDoctor(program: Command, ctx: CliContext): void {
  apiCommand(
    program,
    'doctor',
    'check this box: config, key and token permissions, interfaces, kernel forwarding, offloads, capabilities, the daemon and its peer',
  )
    .option('-c, --config <file>', "the daemon's configuration file", '/etc/tandem/tandem.yaml')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: ClientOpts & { config: string }) => {
      const { runDoctor, formatDoctor, apiUrlOf } = await import('../doctor.js');
      const { loadSecretFile } = await import('../../wire/keyfile.js');
      const { readTlsFiles, tlsMaterial } = await import('../../api/tls-context.js');
      const { execFile } = await import('node:child_process');
      const results = await runDoctor(opts.config, {
        loadConfig: async (path) => ctx.io.loadConfig(path),
        checkSecret: (path, what) => void loadSecretFile(path, what),
        checkApiTls: (tls) => tlsMaterial(tls, readTlsFiles(tls)),
        readSys,
        ethtoolFeatures: (device) =>
          new Promise((resolve) => execFile('ethtool', ['-k', device], { timeout: ETHTOOL_TIMEOUT_MS }, (err, stdout) => resolve(err ? null : stdout))),
        // the daemon this config describes, unless --api / --token-file (or their env) say otherwise
        status: async (cfg) =>
          (
            await ctx.client({
              ...opts,
              api: opts.api ?? ctx.io.env.TANDEM_API ?? (cfg ? apiUrlOf(cfg.device.api.listen, cfg.device.api.tls !== undefined) : undefined),
              tokenFile: opts.tokenFile ?? ctx.io.env.TANDEM_TOKEN_FILE ?? cfg?.device.api.tokenFile,
            })
          ).status(),
      });
      if (opts.json) ctx.json({ checks: results, ok: !results.some((r) => r.level === 'fail') });
      else ctx.out(formatDoctor(results));
      if (results.some((r) => r.level === 'fail')) throw new CliError(EXIT_FAILED, '');
    });
}

/** A /proc or /sys file, trimmed; null when it does not exist (a missing device, no such sysctl). */
function readSys(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
