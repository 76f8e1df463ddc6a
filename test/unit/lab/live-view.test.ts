import { describe, expect, it } from 'vitest';
import { fitWidth, LiveView, plainWorthy, progressBar, renderLive, renderPlainLine, type LiveSnapshot } from '../../../src/lab/live-view.js';

const ESC = /\x1b\[/;

function snap(over: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    name: 'tlab',
    elapsedMs: 12_345,
    step: 'waiting for the takeover',
    stepElapsedMs: 1200,
    stepTimeoutMs: 10_000,
    boxes: {
      fwa: { state: null, reason: null, sessions: null, running: false },
      fwb: { state: 'active', reason: 'peer-dead', sessions: 9, running: true },
    },
    probes: { sent: 12_345, received: 12_290, lost: 0, silenceMs: 42, maxGapMs: 13.25 },
    tcp: { alive: 8, total: 8 },
    ...over,
  };
}

function sink(columns?: number): { stream: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { write: (s: string) => (chunks.push(s), true), columns } as unknown as NodeJS.WritableStream;
  return { stream, text: () => chunks.join('') };
}

describe('live view rendering', () => {
  it('one line per fact, plain when colour is off', () => {
    const lines = renderLive(snap(), { width: 200 });
    expect(lines).toEqual([
      'tandem lab demo tlab  12.3 s  waiting for the takeover  [##..................] 1.2 s / 10.0 s',
      '  fwa    not running',
      '  fwb    active (peer-dead), 9 sessions',
      '  probes 12,345 sent, 12,290 received, 0 lost, NO TRAFFIC for 42 ms, longest gap 13.3 ms',
      '  TCP    8 / 8 connections established',
    ]);
    for (const l of lines) expect(l).not.toMatch(ESC);
  });

  it("active/active: each box's forwarding rate, a probe and TCP line per client", () => {
    const probes = { sent: 3000, received: 2990, lost: 0, silenceMs: 1, maxGapMs: 14.2 };
    const s = snap({
      boxes: {
        fwa: { state: 'active-primary', reason: 'peer-passive', sessions: 20, running: true, forwardedPerS: 12_345.4 },
        fwb: { state: 'active-secondary', reason: 'peer-active', sessions: 20, running: true, forwardedPerS: null },
      },
      clients: [
        { label: 'client (via device 0)', probes, tcp: { alive: 8, total: 8 } },
        { label: 'client2 (via device 1)', probes: null, tcp: null },
      ],
    });
    expect(renderLive(s, { width: 200 }).slice(1)).toEqual([
      '  fwa    active-primary (peer-passive), 20 sessions, forwards 12,345 pkt/s',
      '  fwb    active-secondary (peer-active), 20 sessions',
      '  client (via device 0)',
      '    probes 3,000 sent, 2,990 received, 0 lost, longest gap 14.2 ms',
      '    TCP    8 / 8 connections established',
      '  client2 (via device 1)',
      '    probes not started',
      '    TCP    not started',
    ]);
    expect(renderPlainLine(s)).toContain(
      ' | client (via device 0) probes 3,000 sent, 2,990 received, 0 lost, longest gap 14.2 ms | client (via device 0) TCP 8 / 8',
    );
  });

  it('says what it does not know yet', () => {
    const lines = renderLive(
      snap({
        boxes: {
          fwa: { state: null, reason: null, sessions: null, running: true },
          fwb: { state: 'passive', reason: 'peer-active', sessions: 1, running: true },
        },
        probes: null,
        tcp: { alive: null, total: 8 },
        stepTimeoutMs: null,
      }),
      { width: 200 },
    );
    expect(lines[1]).toBe('  fwa    no answer');
    expect(lines[2]).toBe('  fwb    passive (peer-active), 1 session');
    expect(lines[3]).toBe('  probes not started');
    expect(lines[4]).toBe('  TCP    ? / 8 connections established');
  });

  it('a short silence is not shown as traffic stopped', () => {
    const lines = renderLive(snap({ probes: { sent: 10, received: 10, lost: 0, silenceMs: 2, maxGapMs: 1 } }), { width: 200 });
    expect(lines[3]).not.toContain('NO TRAFFIC');
  });

  it('colours states on a terminal and keeps lines within the width', () => {
    const lines = renderLive(snap(), { color: true, width: 30 });
    expect(lines[2]).toMatch(ESC);
    for (const l of lines) expect(l.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(30);
  });

  it('fitWidth counts only visible characters and closes a colour it cut', () => {
    expect(fitWidth('abcdef', 3)).toBe('abc');
    expect(fitWidth('ab\x1b[32mcdef\x1b[0m', 4)).toBe('ab\x1b[32mcd\x1b[0m');
    expect(fitWidth('ab\x1b[32mc\x1b[0m', 10)).toBe('ab\x1b[32mc\x1b[0m');
  });

  it('progress: a bar toward the limit, or a moving mark without one', () => {
    expect(progressBar(5000, 10_000)).toBe('[##########..........] 5.0 s / 10.0 s');
    expect(progressBar(50_000, 10_000)).toBe('[####################] 50.0 s / 10.0 s');
    expect(progressBar(0, null)).toBe('[#...................] 0.0 s');
    expect(progressBar(300, null)).toBe('[..#.................] 0.3 s');
  });

  it('the plain line has every fact and no escape code', () => {
    const line = renderPlainLine(snap());
    expect(line).toBe(
      '[12.3 s] waiting for the takeover (1.2 s of 10.0 s) | fwa not running | fwb active (peer-dead), 9 sessions | probes 12,345 sent, 12,290 received, 0 lost, NO TRAFFIC for 42 ms, longest gap 13.3 ms | TCP 8 / 8 connections established',
    );
    expect(line).not.toMatch(ESC);
  });

  it('a step or state change is worth a line at once', () => {
    expect(plainWorthy(null, snap())).toBe(true);
    expect(plainWorthy(snap(), snap({ elapsedMs: 12_500 }))).toBe(false);
    expect(plainWorthy(snap(), snap({ step: 'restarting fwa' }))).toBe(true);
    const b = snap();
    expect(plainWorthy(b, snap({ boxes: { ...b.boxes, fwa: { state: 'passive', reason: 'x', sessions: 0, running: true } } }))).toBe(true);
  });
});

describe('live view output', () => {
  it('on a terminal: redraws the block in place, events above it', () => {
    const out = sink(80);
    const v = new LiveView(out.stream, { tty: true, color: false });
    v.update(snap());
    expect(out.text()).not.toMatch(ESC); // the first draw has nothing to erase
    v.update(snap({ elapsedMs: 12_600 }));
    expect(out.text()).toContain('\x1b[5A\r\x1b[J'); // up five lines, clear below
    v.event('demo tlab: kill -9 of fwa');
    const text = out.text();
    const afterEvent = text.slice(text.lastIndexOf('\x1b[J') + 3);
    expect(afterEvent.split('\n')[0]).toBe('demo tlab: kill -9 of fwa');
    expect(afterEvent).toContain('tandem lab demo tlab'); // the block again, below the event
  });

  it('elsewhere: plain lines, at most one a second unless something changed, never an escape code', () => {
    const out = sink();
    const v = new LiveView(out.stream, { tty: false, color: true });
    v.update(snap({ elapsedMs: 1000 }));
    v.update(snap({ elapsedMs: 1300 }));
    v.update(snap({ elapsedMs: 1600 }));
    v.update(snap({ elapsedMs: 2000 }));
    v.update(snap({ elapsedMs: 2100, step: 'restarting fwa' }));
    v.event('demo tlab: restarting fwa');
    v.stream.write('lab tlab: waiting for an active/passive pair\nlab tlab: par');
    v.stream.write('tial line\n');
    const lines = out
      .text()
      .split('\n')
      .filter((l) => l !== '');
    expect(out.text()).not.toMatch(ESC);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^\[1\.0 s\]/);
    expect(lines[1]).toMatch(/^\[2\.0 s\]/);
    expect(lines[2]).toMatch(/^\[2\.1 s\] restarting fwa/);
    expect(lines.slice(3)).toEqual(['demo tlab: restarting fwa', 'lab tlab: waiting for an active/passive pair', 'lab tlab: partial line']);
  });

  it('after close: events are plain, updates ignored', () => {
    const out = sink(80);
    const v = new LiveView(out.stream, { tty: true });
    v.update(snap());
    const before = out.text();
    v.close();
    v.update(snap());
    v.event('done');
    expect(out.text()).toBe(`${before}done\n`);
  });
});
