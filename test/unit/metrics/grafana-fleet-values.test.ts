// The fleet dashboard's counting and joining queries evaluated by promtool (promql_expr_test) on a
// small fleet whose answers are known: a query can parse and name real metrics and still count
// the wrong thing (a join on the wrong labels, a pair-wide value missing from a member's row).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHOWN_HA_STATES, type ShownHaState } from '../../../src/wire/ha-state.js';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/tandem-fleet.json', import.meta.url));

interface Panel {
  title: string;
  targets?: { refId: string; expr: string }[];
}

/** The query of panel `title`, refId `ref`, with every selection variable at "All". */
function query(title: string, ref = 'A'): string {
  const panels = (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels;
  const expr = panels.find((p) => p.title === title)?.targets?.find((t) => t.refId === ref)?.expr;
  if (!expr) throw new Error(`no query ${ref} in panel "${title}"`);
  return expr.replaceAll('$site', '.+').replaceAll('$pair', '.+').replaceAll('$__rate_interval', '1m');
}

interface Member {
  site: string;
  pair: string;
  member: string;
  state?: ShownHaState; // none: not scraped
  hash?: string;
}

/**
 * edge: one active, one passive, configs agree. core: two actives (split brain), configs differ.
 * aa: active/active, agree. idle: nobody active. dark: neither member scraped.
 */
const FLEET: Member[] = [
  { site: 'dc1', pair: 'edge', member: 'fw-a', state: 'active', hash: 'h1' },
  { site: 'dc1', pair: 'edge', member: 'fw-b', state: 'passive', hash: 'h1' },
  { site: 'dc1', pair: 'core', member: 'core-a', state: 'active', hash: 'h2' },
  { site: 'dc1', pair: 'core', member: 'core-b', state: 'active', hash: 'h3' },
  { site: 'dc2', pair: 'aa', member: 'aa-a', state: 'active-primary', hash: 'h4' },
  { site: 'dc2', pair: 'aa', member: 'aa-b', state: 'active-secondary', hash: 'h4' },
  { site: 'dc2', pair: 'idle', member: 'idle-a', state: 'passive', hash: 'h5' },
  { site: 'dc2', pair: 'idle', member: 'idle-b', state: 'suspended', hash: 'h5' },
  { site: 'dc2', pair: 'dark', member: 'dark-a' },
  { site: 'dc2', pair: 'dark', member: 'dark-b' },
];

function inputSeries(): { series: string; values: string }[] {
  const out: { series: string; values: string }[] = [];
  for (const m of FLEET) {
    const target = `job="tandem",instance="${m.member}:9481",site="${m.site}",pair="${m.pair}",member="${m.member}"`;
    out.push({ series: `up{${target}}`, values: `${m.state ? 1 : 0}x10` });
    if (!m.state) continue;
    for (const s of SHOWN_HA_STATES) out.push({ series: `tandem_ha_state{${target},state="${s}"}`, values: `${s === m.state ? 1 : 0}x10` });
    out.push({ series: `tandem_config_info{${target},version="1",hash="${m.hash}"}`, values: '1x10' });
  }
  return out;
}

/** Expected samples of a per-member query: `value(m)` for every scraped member. */
function perMember(value: (m: Member) => number): { labels: string; value: number }[] {
  return FLEET.filter((m) => m.state).map((m) => ({ labels: `{site="${m.site}",pair="${m.pair}",member="${m.member}"}`, value: value(m) }));
}

const pairOf = (m: Member): Member[] => FLEET.filter((o) => o.pair === m.pair);

describe('fleet dashboard queries on a known fleet', () => {
  it('count what they say: no active, two actives, unreachable, diverged, and the per-pair columns of the table', () => {
    const isActive = (s?: ShownHaState): boolean => s === 'active' || s === 'active-primary' || s === 'active-secondary';
    const tests = [
      { expr: query('Pairs with no active member'), exp_samples: [{ labels: '{}', value: 2 }] }, // idle, and dark (none scraped)
      { expr: query('Pairs with two actives'), exp_samples: [{ labels: '{}', value: 1 }] }, // core
      { expr: query('Members unreachable'), exp_samples: [{ labels: '{}', value: 2 }] }, // dark's two
      { expr: query('Pairs with diverged configs'), exp_samples: [{ labels: '{}', value: 1 }] }, // core
      {
        expr: query('Pairs and their members', 'B'),
        exp_samples: perMember((m) => pairOf(m).filter((o) => isActive(o.state)).length),
      },
      {
        expr: query('Pairs and their members', 'D'),
        exp_samples: perMember((m) => (new Set(pairOf(m).map((o) => o.hash)).size === 1 ? 1 : 0)),
      },
      {
        expr: query('Pairs and their members', 'A'),
        exp_samples: FLEET.filter((m) => m.state).map((m) => ({
          labels: `{site="${m.site}",pair="${m.pair}",member="${m.member}",instance="${m.member}:9481",state="${m.state}"}`,
          value: 1,
        })),
      },
    ].map((t) => ({ ...t, eval_time: '5m' }));
    const dir = mkdtempSync(join(tmpdir(), 'tandem-fleet-values-'));
    try {
      const file = join(dir, 'fleet.test.json');
      // JSON is YAML: promtool reads it as is
      writeFileSync(
        file,
        JSON.stringify({ rule_files: [], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: inputSeries(), promql_expr_test: tests }] }),
      );
      const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      expect(r.error, 'promtool is missing: install the prometheus package (scripts/setup.sh)').toBeUndefined();
      const out = `${r.stdout}${r.stderr}`;
      expect(out, out).toMatch(/SUCCESS/);
      expect(r.status, out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
