// Exit codes of the `tandem` command. Scripts (and the lab) rely on them: keep them stable.
// 70 is EX_SOFTWARE from BSD sysexits.h (an internal software error).
export const EXIT_OK = 0;
/** The command ran and failed, or the daemon refused it (HTTP 409, a rejected token, a lab step failed). */
export const EXIT_FAILED = 1;
/** Bad arguments: unknown command or option, missing value, malformed --api URL. */
export const EXIT_USAGE = 2;
/** The daemon's API could not be reached: connection refused, no socket, timeout. */
export const EXIT_UNREACHABLE = 3;
/** The configuration file is invalid or unreadable. */
export const EXIT_CONFIG = 4;
/** A bug: an unexpected exception inside the CLI. */
export const EXIT_INTERNAL = 70;

export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_USAGE | typeof EXIT_UNREACHABLE | typeof EXIT_CONFIG | typeof EXIT_INTERNAL;

/** A failure with a chosen exit code and a one-line message for stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}
