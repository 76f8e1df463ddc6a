// From a YAML file to a validated TandemConfig. parseConfig is pure (text in, config or
// ConfigError out); loadConfig adds the file read and the directory relative paths resolve against.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';
import { validateConfig } from './schema.js';
import type { ConfigIssue, TandemConfig } from './types.js';

/** A config is a page or two of YAML; anything this big is the wrong file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** YAML aliases can expand a small file into a huge tree ("billion laughs"); this bounds it. */
const MAX_ALIAS_COUNT = 100;

const MAX_YAML_ISSUES = 10;

export interface ParseOptions {
  /** Label for messages: usually the file path. Default "<config>". */
  source?: string;
  /** Directory that relative paths (keyFile, tokenFile, the API's TLS files, stateDir, unix: listeners) resolve against; without it they stay as written. */
  baseDir?: string;
}

/** Parses and validates config text; throws ConfigError with every issue found. */
export function parseConfig(text: string, opts: ParseOptions = {}): TandemConfig {
  const source = opts.source ?? '<config>';
  const raw = parseYaml(text, source);
  const result = validateConfig(raw);
  if (!result.ok) throw new ConfigError(result.issues, source);
  return opts.baseDir === undefined ? result.config : resolvePaths(result.config, opts.baseDir);
}

/** Reads, parses and validates a config file; relative paths in it resolve against its directory. */
export function loadConfig(path: string): TandemConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ path: '(file)', value: size, expected: `a file of at most ${MAX_CONFIG_BYTES} bytes` }], path);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new ConfigError([{ path: '(file)', value: path, expected: `a readable file (${code})` }], path, { cause: err });
  }
  return parseConfig(text, { source: path, baseDir: dirname(resolve(path)) });
}

/** YAML text -> a plain tree, with the same bounds and error reporting as a config file. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    // one broken bracket can cascade into hundreds of errors; the first ones locate it
    const issues = doc.errors.slice(0, MAX_YAML_ISSUES).map((e) => yamlIssue(e, text));
    if (doc.errors.length > MAX_YAML_ISSUES)
      issues.push({ path: '(yaml)', value: undefined, expected: `valid YAML (${doc.errors.length - MAX_YAML_ISSUES} more errors not shown)` });
    throw new ConfigError(issues, source);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new ConfigError([aliasIssue(firstLine(String((err as Error).message)))], source, { cause: err });
  }
  // an alias inside its own anchor builds a cyclic tree, which no config shape can hold
  if (hasCycle(raw, new Set())) throw new ConfigError([aliasIssue('an alias refers to its own anchor')], source);
  return raw;
}

function aliasIssue(why: string): ConfigIssue {
  return { path: '(document)', value: undefined, expected: `a document whose aliases expand to a finite tree (${why})` };
}

function hasCycle(value: unknown, ancestors: Set<object>): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children = value instanceof Map ? [...value.values()] : Object.values(value);
  const found = children.some((child) => hasCycle(child, ancestors));
  ancestors.delete(value);
  return found;
}

function yamlIssue(err: { code: string; message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }, text: string): ConfigIssue {
  const pos = err.linePos?.[0];
  // the library's message repeats the position and draws a caret picture: keep the sentence
  const sentence = firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '');
  if (!pos) return { path: '(yaml)', value: undefined, expected: `valid YAML: ${sentence}` };
  const lineText = text.split(/\r?\n/)[pos.line - 1]?.trim();
  return {
    path: `line ${pos.line}, column ${pos.col}`,
    value: lineText ? lineText : undefined,
    expected: `valid YAML: ${sentence}`,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** Relative paths of the device half, resolved against the config file's directory. */
export function resolvePaths(config: TandemConfig, baseDir: string): TandemConfig {
  const file = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const listen = (l: string) => (l.startsWith('unix:') ? `unix:${file(l.slice('unix:'.length))}` : l);
  const d = config.device;
  const tls = d.api.tls && {
    certFile: file(d.api.tls.certFile),
    keyFile: file(d.api.tls.keyFile),
    ...(d.api.tls.clientCaFile === undefined ? {} : { clientCaFile: file(d.api.tls.clientCaFile) }),
  };
  return {
    ...config,
    device: {
      ...d,
      ha: { ...d.ha, keyFile: file(d.ha.keyFile) },
      api: { ...d.api, listen: listen(d.api.listen), tokenFile: file(d.api.tokenFile), ...(tls ? { tls } : {}) },
      metrics: { listen: listen(d.metrics.listen) },
      stateDir: file(d.stateDir),
    },
  };
}
