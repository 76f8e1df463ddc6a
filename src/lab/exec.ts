// Running the lab's commands (ip, ethtool, sysctl, node) without a shell: every argument is passed
// as is, and a failure says which command failed and what it printed on stderr.
import { execFile } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command after this long (default 30 s: `ip netns del` can wait for RCU). */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
}

/** A command that could not run or exited non-zero. */
export class ExecError extends Error {
  readonly code = 'exec-failed' as const;
  readonly command: string;
  readonly args: readonly string[];
  /** Exit code, or null when the command was killed or could not start. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(command: string, args: readonly string[], exitCode: number | null, stdout: string, stderr: string, options?: { cause?: unknown }) {
    const detail = stderr.trim() || stdout.trim() || (options?.cause instanceof Error ? options.cause.message : '');
    super(
      `command failed (${exitCode === null ? 'no exit code' : `exit ${exitCode}`}): ${formatCommand(command, args)}${detail ? `: ${detail}` : ''}`,
      options,
    );
    this.name = 'ExecError';
    this.command = command;
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** The command line as an operator would type it (for messages only: never run through a shell). */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs `cmd args...`; resolves with its output, rejects with an ExecError. */
export function sh(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
        reject(new ExecError(cmd, args, code, stdout ?? '', stderr ?? '', { cause: err }));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

/** Runs `cmd args...` inside network namespace `ns` (`ip netns exec ns cmd args...`). */
export function nsExec(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Like sh(), but a failure resolves with null instead of rejecting (for best-effort cleanup). */
export async function trySh(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult | null> {
  try {
    return await sh(cmd, args, opts);
  } catch {
    return null;
  }
}
