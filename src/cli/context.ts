// What every command gets from the program (program.ts): the environment, the two ways to print,
// and an API client built from the options the daemon-facing commands share.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, readTokenFile, type ApiTlsFiles } from '../api/client.js';
import { DEFAULT_API_URL, DEFAULT_TOKEN_FILE } from '../api/protocol.js';
import type { CliEnv } from './env.js';
import { CliError, EXIT_FAILED } from './exit-codes.js';

/** Per-request timeout of a command that asks the daemon something. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The options of a command that talks to the daemon (see apiCommand), as commander gives them. */
export interface ClientOpts {
  api?: string;
  tokenFile?: string;
  /** TLS (https:// URLs): the CA to verify the daemon with, and a client certificate for mutual TLS. */
  ca?: string;
  cert?: string;
  key?: string;
  /** A positive integer, as text (positiveInt). */
  timeoutMs?: string;
  json?: boolean;
}

export interface CliContext {
  io: CliEnv;
  // function-valued properties, not methods: commands destructure them
  /** Prints text with exactly one trailing newline. */
  out: (text: string) => void;
  /** Prints a value as indented JSON. */
  json: (value: unknown) => void;
  /** A client for the daemon the options (or TANDEM_API / TANDEM_TOKEN_FILE / TANDEM_API_CA..., or the defaults) name. */
  client: (opts: ClientOpts) => Promise<ApiClient>;
}

export function cliContext(io: CliEnv): CliContext {
  const out = (text: string): void => io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  return {
    io,
    out,
    json: (value) => out(JSON.stringify(value, null, 2)),
    client: async (opts) => {
      const url = opts.api ?? io.env.TANDEM_API ?? DEFAULT_API_URL;
      const tokenFile = opts.tokenFile ?? io.env.TANDEM_TOKEN_FILE ?? DEFAULT_TOKEN_FILE;
      let token: Buffer;
      try {
        token = await readTokenFile(tokenFile);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
        throw new CliError(EXIT_FAILED, `cannot read API token file ${tokenFile}: ${why} (use --token-file or TANDEM_TOKEN_FILE)`);
      }
      return new ApiClient({ url, token, timeoutMs: Number(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS), ...tlsFilesOf(opts, io.env) });
    },
  };
}

/** --ca, --cert, --key, each falling back to its environment variable; absent ones stay absent. */
function tlsFilesOf(opts: ClientOpts, env: CliEnv['env']): ApiTlsFiles {
  const files: ApiTlsFiles = {};
  const caFile = opts.ca ?? env.TANDEM_API_CA;
  const certFile = opts.cert ?? env.TANDEM_API_CERT;
  const keyFile = opts.key ?? env.TANDEM_API_KEY;
  if (caFile) files.caFile = caFile;
  if (certFile) files.certFile = certFile;
  if (keyFile) files.keyFile = keyFile;
  return files;
}

/** A subcommand of `parent` that talks to the daemon: --api, --token-file, the TLS files, --timeout-ms. */
export function apiCommand(parent: Command, name: string, description: string, timeoutMs: number = DEFAULT_TIMEOUT_MS): Command {
  return parent
    .command(name)
    .description(description)
    .option('--api <url>', `daemon API: http://host:port, https://host:port or unix:/path (env TANDEM_API, default ${DEFAULT_API_URL})`)
    .option('--token-file <file>', `API bearer token file (env TANDEM_TOKEN_FILE, default ${DEFAULT_TOKEN_FILE})`)
    .option('--ca <file>', 'https: the CA (PEM) that signed the daemon certificate (env TANDEM_API_CA; default: the system CAs)')
    .option('--cert <file>', "https: this client's certificate (PEM) for mutual TLS (env TANDEM_API_CERT)")
    .option('--key <file>', "https: that certificate's private key (PEM) (env TANDEM_API_KEY)")
    .addOption(new Option('--timeout-ms <ms>', 'per-request timeout').default(String(timeoutMs)).argParser(positiveInt('--timeout-ms')));
}

/** An option parser that accepts a positive integer and keeps it as text. */
export function positiveInt(flag: string): (value: string) => string {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${flag} expects a positive integer`);
    return value;
  };
}
