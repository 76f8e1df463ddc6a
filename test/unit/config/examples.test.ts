import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { sharedConfigHash } from '../../../src/config/hash.js';
import { loadConfig } from '../../../src/config/load.js';
import { TIMER_PROFILES } from '../../../src/config/timers.js';
import { BOX_A_PATH, BOX_B_PATH } from './fixture.js';

describe('deploy examples', () => {
  // the key files do not exist on the test machine: loading must not read them
  const a = loadConfig(BOX_A_PATH);
  const b = loadConfig(BOX_B_PATH);

  test('box A is device 0 with priority 50', () => {
    expect(a.device).toMatchObject({ id: 0, name: 'fw-a', priority: 50 });
    expect(a.device.ha.ha1).toEqual({ local: '172.31.0.1', peer: '172.31.0.2', port: 28769, heartbeatPort: 28771 });
    expect(a.device.ha.ha1Backup).toEqual({ local: '172.31.1.1', peer: '172.31.1.2', port: 28769, heartbeatPort: 28771 });
    expect(a.device.ha.ha2).toEqual({ local: '172.31.2.1', peer: '172.31.2.2', port: 28770, heartbeatPort: 28771 });
    expect(a.device.ha.keyFile).toBe('/etc/tandem/ha.key');
  });

  test('box B is device 1 with its own addresses and the HA addresses swapped', () => {
    expect(b.device).toMatchObject({ id: 1, name: 'fw-b', priority: 100 });
    expect(b.device.interfaces.lan.address).not.toBe(a.device.interfaces.lan.address);
    for (const link of ['ha1', 'ha1Backup', 'ha2'] as const) {
      expect(b.device.ha[link]?.local).toBe(a.device.ha[link]?.peer);
      expect(b.device.ha[link]?.peer).toBe(a.device.ha[link]?.local);
    }
  });

  test('both boxes carry the same shared half (same hash)', () => {
    expect(b.shared).toEqual(a.shared);
    expect(sharedConfigHash(b.shared)).toBe(sharedConfigHash(a.shared));
    // the files themselves: the shared half is byte-identical
    const sharedText = (p: string) => readFileSync(p, 'utf8').split('\nshared:\n')[1];
    expect(sharedText(BOX_B_PATH)).toBe(sharedText(BOX_A_PATH));
  });

  test('the shared half has the DESIGN example values and defaults', () => {
    expect(a.shared.ha.timers).toEqual({ ...TIMER_PROFILES.aggressive, preemptHoldMs: 60000 });
    expect(a.shared.ha.preempt).toEqual({ enabled: true, holdMs: 60000 });
    expect(a.shared.ha.garp).toEqual({ count: 3, intervalMs: 20, periodicS: 0 });
    expect(a.shared.ha.groupId).toBe(1);
    expect(a.shared.nat[0]).toEqual({
      name: 'hide-lan',
      from: ['trust'],
      to: ['untrust'],
      source: ['10.0.1.0/24'],
      destination: ['any'],
      service: ['any'],
      translate: { source: 'interface-floating' },
    });
    expect(a.device.log.level).toBe('info');
  });
});
