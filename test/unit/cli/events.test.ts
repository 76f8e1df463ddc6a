import { describe, expect, it } from 'vitest';
import { formatTimeline, timeline } from '../../../src/cli/format-events.js';

const transitions = [
  { at: '2026-11-25T12:00:00.000Z', from: 'initial', to: 'active', reason: 'election-won' },
  { at: '2026-11-25T12:00:02.500Z', from: 'active', to: 'non-functional', reason: 'link-monitor:links' },
  { at: '2026-11-25T12:03:02.500Z', from: 'non-functional', to: 'passive', reason: 'faults-cleared' },
] as const;

describe('tandem events', () => {
  it('adds the time spent in the previous state and marks the role taken', () => {
    const t = timeline(transitions.map((x) => ({ ...x })));
    expect(t.map((e) => e.inPreviousStateMs)).toEqual([null, 2500, 180_000]);
    expect(t.map((e) => e.tookRole)).toEqual([true, false, false]);
  });

  it('prints one aligned line per transition', () => {
    const text = formatTimeline('fw-a', timeline(transitions.map((x) => ({ ...x }))));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^fw-a: 3 transition\(s\)/);
    expect(lines[2]).toMatch(/initial\s+->\s+active \*\s+election-won\s+-$/);
    expect(lines[3]).toMatch(/non-functional\s+link-monitor:links\s+2\.5 s$/);
    expect(lines[4]).toMatch(/faults-cleared\s+3 min$/);
    expect(formatTimeline('fw-b', [])).toBe('fw-b: no transitions recorded');
  });
});

describe('tandem events against the API', () => {
  it('prints the controller transitions (and --json)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pino } = await import('pino');
    const { startApiServer } = await import('../../../src/api/server.js');
    const { Metrics } = await import('../../../src/metrics/registry.js');
    const { runCli } = await import('../../../src/cli/program.js');
    const { FakeController } = await import('../api/fixtures.js');
    const dir = mkdtempSync(join(tmpdir(), 'tandem-events-'));
    writeFileSync(join(dir, 'token'), 'events-token-0123456789');
    const controller = new FakeController();
    const server = await startApiServer({
      listen: '127.0.0.1:0',
      token: Buffer.from('events-token-0123456789'),
      controller,
      metrics: new Metrics(),
      log: pino({ level: 'silent' }),
    });
    try {
      let out = '';
      const run = (...a: string[]) =>
        runCli([...a, '--api', server.address, '--token-file', join(dir, 'token')], { stdout: (t) => (out += t), stderr: () => undefined, env: {} });
      expect(await run('events', '--json')).toBe(0);
      const parsed = JSON.parse(out);
      expect(parsed.events).toHaveLength(controller.status().transitions.length);
      out = '';
      expect(await run('events')).toBe(0);
      expect(out.split('\n')[0]).toMatch(/transition\(s\)|no transitions recorded/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
