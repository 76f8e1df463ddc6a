// What the semantic checks (checks.ts, checks-ipv6.ts, checks-ha-mode.ts) share: collecting
// issues, and the issue of a name that does not exist.
import type { ConfigIssue, DeviceConfig } from './types.js';

/** One check's issues, and the way to add one. */
export function collect(): { issues: ConfigIssue[]; add: (path: string, value: unknown, expected: string) => void } {
  const issues: ConfigIssue[] = [];
  return { issues, add: (path, value, expected) => issues.push({ path, value, expected }) };
}

// Names are looked up with Object.hasOwn, never `in`: a name like toString or constructor passes
// the schema's name rule and is `in` every object, so it would be taken for a defined interface or
// zone (and its "address" read from a function).

/** The issue of a name that is not a logical interface of device.interfaces; null when it is one. */
export function missingInterface(device: DeviceConfig, path: string, ifName: string): ConfigIssue | null {
  if (Object.hasOwn(device.interfaces, ifName)) return null;
  return { path, value: ifName, expected: `a logical interface defined in device.interfaces (${quoteList(Object.keys(device.interfaces))})` };
}

export function nonNull<T>(x: T | null): T[] {
  return x === null ? [] : [x];
}

export function quoteList(names: readonly string[]): string {
  return names.length === 0 ? 'none are defined' : names.join(', ');
}
