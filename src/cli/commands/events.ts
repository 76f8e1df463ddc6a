// `tandem events`: this box's transition history as a failover timeline (../format-events.ts).
import type { Command } from 'commander';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';
import { formatTimeline, timeline } from '../format-events.js';

export function registerEvents(program: Command, ctx: CliContext): void {
  apiCommand(program, 'events', 'the failover timeline of this box: every transition with its time, reason and the time spent in the state before')
    .option('--json', 'print the events as JSON')
    .action(async (opts: ClientOpts) => {
      const status = await (await ctx.client(opts)).status();
      const events = timeline(status.transitions);
      if (opts.json) ctx.json({ box: status.local.name, events });
      else ctx.out(formatTimeline(status.local.name, events));
    });
}
