// The identity of a shared config: both peers compute it over the parsed, defaulted shared half,
// so two files that differ only in key order, comments or spelled-out defaults hash the same.
import { createHash } from 'node:crypto';
import type { SharedConfig } from './types.js';

/** JSON with object keys sorted at every level; undefined members are left out, as JSON does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; in an array JSON writes null for them
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** sha256 hex of the canonical JSON of the shared half. */
export function sharedConfigHash(shared: SharedConfig): string {
  return createHash('sha256').update(canonicalJson(shared)).digest('hex');
}
