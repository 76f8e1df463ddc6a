import { describe, expect, test } from 'vitest';
import { TIMER_BOUNDS, TIMER_FIELDS, TIMER_PROFILES, deadIntervalMs, resolveTimers } from '../../../src/config/timers.js';
import { issuesOf, minimal, parseObject } from './fixture.js';

describe('resolveTimers', () => {
  test('recommended is the default profile', () => {
    expect(resolveTimers()).toEqual({
      profile: 'recommended',
      heartbeatIntervalMs: 100,
      heartbeatMissed: 3,
      helloIntervalMs: 1000,
      promotionHoldMs: 100,
      preemptHoldMs: 60000,
      flapMax: 3,
      initialWaitMs: 1000,
      monitorFailHoldUpMs: 0,
      additionalActiveHoldUpMs: 500,
    });
  });

  test('aggressive preset', () => {
    expect(resolveTimers({ profile: 'aggressive' })).toEqual({
      profile: 'aggressive',
      heartbeatIntervalMs: 5,
      heartbeatMissed: 4,
      helloIntervalMs: 500,
      promotionHoldMs: 0,
      preemptHoldMs: 5000,
      flapMax: 3,
      initialWaitMs: 300,
      monitorFailHoldUpMs: 0,
      additionalActiveHoldUpMs: 500,
    });
  });

  test('aggressive detects a silent failure in under 100 ms', () => {
    const t = TIMER_PROFILES.aggressive;
    expect(deadIntervalMs(t) + t.promotionHoldMs).toBeLessThan(100);
  });

  test('overrides replace single fields of the chosen profile', () => {
    const t = resolveTimers({ profile: 'aggressive', heartbeatMissed: 8, preemptHoldMs: 0 });
    expect(t).toEqual({ ...TIMER_PROFILES.aggressive, heartbeatMissed: 8, preemptHoldMs: 0 });
  });

  test('the presets are not modified by resolving', () => {
    const t = resolveTimers({ profile: 'recommended' });
    t.flapMax = 99;
    expect(TIMER_PROFILES.recommended.flapMax).toBe(3);
  });

  test('both presets lie inside the bounds', () => {
    for (const profile of Object.values(TIMER_PROFILES))
      for (const f of TIMER_FIELDS) {
        expect(profile[f]).toBeGreaterThanOrEqual(TIMER_BOUNDS[f].min);
        expect(profile[f]).toBeLessThanOrEqual(TIMER_BOUNDS[f].max);
      }
  });
});

describe('timers in the config', () => {
  test('no timers key: recommended, preempt off, preempt hold from the profile', () => {
    const { shared } = parseObject(minimal());
    expect(shared.ha.timers).toEqual(TIMER_PROFILES.recommended);
    expect(shared.ha.preempt).toEqual({ enabled: false, holdMs: 60000 });
  });

  test('profile plus override', () => {
    const config = minimal();
    config.shared = { ha: { timers: { profile: 'aggressive', heartbeatIntervalMs: 20 } } };
    const { shared } = parseObject(config);
    expect(shared.ha.timers).toEqual({ ...TIMER_PROFILES.aggressive, heartbeatIntervalMs: 20 });
    expect(shared.ha.preempt.holdMs).toBe(5000);
  });

  test('preempt.holdMs overrides timers.preemptHoldMs and both carry it', () => {
    const config = minimal();
    config.shared = { ha: { timers: { preemptHoldMs: 1000 }, preempt: { enabled: true, holdMs: 30000 } } };
    const { shared } = parseObject(config);
    expect(shared.ha.preempt).toEqual({ enabled: true, holdMs: 30000 });
    expect(shared.ha.timers.preemptHoldMs).toBe(30000);
  });

  test('timers.preemptHoldMs alone sets preempt.holdMs', () => {
    const config = minimal();
    config.shared = { ha: { timers: { preemptHoldMs: 1000 } } };
    expect(parseObject(config).shared.ha.preempt.holdMs).toBe(1000);
  });

  test('each timer is checked against its bounds', () => {
    for (const f of TIMER_FIELDS) {
      const { min, max } = TIMER_BOUNDS[f];
      for (const bad of [min - 1, max + 1]) {
        const config = minimal();
        config.shared = { ha: { timers: { [f]: bad } } };
        expect(issuesOf(config)).toEqual([{ path: `shared.ha.timers.${f}`, value: bad, expected: `an integer from ${min} to ${max}` }]);
      }
      const config = minimal();
      config.shared = { ha: { timers: { [f]: min } } };
      expect(parseObject(config).shared.ha.timers[f]).toBe(min);
    }
  });
});
