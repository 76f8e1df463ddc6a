// Children of the daemon must not outlive it: a daemon killed with SIGKILL runs no cleanup, and
// an orphaned `ip monitor` stays until its next write fails (seen in the lab: one leftover per
// kill -9). util-linux's setpriv (essential in Debian) sets the kernel's parent-death signal,
// so the kernel sends SIGTERM to the child the moment its parent thread is gone.
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/** `cmd args` wrapped so that the child gets SIGTERM when this process dies; unwrapped without setpriv. */
export function diesWithParent(cmd: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'TERM', cmd, ...args]] : [cmd, [...args]];
}
