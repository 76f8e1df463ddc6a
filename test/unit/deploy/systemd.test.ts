// The systemd unit in deploy/systemd is checked by systemd itself: `systemd-analyze verify` parses
// it like PID 1 would and reports unknown keys, bad values and a missing ExecStart binary. It
// reports most of them as warnings with exit code 0, so any line naming the unit fails the test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const UNIT_PATH = join(ROOT, 'deploy/systemd/tandem.service');
/** Where the unit expects things on a real box (deploy/README.md installs them there). */
const INSTALLED_NODE = '/usr/bin/node';
const INSTALLED_ROOT = '/opt/tandem';

const work = mkdtempSync(join(tmpdir(), 'tandem-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The shipped unit with its paths pointed at this checkout and this Node, so verify finds them. */
function localUnit(): string {
  const text = readFileSync(UNIT_PATH, 'utf8');
  expect(text).toContain(`ExecStart=${INSTALLED_NODE} ${INSTALLED_ROOT}/bin/tandem.js `);
  return text.replaceAll(INSTALLED_NODE, process.execPath).replaceAll(INSTALLED_ROOT, ROOT);
}

/** Runs systemd-analyze verify on `text` as tandem.service; returns its exit code and the lines about the unit. */
function verify(text: string): { status: number | null; findings: string[]; output: string } {
  const file = join(work, 'tandem.service');
  writeFileSync(file, text);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    const why =
      (r.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'systemd-analyze is not installed (Debian package systemd; scripts/setup.sh installs it)'
        : r.error.message;
    throw new Error(`cannot run systemd-analyze verify: ${why}`);
  }
  const output = `${r.stdout}${r.stderr}`;
  const findings = output.split('\n').filter((l) => l.includes('tandem.service'));
  return { status: r.status, findings, output };
}

/** Values of `key=` lines in the unit, in order. */
function values(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

describe('deploy/systemd/tandem.service', () => {
  it('passes systemd-analyze verify with no warning', () => {
    const { status, findings, output } = verify(localUnit());
    expect(findings, output).toEqual([]);
    expect(status, output).toBe(0);
  });

  it('the check sees a warning when the unit has one (the test above can fail)', () => {
    const broken = localUnit().replace('[Service]\n', '[Service]\nProtectSystem=everything\n');
    const { findings } = verify(broken);
    expect(findings.join('\n')).toMatch(/protect system value/i);
  });

  it('the check sees a missing ExecStart binary', () => {
    const missing = localUnit().replace(`ExecStart=${process.execPath}`, `ExecStart=${join(work, 'no-such-node')}`);
    const { status, findings } = verify(missing);
    expect(status).not.toBe(0);
    expect(findings.join('\n')).toMatch(/not executable/);
  });

  it('runs the daemon as an unprivileged user with only the capabilities it needs', () => {
    const text = readFileSync(UNIT_PATH, 'utf8');
    const caps = ['CAP_NET_RAW', 'CAP_SYS_NICE'];
    expect(values(text, 'User')).toEqual(['tandem']);
    expect(
      values(text, 'CapabilityBoundingSet')
        .flatMap((v) => v.split(/\s+/))
        .sort(),
    ).toEqual(caps);
    expect(
      values(text, 'AmbientCapabilities')
        .flatMap((v) => v.split(/\s+/))
        .sort(),
    ).toEqual(caps);
    expect(values(text, 'NoNewPrivileges')).toEqual(['yes']);
    expect(values(text, 'ProtectSystem')).toEqual(['strict']);
    // SCHED_RR for the control thread would be refused
    expect(values(text, 'RestrictRealtime')).toEqual([]);
    expect(values(text, 'Type')).toEqual(['notify']);
    expect(values(text, 'Restart')).toEqual(['on-failure']);
  });
});
