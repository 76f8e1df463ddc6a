// `tandem sessions`: the session table, filtered (like PAN-OS `show session all`). Each filter
// option is checked exactly as the API checks its query parameter (../../api/sessions.ts), so a
// bad value is a usage error here rather than a 400 from the daemon.
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  DEFAULT_SESSIONS_LIMIT,
  SESSION_PARAM_EXPECTED,
  SessionQueryError,
  parseSessionParam,
  type SessionFilter,
  type SessionProtocol,
  type SessionQueryParam,
} from '../../api/sessions.js';
import { apiCommand, type CliContext, type ClientOpts } from '../context.js';
import { formatSessions } from '../format-sessions.js';

type SessionsOpts = ClientOpts & Partial<Record<SessionQueryParam, string | number>>;

export function registerSessions(program: Command, ctx: CliContext): void {
  apiCommand(program, 'sessions', 'list the session table (like PAN-OS `show session all`), filtered')
    .addOption(sessionOption('address', '--address <ip>', 'sessions with this IPv4 address at either end, before or after NAT'))
    .addOption(sessionOption('port', '--port <n>', 'sessions with this port at either end, before or after NAT (ICMP: echo id)'))
    .addOption(sessionOption('protocol', '--protocol <p>', 'tcp, udp or icmp'))
    .addOption(sessionOption('state', '--state <s>', 'sessions in this state (TCP: syn-sent, established, fin-wait, ...; UDP/ICMP: new, established)'))
    .addOption(sessionOption('rule', '--rule <name>', 'sessions allowed by this policy rule ("(default)": the default action)'))
    .addOption(sessionOption('limit', '--limit <n>', `show at most n sessions (default ${DEFAULT_SESSIONS_LIMIT}; 0: counts only)`))
    .option('--json', 'print {total, matched, sessions, truncated} as JSON')
    .action(async (opts: SessionsOpts) => {
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      const list = await (await ctx.client(opts)).sessions(filterOf(opts), limit);
      if (opts.json) ctx.json(list);
      else ctx.out(formatSessions(list));
    });
}

/** The filter the options name (already parsed by sessionOption). */
function filterOf(opts: SessionsOpts): SessionFilter {
  const filter: SessionFilter = {};
  if (opts.address !== undefined) filter.address = String(opts.address);
  if (opts.port !== undefined) filter.port = Number(opts.port);
  if (opts.protocol !== undefined) filter.protocol = opts.protocol as SessionProtocol;
  if (opts.state !== undefined) filter.state = String(opts.state);
  if (opts.rule !== undefined) filter.rule = String(opts.rule);
  return filter;
}

/** An option of `tandem sessions`, validated exactly as the API validates its query parameter. */
function sessionOption(param: SessionQueryParam, flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string) => {
    try {
      return parseSessionParam(param, value);
    } catch (err) {
      if (err instanceof SessionQueryError) throw new InvalidArgumentError(`Expected ${SESSION_PARAM_EXPECTED[param]}.`);
      throw err;
    }
  });
}
