// Mutations of the example configs through the loader: each one loads, or fails with a
// ConfigError that lists at least one issue (key path, value, expectation); never another
// exception, never a hang. CI runs 1,000 (FUZZ_CONFIG_CASES=10000 for more); bench/fuzz.ts runs 10,000.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { parseInventory } from '../../src/central/inventory.js';
import { centralInventoryExample, exampleConfigs, mutateConfig } from './lib/config.js';
import { describeInput, Prng, seedFromEnv } from './lib/prng.js';

const SEED = seedFromEnv(0xc0f1);
const CASES = Number(process.env.FUZZ_CONFIG_CASES ?? 1000);

describe('config fuzzing', () => {
  it(`${CASES} mutations of deploy/central.yaml (seed ${SEED}): an inventory or a ConfigError with issues`, () => {
    const e = centralInventoryExample();
    expect(() => parseInventory(e.text, e.name)).not.toThrow();
    const rng = new Prng(SEED ^ 0x5eed);
    for (let i = 0; i < CASES; i++) {
      const text = mutateConfig(rng, e.text, [e.text]);
      try {
        parseInventory(text, e.name);
      } catch (err) {
        if (!(err instanceof ConfigError))
          throw new Error(describeInput(`parseInventory threw ${(err as Error)?.stack ?? String(err)}`, SEED, i, text), { cause: err });
        if (err.issues.length === 0 || err.issues.some((x) => typeof x.path !== 'string' || typeof x.expected !== 'string' || x.expected === ''))
          throw new Error(describeInput(`ConfigError without usable issues: ${JSON.stringify(err.issues)}`, SEED, i, text), { cause: err });
      }
    }
  });

  it(`${CASES} mutations of deploy/*.yaml and deploy/lab/*.yaml (seed ${SEED}): a config or a ConfigError with issues`, () => {
    const examples = exampleConfigs();
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const corpus = examples.map((e) => e.text);
    for (const e of examples) expect(() => parseConfig(e.text, { source: e.name, baseDir: '/etc/tandem' })).not.toThrow();
    const rng = new Prng(SEED);
    const results: Record<string, number> = {};
    let maxMs = 0;
    for (let i = 0; i < CASES; i++) {
      const e = rng.pick(examples);
      const text = mutateConfig(rng, e.text, corpus);
      const t0 = performance.now();
      try {
        parseConfig(text, { source: e.name, baseDir: '/etc/tandem' });
        results.loaded = (results.loaded ?? 0) + 1;
      } catch (err) {
        if (!(err instanceof ConfigError))
          throw new Error(describeInput(`parseConfig threw ${(err as Error)?.stack ?? String(err)}`, SEED, i, text), { cause: err });
        if (err.issues.length === 0 || err.issues.some((x) => typeof x.path !== 'string' || typeof x.expected !== 'string' || x.expected === '')) {
          throw new Error(describeInput(`ConfigError without usable issues: ${JSON.stringify(err.issues)}`, SEED, i, text), { cause: err });
        }
        const where =
          err.issues[0].path.startsWith('line ') || err.issues[0].path === '(yaml)'
            ? 'yaml'
            : err.issues[0].path.startsWith('(')
              ? err.issues[0].path
              : 'schema';
        results[where] = (results[where] ?? 0) + 1;
      }
      maxMs = Math.max(maxMs, performance.now() - t0);
    }
    // both halves of the loader were reached, and some mutations are still valid configs
    expect(results.yaml).toBeGreaterThan(0);
    expect(results.schema).toBeGreaterThan(0);
    expect(results.loaded).toBeGreaterThan(0);
    // hang detection, not speed: one config is a page of YAML
    expect(maxMs).toBeLessThan(10_000);
  });

  it('pathological documents: deep nesting, alias bombs, huge scalars, control characters', () => {
    const lab = exampleConfigs().find((e) => e.name.endsWith('fwa.yaml'))!.text;
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    const cases: [string, string][] = [
      ['deep flow sequence', `device: ${'['.repeat(5000)}${']'.repeat(5000)}`],
      ['deep flow mapping', `device: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}`],
      ['deep block mapping', Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
      ['billion laughs', laughs],
      ['self-referencing alias', 'device: &d { self: *d }'],
      ['a 900 KB scalar', `device: { name: "${'x'.repeat(900_000)}" }`],
      ['NUL and control bytes', lab.replace('fw-a', 'fw\u0000a\u0007')],
      ['a byte order mark and CRLF', `\ufeff${lab.replace(/\n/g, '\r\n')}`],
      ['tabs for indentation', lab.replace(/^ {2}/gm, '\t')],
      ['two documents', `${lab}\n---\n${lab}`],
      ['only a comment', '# nothing'],
      ['empty', ''],
      ['a scalar document', '42'],
      ['a sequence document', '- device\n- shared'],
      ['prototype keys', lab.replace('device:', '__proto__:\n  polluted: true\ndevice:')],
    ];
    for (const [name, text] of cases) {
      let err: unknown = null;
      try {
        parseConfig(text, { source: name });
      } catch (e) {
        err = e;
      }
      // a BOM and CRLF line ends are still the lab's config; everything else must be refused
      if (err === null) {
        expect(name, `${name} loaded`).toBe('a byte order mark and CRLF');
        continue;
      }
      expect(err, `${name}: ${err instanceof Error ? err.message : JSON.stringify(err)}`).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.length, name).toBeGreaterThan(0);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
