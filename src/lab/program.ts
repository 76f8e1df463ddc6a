// The lab's standalone programs (probe.ts, stream.ts) run inside namespaces as
// `node dist/src/lab/<name>.js ...`, and the demo and the tests import the same modules: each runs
// its main only when node was started with it.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Runs `main` on the command line's arguments when `moduleUrl` (the caller's import.meta.url) is
 * the program node was started with, and exits with its code; an error exits 2 after one line on
 * stderr, `<name>: <message>`. Does nothing when the module was imported.
 */
export function runAsProgram(moduleUrl: string, name: string, main: (argv: string[]) => Promise<number>): void {
  if (!isProgram(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}

function isProgram(moduleUrl: string): boolean {
  const invoked = process.argv[1];
  if (!invoked) return false;
  try {
    return realpathSync(invoked) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
