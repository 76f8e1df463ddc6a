// `tandem status`: the HA state of the pair as this box sees it (like PAN-OS `show
// high-availability state`).
import type { Command } from 'commander';
import type { StatusResponse } from '../../api/protocol.js';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';
import { formatStatus } from '../format-status.js';

export function registerStatus(program: Command, ctx: CliContext): void {
  apiCommand(program, 'status', 'show the HA state of the pair, as this box sees it')
    .option('--json', 'print the full status as JSON')
    .action(async (opts: ClientOpts) => {
      const status: StatusResponse = await (await ctx.client(opts)).status();
      if (opts.json) ctx.json(status);
      else ctx.out(formatStatus(status, ctx.io.now()));
    });
}
