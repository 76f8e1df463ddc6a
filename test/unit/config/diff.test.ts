import { describe, expect, it } from 'vitest';
import { diffConfig, formatDiff } from '../../../src/config/diff.js';

describe('diffConfig', () => {
  it('finds nothing between equal trees, whatever the key order', () => {
    expect(diffConfig({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
  });

  it('reports added, removed and changed leaves with their paths', () => {
    expect(diffConfig({ ha: { preempt: { enabled: false } }, x: 1 }, { ha: { preempt: { enabled: true } }, y: 2 })).toEqual([
      { path: 'ha.preempt.enabled', kind: 'changed', from: false, to: true },
      { path: 'x', kind: 'removed', from: 1 },
      { path: 'y', kind: 'added', to: 2 },
    ]);
  });

  it('matches named list members by name: an inserted rule is one addition', () => {
    const a = {
      rules: [
        { name: 'web', action: 'allow' },
        { name: 'dns', action: 'allow' },
      ],
    };
    const b = {
      rules: [
        { name: 'block', action: 'deny' },
        { name: 'web', action: 'allow' },
        { name: 'dns', action: 'deny' },
      ],
    };
    expect(diffConfig(a, b)).toEqual([
      { path: 'rules[name=dns].action', kind: 'changed', from: 'allow', to: 'deny' },
      { path: 'rules[name=block]', kind: 'added', to: { name: 'block', action: 'deny' } },
    ]);
  });

  it('reports a change of rule order on its own (first match wins)', () => {
    const a = { rules: [{ name: 'a' }, { name: 'b' }] };
    const b = { rules: [{ name: 'b' }, { name: 'a' }] };
    expect(diffConfig(a, b)).toEqual([{ path: 'rules', kind: 'reordered', from: ['a', 'b'], to: ['b', 'a'] }]);
  });

  it('compares unnamed lists by index', () => {
    expect(diffConfig({ t: ['10.0.0.1', '10.0.0.2'] }, { t: ['10.0.0.1'] })).toEqual([{ path: 't[1]', kind: 'removed', from: '10.0.0.2' }]);
  });

  it('formats one line per difference', () => {
    const text = formatDiff(diffConfig({ a: 1, r: [{ name: 'x' }] }, { a: 2, r: [] }), { from: 'running', to: 'peer' });
    expect(text.split('\n')).toEqual(['--- running', '+++ peer', '~ a: 1 -> 2', '- r[name=x]: {"name":"x"}']);
    expect(formatDiff([], { from: 'a', to: 'b' })).toBe('no differences between a and b');
  });
});
