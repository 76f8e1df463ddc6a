// `tandem test-failover`: a planned failover and back, measured from both boxes' APIs. The
// traffic gap needs traffic (`tandem lab demo`, bench/failover-gap); what the control plane shows
// is how long the role took to move. A planned hand-over has no gap by design: the old active keeps
// forwarding until the new one says active, plus 20 ms for its gratuitous ARP (docs/concepts.md).
import type { StatusResponse } from '../api/protocol.js';

export interface PairApi {
  status(): Promise<StatusResponse>;
  failover(): Promise<{ message: string }>;
}

export interface LegResult {
  from: string;
  to: string;
  /** From the failover command to both APIs showing the new roles (ms, includes polling). */
  movedMs: number;
  /** When the new active took the role (ISO, its own transition record). */
  newActiveAt: string | null;
  /** From the command to that transition (ms, wall clocks of this host and the peer). */
  tookRoleAfterMs: number | null;
}

export interface TestFailoverOptions {
  holdMs: number;
  timeoutMs?: number;
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class TestFailoverError extends Error {}

const lastAt = (s: StatusResponse, pred: (t: { from: string; to: string }) => boolean): string | null => [...s.transitions].reverse().find(pred)?.at ?? null;

/**
 * The passive must hold the active's sessions before it gets the role (the active refuses a
 * failover to a box still syncing, tentative): a pair just formed or rejoined gets timeoutMs to
 * finish.
 */
async function waitInSync(box: PairApi, o: Required<TestFailoverOptions>, what: string): Promise<void> {
  const deadline = o.now() + o.timeoutMs;
  for (;;) {
    const s = await box.status();
    if (s.local.state !== 'tentative') return;
    if (o.now() > deadline) throw new TestFailoverError(`${s.local.name} did not finish its session bulk sync within ${o.timeoutMs} ms: ${what}`);
    await o.sleep(50);
  }
}

async function leg(active: PairApi, passive: PairApi, o: Required<TestFailoverOptions>): Promise<LegResult> {
  const [a, p] = await Promise.all([active.status(), passive.status()]);
  if (a.local.state !== 'active') throw new TestFailoverError(`${a.local.name} is ${a.local.state}, not active: run test-failover against the active box`);
  if (p.local.state !== 'passive' && p.local.state !== 'tentative')
    throw new TestFailoverError(`${p.local.name} is ${p.local.state}, not passive: nothing to fail over to`);
  await waitInSync(passive, o, 'the role stays where it is');
  const start = o.now();
  const wallStart = Date.now();
  await active.failover();
  for (;;) {
    const [na, np] = await Promise.all([active.status(), passive.status()]);
    if (na.local.state !== 'active' && np.local.state === 'active') {
      const movedMs = o.now() - start;
      const newActiveAt = lastAt(np, (t) => t.to === 'active');
      const tookRoleAfterMs = newActiveAt ? Date.parse(newActiveAt) - wallStart : null;
      return { from: a.local.name, to: p.local.name, movedMs, newActiveAt, tookRoleAfterMs };
    }
    if (o.now() - start > o.timeoutMs)
      throw new TestFailoverError(`the role did not move within ${o.timeoutMs} ms (${na.local.name} ${na.local.state}, ${np.local.name} ${np.local.state})`);
    await o.sleep(o.pollMs);
  }
}

/** Fails over from `local` (the active) to `peer` and, after `holdMs`, back. */
export async function testFailover(local: PairApi, peer: PairApi, opts: TestFailoverOptions): Promise<LegResult[]> {
  const o: Required<TestFailoverOptions> = {
    timeoutMs: 10_000,
    pollMs: 10,
    now: () => performance.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    ...opts,
  };
  const there = await leg(local, peer, o);
  await o.sleep(o.holdMs);
  // the old active has to be in sync again before it may take the role back (leg() waits)
  const back = await leg(peer, local, o);
  return [there, back];
}

export function formatTestFailover(legs: readonly LegResult[]): string {
  const lines = legs.map(
    (l) =>
      `${l.from} -> ${l.to}: ${l.to} took the role ${l.tookRoleAfterMs === null ? '(time unknown)' : `${l.tookRoleAfterMs} ms`} after the command; both APIs agreed after ${Math.round(l.movedMs)} ms`,
  );
  return [
    ...lines,
    'a planned hand-over keeps the old active forwarding until the new one is active: no traffic gap by design; measure one with traffic (`tandem lab demo`, bench/failover-gap)',
  ].join('\n');
}
