// Heartbeats released after an outage: fresh, late or stale against the newest seen on any link.
import { describe, expect, test } from 'vitest';
import { HeartbeatFreshness } from '../../../../src/control/ha1/freshness.js';

const MS = 1e6;
const DEAD_NS = 20 * MS;

describe('HeartbeatFreshness', () => {
  test('in-order heartbeats, and the same tick on several links, are fresh', () => {
    const f = new HeartbeatFreshness();
    expect(f.judge(7, 100 * MS, DEAD_NS)).toBe('fresh');
    expect(f.judge(7, 100 * MS, DEAD_NS)).toBe('fresh'); // the same tick's heartbeat on another link
    expect(f.judge(7, 105 * MS, DEAD_NS)).toBe('fresh');
  });

  test('older than the newest by up to the dead interval: late; by more: stale', () => {
    const f = new HeartbeatFreshness();
    f.judge(7, 5000 * MS, DEAD_NS);
    expect(f.judge(7, 4995 * MS, DEAD_NS)).toBe('late');
    expect(f.judge(7, 4980 * MS, DEAD_NS)).toBe('late');
    expect(f.judge(7, 4979 * MS, DEAD_NS)).toBe('stale');
    // what a cable back after 3 s releases from the neighbour queue
    expect(f.judge(7, 2000 * MS, DEAD_NS)).toBe('stale');
    // judging old ones does not move the reference back
    expect(f.judge(7, 4990 * MS, DEAD_NS)).toBe('late');
  });

  test('a new epoch (the peer restarted) starts a new reference, whatever its clock says', () => {
    const f = new HeartbeatFreshness();
    f.judge(7, 5000 * MS, DEAD_NS);
    expect(f.judge(8, 10 * MS, DEAD_NS)).toBe('fresh');
    expect(f.judge(8, 11 * MS, DEAD_NS)).toBe('fresh');
  });

  test('the dead interval is read per call (timers may change with a config commit)', () => {
    const f = new HeartbeatFreshness();
    f.judge(1, 1000 * MS, DEAD_NS);
    expect(f.judge(1, 700 * MS, DEAD_NS)).toBe('stale');
    expect(f.judge(1, 700 * MS, 300 * MS)).toBe('late');
  });
});
