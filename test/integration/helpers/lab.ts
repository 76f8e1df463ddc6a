// Helpers for namespace integration tests: unique lab names, and a lab that always goes away.
import { randomBytes } from 'node:crypto';
import { Lab, labDown, type LabOptions } from '../../../src/lab/lab.js';
import { ensureBuilt } from './build.js';

export { ensureBuilt };

/**
 * `lt` + 4 random letters/digits: a per-run prefix, so parallel or crashed runs never collide.
 * TANDEM_TEST_LAB_PREFIX replaces the default `lt` (one runner's namespaces told from another's).
 */
export function uniqueLabName(prefix = defaultPrefix()): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(4);
  let s = prefix;
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

function defaultPrefix(): string {
  const p = process.env.TANDEM_TEST_LAB_PREFIX;
  return p !== undefined && /^[A-Za-z][A-Za-z0-9]{0,9}$/.test(p) ? p : 'lt';
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
    const lab = await Lab.up({ ...opts, name, out: opts.out ?? process.stderr });
    if (opts.daemonCommand === undefined) await startWithFwaActive(lab);
    return lab;
  } catch (err) {
    await labDown({ name }).catch(() => undefined);
    throw err;
  }
}

/**
 * Tests are written from the lab's documented start: fwa (the better priority) active. On two
 * shared cores a start-up stall of fwa's control thread just after it won the election sometimes
 * hands the role to fwb (tandem_control_stalls_total); then the role is moved back with an
 * operator failover, so every test starts from the same state. The pair waited for is settled:
 * the passive is passive, not tentative (its bulk sync done), so fwb may hand it the role.
 */
async function startWithFwaActive(lab: Lab): Promise<void> {
  // active/active shows the election's active and passive as active-primary and active-secondary
  const [act, pas] = lab.mode === 'active-active' ? ['active-primary', 'active-secondary'] : ['active', 'passive'];
  const settled = async () => (await lab.boxState('fwa'))?.state === act && (await lab.boxState('fwb'))?.state === pas;
  const until = Date.now() + 30_000;
  for (;;) {
    const { active, passive } = await lab.waitForPair();
    if (active === 'fwa') return;
    process.stderr.write(`lab ${lab.name}: fwb won the start-up (fwa ${passive}); moving the role to fwa\n`);
    try {
      await lab.api('fwb').failover();
      await lab.waitFor(settled, 5000, 'fwa active again');
      return;
    } catch (err) {
      // the same stalls may have taken an HA1 session down a moment (the request is refused
      // then, with the reason), or moved the role again: settle and ask again
      if (Date.now() > until) throw err;
      const states = `fwa ${JSON.stringify(await lab.boxState('fwa'))}, fwb ${JSON.stringify(await lab.boxState('fwb'))}`;
      process.stderr.write(`lab ${lab.name}: ${(err as Error).message} (${states}); asking again\n`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
