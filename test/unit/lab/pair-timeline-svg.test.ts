// The active/active demo's picture: the boxes' rate panel, two panels per client, well-formed.
import { describe, expect, it } from 'vitest';
import { pairTimelineSvg, type PairTimelineData } from '../../../src/lab/pair-timeline-svg.js';
import { checkXml } from './xml-check.js';

const ZERO = 1_764_000_000_000;

/** One probe per ms from 3 s before the kill for 8 s, silent from `at` ms for gapMs. */
function arrivals(at: number, gapMs: number) {
  const start = ZERO - 3000.4;
  const counts: number[] = [];
  for (let i = 0; i < 8000; i++) {
    const t = start + i - ZERO;
    counts.push(t > at && t < at + gapMs ? 0 : 1);
  }
  return { binMs: 1, startEpochMs: start, counts, beyond: 0 };
}

function data(): PairTimelineData {
  const points = (box: number) =>
    Array.from({ length: 16 }, (_, i) => ({ atMs: ZERO - 3000 + i * 500, perS: i >= 6 && i < 9 && box === 0 ? 0 : 2500 + box * 100 }));
  return {
    title: 'tandem active/active: kill -9 of the primary fwa',
    subtitle: 'lab ui1 <test> & more',
    zeroMs: ZERO,
    markers: [
      { atMs: ZERO, label: 'kill -9 fwa', kind: 'crash' },
      { atMs: ZERO + 30, label: 'fwb active-primary', kind: 'takeover' },
      { atMs: ZERO + 2000, label: 'fwa restarted', kind: 'restart' },
      { atMs: ZERO + 3500, label: 'fwa back (active-secondary)', kind: 'recovered' },
    ],
    clients: [
      { label: 'client 10.0.1.10 (via device 0)', arrivals: arrivals(5, 24), gaps: [{ startMs: ZERO + 5, gapMs: 24, label: 'takeover gap 24.0 ms' }] },
      { label: 'client2 10.0.1.11 (via device 1)', arrivals: arrivals(3600, 12), gaps: [{ startMs: ZERO + 3600, gapMs: 12, label: 'rejoin gap 12.0 ms' }] },
    ],
    boxes: [
      { label: 'fwa', points: points(0) },
      { label: 'fwb', points: points(1) },
    ],
    probeIntervalMs: 1,
    clockNote: "kill -9 on the demo's clock",
  };
}

describe('active/active picture', () => {
  it('is well-formed SVG with a rate line per box and the whole run and the crash for each client', () => {
    const svg = pairTimelineSvg(data());
    expect(checkXml(svg)).toEqual([]);
    expect(svg.match(/class="box-rate"/g)).toHaveLength(2);
    expect(svg).toContain('data-box="fwa"');
    expect(svg).toContain('data-box="fwb"');
    expect(svg.match(/<g class="panel/g)).toHaveLength(5);
    expect(svg).toContain('client 10.0.1.10 (via device 0): the whole run');
    expect(svg).toContain('client2 10.0.1.11 (via device 1): around the crash');
    expect(svg).toContain('takeover gap 24.0 ms');
    expect(svg).toContain('rejoin gap 12.0 ms');
    expect(svg).toContain('lab ui1 &lt;test&gt; &amp; more');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it("a box's line breaks where it has no samples (killed), rather than sloping across", () => {
    const d = data();
    d.boxes = [{ label: 'fwa', points: [0, 500, 1000, 4000, 4500].map((t) => ({ atMs: ZERO + t, perS: 100 })) }];
    const path = /class="box-rate" data-box="fwa" d="([^"]+)"/.exec(pairTimelineSvg(d))?.[1] ?? '';
    expect(path.match(/M/g)).toHaveLength(2);
    expect(path.match(/L/g)).toHaveLength(3);
  });

  it('draws without samples or arrivals (a demo that failed early)', () => {
    const d = data();
    d.boxes = d.boxes.map((b) => ({ ...b, points: [] }));
    d.clients = d.clients.map((c) => ({ ...c, arrivals: null, gaps: [] }));
    const svg = pairTimelineSvg(d);
    expect(checkXml(svg)).toEqual([]);
    expect(svg).not.toContain('class="box-rate"');
    expect(svg).toContain('no probe arrived');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});
