// `tandem lab up|down|status|demo`: the network-namespace lab (src/lab/). Lab failures are failed
// commands (exit 1, one line), through step().
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, EXIT_FAILED } from '../exit-codes.js';
import { formatLabStatus, type LabStatusView } from '../format-lab.js';
import { step } from '../report.js';

/** The lab `--name` names when none is given: the prefix of every namespace. */
const DEFAULT_LAB_NAME = 'tlab';

export function registerLab(program: Command, ctx: CliContext): void {
  const lab = program.command('lab').description('the network-namespace lab: two boxes, a client and a server on one machine');
  registerUp(lab, ctx);
  registerDown(lab, ctx);
  registerStatus(lab, ctx);
  registerDemo(lab, ctx);
}

/** A subcommand of `lab`: each one takes the lab's --name. */
function labCommand(lab: Command, name: string, description: string): Command {
  return lab.command(name).description(description).addOption(new Option('--name <name>', 'lab name (prefix of every namespace)').default(DEFAULT_LAB_NAME));
}

/** The lab's status after `what`, as JSON or as the table. */
async function showStatus({ out, json }: CliContext, what: string, asJson: boolean | undefined, get: () => Promise<LabStatusView>): Promise<void> {
  const st = await step(what, get);
  if (asJson) json(st);
  else out(formatLabStatus(st));
}

/** `lab up --pairs`: src/lab/lab.ts MAX_LAB_PAIRS (the CLI does not load the lab to print its help). */
const MAX_PAIRS = 4;

function pairsArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_PAIRS) throw new InvalidArgumentError(`expected a number of pairs from 1 to ${MAX_PAIRS}`);
  return n;
}

/** The pair's mode, for `lab up` and `lab demo`. */
function modeOption(): Option {
  return new Option('--mode <mode>', 'the pair: active-passive, or active-active (HA3, a second client, asymmetric routes)')
    .choices(['active-passive', 'active-active'])
    .default('active-passive');
}

function registerUp(lab: Command, ctx: CliContext): void {
  labCommand(lab, 'up', 'build the namespaces, start both daemons, wait for a settled pair')
    .addOption(modeOption())
    .option('--config <dir>', "directory with the two boxes' configs (default: deploy/lab, or deploy/lab/active-active)")
    .addOption(
      new Option('--ha-family <family>', 'address family of the HA links (HA1, its backup, the heartbeat backup, HA2)')
        .choices(['ipv4', 'ipv6'])
        .default('ipv4'),
    )
    .option('--ipv6-ra', 'router advertisements on lan from the pair; the lan hosts learn their IPv6 router from them (no static route)')
    .addOption(
      new Option('--pairs <n>', `a fleet of n pairs (1-${MAX_PAIRS}): <name>, <name>-p2, ...; each its own group id, recommended timers`).argParser(pairsArg),
    )
    .option('--tls', "the boxes' APIs over HTTPS with mutual TLS on their management addresses, from a CA the lab mints (openssl)")
    .option('--json', 'print the lab status as JSON')
    .action(
      async (opts: {
        name: string;
        mode: 'active-passive' | 'active-active';
        config?: string;
        haFamily: 'ipv4' | 'ipv6';
        ipv6Ra?: boolean;
        pairs?: number;
        tls?: boolean;
        json?: boolean;
      }) => {
        const api = await ctx.io.lab();
        // only what differs from the defaults is passed on (the lab's own defaults are the same)
        const extra = {
          ...(opts.haFamily === 'ipv6' ? { haFamily: opts.haFamily } : {}),
          ...(opts.ipv6Ra ? { ipv6Ra: true } : {}),
          ...(opts.pairs !== undefined && opts.pairs !== 1 ? { pairs: opts.pairs } : {}),
          ...(opts.tls ? { tls: true } : {}),
        };
        await showStatus(ctx, 'lab up', opts.json, () =>
          api.labUp({ name: opts.name, mode: opts.mode, ...(opts.config ? { configDir: opts.config } : {}), ...extra }),
        );
      },
    );
}

function registerDown(lab: Command, { io, out }: CliContext): void {
  labCommand(lab, 'down', 'stop the daemons and remove every namespace of the lab (also after a crash)').action(async (opts: { name: string }) => {
    const api = await io.lab();
    await step('lab down', () => api.labDown({ name: opts.name }));
    out(`lab ${opts.name}: removed`);
  });
}

function registerStatus(lab: Command, ctx: CliContext): void {
  labCommand(lab, 'status', 'namespaces, addresses, daemon PIDs, API and metrics URLs, HA states')
    .option('--json', 'print as JSON (stable shape, for scripts)')
    .action(async (opts: { name: string; json?: boolean }) => {
      const api = await ctx.io.lab();
      await showStatus(ctx, 'lab status', opts.json, () => api.labStatus({ name: opts.name }));
    });
}

function registerDemo(lab: Command, { io, out, json }: CliContext): void {
  labCommand(lab, 'demo', 'up, live traffic, crash the active box, measure the takeover, recover, clean up')
    .addOption(modeOption())
    .addOption(
      new Option('--pairs <n>', `a fleet of n pairs (2-${MAX_PAIRS}) with tandem central: its view, one pair failed over, a template pushed to all`).argParser(
        pairsArg,
      ),
    )
    .option('--json', 'print the result as JSON')
    .option('--svg <path>', 'where to write the timeline picture (default ./tandem-failover.svg, active/active ./tandem-active-active.svg)')
    .action(async (opts: { name: string; mode: 'active-passive' | 'active-active'; json?: boolean; svg?: string; pairs?: number }) => {
      const api = await io.lab();
      const mode = opts.mode === 'active-active' ? { mode: opts.mode } : {};
      const pairs = opts.pairs !== undefined && opts.pairs > 1 ? { pairs: opts.pairs } : {};
      const result = await step('lab demo', () => api.labDemo({ name: opts.name, ...mode, ...pairs, ...(opts.svg ? { svg: opts.svg } : {}) }));
      if (opts.json) json(result);
      // the demo has printed its own table and the picture's path: one verdict line is enough
      const verdict = demoVerdict(result);
      if (!opts.json) out(verdict.ok ? 'demo: OK\n' : `demo: FAILED${verdict.errors.length > 0 ? ` (${verdict.errors.join('; ')})` : ''}\n`);
      if (!verdict.ok) throw new CliError(EXIT_FAILED, '');
    });
}

/** The demo's verdict: `ok` and `errors` of its result (a result without them is taken as ok). */
function demoVerdict(result: unknown): { ok: boolean; errors: string[] } {
  const r = (typeof result === 'object' && result !== null ? result : {}) as { ok?: unknown; errors?: unknown };
  const errors = Array.isArray(r.errors) ? r.errors.map(String) : [];
  return { ok: r.ok !== false, errors };
}
