// Mutations of the example config files (deploy/*.yaml, deploy/lab/*.yaml) for the loader
// fuzzers: byte noise on the text, and YAML-aware edits (lines deleted, duplicated, re-indented;
// scalars replaced by edge values; anchors and aliases; keys renamed) that get past the YAML
// parser and reach the schema.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../src/lab/lab.js';
import { mutateBytes } from './mutate.js';
import type { Prng } from './prng.js';

/** tandem central's inventory example: not a box config (centralInventoryExample). */
export const CENTRAL_EXAMPLE = 'central.yaml';

export function exampleConfigs(): { name: string; text: string }[] {
  const root = join(repoRoot(), 'deploy'); // also run compiled from dist/ (bench/fuzz.ts)
  const out: { name: string; text: string }[] = [];
  for (const dir of ['', 'lab']) {
    for (const f of readdirSync(join(root, dir))) {
      if (f.endsWith('.yaml') && !(dir === '' && f === CENTRAL_EXAMPLE))
        out.push({ name: join('deploy', dir, f), text: readFileSync(join(root, dir, f), 'utf8') });
    }
  }
  return out;
}

/** deploy/central.yaml, tandem central's inventory. */
export function centralInventoryExample(): { name: string; text: string } {
  return { name: join('deploy', CENTRAL_EXAMPLE), text: readFileSync(join(repoRoot(), 'deploy', CENTRAL_EXAMPLE), 'utf8') };
}

const EDGE_SCALARS = [
  '-1',
  '0',
  '256',
  '65536',
  '4294967296',
  '1e309',
  '-0',
  '0x10',
  '1.5',
  'NaN',
  '.inf',
  'null',
  '~',
  'true',
  '""',
  "''",
  '[]',
  '{}',
  '[1, [2, [3]]]',
  'x'.repeat(5000),
  '"\\u0000"',
  '10.0.1.1/33',
  '300.1.1.1',
  '::1',
  'unix:',
  '0.0.0.0:0',
  '!!binary AAAA',
  '&a [*a]',
  '*undefined_alias',
  '{a: 1, a: 2}',
  '2026-01-01',
  '? complex',
  '|\n  block',
  '"\\ud800"',
];

const EDGE_KEYS = ['__proto__', 'constructor', 'prototype', 'extra', '', '"a b"', 'device', 'shared'];

/** One mutated config text. */
export function mutateConfig(rng: Prng, text: string, corpus: readonly string[]): string {
  const n = rng.range(1, 3);
  let t = text;
  for (let i = 0; i < n; i++) t = mutateOnceText(rng, t, corpus);
  return t;
}

function mutateOnceText(rng: Prng, text: string, corpus: readonly string[]): string {
  const lines = text.split('\n');
  const at = rng.int(lines.length);
  switch (rng.int(10)) {
    case 0:
      return mutateBytes(rng, Buffer.from(text), { maxLen: 1 << 20, corpus: corpus.map((c) => Buffer.from(c)) }).toString('utf8');
    case 1:
      lines.splice(at, 1);
      break;
    case 2:
      lines.splice(at, 0, lines[rng.int(lines.length)]);
      break;
    case 3: {
      const indent = rng.pick(['', ' ', '   ', '\t', '      ']);
      lines[at] = indent + lines[at].trimStart();
      break;
    }
    case 4:
    case 5:
    case 6: {
      // a scalar value (after "key: " or inside a flow mapping) replaced by an edge value
      const m = /^(.*?:\s*)([^\s{[][^,}\]]*)(.*)$/.exec(lines[at]);
      if (m) lines[at] = `${m[1]}${rng.pick(EDGE_SCALARS)}${m[3]}`;
      else lines[at] = `${lines[at]} ${rng.pick(EDGE_SCALARS)}`;
      break;
    }
    case 7: {
      const m = /^(\s*)([A-Za-z][A-Za-z0-9]*)(:.*)$/.exec(lines[at]);
      if (m) lines[at] = `${m[1]}${rng.pick(EDGE_KEYS)}${m[3]}`;
      break;
    }
    case 8: {
      // splice a part of another example in
      const other = rng.pick(corpus).split('\n');
      const from = rng.int(other.length);
      lines.splice(at, rng.int(4), ...other.slice(from, from + rng.range(1, 10)));
      break;
    }
    default:
      // anchors and aliases: the alias-expansion bound and the cycle check
      lines[at] = `${lines[at]} ${rng.pick(['&x', '*x', '&x [*x, *x, *x, *x]', '<<: *x', '!!map', '!!str', '!custom'])}`;
      break;
  }
  return lines.join('\n');
}
