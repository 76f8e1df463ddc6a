// How a failure becomes an exit code (exit-codes.ts) and one line on stderr. A command throws; the
// program reports: commands never print their own errors nor pick exit codes, except through
// CliError.
import { CommanderError } from 'commander';
import { ApiError } from '../api/client.js';
import { formatConfigIssue } from '../config/errors.js';
import type { CliEnv } from './env.js';
import { CliError, EXIT_CONFIG, EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, type ExitCode } from './exit-codes.js';

/**
 * Runs a step of the daemon or the lab: an ordinary Error from it (a command that failed, a lab
 * that is not up) is a failed command (exit 1), not a bug; programming errors (TypeError, ...)
 * and the errors with their own exit code pass through.
 */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError || err instanceof ApiError || configIssues(err) || isBug(err)) throw err;
    throw new CliError(EXIT_FAILED, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function isBug(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError || !(err instanceof Error);
}

/** `issues` of a ConfigError (by shape: the loader is a separately loaded module). */
export function configIssues(err: unknown): unknown[] | null {
  if (err instanceof Error && (err as { code?: unknown }).code === 'config-invalid' && Array.isArray((err as { issues?: unknown }).issues)) {
    return (err as unknown as { issues: unknown[] }).issues;
  }
  return null;
}

/** Map any failure to an exit code and one line on stderr (the stack only with TANDEM_DEBUG=1). */
export function report(err: unknown, io: CliEnv): ExitCode {
  const debug = io.env.TANDEM_DEBUG === '1';
  const line = (text: string): void => {
    if (text !== '') io.stderr(`tandem: ${text}\n`);
  };
  if (debug && err instanceof Error && err.stack && !(err instanceof CommanderError)) io.stderr(`${err.stack}\n`);
  if (err instanceof CommanderError) {
    // commander has already printed its message (through writeErr)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT_OK;
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    for (const l of err.message.split('\n')) line(l);
    return err.exitCode;
  }
  if (err instanceof ApiError) return reportApiError(err, line);
  if (configIssues(err)) {
    // one issue per line, each already "<file>: <path>: got <value>, expected <what>"
    for (const l of (err as Error).message.split('\n')) line(l);
    return EXIT_CONFIG;
  }
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof errno === 'string' && (err as NodeJS.ErrnoException).syscall) {
    // a system call failed (a file, a socket): the command failed, it is not a bug
    line(err.message);
    return EXIT_FAILED;
  }
  line(`internal error: ${err instanceof Error ? err.message : String(err)}${debug ? '' : ' (TANDEM_DEBUG=1 shows the stack trace)'}`);
  return EXIT_INTERNAL;
}

/** The daemon's answer (or its absence) as an exit code: refused, unreachable, invalid config, ... */
function reportApiError(err: ApiError, line: (text: string) => void): ExitCode {
  if (err.code === 'invalid-config' && err.issues) {
    line(err.message);
    for (const issue of err.issues) line(formatConfigIssue(issue, '(file)'));
    return EXIT_CONFIG;
  }
  if (err.code === 'bad-url') {
    line(err.message);
    return EXIT_USAGE;
  }
  if (err.status === 0 && (err.code === 'unreachable' || err.code === 'timeout')) {
    line(err.message);
    return EXIT_UNREACHABLE;
  }
  // the daemon was reached but the TLS handshake failed (its certificate, or ours), or a TLS file
  // given to the client is unusable: the message says which and why
  if (err.status === 0 && (err.code === 'tls' || err.code === 'bad-tls-file')) {
    line(err.message);
    return EXIT_FAILED;
  }
  if (err.status === 401) line(`the daemon rejected the API token (${err.message}); check --token-file`);
  else if (err.status === 409) line(`refused by the daemon: ${err.message}`);
  else line(`the daemon answered ${err.status === 0 ? 'badly' : `HTTP ${err.status}`}: ${err.message}`);
  return EXIT_FAILED;
}
