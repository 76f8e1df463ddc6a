// tandem central's config template (docs/central.md "Config push"): the shared config every pair
// gets (policy, NAT, zones, monitors, timers, ...), with per-pair variables, laid over each pair's
// running shared half. Panorama's device groups and templates, kept simple:
//
//   variables:            defaults; a pair's `variables` in the inventory override them
//     dns: 10.0.2.53
//   shared:               the keys this template sets; every other key stays the pair's own
//     policy: { ... }
//     ha: { timers: { profile: recommended } }    (ha merges one level deep)
//
// A string that is exactly `${name}` takes the variable's value as it is (a number, a list); one
// that contains `${name}` gets its text. The device half is never templated (it is each box's), and
// neither is what makes a pair itself (ha.mode, ha.groupId, ha.virtualMac: a restart each).
//
// Pure: text and objects in, a rendered shared half (parsed and defaulted, as the box would run
// it) or every problem out. The pair's own box validates the result against its device half.
import { parse as parseYaml, stringify } from 'yaml';
import { parseSharedShape } from '../config/schema.js';
import type { ConfigIssue, SharedConfig } from '../config/types.js';

export interface FleetTemplate {
  variables: Record<string, unknown>;
  shared: Record<string, unknown>;
}

/** ha keys a template may not set: they make the pair what it is, and each needs a restart. */
export const PAIR_OWN_HA_KEYS: readonly string[] = ['mode', 'groupId', 'virtualMac'];

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_REF = /\$\{([^}]*)\}/g;
const WHOLE_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export class TemplateError extends Error {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super(`${source}: ${problems.join('; ')}`);
  }
}

/** Parses a template file; throws TemplateError naming every problem. */
export function parseTemplate(text: string, source: string): FleetTemplate {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new TemplateError([`not YAML: ${err instanceof Error ? err.message : String(err)}`], source);
  }
  if (!isObject(raw)) throw new TemplateError(['expected a mapping with shared: (and optionally variables:)'], source);
  const problems: string[] = [];
  for (const k of Object.keys(raw)) if (k !== 'shared' && k !== 'variables') problems.push(`unknown key ${k} (expected shared, variables)`);
  const shared = raw.shared;
  const variables = raw.variables ?? {};
  if (!isObject(shared) || Object.keys(shared).length === 0) problems.push('shared: a mapping of the shared keys the template sets');
  if (!isObject(variables)) problems.push('variables: a mapping of name: value');
  else for (const name of Object.keys(variables)) if (!VAR_NAME.test(name)) problems.push(`variables.${name}: a name of letters, digits and _`);
  if (isObject(shared)) problems.push(...pairOwnKeys(shared));
  if (problems.length > 0) throw new TemplateError(problems, source);
  return { variables: variables as Record<string, unknown>, shared: shared as Record<string, unknown> };
}

function pairOwnKeys(shared: Record<string, unknown>): string[] {
  if (shared.ha === undefined) return [];
  if (!isObject(shared.ha)) return ['shared.ha: a mapping (its keys merge into each pair’s ha)'];
  return PAIR_OWN_HA_KEYS.filter((k) => k in (shared.ha as object)).map(
    (k) => `shared.ha.${k}: set on each pair's boxes, never by a template (it makes the pair what it is, and needs a restart)`,
  );
}

export type Rendered = { ok: true; shared: SharedConfig; text: string } | { ok: false; issues: ConfigIssue[] };

/**
 * The template for one pair: its variables substituted (the pair's over the template's defaults),
 * its keys laid over `running` (the pair's running shared half), parsed and defaulted. `text` is
 * the commit file: `shared:` alone.
 */
export function renderTemplate(t: FleetTemplate, pairVariables: Record<string, unknown>, running: SharedConfig): Rendered {
  const vars = { ...t.variables, ...pairVariables };
  const issues: ConfigIssue[] = [];
  const mine = substitute(t.shared, vars, 'shared', issues) as Record<string, unknown>;
  if (issues.length > 0) return { ok: false, issues };
  const base = JSON.parse(JSON.stringify(running)) as Record<string, unknown>;
  const ha = isObject(mine.ha) ? { ...(base.ha as Record<string, unknown>), ...mine.ha } : base.ha;
  const parsed = parseSharedShape({ ...base, ...mine, ha });
  if (!parsed.ok) return parsed;
  return { ok: true, shared: parsed.shared, text: stringify({ shared: parsed.shared }, { lineWidth: 0 }) };
}

/** `${name}` references in every string of `v`, at `path` (issues name it). */
function substitute(v: unknown, vars: Record<string, unknown>, path: string, issues: ConfigIssue[]): unknown {
  if (typeof v === 'string') return substituteString(v, vars, path, issues);
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, vars, `${path}[${i}]`, issues));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars, `${path}.${k}`, issues)]));
  return v;
}

function substituteString(s: string, vars: Record<string, unknown>, path: string, issues: ConfigIssue[]): unknown {
  const whole = WHOLE_REF.exec(s);
  if (whole !== null) {
    if (Object.hasOwn(vars, whole[1])) return vars[whole[1]];
    issues.push({ path, value: s, expected: `a variable the template or the pair defines (no ${whole[1]})` });
    return s;
  }
  return s.replace(VAR_REF, (ref: string, name: string) => {
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    issues.push({
      path,
      value: s,
      expected:
        value === undefined ? `a variable the template or the pair defines (no ${name || '(empty)'})` : `${ref} inside a string: a string or number variable`,
    });
    return ref;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
