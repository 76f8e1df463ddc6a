import { describe, expect, test } from 'vitest';
import { errorOf } from './fixture.js';

describe('YAML syntax errors carry line and column', () => {
  test('an unclosed flow sequence', () => {
    const err = errorOf('device:\n  id: 0\n  interfaces: [lan, wan\nshared: {}\n');
    expect(err.issues).toHaveLength(1);
    const [issue] = err.issues;
    expect(issue.path).toMatch(/^line \d+, column \d+$/);
    expect(issue.expected).toMatch(/^valid YAML: Flow sequence .* end with a \]$/);
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message).toMatch(/^test\.yaml: line \d+, column \d+: /);
  });

  test('a duplicate key is an error at its own line (not a silent overwrite)', () => {
    const err = errorOf('device:\n  id: 0\n  id: 1\nshared: {}\n');
    expect(err.issues).toEqual([{ path: 'line 3, column 3', value: 'id: 1', expected: 'valid YAML: Map keys must be unique' }]);
    expect(err.message).toBe('test.yaml: line 3, column 3: got "id: 1", expected valid YAML: Map keys must be unique');
  });

  test('bad indentation', () => {
    const err = errorOf('device:\n  id: 0\n name: fw-a\nshared: {}\n');
    expect(err.issues[0].path).toBe('line 3, column 1');
    expect(err.issues[0].value).toBe('name: fw-a');
    expect(err.issues[0].expected).toContain('valid YAML: ');
  });

  test('several syntax errors are all reported', () => {
    const err = errorOf('a: 1\na: 2\nb: 1\nb: 2\n');
    expect(err.issues.map((i) => i.path)).toEqual(['line 2, column 1', 'line 4, column 1']);
  });

  test('an alias that contains itself is an error, not a crash', () => {
    const err = errorOf('device: &a [*a]\nshared: {}\n');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].path).toBe('(document)');
    expect(err.issues[0].expected).toMatch(/^a document whose aliases expand to a finite tree/);
  });

  test('alias expansion beyond the bound is refused', () => {
    // each level doubles: 2^20 nodes from a few lines
    const lines = ['a0: &a0 [x, x]'];
    for (let i = 1; i <= 20; i++) lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);
    const err = errorOf(`${lines.join('\n')}\n`);
    expect(err.issues[0].path).toBe('(document)');
  });

  test('a cascade of errors is cut to the first ten and a count', () => {
    const n = 1000;
    const text = `a:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}b:`).join('\n')}\n`;
    const err = errorOf(text);
    expect(err.issues).toHaveLength(11);
    expect(err.issues[10].path).toBe('(yaml)');
    expect(err.issues[10].expected).toMatch(/^valid YAML \(\d+ more errors not shown\)$/);
  });

  test('a top level that is not a mapping', () => {
    const err = errorOf('- device\n- shared\n');
    expect(err.issues).toEqual([{ path: '', value: ['device', 'shared'], expected: 'a mapping with a device: half and a shared: half' }]);
  });
});
