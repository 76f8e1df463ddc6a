import { describe, expect, it } from 'vitest';
import { isBetter } from '../../../../src/control/election/step.js';

const PRIORITIES = [0, 1, 2, 49, 50, 51, 100, 127, 128, 254, 255];
const IDS = [0, 1];
const ALL = PRIORITIES.flatMap((priority) => IDS.map((deviceId) => ({ priority, deviceId })));

describe('isBetter', () => {
  it('lower priority number wins, whatever the ids', () => {
    expect(isBetter({ priority: 50, deviceId: 1 }, { priority: 100, deviceId: 0 })).toBe(true);
    expect(isBetter({ priority: 100, deviceId: 0 }, { priority: 50, deviceId: 1 })).toBe(false);
    expect(isBetter({ priority: 0, deviceId: 1 }, { priority: 255, deviceId: 0 })).toBe(true);
  });

  it('equal priority: lower device id wins', () => {
    expect(isBetter({ priority: 100, deviceId: 0 }, { priority: 100, deviceId: 1 })).toBe(true);
    expect(isBetter({ priority: 100, deviceId: 1 }, { priority: 100, deviceId: 0 })).toBe(false);
  });

  it('a device is never better than itself', () => {
    for (const a of ALL) expect(isBetter(a, a)).toBe(false);
  });

  it('is a strict total order over distinct devices (exhaustive over the grid)', () => {
    for (const a of ALL)
      for (const b of ALL) {
        const same = a.priority === b.priority && a.deviceId === b.deviceId;
        // exactly one of two distinct devices is better: an election always has one winner
        if (!same) expect(isBetter(a, b) !== isBetter(b, a)).toBe(true);
        // agrees with the lexicographic (priority, id) order
        expect(isBetter(a, b)).toBe(a.priority < b.priority || (a.priority === b.priority && a.deviceId < b.deviceId));
        for (const c of ALL) if (isBetter(a, b) && isBetter(b, c)) expect(isBetter(a, c)).toBe(true);
      }
  });

  it('every priority 0-255 against every other, both ids', () => {
    for (let p = 0; p <= 255; p++)
      for (let q = 0; q <= 255; q++) {
        expect(isBetter({ priority: p, deviceId: 0 }, { priority: q, deviceId: 1 })).toBe(p <= q);
        expect(isBetter({ priority: p, deviceId: 1 }, { priority: q, deviceId: 0 })).toBe(p < q);
      }
  });
});
