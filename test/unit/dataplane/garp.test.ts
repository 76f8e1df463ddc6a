import { describe, expect, it } from 'vitest';
import { GarpScheduler } from '../../../src/dataplane/garp.js';

function run(s: GarpScheduler, from: number, to: number, seq: number, roleActive = true, mayAct = true): number[] {
  const at: number[] = [];
  for (let now = from; now <= to; now++) if (s.poll(now, seq, roleActive, mayAct) > 0) at.push(now);
  return at;
}

describe('GarpScheduler', () => {
  it('sends count rounds intervalMs apart, the first at once, when garpSeq changes', () => {
    const s = new GarpScheduler({ count: 3, intervalMs: 20, periodicS: 0 }, 5, false);
    expect(run(s, 0, 100, 5)).toEqual([]);
    expect(run(s, 101, 300, 6)).toEqual([101, 121, 141]);
  });

  it('replays a request made before the engine started when asked to', () => {
    const s = new GarpScheduler({ count: 2, intervalMs: 10, periodicS: 0 }, 1, true);
    expect(run(s, 0, 50, 1)).toEqual([0, 10]);
  });

  it('waits while the lease is not valid, and cancels when the role is passive', () => {
    const s = new GarpScheduler({ count: 2, intervalMs: 10, periodicS: 0 }, 0, false);
    expect(run(s, 0, 50, 1, true, false)).toEqual([]);
    expect(run(s, 51, 100, 1, true, true)).toEqual([51, 61]);
    expect(run(s, 101, 110, 2, false, false)).toEqual([]);
    expect(run(s, 111, 200, 2, true, true)).toEqual([]); // cancelled, not replayed
  });

  it('re-announces every periodicS while allowed', () => {
    const s = new GarpScheduler({ count: 1, intervalMs: 10, periodicS: 1 }, 0, false);
    expect(run(s, 0, 3500, 1)).toEqual([0, 1000, 2000, 3000]);
    expect(run(s, 3501, 5000, 1, false, false)).toEqual([]);
  });

  it('announce() starts a burst of its own (a floating IP added by a commit); a passive role cancels it', () => {
    const s = new GarpScheduler({ count: 3, intervalMs: 20, periodicS: 0 }, 4, false);
    s.announce(100);
    expect(run(s, 100, 200, 4)).toEqual([100, 120, 140]);
    s.announce(300);
    expect(run(s, 300, 400, 4, false, false)).toEqual([]);
    expect(run(s, 401, 500, 4)).toEqual([]);
  });

  it('reconfigure() applies a committed count, spacing and period to the next rounds', () => {
    const s = new GarpScheduler({ count: 5, intervalMs: 10, periodicS: 0 }, 0, false);
    expect(run(s, 0, 15, 1)).toEqual([0, 10]);
    s.reconfigure({ count: 2, intervalMs: 50, periodicS: 1 }, 15);
    // a burst under way keeps at most the new count of rounds left, at its old next time, then the new spacing
    expect(run(s, 16, 3100, 1)).toEqual([20, 70, 1070, 2070, 3070]);
  });
});
