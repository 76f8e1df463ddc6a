import { describe, expect, test } from 'vitest';
import { sharedConfigHash } from '../../../src/config/hash.js';
import { validateSharedConfig } from '../../../src/config/schema.js';
import { boxA, parseObject } from './fixture.js';

describe('validateSharedConfig (a shared half pushed by the peer)', () => {
  const a = parseObject(boxA());

  test('a parsed shared half validates to itself: defaulting is idempotent, so the hash is stable across the wire', () => {
    const wire = JSON.parse(JSON.stringify(a.shared));
    const result = validateSharedConfig(wire, a.device);
    expect(result).toEqual({ ok: true, shared: a.shared });
    if (result.ok) expect(sharedConfigHash(result.shared)).toBe(sharedConfigHash(a.shared));
  });

  test('shape issues carry shared. paths', () => {
    const wire = JSON.parse(JSON.stringify(a.shared));
    wire.sessions.max = 'lots';
    wire.bogus = 1;
    const result = validateSharedConfig(wire, a.device);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => [i.path, i.value])).toEqual([
        ['shared.sessions.max', 'lots'],
        ['shared.bogus', 1],
      ]);
  });

  test("semantic checks use this box's interfaces, and report only shared issues", () => {
    const device = structuredClone(a.device);
    delete (device.interfaces as Record<string, unknown>).wan;
    device.ha.ha1.peer = device.ha.ha1.local; // a device problem: not the peer's to hear about
    const result = validateSharedConfig(JSON.parse(JSON.stringify(a.shared)), device);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.length).toBeGreaterThan(0);
      expect(result.issues.every((i) => i.path.startsWith('shared.'))).toBe(true);
      expect(result.issues).toContainEqual({
        path: 'shared.floatingIps[1].interface',
        value: 'wan',
        expected: 'a logical interface defined in device.interfaces (lan)',
      });
    }
  });

  test('a non-mapping is named as shared', () => {
    const result = validateSharedConfig(7, a.device);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0].path).toBe('shared');
  });
});
