import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { canonicalJson, sharedConfigHash } from '../../../src/config/hash.js';
import { boxA, minimal, parseObject } from './fixture.js';
import { createHash } from 'node:crypto';

describe('canonicalJson', () => {
  test('sorts keys at every level, keeps array order, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
});

describe('sharedConfigHash', () => {
  test('sha256 hex of the canonical JSON', () => {
    const { shared } = parseObject(boxA());
    expect(sharedConfigHash(shared)).toBe(createHash('sha256').update(canonicalJson(shared)).digest('hex'));
    expect(sharedConfigHash(shared)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('key order, comments and spelled-out defaults do not change it', () => {
    const spelled = minimal();
    spelled.shared = { ha: { mode: 'active-passive', timers: { profile: 'recommended' } }, nat: [], zones: {} };
    const a = parseObject(minimal()).shared;
    const reordered = parseObject({ shared: spelled.shared, device: spelled.device }).shared;
    expect(sharedConfigHash(reordered)).toBe(sharedConfigHash(a));
    expect(stringify(spelled)).not.toBe(stringify(minimal()));
  });

  test('any change of value changes it', () => {
    const base = parseObject(boxA()).shared;
    const changed = boxA();
    changed.shared.sessions.udpS = 31;
    expect(sharedConfigHash(parseObject(changed).shared)).not.toBe(sharedConfigHash(base));
    const reordered = boxA();
    reordered.shared.policy.rules.reverse(); // rule order is meaning
    expect(sharedConfigHash(parseObject(reordered).shared)).not.toBe(sharedConfigHash(base));
  });
});
