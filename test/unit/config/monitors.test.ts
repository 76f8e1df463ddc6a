// Link and path monitoring in the config: both link forms, defaults, and every new name checked.
import { describe, expect, test } from 'vitest';
import { TIMER_PROFILES } from '../../../src/config/timers.js';
import { boxA, issuesOf, minimal, parseObject } from './fixture.js';

describe('link monitoring', () => {
  test('the short form is one group named "links" with the condition given', () => {
    const c = minimal();
    c.device.interfaces = { lan: { device: 'eth1', address: '10.0.1.2/24' }, wan: { device: 'eth2', address: '10.0.2.2/24' } };
    c.shared = { ha: { linkMonitoring: { failureCondition: 'all', interfaces: ['lan', 'wan'] } } };
    expect(parseObject(c).shared.ha.linkMonitoring).toEqual({
      failureCondition: 'any',
      groups: [{ name: 'links', interfaces: ['lan', 'wan'], failureCondition: 'all' }],
    });
  });

  test('groups with their own conditions; both conditions default to any', () => {
    const c = minimal();
    c.device.interfaces = { lan: { device: 'eth1', address: '10.0.1.2/24' }, wan: { device: 'eth2', address: '10.0.2.2/24' } };
    c.shared = {
      ha: {
        linkMonitoring: {
          groups: [
            { name: 'inside', interfaces: ['lan'] },
            { name: 'outside', interfaces: ['wan'], failureCondition: 'all' },
          ],
        },
      },
    };
    expect(parseObject(c).shared.ha.linkMonitoring).toEqual({
      failureCondition: 'any',
      groups: [
        { name: 'inside', interfaces: ['lan'], failureCondition: 'any' },
        { name: 'outside', interfaces: ['wan'], failureCondition: 'all' },
      ],
    });
  });

  test('interfaces and groups together are refused', () => {
    const c = boxA();
    c.shared.ha.linkMonitoring = { interfaces: ['lan'], groups: [{ name: 'g', interfaces: ['wan'] }] };
    expect(issuesOf(c)).toEqual([
      {
        path: 'shared.ha.linkMonitoring',
        value: c.shared.ha.linkMonitoring,
        expected: 'either interfaces: [<logical names>] (one group) or groups: [{ name, interfaces, failureCondition }], not both',
      },
    ]);
  });

  test('neither interfaces nor groups is refused', () => {
    const c = boxA();
    c.shared.ha.linkMonitoring = { failureCondition: 'any' };
    expect(issuesOf(c).map((i) => i.path)).toEqual(['shared.ha.linkMonitoring']);
  });

  test('group names are unique and their interfaces exist', () => {
    const c = boxA();
    c.shared.ha.linkMonitoring = {
      failureCondition: 'all',
      groups: [
        { name: 'g', interfaces: ['lan'] },
        { name: 'g', interfaces: ['wan', 'dmz'] },
      ],
    };
    expect(issuesOf(c)).toEqual([
      { path: 'shared.ha.linkMonitoring.groups[1].interfaces[1]', value: 'dmz', expected: 'a logical interface defined in device.interfaces (lan, wan)' },
      { path: 'shared.ha.linkMonitoring.groups[1].name', value: 'g', expected: 'a name not already used by shared.ha.linkMonitoring.groups[0]' },
    ]);
  });

  test('a bad group condition names its key', () => {
    const c = boxA();
    c.shared.ha.linkMonitoring = { groups: [{ name: 'g', interfaces: ['lan'], failureCondition: 'most' }] };
    expect(issuesOf(c)).toEqual([{ path: 'shared.ha.linkMonitoring.groups[0].failureCondition', value: 'most', expected: 'one of "any", "all"' }]);
  });
});

describe('path monitoring', () => {
  test('a group condition defaults to any and can be all', () => {
    const c = boxA();
    c.shared.ha.pathMonitoring.groups.push({ name: 'dns', targets: ['10.0.2.53', '10.0.2.54'], failureCondition: 'all' });
    const groups = parseObject(c).shared.ha.pathMonitoring!.groups;
    expect(groups.map((g) => g.failureCondition)).toEqual(['any', 'all']);
    expect(groups[1]).toEqual({ name: 'dns', targets: ['10.0.2.53', '10.0.2.54'], intervalMs: 200, failures: 3, failureCondition: 'all' });
  });
});

describe('monitor hold-up timers', () => {
  test('both profiles carry PAN-OS values: no fail hold, 500 ms more on the active', () => {
    for (const t of Object.values(TIMER_PROFILES)) {
      expect(t.monitorFailHoldUpMs).toBe(0);
      expect(t.additionalActiveHoldUpMs).toBe(500);
    }
  });

  test('overridable next to the profile, bounded', () => {
    const c = minimal();
    c.shared = { ha: { timers: { profile: 'aggressive', monitorFailHoldUpMs: 100, additionalActiveHoldUpMs: 1000 } } };
    const t = parseObject(c).shared.ha.timers;
    expect([t.monitorFailHoldUpMs, t.additionalActiveHoldUpMs]).toEqual([100, 1000]);
    c.shared.ha.timers.additionalActiveHoldUpMs = 60001;
    expect(issuesOf(c)).toEqual([{ path: 'shared.ha.timers.additionalActiveHoldUpMs', value: 60001, expected: 'an integer from 0 to 60000' }]);
  });
});
