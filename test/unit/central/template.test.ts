// tandem central's config template (src/central/template.ts): variables substituted (whole values
// keep their type), keys laid over a pair's running shared half (ha one level deep), the result
// parsed and defaulted as a box would run it; the pair's own keys refused; every problem named.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { parseSharedShape } from '../../../src/config/schema.js';
import { diffConfig } from '../../../src/config/diff.js';
import { parseTemplate, renderTemplate, TemplateError } from '../../../src/central/template.js';

const running = parseConfig(readFileSync(new URL('../../../deploy/lab/fwa.yaml', import.meta.url), 'utf8'), { source: 'fwa.yaml' }).shared;

const TEMPLATE = `
variables:
  webPorts: [tcp/80, tcp/443, tcp/8443]
  site: dc1
shared:
  policy:
    default: deny
    rules:
      - { name: "web-\${site}", from: [trust], to: [untrust], service: "\${webPorts}", action: allow }
      - { name: dns, from: [trust], to: [untrust], destination: ["\${dns}"], service: [udp/53], action: allow }
  ha:
    timers: { profile: recommended }
`;

describe('central template', () => {
  it("renders a pair: its variables over the template's, the template's keys over its running config", () => {
    const t = parseTemplate(TEMPLATE, 'fleet.yaml');
    const r = renderTemplate(t, { dns: '10.0.2.53/32', site: 'dc2' }, running);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.shared.policy.rules.map((x) => x.name)).toEqual(['web-dc2', 'dns']);
    expect(r.shared.policy.rules[0].service).toEqual(['tcp/80', 'tcp/443', 'tcp/8443']);
    expect(r.shared.policy.rules[1].destination).toEqual(['10.0.2.53/32']);
    // ha merged one level deep: the timers change, the pair's own group id and mode stay
    expect(r.shared.ha.timers.profile).toBe('recommended');
    expect(r.shared.ha.groupId).toBe(running.ha.groupId);
    expect(r.shared.floatingIps).toEqual(running.floatingIps);
    // the commit file is the shared half alone, and reads back as what was rendered
    const back = parse(r.text) as { shared: unknown };
    expect(Object.keys(back)).toEqual(['shared']);
    const again = parseSharedShape(back.shared);
    expect(again.ok && again.shared).toEqual(r.shared);
    // the diff against the running config names only what the template changed
    const paths = diffConfig(running, r.shared).map((d) => d.path);
    expect(paths.every((p) => p.startsWith('policy') || p.startsWith('ha.timers'))).toBe(true);
    expect(paths.length).toBeGreaterThan(0);
  });

  it('a template that changes nothing renders the running config exactly', () => {
    const t = parseTemplate('shared:\n  zones: { trust: [lan], untrust: [wan] }\n', 't.yaml');
    const r = renderTemplate(t, {}, running);
    expect(r.ok && diffConfig(running, r.shared)).toEqual([]);
  });

  it('names an undefined variable and a list spliced into text, with their paths', () => {
    const t = parseTemplate(TEMPLATE, 'fleet.yaml');
    const r = renderTemplate(t, { site: 'x' }, running);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues.map((i) => i.path)).toEqual(['shared.policy.rules[1].destination[0]']);
    const spliced = renderTemplate(parseTemplate('shared:\n  policy: { default: "deny-${webPorts}" }\n', 't'), { webPorts: [1] }, running);
    expect(!spliced.ok && spliced.issues[0].expected).toMatch(/a string or number variable/);
  });

  it("refuses the pair's own keys and a malformed file, naming each problem", () => {
    expect(() => parseTemplate('shared:\n  ha: { groupId: 7, mode: active-active }\n', 'bad.yaml')).toThrow(TemplateError);
    const thrown = (() => {
      try {
        parseTemplate('shared:\n  ha: { groupId: 7, mode: active-active }\nextra: 1\n', 'bad.yaml');
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(thrown).toBeInstanceOf(TemplateError);
    expect((thrown as TemplateError).problems).toEqual([
      'unknown key extra (expected shared, variables)',
      expect.stringMatching(/^shared\.ha\.mode: set on each pair's boxes/),
      expect.stringMatching(/^shared\.ha\.groupId: set on each pair's boxes/),
    ]);
    expect(() => parseTemplate('[1, 2]', 'list.yaml')).toThrow(/expected a mapping/);
    expect(() => parseTemplate('shared: {}', 'empty.yaml')).toThrow(/shared: a mapping/);
    expect(() => parseTemplate('variables: { "bad name": 1 }\nshared: { zones: {} }', 'v.yaml')).toThrow(/variables.bad name/);
  });

  it('a rendered value the schema refuses comes back as the issue a box would give', () => {
    const r = renderTemplate(parseTemplate('shared:\n  policy: { default: "${d}", rules: [] }\n', 't'), { d: 'maybe' }, running);
    expect(!r.ok && r.issues.map((i) => i.path)).toEqual(['shared.policy.default']);
  });
});
