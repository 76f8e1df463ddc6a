import { describe, expect, it } from 'vitest';
import { formatTestFailover, testFailover, TestFailoverError, type PairApi } from '../../../src/cli/test-failover.js';
import type { StatusResponse } from '../../../src/api/protocol.js';
import { fixedStatus } from '../api/fixtures.js';

/** Two boxes whose roles swap `moveMs` after a failover command on the active one. */
function simulatedPair(moveMs = 30, opts: { refuse?: boolean; never?: boolean; syncedAfterMs?: number } = {}) {
  const syncedAt = Date.now() + (opts.syncedAfterMs ?? 0);
  let active: 'a' | 'b' = 'a';
  const transitions: Record<'a' | 'b', StatusResponse['transitions']> = { a: [], b: [] };
  const api = (me: 'a' | 'b'): PairApi => ({
    status: async () => {
      const s = fixedStatus();
      s.local.name = me === 'a' ? 'fw-a' : 'fw-b';
      s.local.state = active === me ? 'active' : Date.now() < syncedAt ? 'tentative' : 'passive';
      s.sync = { incomplete: false };
      s.transitions = transitions[me];
      return s;
    },
    failover: async () => {
      if (opts.refuse) throw new Error('refused');
      if (active !== me || opts.never) return { message: 'ok' };
      const other = me === 'a' ? 'b' : 'a';
      setTimeout(() => {
        active = other;
        const at = new Date().toISOString();
        transitions[me].push({ at, from: 'active', to: 'passive', reason: 'operator-failover' });
        transitions[other].push({ at, from: 'passive', to: 'active', reason: 'peer-request' });
      }, moveMs);
      return { message: 'ok' };
    },
  });
  return { a: api('a'), b: api('b'), active: () => active };
}

describe('tandem test-failover', () => {
  it('fails over to the peer and back, and measures both legs', async () => {
    const pair = simulatedPair(30);
    const legs = await testFailover(pair.a, pair.b, { holdMs: 10, pollMs: 2 });
    expect(legs.map((l) => `${l.from}->${l.to}`)).toEqual(['fw-a->fw-b', 'fw-b->fw-a']);
    for (const l of legs) {
      expect(l.movedMs).toBeGreaterThanOrEqual(25);
      expect(l.tookRoleAfterMs).toBeGreaterThanOrEqual(20);
    }
    expect(pair.active()).toBe('a');
    expect(formatTestFailover(legs)).toMatch(/^fw-a -> fw-b: fw-b took the role \d+ ms after the command; both APIs agreed after \d+ ms/);
  });

  it('refuses to start from the passive box, and gives up when the role never moves', async () => {
    const pair = simulatedPair();
    await expect(testFailover(pair.b, pair.a, { holdMs: 0 })).rejects.toThrow(/fw-b is passive, not active/);
    const stuck = simulatedPair(30, { never: true });
    await expect(testFailover(stuck.a, stuck.b, { holdMs: 0, timeoutMs: 100, pollMs: 5 })).rejects.toThrow(TestFailoverError);
  });

  it('waits for a passive still receiving its bulk sync, and gives up with the reason when it never finishes', async () => {
    const syncing = simulatedPair(10, { syncedAfterMs: 150 });
    const legs = await testFailover(syncing.a, syncing.b, { holdMs: 0, pollMs: 2 });
    expect(legs).toHaveLength(2);
    const never = simulatedPair(10, { syncedAfterMs: 60_000 });
    await expect(testFailover(never.a, never.b, { holdMs: 0, timeoutMs: 100, pollMs: 5 })).rejects.toThrow(
      /fw-b did not finish its session bulk sync within 100 ms/,
    );
  });
});
