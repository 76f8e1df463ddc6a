// `tandem lab up --pairs N` (issue 17's lab): N independent pairs with real daemons, each a lab of
// its own (<name>, <name>-p2, ...) with its own group id, so its virtual MACs differ from every
// other pair's; `lab status` lists every pair beside the first pair's usual shape; each pair
// forwards on its own; `lab down` on the first name removes every pair.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Lab, labDown, pairLabName, repoRoot } from '../../src/lab/lab.js';
import { listNamespaces } from '../../src/lab/topology.js';
import { ensureBuilt, isRoot, uniqueLabName } from './helpers/lab.js';

const run = promisify(execFile);
const NAME = uniqueLabName();
const CLI = join(repoRoot(), 'bin', 'tandem.js');

afterAll(async () => {
  await labDown({ name: NAME }).catch(() => undefined);
});

async function tandem(...args: string[]): Promise<string> {
  return (await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 22 })).stdout;
}

/** The MAC the pair's client holds for its gateway 10.0.1.1 (after a ping made sure it exists). */
async function gatewayMac(lab: Lab): Promise<string | undefined> {
  await lab.nsExec('client', 'ping', ['-c', '2', '-i', '0.1', '-W', '1', '10.0.2.10']);
  const neigh = JSON.parse((await lab.nsExec('client', 'ip', ['-j', 'neigh', 'show', '10.0.1.1'])).stdout) as { lladdr?: string }[];
  return neigh[0]?.lladdr;
}

describe.skipIf(!isRoot())('lab up --pairs', () => {
  it('brings up independent pairs, each forwarding with its own virtual MACs; status lists them; down removes all', async () => {
    await ensureBuilt(['src/cli/main.js']);
    const status = JSON.parse(await tandem('lab', 'up', '--pairs', '2', '--name', NAME, '--json'));
    // the first pair's status keeps the usual shape, the fleet is beside it
    expect(status.name).toBe(NAME);
    expect(Object.keys(status.boxes)).toEqual(['fwa', 'fwb']);
    const names = [NAME, pairLabName(NAME, 2)];
    expect(status.pairs.map((p: { name: string }) => p.name)).toEqual(names);
    for (const p of status.pairs) {
      expect(p.pairs).toBeUndefined();
      expect(new Set(Object.values(p.boxes).map((b) => (b as { state: string }).state))).toEqual(new Set(['active', 'passive']));
    }
    // a second pair's own status is a single pair's
    const second = JSON.parse(await tandem('lab', 'status', '--name', names[1], '--json'));
    expect(second.boxes.fwa.namespace).toBe(`${names[1]}-fwa`);

    // each pair forwards; group ids 1 and 2 give the gateway different virtual MACs
    const macs = await Promise.all(names.map((n) => gatewayMac(new Lab(n))));
    expect(macs).toEqual(['02:74:64:00:01:01', '02:74:64:00:02:01']);

    await tandem('lab', 'down', '--name', NAME);
    const left = (await listNamespaces()).filter((n) => names.some((p) => n.startsWith(`${p}-`)));
    expect(left).toEqual([]);
  });

  it('refuses a count out of range and a name too long for the pairs, building nothing', async () => {
    await ensureBuilt(['src/cli/main.js']);
    await expect(tandem('lab', 'up', '--pairs', '9', '--name', NAME)).rejects.toMatchObject({ stderr: expect.stringMatching(/from 1 to 4/) });
    const long = 'x'.repeat(18);
    await expect(tandem('lab', 'up', '--pairs', '2', '--name', long)).rejects.toMatchObject({ stderr: expect.stringMatching(/too long for 2 pairs/) });
    expect((await listNamespaces()).filter((n) => n.startsWith(long))).toEqual([]);
  });
});
