// central.yaml: what central listens on, where it keeps its history, and the pairs it watches.
// parseInventory is pure (text in, Inventory or ConfigError out); loadInventory adds the file
// read and resolves relative paths against the file's directory. Every bad value is a ConfigIssue
// naming its key, the same errors `tandem config validate` prints for a box's config.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseApiUrl } from '../api/client.js';
import { ConfigError } from '../config/errors.js';
import { parseYaml } from '../config/load.js';
import { issuesFromZod, obj } from '../config/schema.js';
import type { ConfigIssue } from '../config/types.js';
import { parseListen } from '../net/http-listen.js';

/** An inventory is a page of YAML even for a hundred pairs; anything this big is the wrong file. */
const MAX_INVENTORY_BYTES = 1024 * 1024;
const MAX_PAIRS = 1000;
const MAX_LABELS = 32;

export const DEFAULT_POLL_INTERVAL_MS = 2000;
export const DEFAULT_POLL_TIMEOUT_MS = 1500;
export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_RETENTION_MAX_EVENTS = 100_000;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const name = (what: string) =>
  z.string({ error: `${what}: letters, digits, ".", "_" or "-", at most 63` }).regex(NAME_RE, `${what}: letters, digits, ".", "_" or "-", at most 63`);
const path = z.string({ error: 'a file path' }).min(1, 'a file path').max(4096, 'a path of at most 4096 characters');
const int = (min: number, max: number) =>
  z
    .number({ error: `an integer from ${min} to ${max}` })
    .int(`an integer from ${min} to ${max}`)
    .min(min, `an integer from ${min} to ${max}`)
    .max(max, `an integer from ${min} to ${max}`);

const apiUrl = z.string({ error: 'an API URL: http://host:port, https://host:port or unix:/absolute/path' }).refine(
  (url) => {
    try {
      parseApiUrl(url);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'an API URL: http://host:port, https://host:port or unix:/absolute/path' },
);

const listen = z.string({ error: '"host:port" or "unix:/absolute/path"' }).refine(
  (text) => {
    try {
      parseListen(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: '"host:port" (port 0-65535) or "unix:/absolute/path"' },
);

const member = obj({
  name: name('a member name'),
  api: apiUrl,
  tokenFile: path,
  // the box API over https:// (docs/security.md): the CA its certificate chains to, and for mutual
  // TLS central's client certificate and key; all read by the API client at start
  caFile: path.optional(),
  certFile: path.optional(),
  keyFile: path.optional(),
  // reach the member through this unix socket (a relay or tunnel into its management network, as
  // the lab's per-box relays); TLS still runs end to end and verifies the api URL's host
  socket: path.optional(),
});

const pair = obj({
  name: name('a pair name'),
  labels: z
    .record(
      z.string().regex(NAME_RE, 'a label key: letters, digits, ".", "_" or "-"'),
      z.string({ error: 'a label value (text)' }).max(200, 'at most 200 characters'),
    )
    .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
    .optional(),
  members: z.array(member, { error: 'a list of the two members' }).length(2, 'exactly two members (the two boxes of the pair)'),
  // the config template's ${name} values for this pair (template.ts), over the template's own
  variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name: letters, digits and _'), z.unknown()).optional(),
});

const inventorySchema = obj({
  listen,
  // central's own listener over HTTPS (docs/central.md "HTTPS"), as the box's device.api.tls
  tls: obj({ certFile: path, keyFile: path, clientCaFile: path.optional() }).optional(),
  tokenFile: path,
  database: path,
  pollIntervalMs: int(100, 3_600_000).default(DEFAULT_POLL_INTERVAL_MS),
  pollTimeoutMs: int(50, 60_000).default(DEFAULT_POLL_TIMEOUT_MS),
  retention: obj({
    days: int(1, 3650).default(DEFAULT_RETENTION_DAYS),
    maxEvents: int(100, 100_000_000).default(DEFAULT_RETENTION_MAX_EVENTS),
  }).default({ days: DEFAULT_RETENTION_DAYS, maxEvents: DEFAULT_RETENTION_MAX_EVENTS }),
  pairs: z.array(pair, { error: 'a list of pairs' }).min(1, 'at least one pair').max(MAX_PAIRS, `at most ${MAX_PAIRS} pairs`),
});

export type Inventory = z.infer<typeof inventorySchema>;
export type PairEntry = Inventory['pairs'][number];
export type MemberEntry = PairEntry['members'][number];

/** Parses and validates inventory text; throws ConfigError with every issue found. */
export function parseInventory(text: string, source = '<central.yaml>'): Inventory {
  const raw = parseYaml(text, source);
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, raw), source);
  const issues = checkInventory(parsed.data);
  if (issues.length > 0) throw new ConfigError(issues, source);
  return parsed.data;
}

/** What the schema cannot say alone: unique names, TLS files that fit the URL, a timeout within the interval. */
export function checkInventory(inv: Inventory): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  inv.pairs.forEach((p, i) => {
    if (seen.has(p.name)) issues.push({ path: `pairs[${i}].name`, value: p.name, expected: 'a pair name not used by another pair' });
    seen.add(p.name);
    if (p.members[0].name === p.members[1].name)
      issues.push({ path: `pairs[${i}].members[1].name`, value: p.members[1].name, expected: 'a name other than the first member' });
    p.members.forEach((m, j) => issues.push(...tlsIssues(m, `pairs[${i}].members[${j}]`)));
  });
  if (inv.tls !== undefined && inv.listen.startsWith('unix:'))
    issues.push({ path: 'tls', value: inv.listen, expected: 'no tls with a unix: listener (HTTPS needs "host:port")' });
  if (inv.pollTimeoutMs > inv.pollIntervalMs) {
    issues.push({ path: 'pollTimeoutMs', value: inv.pollTimeoutMs, expected: `at most pollIntervalMs (${inv.pollIntervalMs})` });
  }
  return issues;
}

/** TLS files only for an https:// member, and a client certificate only with its key. */
function tlsIssues(m: MemberEntry, at: string): ConfigIssue[] {
  const given = (['caFile', 'certFile', 'keyFile'] as const).filter((k) => m[k] !== undefined);
  if (given.length > 0 && !m.api.startsWith('https://')) {
    return given.map((k) => ({ path: `${at}.${k}`, value: m[k], expected: `no TLS file for a member whose api is not https:// (${m.api})` }));
  }
  if ((m.certFile === undefined) !== (m.keyFile === undefined)) {
    const missing = m.certFile === undefined ? 'certFile' : 'keyFile';
    return [{ path: `${at}.${missing}`, value: undefined, expected: 'a client certificate and its key together (mutual TLS needs both)' }];
  }
  return [];
}

/** Reads, parses and validates an inventory file; relative paths in it resolve against its directory. */
export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_INVENTORY_BYTES) throw new ConfigError([{ path: '(file)', value: size, expected: `a file of at most ${MAX_INVENTORY_BYTES} bytes` }], file);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ path: '(file)', value: file, expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unknown'})` }], file, {
      cause: err,
    });
  }
  return resolveInventoryPaths(parseInventory(text, file), dirname(resolve(file)));
}

export function resolveInventoryPaths(inv: Inventory, baseDir: string): Inventory {
  const f = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const l = (x: string) => (x.startsWith('unix:') ? `unix:${f(x.slice('unix:'.length))}` : x);
  return {
    ...inv,
    listen: l(inv.listen),
    ...(inv.tls !== undefined
      ? {
          tls: {
            certFile: f(inv.tls.certFile),
            keyFile: f(inv.tls.keyFile),
            ...(inv.tls.clientCaFile !== undefined ? { clientCaFile: f(inv.tls.clientCaFile) } : {}),
          },
        }
      : {}),
    tokenFile: f(inv.tokenFile),
    database: inv.database === ':memory:' ? inv.database : f(inv.database),
    pairs: inv.pairs.map((p) => ({
      ...p,
      members: p.members.map((m) => ({
        ...m,
        tokenFile: f(m.tokenFile),
        ...(m.caFile !== undefined ? { caFile: f(m.caFile) } : {}),
        ...(m.certFile !== undefined ? { certFile: f(m.certFile) } : {}),
        ...(m.keyFile !== undefined ? { keyFile: f(m.keyFile) } : {}),
        ...(m.socket !== undefined ? { socket: f(m.socket) } : {}),
      })),
    })),
  };
}
