// The one error a config file can produce. It carries every issue found, not only the first:
// an operator fixing a file wants the whole list in one run of `tandem config validate`.
import type { ConfigIssue } from './types.js';

export type { ConfigIssue };

export class ConfigError extends Error {
  readonly code = 'config-invalid' as const;
  readonly issues: ConfigIssue[];
  /** The file (or other label) the config came from, as given to the loader. */
  readonly source: string;

  constructor(issues: ConfigIssue[], source: string, options?: { cause?: unknown }) {
    super(formatConfigIssues(issues, source), options);
    this.name = 'ConfigError';
    this.issues = issues;
    this.source = source;
  }
}

/** JSON for a value in a message; `undefined` (a missing key) reads as "missing". */
export function formatIssueValue(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined; // circular (YAML aliases can build one): say what it is instead
  }
  if (text === undefined) text = typeof value === 'object' && value !== null ? '(a structure that refers to itself)' : `(a ${typeof value})`;
  // a whole mapping pasted into an error line helps nobody; keep the start of it
  const maxChars = 120;
  return text.length > maxChars ? `${text.slice(0, maxChars - 3)}...` : text;
}

/** One line per issue: `<source>: <path>: got <value as JSON>, expected <expected>`. */
export function formatConfigIssue(issue: ConfigIssue, source: string): string {
  const got = issue.value === undefined ? 'missing' : `got ${formatIssueValue(issue.value)}`;
  return `${source}: ${issue.path || '(top level)'}: ${got}, expected ${issue.expected}`;
}

export function formatConfigIssues(issues: readonly ConfigIssue[], source: string): string {
  return issues.map((issue) => formatConfigIssue(issue, source)).join('\n');
}

/**
 * Key path in the notation operators type: `shared.floatingIps[1].address`; keys that are not
 * plain words are quoted (`shared.zones["my zone"]`).
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const text = String(key);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text)) out += out === '' ? text : `.${text}`;
      else out += `[${JSON.stringify(text)}]`;
    }
  }
  return out;
}
