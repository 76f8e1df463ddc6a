// The held first packets of active/active (src/dataplane/defer.ts).
import { describe, expect, it } from 'vitest';
import { DeferQueue, type HeldFrame } from '../../../src/dataplane/defer.js';

const held = (slot: number, untilMs: number): HeldFrame => ({ slot, egress: 1, nextHop: 0x0a000201, nextHop6: null, frame: new Uint8Array([slot]), untilMs });

describe('DeferQueue', () => {
  it('hands a frame out once: on its answer, or when its time is up', () => {
    const q = new DeferQueue(4);
    q.hold(held(1, 10));
    q.hold(held(2, 12));
    expect(q.take(1)?.frame).toEqual(new Uint8Array([1]));
    expect(q.take(1)).toBeNull();
    const due: number[] = [];
    expect(q.due(11, (h) => due.push(h.slot))).toBe(0);
    expect(q.due(12, (h) => due.push(h.slot))).toBe(1);
    expect(due).toEqual([2]);
    expect(q.size).toBe(0);
  });

  it('hands due frames out oldest first, and stops at the first one not due', () => {
    const q = new DeferQueue(8);
    for (let i = 0; i < 5; i++) q.hold(held(i, 10 + i));
    const due: number[] = [];
    q.due(12, (h) => due.push(h.slot));
    expect(due).toEqual([0, 1, 2]);
    expect(q.size).toBe(2);
  });

  it('is bounded: full at its capacity', () => {
    const q = new DeferQueue(2);
    q.hold(held(1, 10));
    expect(q.full).toBe(false);
    q.hold(held(2, 10));
    expect(q.full).toBe(true);
  });

  it('a slot held again (its session ended and the slot was reused) displaces the older frame', () => {
    const q = new DeferQueue(4);
    q.hold(held(3, 10));
    const old = q.hold({ ...held(3, 20), frame: new Uint8Array([9]) });
    expect(old?.frame).toEqual(new Uint8Array([3]));
    expect(q.size).toBe(1);
    expect(q.take(3)?.frame).toEqual(new Uint8Array([9]));
  });
});
