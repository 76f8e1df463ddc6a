// `tandem test-failover`: a planned failover to the peer and back (../test-failover.ts), each leg
// measured over both boxes' APIs.
import { Option, type Command } from 'commander';
import { apiCommand, positiveInt, type CliContext, type ClientOpts } from '../context.js';
import { CliError, EXIT_FAILED } from '../exit-codes.js';

export function registerTestFailover(program: Command, ctx: CliContext): void {
  apiCommand(program, 'test-failover', 'a planned failover to the peer and back (run against the active box), measured over both APIs')
    .requiredOption('--peer-api <url>', "the peer's API (to fail back from it): http://host:port or unix:/path")
    .option('--peer-token-file <file>', "the peer's API token file (default: this box's)")
    .addOption(new Option('--hold-s <s>', 'seconds on the peer before failing back').default('3').argParser(positiveInt('--hold-s')))
    .option('--json', 'print both legs as JSON')
    .action(async (opts: ClientOpts & { peerApi: string; peerTokenFile?: string; holdS: string }) => {
      const { testFailover, formatTestFailover, TestFailoverError } = await import('../test-failover.js');
      const local = await ctx.client(opts);
      const peer = await ctx.client({ ...opts, api: opts.peerApi, tokenFile: opts.peerTokenFile ?? opts.tokenFile });
      try {
        const legs = await testFailover(local, peer, { holdMs: Number(opts.holdS) * 1000 });
        if (opts.json) ctx.json({ legs });
        else ctx.out(formatTestFailover(legs));
      } catch (err) {
        if (err instanceof TestFailoverError) throw new CliError(EXIT_FAILED, err.message);
        throw err;
      }
    });
}
