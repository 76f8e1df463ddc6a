// Helpers for namespace integration tests: unique lab names, and a lab that always goes away.
import { randomBytes } from 'node:crypto';
import { Lab, labDown, type LabOptions } from '../../../src/lab/lab.js';
import { ensureBuilt } from './build.js';

export { ensureBuilt };

/** `lt` + 4 random letters/digits: a per-run prefix, so parallel or crashed runs never collide. */
export function uniqueLabName(prefix = 'lt'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(4);
  let s = prefix;
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** Namespace tests need root (ip netns); use as `describe.skipIf(!isRoot())`. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Builds dist/, brings a lab up under a unique name and returns it. Pair with `await lab.down()`
 * in afterAll (labUp already tears down by itself if it fails).
 */
export async function upLab(opts: Partial<LabOptions> = {}): Promise<Lab> {
  await ensureBuilt(['src/lab/probe.js', 'src/lab/stream.js', 'src/cli/main.js']);
  const name = opts.name ?? uniqueLabName();
  try {
    return await Lab.up({ ...opts, name, out: opts.out ?? process.stderr });
  } catch (err) {
    await labDown({ name }).catch(() => undefined);
    throw err;
  }
}
