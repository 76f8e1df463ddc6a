// Pins the text the `tandem` command prints for every --help and for the usage errors, byte for
// byte: commands are wired from one file each (src/cli/commands/), and a moved option or a
// reordered registration would change the help without failing any behaviour test.
// Regenerate after an intended change: UPDATE_HELP=1 npx vitest run --project unit test/unit/cli/help.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runCli } from '../../../src/cli/program.js';

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'help.txt');
const UPDATE = process.env.UPDATE_HELP === '1';

const RUNS: readonly (readonly string[])[] = [
  [],
  ['--help'],
  ['help'],
  ...['run', 'status', 'doctor', 'test-failover', 'events', 'suspend', 'functional', 'failover', 'sessions'].map((c) => [c, '--help']),
  ['help', 'status'],
  ['config', '--help'],
  ...['validate', 'commit', 'show', 'diff'].map((c) => ['config', c, '--help']),
  ['lab', '--help'],
  ...['up', 'down', 'status', 'demo'].map((c) => ['lab', c, '--help']),
  ['central', '--help'],
  ...['run', 'status', 'pairs', 'events'].map((c) => ['central', c, '--help']),
  // usage errors: one line each
  ['frobnicate'],
  ['status', '--bogus'],
  ['status', 'extra'],
  ['status', '--timeout-ms', '0'],
  ['run'],
  ['config'],
  ['config', 'validate'],
  ['config', 'commit'],
  ['lab', 'nope'],
  ['sessions', '--port', 'x'],
  ['sessions', '--protocol', 'sctp'],
  ['test-failover'],
  ['test-failover', '--peer-api', 'http://x', '--hold-s', '-1'],
  ['central', 'run'],
  ['central', 'events', '--since', 'yesterday'],
];

async function transcript(): Promise<string> {
  const parts: string[] = [];
  for (const argv of RUNS) {
    let out = '';
    let err = '';
    const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} });
    parts.push(`$ tandem ${argv.join(' ')}\nexit ${code}\n--- stdout\n${out}--- stderr\n${err}`);
  }
  return parts.join('\n');
}

it('help and usage errors are unchanged', async () => {
  const fresh = await transcript();
  if (UPDATE) writeFileSync(FILE, fresh);
  else expect(fresh).toBe(readFileSync(FILE, 'utf8'));
});
