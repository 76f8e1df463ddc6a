// Helpers for namespace tests that drive real daemons in a lab: their listeners, the CLI against
// them, waiting for HA states, pinging, and lab configs with edits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot, type Lab, type LabHost } from '../../../src/lab/lab.js';
import { BULK_COMPLETE } from '../../../src/control/election/step.js';

export type Box = 'fwa' | 'fwb';

/** A box's API and metrics listeners, with the lab's relative unix socket paths made absolute. */
export function boxListeners(l: Lab, box: Box): { metrics: string; api: string } {
  const cfg = parse(readFileSync(l.configPath(box), 'utf8')) as { device: { metrics: { listen: string }; api: { listen: string } } };
  const abs = (s: string) => (s.startsWith('unix:') && !s.startsWith('unix:/') ? `unix:${join(l.runDir, s.slice(5))}` : s);
  return { metrics: abs(cfg.device.metrics.listen), api: abs(cfg.device.api.listen) };
}

/** Runs `tandem ARGS --api <box's API> --token-file <lab token>`. */
export function cli(l: Lab, box: Box, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { api } = boxListeners(l, box);
  return run(process.execPath, [join(repoRoot(), 'bin', 'tandem.js'), ...args, '--api', api, '--token-file', join(l.runDir, 'api.token')]);
}

export function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}

/**
 * Waits until `box` is in `state` and returns it with the reason it got there. A box that becomes
 * passive while HA2 runs is tentative first and passive once its bulk sync completes (reason "bulk
 * sync complete"): for such a box the reason returned is the one it entered tentative with
 * (operator-failover, preempted, split-brain-resolved, faults-cleared, ...), from its transitions.
 */
export async function waitState(l: Lab, box: Box, state: string, timeoutMs = 10_000): Promise<{ state: string; reason: string }> {
  let last: { state: string; reason: string } | null = null;
  await l.waitFor(
    async () => {
      last = await l.boxState(box);
      return last?.state === state;
    },
    timeoutMs,
    `${box} to be ${state}`,
  );
  const got: { state: string; reason: string } = last!;
  if (state !== 'passive' || got.reason !== BULK_COMPLETE) return got;
  const entered = [...(await l.api(box).status()).transitions].reverse().find((t) => t.to === 'tentative');
  return { state, reason: entered?.reason ?? got.reason };
}

export async function ping(l: Lab, to: string, count = 3, from: LabHost = 'client'): Promise<boolean> {
  try {
    await l.nsExec(from, 'ping', ['-c', String(count), '-i', '0.05', '-W', '1', to]);
    return true;
  } catch {
    return false;
  }
}

/** A temp copy of deploy/lab (or deploy/lab/active-active) with `edit` applied to both boxes' configs. The caller removes it. */
export function labConfigWith(
  edit: (cfg: { device: Record<string, unknown>; shared: Record<string, any> }) => void,
  mode: 'active-passive' | 'active-active' = 'active-passive',
): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cfg-'));
  const from = mode === 'active-active' ? join(repoRoot(), 'deploy', 'lab', 'active-active') : join(repoRoot(), 'deploy', 'lab');
  for (const box of ['fwa', 'fwb']) {
    const cfg = parse(readFileSync(join(from, `${box}.yaml`), 'utf8'));
    edit(cfg);
    writeFileSync(join(dir, `${box}.yaml`), stringify(cfg));
  }
  return dir;
}
