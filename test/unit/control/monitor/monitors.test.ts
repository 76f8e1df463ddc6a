// createMonitors against a fake sysfs tree and a stand-in prober process: faults raised and
// cleared through the sink, hold-ups, the HA-level condition, prober restarts, reconfigure.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { TandemConfig } from '../../../../src/config/types.js';
import { TIMER_PROFILES } from '../../../../src/config/timers.js';
import { monotonicMs } from '../../../../src/clock.js';
import { PEER_EVIDENCE_MIN_MS } from '../../../../src/control/monitor/evaluate.js';
import { createMonitors, type Monitors } from '../../../../src/control/monitor/monitors.js';
import type { MonitorMetrics } from '../../../../src/control/monitor/types.js';

const FAKE_PROBER = fileURLToPath(new URL('./fake-prober.mjs', import.meta.url));
const log = pino({ level: 'silent' });

class FakeMetrics implements MonitorMetrics {
  readonly gauges = new Map<string, number>();
  readonly counters = new Map<string, number>();
  private inc(k: string, n = 1) {
    this.counters.set(k, (this.counters.get(k) ?? 0) + n);
  }
  setMonitorGroupUp(type: string, group: string, up: boolean) {
    this.gauges.set(`group ${type} ${group}`, up ? 1 : 0);
  }
  setLinkMonitorInterfaceUp(i: string, up: boolean) {
    this.gauges.set(`if ${i}`, up ? 1 : 0);
  }
  setPathMonitorTargetUp(g: string, t: string, up: boolean) {
    this.gauges.set(`target ${g} ${t}`, up ? 1 : 0);
  }
  pathMonitorProbe(g: string, r: string) {
    this.inc(`probe ${g} ${r}`);
  }
  pathMonitorDropped(reason: string, n: number) {
    this.inc(`drop ${reason}`, n);
  }
  pathMonitorProberRestart() {
    this.inc('restart');
  }
  resetMonitorGauges() {
    this.gauges.clear();
  }
}

let dir = '';
let monitors: Monitors | null = null;
afterEach(async () => {
  await monitors?.stop();
  monitors = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function sysfs(): { root: string; set(dev: string, up: boolean): void } {
  dir = mkdtempSync(join(tmpdir(), 'tandem-mon-'));
  const root = join(dir, 'net');
  const set = (dev: string, up: boolean) => {
    mkdirSync(join(root, dev), { recursive: true });
    writeFileSync(join(root, dev, 'flags'), '0x1003\n');
    writeFileSync(join(root, dev, 'carrier'), up ? '1\n' : '0\n');
    writeFileSync(join(root, dev, 'operstate'), up ? 'up\n' : 'lowerlayerdown\n');
  };
  set('lan0', true);
  set('wan0', true);
  return { root, set };
}

function config(shared: Partial<TandemConfig['shared']['ha']>, timers = { monitorFailHoldUpMs: 0, additionalActiveHoldUpMs: 0 }): TandemConfig {
  return {
    device: { interfaces: { lan: { device: 'lan0', address: '10.0.1.2/24' }, wan: { device: 'wan0', address: '10.0.2.2/24' } } },
    shared: { ha: { timers: { ...TIMER_PROFILES.aggressive, ...timers }, ...shared } },
  } as unknown as TandemConfig;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function make(cfg: TandemConfig, root: string, opts: { active?: () => boolean; peerReportsHealthy?: (reason: string, sinceMs: number) => boolean } = {}) {
  const faults = new Set<string>();
  const events: string[] = [];
  const metrics = new FakeMetrics();
  const m = createMonitors({
    config: cfg,
    log,
    metrics,
    isActive: opts.active ?? (() => false),
    peerReportsHealthy: opts.peerReportsHealthy,
    sink: {
      fault: (r) => (faults.add(r), events.push(`+${r}`)),
      clear: (r) => (faults.delete(r), events.push(`-${r}`)),
    },
    sysRoot: root,
    linkEvents: false,
    proberCommand: [process.execPath, FAKE_PROBER],
  });
  monitors = m;
  return { m, faults, events, metrics };
}

describe('link monitoring', () => {
  it('a link down in a group raises its fault; up clears it', async () => {
    const fs = sysfs();
    const { m, faults, events, metrics } = make(
      config({ linkMonitoring: { failureCondition: 'any', groups: [{ name: 'links', interfaces: ['lan', 'wan'], failureCondition: 'any' }] } }),
      fs.root,
    );
    await m.start();
    expect(faults.size).toBe(0);
    expect(metrics.gauges.get('if wan')).toBe(1);
    fs.set('wan0', false);
    await waitFor('the fault', () => faults.has('link-monitor:links'));
    expect(metrics.gauges.get('if wan')).toBe(0);
    expect(m.status().link!.groups[0].interfaces[1]).toMatchObject({ name: 'wan', device: 'wan0', up: false, why: 'no-carrier', carrier: false });
    fs.set('wan0', true);
    await waitFor('the clear', () => faults.size === 0);
    expect(events).toEqual(['+link-monitor:links', '-link-monitor:links']);
  });

  it('group condition all, and the HA-level condition all across groups', async () => {
    const fs = sysfs();
    const { m, faults } = make(
      config({
        linkMonitoring: {
          failureCondition: 'all',
          groups: [
            { name: 'inside', interfaces: ['lan'], failureCondition: 'any' },
            { name: 'outside', interfaces: ['wan', 'lan'], failureCondition: 'all' },
          ],
        },
      }),
      fs.root,
    );
    await m.start();
    fs.set('wan0', false);
    await waitFor('outside still fine (lan up)', () => m.status().link!.groups[1].interfaces[0].up === false);
    expect(m.status().link!.groups.map((g) => g.failed)).toEqual([false, false]);
    fs.set('lan0', false);
    await waitFor('both groups', () => faults.size === 2);
    expect([...faults].sort()).toEqual(['link-monitor:inside', 'link-monitor:outside']);
    fs.set('wan0', true);
    await waitFor('all no longer holds', () => faults.size === 0);
  });

  it('on the active, a failed group waits the hold-up before it is a fault', async () => {
    const fs = sysfs();
    const { m, faults } = make(
      config(
        { linkMonitoring: { failureCondition: 'any', groups: [{ name: 'links', interfaces: ['wan'], failureCondition: 'any' }] } },
        { monitorFailHoldUpMs: 0, additionalActiveHoldUpMs: 1500 },
      ),
      fs.root,
      { active: () => true },
    );
    await m.start();
    fs.set('wan0', false);
    await waitFor('the group failed', () => m.status().link!.groups[0].failed);
    expect(m.status().holdUpMs).toBe(1500);
    expect(m.status().link!.groups[0].faulted).toBe(false);
    expect(faults.size).toBe(0);
    await waitFor('the fault after the hold', () => faults.has('link-monitor:links'));
  });

  it('on the active, the peer vouching for the same group after it failed here skips the additional hold-up', async () => {
    const fs = sysfs();
    const links = { linkMonitoring: { failureCondition: 'any' as const, groups: [{ name: 'links', interfaces: ['wan'], failureCondition: 'any' as const }] } };
    // the peer's word: healthy, heard at `heardAt` (monotonic ms); asked for evidence after `since`
    let heardAt = -Infinity;
    const asked: number[] = [];
    const { m, faults } = make(config(links, { monitorFailHoldUpMs: 0, additionalActiveHoldUpMs: 60_000 }), fs.root, {
      active: () => true,
      peerReportsHealthy: (reason, since) => {
        asked.push(since);
        return reason === 'link-monitor:links' && heardAt >= since;
      },
    });
    await m.start();
    expect(m.healthyGroups()).toEqual(['link-monitor:links']);
    const failedAt = monotonicMs();
    fs.set('wan0', false);
    await waitFor('the group failed', () => m.status().link!.groups[0].failed);
    expect(m.healthyGroups()).toEqual([]);
    // a report composed before our failure is no evidence: the outage may be shared
    m.peerReported();
    expect(faults.size).toBe(0);
    // a report composed after it: the fault at once
    heardAt = Infinity;
    m.peerReported();
    expect([...faults]).toEqual(['link-monitor:links']);
    // the evidence asked for: composed PEER_EVIDENCE_MIN_MS after the failure
    expect(asked.length).toBeGreaterThan(0);
    expect(Math.min(...asked)).toBeGreaterThanOrEqual(failedAt + PEER_EVIDENCE_MIN_MS);
  });

  it('a path group is vouched for only once a target answered', async () => {
    const fs = sysfs();
    const { m } = make(
      config({
        pathMonitoring: { failureCondition: 'any', groups: [{ name: 'up', targets: ['192.0.2.1'], intervalMs: 50, failures: 3, failureCondition: 'any' }] },
      }),
      fs.root,
    );
    expect(m.healthyGroups()).toEqual([]);
    await m.start();
    await waitFor('a reply', () => m.status().path!.groups[0].targets[0].lastRttMs !== null);
    expect(m.healthyGroups()).toEqual(['path-monitor:up']);
  });

  it('a link that recovers inside the hold-up never faults', async () => {
    const fs = sysfs();
    const { m, events } = make(
      config(
        { linkMonitoring: { failureCondition: 'any', groups: [{ name: 'links', interfaces: ['wan'], failureCondition: 'any' }] } },
        { monitorFailHoldUpMs: 3000, additionalActiveHoldUpMs: 0 },
      ),
      fs.root,
    );
    await m.start();
    fs.set('wan0', false);
    await waitFor('the group failed', () => m.status().link!.groups[0].failed);
    fs.set('wan0', true);
    await waitFor('the group recovered', () => !m.status().link!.groups[0].failed);
    expect(events).toEqual([]);
  });
});

describe('path monitoring (stand-in prober)', () => {
  const path = (targets: string[], failureCondition: 'any' | 'all' = 'any') => ({
    pathMonitoring: { failureCondition: 'any' as const, groups: [{ name: 'upstream', targets, intervalMs: 20, failures: 3, failureCondition }] },
  });

  it('a target that stops answering fails its group after `failures` rounds; answering clears it', async () => {
    const fs = sysfs();
    const control = join(dir, 'control');
    process.env.FAKE_PROBER_CONTROL = control;
    const { m, faults, metrics } = make(config(path(['10.0.2.10', '10.0.2.11'])), fs.root);
    await m.start();
    await waitFor('replies', () => (metrics.counters.get('probe upstream replied') ?? 0) >= 4);
    expect(faults.size).toBe(0);
    expect(metrics.counters.get('drop foreign-identifier')).toBe(2);
    writeFileSync(control, '10.0.2.11\n');
    await waitFor('the fault', () => faults.has('path-monitor:upstream'));
    const t = m.status().path!.groups[0].targets;
    expect(t[0]).toMatchObject({ address: '10.0.2.10', up: true });
    expect(t[1]).toMatchObject({ address: '10.0.2.11', up: false });
    expect(t[1].consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(metrics.gauges.get('target upstream 10.0.2.11')).toBe(0);
    writeFileSync(control, '');
    await waitFor('the clear', () => faults.size === 0);
  });

  it('condition all: one dead target of two is not a fault', async () => {
    const fs = sysfs();
    const control = join(dir, 'control');
    process.env.FAKE_PROBER_CONTROL = control;
    writeFileSync(control, '10.0.2.11\n');
    const { m, faults } = make(config(path(['10.0.2.10', '10.0.2.11'], 'all')), fs.root);
    await m.start();
    await waitFor('the dead target seen', () => m.status().path!.groups[0].targets[1].up === false);
    expect(faults.size).toBe(0);
    writeFileSync(control, '10.0.2.11\n10.0.2.10\n');
    await waitFor('the fault', () => faults.has('path-monitor:upstream'));
  });

  it('a reply from another address is a counted drop, not an answer', async () => {
    const fs = sysfs();
    const control = join(dir, 'control');
    process.env.FAKE_PROBER_CONTROL = control;
    writeFileSync(control, 'foreign\n10.0.2.10\n');
    const { m, faults, metrics } = make(config(path(['10.0.2.10'])), fs.root);
    await m.start();
    await waitFor('the fault', () => faults.has('path-monitor:upstream'));
    expect(metrics.counters.get('drop source-mismatch') ?? 0).toBeGreaterThan(0);
  });

  it('a prober that dies is restarted and counted; probing resumes', async () => {
    const fs = sysfs();
    const control = join(dir, 'control');
    process.env.FAKE_PROBER_CONTROL = control;
    const { m, faults, metrics } = make(config(path(['10.0.2.10'])), fs.root);
    await m.start();
    await waitFor('replies', () => (metrics.counters.get('probe upstream replied') ?? 0) >= 2);
    writeFileSync(control, 'crash\n');
    await waitFor('a restart', () => (metrics.counters.get('restart') ?? 0) >= 1);
    writeFileSync(control, '');
    const before = metrics.counters.get('probe upstream replied') ?? 0;
    await waitFor('replies again', () => (metrics.counters.get('probe upstream replied') ?? 0) > before + 2);
    await waitFor('no fault left', () => faults.size === 0);
    expect(m.status().path!.prober.restarts).toBeGreaterThanOrEqual(1);
  });
});

describe('reconfigure', () => {
  it("a removed group's fault is cleared; a kept group keeps its state", async () => {
    const fs = sysfs();
    const two = config({
      linkMonitoring: {
        failureCondition: 'any',
        groups: [
          { name: 'inside', interfaces: ['lan'], failureCondition: 'any' },
          { name: 'outside', interfaces: ['wan'], failureCondition: 'any' },
        ],
      },
    });
    const { m, faults, events } = make(two, fs.root);
    await m.start();
    fs.set('lan0', false);
    fs.set('wan0', false);
    await waitFor('both faults', () => faults.size === 2);
    m.reconfigure(config({ linkMonitoring: { failureCondition: 'any', groups: [{ name: 'outside', interfaces: ['wan'], failureCondition: 'any' }] } }));
    expect([...faults]).toEqual(['link-monitor:outside']);
    expect(events.filter((e) => e.startsWith('+'))).toHaveLength(2);
    m.reconfigure(config({}));
    expect(faults.size).toBe(0);
    expect(m.status().link).toBeNull();
  });
});
