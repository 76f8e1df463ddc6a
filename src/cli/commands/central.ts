// `tandem central run|status|pairs|events|push`: the fleet service (src/central/) and its read commands.
// The read commands talk to central's API with the box API's client; `run` loads central lazily
// (through io.runCentral), so the other commands never load the store's native binding.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient, readTokenFile } from '../../api/client.js';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  DEFAULT_CENTRAL_TOKEN_FILE,
  DEFAULT_CENTRAL_URL,
  ROUTE_EVENTS,
  ROUTE_FLEET,
  ROUTE_PUSH,
  type EventsResponse,
  type FleetResponse,
  type PushRequest,
  type PushResponse,
} from '../../central/protocol.js';
import { MAX_EVENTS_LIMIT, parseSince } from '../../central/query.js';
import { DEFAULT_TIMEOUT_MS, positiveInt, type CliContext } from '../context.js';
import { CliError, EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { formatCentralEvents, formatFleetStatus, formatPairs, formatPushResults } from '../format-central.js';
import { step } from '../report.js';

interface CentralOpts {
  central?: string;
  tokenFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs: string;
  json?: boolean;
}

export function registerCentral(program: Command, ctx: CliContext): void {
  const central = program.command('central').description('the fleet service: every pair in one view and one failover timeline (docs/central.md)');
  central
    .command('run')
    .description('run tandem central (foreground; logs JSON to stdout; SIGTERM stops it cleanly)')
    .requiredOption('-c, --config <file>', 'inventory file (central.yaml)')
    .action(async (opts: { config: string }) => {
      await step('central', () => ctx.io.runCentral(opts.config));
    });
  readCommand(central, 'status', 'every pair and member: state, reachability, roles, config, software, sync, faults').action(async (opts: CentralOpts) => {
    const fleet = await (await centralClient(ctx, opts)).call<FleetResponse>('GET', ROUTE_FLEET);
    if (opts.json) ctx.json(fleet);
    else ctx.out(formatFleetStatus(fleet, ctx.io.now()));
  });
  readCommand(central, 'pairs', 'one line per pair: health, active member, config and software agreement').action(async (opts: CentralOpts) => {
    const fleet = await (await centralClient(ctx, opts)).call<FleetResponse>('GET', ROUTE_FLEET);
    if (opts.json) ctx.json(fleet);
    else ctx.out(formatPairs(fleet));
  });
  readCommand(central, 'events', 'the merged timeline of every pair: transitions, reachability and config changes, oldest first')
    .option('--since <when>', 'from this long ago (90s, 30m, 1h, 7d) or this ISO time', since(ctx))
    .option('--pair <name>', 'one pair only')
    .addOption(new Option('--limit <n>', `at most this many (the newest), up to ${MAX_EVENTS_LIMIT}`).argParser(positiveInt('--limit')))
    .action(async (opts: CentralOpts & { since?: string; pair?: string; limit?: string }) => {
      const q = new URLSearchParams();
      if (opts.since !== undefined) q.set('since', opts.since);
      if (opts.pair !== undefined) q.set('pair', opts.pair);
      if (opts.limit !== undefined) q.set('limit', opts.limit);
      const query = q.size > 0 ? `?${q.toString()}` : '';
      const r = await (await centralClient(ctx, opts)).call<EventsResponse>('GET', `${ROUTE_EVENTS}${query}`);
      if (opts.json) ctx.json(r);
      else ctx.out(formatCentralEvents(r.events, r.truncated));
    });
  registerPush(central, ctx);
}

/** A push waits for each pair's commit and both members running it: far longer than a read. */
const PUSH_TIMEOUT_MS = 90_000;

function registerPush(central: Command, ctx: CliContext): void {
  clientOptions(central.command('push'), String(PUSH_TIMEOUT_MS))
    .description("a config template to every pair (or --pair): rendered per pair, validated on its active, committed there; --dry-run shows each pair's diff")
    .requiredOption('--template <file>', 'the template: shared keys and variables (docs/central.md "Config push")')
    .option('--pair <name>', 'only this pair (repeat for more)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--dry-run', 'render, validate and show the diffs; commit nothing')
    .action(async (opts: CentralOpts & { template: string; pair?: string[]; dryRun?: boolean }) => {
      const text = await readTemplate(opts.template);
      const body: PushRequest = { template: text, source: basename(opts.template), ...(opts.pair ? { pairs: opts.pair } : {}), dryRun: opts.dryRun === true };
      const r = await step('central push', async () => (await centralClient(ctx, opts)).call<PushResponse>('POST', ROUTE_PUSH, body));
      if (opts.json) ctx.json(r);
      else ctx.out(formatPushResults(r));
      const bad = r.results.filter((x) => x.outcome === 'refused' || x.outcome === 'failed' || x.outcome === 'skipped');
      if (bad.length > 0)
        throw new CliError(EXIT_FAILED, `${bad.length} of ${r.results.length} pair(s) not pushed: ${bad.map((x) => `${x.pair} ${x.outcome}`).join(', ')}`);
    });
}

async function readTemplate(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(EXIT_FAILED, `cannot read the template ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

function readCommand(parent: Command, name: string, description: string): Command {
  return clientOptions(parent.command(name).description(description), String(DEFAULT_TIMEOUT_MS));
}

function clientOptions(cmd: Command, timeoutMs: string): Command {
  return cmd
    .option('--central <url>', `central's API (env TANDEM_CENTRAL, default ${DEFAULT_CENTRAL_URL})`)
    .option('--token-file <file>', `central's API token file (env TANDEM_CENTRAL_TOKEN_FILE, default ${DEFAULT_CENTRAL_TOKEN_FILE})`)
    .option('--ca <file>', "https: the CA (PEM) that signed central's certificate (env TANDEM_CENTRAL_CA; default: the system CAs)")
    .option('--cert <file>', 'https with mutual TLS: this client certificate (env TANDEM_CENTRAL_CERT)')
    .option('--key <file>', 'its private key (env TANDEM_CENTRAL_KEY)')
    .addOption(new Option('--timeout-ms <ms>', 'per-request timeout').default(timeoutMs).argParser(positiveInt('--timeout-ms')))
    .option('--json', "print the API's JSON");
}

/** --since is checked here (the server checks it again): a typo is a usage error. Kept as typed. */
function since(ctx: CliContext): (value: string) => string {
  return (value) => {
    try {
      parseSince(value, ctx.io.now());
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return value;
  };
}

async function centralClient(ctx: CliContext, opts: CentralOpts): Promise<ApiClient> {
  const url = opts.central ?? ctx.io.env.TANDEM_CENTRAL ?? DEFAULT_CENTRAL_URL;
  const file = opts.tokenFile ?? ctx.io.env.TANDEM_CENTRAL_TOKEN_FILE ?? DEFAULT_CENTRAL_TOKEN_FILE;
  let token: Buffer;
  try {
    token = await readTokenFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new CliError(EXIT_FAILED, `cannot read central's token file ${file}: ${why} (use --token-file or TANDEM_CENTRAL_TOKEN_FILE)`);
  }
  const env = ctx.io.env;
  const tls = { caFile: opts.ca ?? env.TANDEM_CENTRAL_CA, certFile: opts.cert ?? env.TANDEM_CENTRAL_CERT, keyFile: opts.key ?? env.TANDEM_CENTRAL_KEY };
  const files = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined && v !== ''));
  if (Object.keys(files).length > 0 && !url.startsWith('https://'))
    throw new CliError(EXIT_USAGE, `--ca, --cert and --key are for an https:// central, not ${url}`);
  return new ApiClient({ url, token, timeoutMs: Number(opts.timeoutMs), ...files });
}
