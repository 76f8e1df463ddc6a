// The `tandem` command: the shared setup (output, usage errors, version, help) and one file per
// command or command group in commands/, each registering itself on the program. `runCli` never
// exits the process: it returns the exit code (exit-codes.ts, report.ts), which makes every
// command testable in-process with a replaced environment (env.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerCentral } from './commands/central.js';
import { registerConfig } from './commands/config.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEvents } from './commands/events.js';
import { registerRoleCommands } from './commands/failover.js';
import { registerLab } from './commands/lab.js';
import { registerRun } from './commands/run.js';
import { registerSessions } from './commands/sessions.js';
import { registerStatus } from './commands/status.js';
import { registerTestFailover } from './commands/test-failover.js';
import { cliContext, type CliContext } from './context.js';
import { defaultCliEnv, type CliEnv } from './env.js';
import { EXIT_OK, type ExitCode } from './exit-codes.js';
import { report } from './report.js';

// runCli's environment is part of its signature: tests build one from these
export type { CliEnv, LabApi } from './env.js';

/** In the order `tandem --help` lists them: the daemon, then what an operator runs, then the lab, then the fleet service. */
const COMMANDS: readonly ((program: Command, ctx: CliContext) => void)[] = [
  registerRun,
  registerStatus,
  registerDoctor,
  registerTestFailover,
  registerEvents,
  registerRoleCommands,
  registerSessions,
  registerConfig,
  registerLab,
  registerCentral,
];

export async function runCli(argv: readonly string[], partial: Partial<CliEnv> = {}): Promise<ExitCode> {
  const io: CliEnv = { ...defaultCliEnv(), ...partial };
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
  const ctx = cliContext(io);
  for (const register of COMMANDS) register(program, ctx);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return report(err, io);
  }
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
