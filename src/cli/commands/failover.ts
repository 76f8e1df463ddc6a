// `tandem suspend`, `tandem functional` and `tandem failover`: the operator commands that move the
// active role. Each is one POST; the daemon's answer (or its refusal, exit 1) is printed as is.
import type { Command } from 'commander';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';

const ROLE_COMMANDS = [
  ['suspend', 'suspend this box: it leaves the active role and takes no part in elections until `functional`'],
  ['functional', 'return a suspended box to service'],
  ['failover', 'move the active role to the peer (run on the active box)'],
] as const;

export function registerRoleCommands(program: Command, ctx: CliContext): void {
  for (const [name, description] of ROLE_COMMANDS) {
    apiCommand(program, name, description)
      .option('--json', 'print the answer as JSON')
      .action(async (opts: ClientOpts) => {
        const c = await ctx.client(opts);
        const result = await c[name]();
        if (opts.json) ctx.json(result);
        else ctx.out(result.message);
      });
  }
}
