// The Prometheus side of tandem checked by Prometheus's own tool: the exposition of a real Metrics
// registry (`promtool check metrics`: naming, units, _total, help text) and the alert rules in
// deploy/prometheus and deploy/prometheus/fleet (`promtool check rules`, and `promtool test rules`
// on their unit tests), and the example Prometheus configs (`promtool check config`, which also
// reads the rule files and the file_sd targets files they name).
// promtool comes from the Debian package `prometheus` (scripts/setup.sh); without it these tests
// fail on purpose: a skipped check would let a broken rule file through CI unnoticed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { busyMetrics } from './busy-registry.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
/** Each rule file with its promtool unit tests (paths under deploy/prometheus). */
const RULE_FILES = [
  { rules: 'tandem-alerts.yml', tests: 'tandem-alerts.test.yml' },
  { rules: 'fleet/tandem-fleet-alerts.yml', tests: 'fleet/tandem-fleet-alerts.test.yml' },
];
/** The example Prometheus configs: one pair; a fleet in one server; a site and the global one federating. */
const SCRAPE_CONFIGS = ['prometheus.yml', 'fleet/prometheus.yml', 'fleet/prometheus-site.yml', 'fleet/prometheus-global.yml'];

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: DEPLOY, timeout: 60_000 });
  if (r.error) {
    throw new Error(`promtool ${args.join(' ')}: ${r.error.message} (install the Debian package "prometheus": scripts/setup.sh)`);
  }
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function busyRegistryText(): Promise<string> {
  return busyMetrics().text();
}

describe('promtool', () => {
  it('finds no problem in the exposition of a busy registry', async () => {
    const text = await busyRegistryText();
    // Every tandem family carries a sample, so promtool sees every name, label and type (some of
    // prom-client's process and Node.js families stay empty: they are checked by name and help).
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
    const own = families.filter((f) => !/^tandem_(process|nodejs)_/.test(f));
    expect(own.length).toBeGreaterThan(30);
    for (const family of own) {
      expect(new RegExp(`^${family}(_bucket|_sum|_count)?[{ ]`, 'm').test(text), `${family} has a sample`).toBe(true);
    }
    const r = promtool(['check', 'metrics'], text);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('reports a badly named metric (the check above can fail)', () => {
    const bad = '# HELP tandem_bad_bytes_count a counter without _total\n# TYPE tandem_bad_bytes_count counter\ntandem_bad_bytes_count 1\n';
    const r = promtool(['check', 'metrics'], bad);
    expect(r.out).toMatch(/_total/);
  });

  describe.each(RULE_FILES)('$rules', ({ rules, tests }) => {
    it('is accepted by promtool check rules', () => {
      const r = promtool(['check', 'rules', rules]);
      expect(r.out, r.out).toMatch(/SUCCESS: \d+ rules found/);
      expect(r.status, r.out).toBe(0);
    });

    it('has a firing and a quiet case for every alert', () => {
      const names = [...readFileSync(`${DEPLOY}${rules}`, 'utf8').matchAll(/^\s+- alert: (\S+)$/gm)].map((m) => m[1]);
      expect(names.length).toBeGreaterThanOrEqual(8);
      const text = readFileSync(`${DEPLOY}${tests}`, 'utf8');
      for (const name of names) {
        expect(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(text), `${name} fires`).toBe(true);
        expect(new RegExp(`alertname: ${name}\\n\\s+exp_alerts: \\[\\]`).test(text), `${name} stays quiet`).toBe(true);
      }
    });

    it('passes its unit tests', () => {
      // promtool resolves rule_files against the test file's folder
      const r = promtool(['test', 'rules', tests]);
      expect(r.out, r.out).toMatch(/SUCCESS/);
      expect(r.status, r.out).toBe(0);
    });
  });

  it.each(SCRAPE_CONFIGS)('accepts the example config %s, the rule files and targets files it reads', (config) => {
    const r = promtool(['check', 'config', config]);
    expect(r.status, r.out).toBe(0);
  });
});
