// Mutated Ethernet frames through the whole in-process packet path (Engine on the lab config,
// active, sessions of each protocol open): no exception, every frame accounted for by exactly one
// outcome counter, the open sessions and their NAT kept. Bounded for CI; bench/fuzz.ts runs 1,000,000.
import { describe, expect, it } from 'vitest';
import { busyLabConfig, OUTCOMES } from './lib/frame-rig.js';
import { runFrameStorm } from './lib/frame-storm.js';
import { seedFromEnv } from './lib/prng.js';

const SEED = seedFromEnv(0x7a4de11);
const FRAMES = 40_000;

describe('frame fuzzing through the packet path', () => {
  it(`${FRAMES} mutated frames (seed ${SEED}): no crash, each frame counted once, sessions kept`, () => {
    const r = runFrameStorm({ seed: SEED, frames: FRAMES });
    expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    expect(r.crashes).toBe(0);
    expect(r.unaccounted).toBe(0);
    expect(r.stateLost).toBe(0);
    // the sum of the outcome counters is the number of frames in
    expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(FRAMES);
    for (const name of Object.keys(r.outcomes)) expect(OUTCOMES).toContain(name);
    // the mutators reach deep: the storm ends in many different places, forwarding included
    expect(Object.keys(r.outcomes).length).toBeGreaterThanOrEqual(20);
    expect(r.outcomes.forwarded ?? 0).toBeGreaterThan(0);
  });

  it(`with a reject rule, a published service and a 100-session table (seed ${SEED + 1}): the same`, () => {
    const r = runFrameStorm({ seed: SEED + 1, frames: 20_000, config: busyLabConfig(), msPerFrame: 0.01 });
    expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(20_000);
    // the branches this config is for were reached
    expect(r.outcomes['policy-reject'] ?? 0).toBeGreaterThan(0);
    expect(r.outcomes['session-table-full'] ?? 0).toBeGreaterThan(0);
  });

  for (const role of ['handing-over', 'passive', 'lease-expired'] as const) {
    it(`10000 frames with the dataplane ${role} (seed ${SEED + 2}): no crash, each frame counted once, sessions kept`, () => {
      const r = runFrameStorm({ seed: SEED + 2, frames: 10_000, role });
      expect(r.failures, r.failures.join('\n\n')).toEqual([]);
      expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(10_000);
      if (role === 'handing-over') expect(r.outcomes.forwarded ?? 0).toBeGreaterThan(0);
      else expect(r.outcomes.forwarded ?? 0).toBe(0);
      if (role === 'passive') expect(r.outcomes.passive ?? 0).toBeGreaterThan(0);
      if (role === 'lease-expired') expect(r.outcomes['lease-expired'] ?? 0).toBeGreaterThan(0);
    });
  }
});
