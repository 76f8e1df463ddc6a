// Central's deploy files: the systemd unit passes `systemd-analyze verify` without a warning, and
// the example inventory is a valid one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/central/inventory.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(join(tmpdir(), 'tandem-central-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('deploy/systemd/tandem-central.service', () => {
  it('passes systemd-analyze verify with no warning', () => {
    const text = readFileSync(join(ROOT, 'deploy/systemd/tandem-central.service'), 'utf8');
    expect(text).toContain('ExecStart=/usr/bin/node /opt/tandem/bin/tandem.js central run --config ');
    const file = join(work, 'tandem-central.service');
    writeFileSync(file, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/tandem', ROOT));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined();
    const output = `${r.stdout}${r.stderr}`;
    expect(
      output.split('\n').filter((l) => l.includes('tandem-central.service')),
      output,
    ).toEqual([]);
    expect(r.status, output).toBe(0);
  });
});

describe('deploy/central.yaml', () => {
  it('is a valid inventory', () => {
    const inv = parseInventory(readFileSync(join(ROOT, 'deploy/central.yaml'), 'utf8'), 'deploy/central.yaml');
    expect(inv.pairs.map((p) => p.name)).toEqual(['dc1-edge']);
    expect(inv.listen).toBe('127.0.0.1:9490');
  });
});
