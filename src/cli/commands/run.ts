// `tandem run`: the daemon of this box, in the foreground.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { step } from '../report.js';

export function registerRun(program: Command, { io }: CliContext): void {
  program
    .command('run')
    .description('run the tandem daemon of this box (foreground; logs JSON to stdout)')
    .requiredOption('-c, --config <file>', 'configuration file')
    .action(async (opts: { config: string }) => {
      await step('daemon', () => io.runDaemon(opts.config));
    });
}
