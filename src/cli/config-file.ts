// A config file read by the CLI itself, for `tandem config commit` (the text, sent whole) and
// `tandem config diff <file>` (its shared half, parsed). An unreadable file is exit 4 like an
// invalid one: in both cases the file is what needs fixing.
import { readFileSync } from 'node:fs';
import { CliError, EXIT_CONFIG } from './exit-codes.js';

export async function readConfigText(file: string): Promise<string> {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(EXIT_CONFIG, `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/** The shared half of a file, parsed and defaulted like the daemon does (semantic checks need the box's device half: the daemon does those). */
export async function sharedOfFile(file: string): Promise<unknown> {
  const text = await readConfigText(file);
  // zod and yaml load only for the commands that read a config
  const { parseYaml } = await import('../config/load.js');
  const { ConfigError } = await import('../config/errors.js');
  const { sharedSchema, issuesFromZod } = await import('../config/schema.js');
  const raw = parseYaml(text, file) as { shared?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || !('shared' in raw))
    throw new ConfigError([{ path: '(document)', value: undefined, expected: 'a mapping with a shared: half' }], file);
  const parsed = sharedSchema.safeParse(raw.shared);
  if (!parsed.success)
    throw new ConfigError(
      issuesFromZod(parsed.error, raw.shared).map((i) => ({ ...i, path: `shared.${i.path}` })),
      file,
    );
  return parsed.data;
}
