import { describe, expect, it } from 'vitest';
import { escapeXml, niceStep, timelineSvg, wrap, zoomWindow, type TimelineData } from '../../../src/lab/timeline-svg.js';
import { checkXml } from './xml-check.js';

const ZERO = 1_764_000_000_000;

/** One probe per ms from 3 s before the crash for 8 s, silent from +12 ms for gapMs. */
function run(gapMs = 57.3): TimelineData {
  const start = ZERO - 3000.4;
  const counts: number[] = [];
  for (let i = 0; i < 8000; i++) {
    const t = start + i - ZERO;
    counts.push(t > 12 && t < 12 + gapMs ? 0 : 1);
  }
  return {
    title: 'tandem failover: kill -9 of fwa',
    arrivals: { binMs: 1, startEpochMs: start, counts, beyond: 0 },
    zeroMs: ZERO,
    markers: [
      { atMs: ZERO, label: 'kill -9 fwa', kind: 'crash' },
      { atMs: ZERO + 61, label: 'fwb active', kind: 'takeover' },
      { atMs: ZERO + 1100, label: 'fwa restarted', kind: 'restart' },
      { atMs: ZERO + 2400, label: 'fwa back (passive)', kind: 'recovered' },
    ],
    gaps: [{ startMs: ZERO + 12, gapMs }],
    probeIntervalMs: 1,
    clockNote: "kill -9 on the demo's clock",
  };
}

describe('failover timeline picture', () => {
  it('(the well-formedness check catches what it should)', () => {
    expect(checkXml('<svg><g></svg>')).not.toEqual([]);
    expect(checkXml('<svg><text>a < b</text></svg>')).not.toEqual([]);
    expect(checkXml('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(checkXml('<svg><rect x=1/></svg>')).not.toEqual([]);
    expect(checkXml('<svg><g><rect x="1"/></g></svg>')).toEqual([]);
  });

  it('is well-formed SVG with the markers, the gap and the legend', () => {
    const svg = timelineSvg(run());
    expect(checkXml(svg)).toEqual([]);
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" /);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const kind of ['crash', 'takeover', 'restart', 'recovered']) expect(svg).toContain(`data-kind="${kind}"`);
    // the takeover and the crash are in both panels; the restart and the recovery only in the overview
    expect(svg.match(/data-kind="crash"/g)).toHaveLength(2);
    expect(svg.match(/data-kind="takeover"/g)).toHaveLength(2);
    expect(svg.match(/data-kind="restart"/g)).toHaveLength(1);
    expect(svg).toContain('kill -9 fwa (0 ms)');
    expect(svg).toContain('fwb active (+61 ms)');
    expect(svg).toContain('57.3 ms gap');
    expect(svg.match(/class="gap"/g)).toHaveLength(2);
    expect(svg).toContain('class="arrivals"');
    expect(svg).toContain('kill -9 on the demo&apos;s clock');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('escapes every text it is given', () => {
    const d = run();
    d.title = 'a <script>alert("x")</script> & \'b\'';
    d.markers[0].label = '<kill> & "co"';
    d.clockNote = '1 < 2 & 3 > 2';
    const svg = timelineSvg(d);
    expect(checkXml(svg)).toEqual([]);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('a &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;b&apos;');
    expect(svg).toContain('&lt;kill&gt; &amp; &quot;co&quot;');
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });

  it('draws an empty run: no arrivals, no markers, no gaps', () => {
    const svg = timelineSvg({ title: 'nothing', arrivals: null, zeroMs: ZERO, markers: [], gaps: [], probeIntervalMs: 1, clockNote: '' });
    expect(checkXml(svg)).toEqual([]);
    expect(svg.match(/class="empty"/g)).toHaveLength(2);
    expect(svg).not.toContain('class="arrivals"');
    expect(svg).not.toContain('class="marker"');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('draws an all-silent run with an empty histogram', () => {
    const d = run();
    d.arrivals = { binMs: 1, startEpochMs: ZERO, counts: [], beyond: 0 };
    const svg = timelineSvg(d);
    expect(checkXml(svg)).toEqual([]);
    expect(svg).toContain('class="empty"');
  });

  it('widens the zoom to show a long gap whole, within bounds', () => {
    expect(zoomWindow(run())).toEqual([-200, 500]);
    const [from, to] = zoomWindow(run(900));
    expect(from).toBe(-200);
    expect(to).toBeGreaterThan(12 + 900);
    expect(to).toBeLessThanOrEqual(1200);
    const svg = timelineSvg(run(900));
    expect(svg).toContain('900.0 ms gap');
    // a gap long after the crash (the restart) does not widen it
    const d = run();
    d.gaps.push({ startMs: ZERO + 6000, gapMs: 300 });
    expect(zoomWindow(d)).toEqual([-200, 500]);
    // an outage of minutes: the zoom stops at 10 s
    expect(zoomWindow(run(120_000))[1]).toBe(10_000);
    expect(zoomWindow(run(), { zoom: [-50, 50] })).toEqual([-50, 50]);
  });

  it('a loaded host: many small gaps are shaded, only the largest few labelled, and they do not widen the zoom', () => {
    const d = run();
    for (let t = -2500; t < 4500; t += 97) if (t < -100 || t > 300) d.gaps.push({ startMs: ZERO + t, gapMs: 6 + ((t / 97) % 5) });
    const svg = timelineSvg(d);
    expect(checkXml(svg)).toEqual([]);
    expect(svg.match(/class="gap"/g)!.length).toBeGreaterThan(60);
    const labels = svg.match(/class="gap-label"/g)!.length;
    expect(labels).toBeGreaterThanOrEqual(2);
    expect(labels).toBeLessThanOrEqual(6); // three per panel at most
    expect(svg).toContain('57.3 ms gap'); // the crash's, the largest, always labelled
    expect(zoomWindow(d)).toEqual([-200, 500]);
  });

  it('a burst (a receiver catching up) does not flatten the picture: the y scale stops at four times the rate', () => {
    const d = run();
    d.arrivals!.counts[3100] = 54;
    const svg = timelineSvg(d);
    expect(svg).not.toMatch(/>54</);
    expect(svg).toMatch(/text-anchor="end">4</);
  });

  it('wraps legend lines at spaces', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrap('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
    expect(wrap('', 5)).toEqual([]);
  });

  it("the story's gap is drawn darker and always labelled, whatever the others", () => {
    const d = run();
    d.gaps[0].label = 'failover gap 57.3 ms';
    for (let t = 600; t < 4000; t += 50) d.gaps.push({ startMs: ZERO + t, gapMs: 90 });
    const svg = timelineSvg(d);
    expect(checkXml(svg)).toEqual([]);
    expect(svg.match(/class="gap key-gap"/g)).toHaveLength(2);
    expect(svg.match(/failover gap 57\.3 ms/g)).toHaveLength(2);
  });

  it('keeps a steady stream small: equal bins become one shape', () => {
    expect(timelineSvg(run()).length).toBeLessThan(40_000);
  });

  it('ticks on a 1-2-5 scale', () => {
    expect(niceStep(700, 10)).toBe(100);
    expect(niceStep(8000, 10)).toBe(1000);
    expect(niceStep(300, 10)).toBe(50);
    expect(niceStep(0, 10)).toBe(1);
  });
});
