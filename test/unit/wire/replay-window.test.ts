import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../../../src/wire/replay-window.js';

/** The obvious reference: remember every seq, accept a new one unless older than highest - 63. */
class ReferenceWindow {
  seen = new Set<number>();
  highest = -1;
  accept(seq: number): boolean {
    if (this.seen.has(seq)) return false;
    if (seq <= this.highest - REPLAY_WINDOW_SIZE) return false;
    this.seen.add(seq);
    this.highest = Math.max(this.highest, seq);
    return true;
  }
}

describe('ReplayWindow', () => {
  it('check() has no effect until record()', () => {
    const w = new ReplayWindow();
    expect(w.check(5)).toBe('fresh');
    expect(w.check(5)).toBe('fresh');
    w.record(5);
    expect(w.check(5)).toBe('replay');
    expect(w.highest).toBe(5);
  });

  it('accepts seq 0 once on a fresh window', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe('fresh');
    w.record(0);
    expect(w.check(0)).toBe('replay');
  });

  it('agrees with a reference over random reordered and duplicated sequences', () => {
    let seed = 99;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let run = 0; run < 50; run++) {
      const w = new ReplayWindow();
      const ref = new ReferenceWindow();
      let next = 1;
      const mismatches: string[] = [];
      for (let i = 0; i < 2000; i++) {
        // mostly forward, sometimes a jump, often a late or duplicate one
        const pick = rand(10);
        const seq = pick < 5 ? next++ : pick < 6 ? (next += rand(150)) : Math.max(0, next - 1 - rand(90));
        const fresh = w.check(seq) === 'fresh';
        if (fresh) w.record(seq);
        if (fresh !== ref.accept(seq)) mismatches.push(`step ${i} seq ${seq}: window says ${fresh ? 'fresh' : 'replay'}`);
      }
      expect(mismatches, `run ${run}`).toEqual([]);
    }
  });

  it('reset() forgets everything', () => {
    const w = new ReplayWindow();
    w.record(10);
    w.reset();
    expect(w.highest).toBe(-1);
    expect(w.check(10)).toBe('fresh');
    expect(w.check(1)).toBe('fresh');
  });
});
