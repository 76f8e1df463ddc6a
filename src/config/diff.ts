// A structural diff of two config trees, for `tandem config diff`. Lists of named things (rules,
// path groups) are matched by name, so inserting a rule shows as one added rule rather than every
// later rule "changed"; a change of their order is reported on its own, since the first matching
// rule wins.
import { canonicalJson } from './hash.js';

export interface DiffEntry {
  /** Dotted path; named list members as `rules[name=web]`, other members as `[3]`. */
  path: string;
  kind: 'added' | 'removed' | 'changed' | 'reordered';
  from?: unknown;
  to?: unknown;
}

export function diffConfig(from: unknown, to: unknown, path = ''): DiffEntry[] {
  const out: DiffEntry[] = [];
  walk(from, to, path, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: DiffEntry[]): void {
  if (canonicalJson(a) === canonicalJson(b)) return;
  if (a === undefined) return void out.push({ path, kind: 'added', to: b });
  if (b === undefined) return void out.push({ path, kind: 'removed', from: a });
  if (Array.isArray(a) && Array.isArray(b)) return diffArrays(a, b, path, out);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], path === '' ? k : `${path}.${k}`, out);
    return;
  }
  out.push({ path, kind: 'changed', from: a, to: b });
}

function diffArrays(a: unknown[], b: unknown[], path: string, out: DiffEntry[]): void {
  const namesA = namesOf(a);
  const namesB = namesOf(b);
  if (namesA && namesB) {
    const inA = new Map(a.map((x, i) => [namesA[i], x]));
    const inB = new Map(b.map((x, i) => [namesB[i], x]));
    for (const name of namesA) walk(inA.get(name), inB.get(name), `${path}[name=${name}]`, out);
    for (const name of namesB) if (!inA.has(name)) out.push({ path: `${path}[name=${name}]`, kind: 'added', to: inB.get(name) });
    const commonA = namesA.filter((n) => inB.has(n));
    const commonB = namesB.filter((n) => inA.has(n));
    if (commonA.join('\0') !== commonB.join('\0')) out.push({ path, kind: 'reordered', from: commonA, to: commonB });
    return;
  }
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) walk(i < a.length ? a[i] : undefined, i < b.length ? b[i] : undefined, `${path}[${i}]`, out);
}

/** The `name` of every member when all are objects with distinct string names; otherwise null. */
function namesOf(list: unknown[]): string[] | null {
  const names: string[] = [];
  for (const x of list) {
    if (!isObject(x) || typeof x.name !== 'string') return null;
    names.push(x.name);
  }
  return new Set(names).size === names.length ? names : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One line per entry: `~ policy.rules[name=web].action: "allow" -> "deny"`. */
export function formatDiff(entries: readonly DiffEntry[], labels: { from: string; to: string }): string {
  if (entries.length === 0) return `no differences between ${labels.from} and ${labels.to}`;
  const j = (v: unknown) => JSON.stringify(v);
  const lines = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (const e of entries) {
    if (e.kind === 'added') lines.push(`+ ${e.path}: ${j(e.to)}`);
    else if (e.kind === 'removed') lines.push(`- ${e.path}: ${j(e.from)}`);
    else if (e.kind === 'reordered') lines.push(`~ ${e.path}: order ${j(e.from)} -> ${j(e.to)}`);
    else lines.push(`~ ${e.path}: ${j(e.from)} -> ${j(e.to)}`);
  }
  return lines.join('\n');
}
