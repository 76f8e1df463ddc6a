// The failover timeline as a picture: probe arrivals over time around the crash, the state
// changes marked, the measured gaps shaded and labelled. Pure: timeline data in, SVG text out (the
// demo writes the file). Hand-written SVG 1.1, no script, no external reference: it opens in any
// browser or image viewer and can be attached to a ticket.
import type { ArrivalHistogram } from './gaps.js';

export type MarkerKind = 'crash' | 'takeover' | 'restart' | 'recovered' | 'other';

export interface TimelineMarker {
  /** Epoch ms. */
  atMs: number;
  label: string;
  kind: MarkerKind;
}

export interface TimelineGap {
  /** Epoch ms when the silence began, and its length. */
  startMs: number;
  gapMs: number;
  /**
   * A gap with a label is one the story is about (the failover's): drawn darker and always
   * labelled. The others (a loaded host's scheduling) are lighter, the largest few labelled.
   */
  label?: string;
}

export interface TimelineData {
  title: string;
  /** A line under the title (what ran, when). */
  subtitle?: string;
  /** Probes received per bin; null when none arrived. */
  arrivals: ArrivalHistogram | null;
  /** Epoch ms drawn as time 0 (the crash). */
  zeroMs: number;
  markers: TimelineMarker[];
  /** Silences to shade, each labelled with its length. */
  gaps: TimelineGap[];
  /** One probe every this many ms (the expected level in the picture). */
  probeIntervalMs: number;
  /** Which clock each time was read with, said in the legend. */
  clockNote: string;
}

export interface TimelineOptions {
  /** The zoomed panel's window, ms relative to zeroMs (default -200..+500, widened to show a longer gap). */
  zoom?: [number, number];
}

export const DEFAULT_ZOOM: [number, number] = [-200, 500];
/**
 * A gap that begins between this long before the crash and this long after the takeover (or the
 * crash, without one) is the crash's, and the zoom widens to show it whole. Later silences (a
 * loaded machine, the restart) do not widen it.
 */
const CRASH_GAP_BEFORE_MS = 100;
const CRASH_GAP_AFTER_MS = 200;
/** The zoom's moving mean spans this many ms. */
export const SMOOTH_MS = 10;
/** Gap labels per panel: the largest ones that do not overlap (a loaded host has many small gaps). */
const MAX_GAP_LABELS = 3;
/** Bars taller than this many times the expected level are cut (a receiver catching up after a stall). */
const Y_HEADROOM = 4;
/** The zoom never grows past this: a longer outage is read in the overview. */
const MAX_ZOOM_RIGHT_MS = 10_000;

export const WIDTH = 960;
export const MARGIN_LEFT = 64;
const MARGIN_RIGHT = 24;
export const PLOT_W = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
export const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const COLOURS: Record<MarkerKind, string> = {
  crash: '#c62828',
  takeover: '#2e7d32',
  restart: '#6a1b9a',
  recovered: '#1565c0',
  other: '#555555',
};

/** About this many characters of the legend's 11 px text fit across the picture. */
const LEGEND_CHARS = 140;

/** Breaks text at spaces into lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Text and attribute values: the five characters XML gives meaning to. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** A number for an attribute: short, and never NaN or Infinity (which SVG rejects). */
export function n(v: number): string {
  if (!Number.isFinite(v)) return '0';
  return String(Math.round(v * 10) / 10);
}

/** Gap length as the table prints it. */
export function formatGapMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`;
}

/** A 1-2-5 step that puts about `count` ticks on `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** The zoom window: the default, widened to the end of the gap(s) that followed the crash. */
export function zoomWindow(d: TimelineData, opts: TimelineOptions = {}): [number, number] {
  if (opts.zoom) return opts.zoom;
  let right = DEFAULT_ZOOM[1];
  const takeover = d.markers.find((m) => m.kind === 'takeover' && m.atMs >= d.zeroMs && m.atMs - d.zeroMs <= MAX_ZOOM_RIGHT_MS);
  const crashEnd = (takeover ? takeover.atMs - d.zeroMs : 0) + CRASH_GAP_AFTER_MS;
  const ends = [
    ...d.gaps.filter((g) => g.startMs - d.zeroMs >= -CRASH_GAP_BEFORE_MS && g.startMs - d.zeroMs <= crashEnd).map((g) => g.startMs + g.gapMs),
    ...(takeover ? [takeover.atMs] : []),
  ];
  for (const end of ends) right = Math.max(right, end - d.zeroMs + 0.2 * (end - d.zeroMs) + 50);
  right = Math.min(MAX_ZOOM_RIGHT_MS, Math.ceil(right / 50) * 50);
  return [DEFAULT_ZOOM[0], right];
}

export interface Panel {
  title: string;
  /** ms relative to zeroMs. */
  from: number;
  to: number;
  top: number;
  height: number;
  /** Show each bin (zoom) or the mean per pixel column (overview). */
  bars: boolean;
}

/** Time window of the whole run: first to last bin, with the markers inside, a margin around. */
export function overviewWindow(d: TimelineData): [number, number] {
  const times: number[] = d.markers.map((m) => m.atMs - d.zeroMs);
  if (d.arrivals && d.arrivals.counts.length > 0) {
    const start = d.arrivals.startEpochMs - d.zeroMs;
    times.push(start, start + d.arrivals.counts.length * d.arrivals.binMs);
  }
  times.push(0);
  let from = Math.min(...times);
  let to = Math.max(...times);
  const pad = Math.max(50, (to - from) * 0.03);
  from -= pad;
  to += pad;
  return [from, to];
}

export function axisLabel(ms: number, step: number): string {
  const sign = ms > 0 ? '+' : ms < 0 ? '\u2212' : '';
  const a = Math.abs(ms);
  if (step >= 1000) return `${sign}${Number((a / 1000).toFixed(step % 1000 === 0 ? 0 : 1))} s`;
  return `${sign}${Number(a.toFixed(step < 1 ? 1 : 0))} ms`;
}

/** Where a panel draws: its plot area, and time (ms relative to zeroMs) and value to pixels. */
export interface PanelFrame {
  p: Panel;
  span: number;
  plotTop: number;
  plotH: number;
  bottom: number;
  /** The probes expected per bin (one per probe interval), and the top of the y scale. */
  expected: number;
  yMax: number;
  x: (rel: number) => number;
  y: (v: number) => number;
}

/** Rows of marker labels above the plot, and their height (px). */
export const LABEL_ROWS = 3;
export const LABEL_H = 14;

/** What a panel shows of the arrivals: bars and their moving mean (zoom) or per-column means (overview). */
interface PanelData {
  /** [from, to, count]: runs of equal bins (zoom). */
  rects: Array<[number, number, number]>;
  /** [px, mean]: the moving mean every other pixel (zoom). */
  smooth: Array<[number, number]>;
  /** [px, mean]: the mean per pixel column (overview). */
  columns: Array<[number, number]>;
}

/** One panel, in drawing order: title and plot area, gaps, the expected level and the arrivals, markers, axes. */
export function renderPanel(d: TimelineData, p: Panel): string[] {
  const span = p.to - p.from;
  const plotTop = p.top + 22 + LABEL_ROWS * LABEL_H;
  const plotH = p.height - (plotTop - p.top) - 28;
  const bottom = plotTop + plotH;
  const data: PanelData = { rects: [], smooth: [], columns: [] };
  const a = d.arrivals;
  if (a && a.counts.length > 0) {
    // bins as ms relative to zeroMs, like the panel's window
    const binStart = a.startEpochMs - d.zeroMs;
    if (p.bars) barsAndMean(a, binStart, p, data);
    else columnMeans(a, binStart, p, data);
  }
  // y: probes per bin (zoom) or mean probes per bin over a pixel column (overview)
  const expected = Math.max(1e-9, (a?.binMs ?? 1) / d.probeIntervalMs);
  const yMax = yScaleTop(expected, data);
  const f: PanelFrame = {
    p,
    span,
    plotTop,
    plotH,
    bottom,
    expected,
    yMax,
    x: (rel) => MARGIN_LEFT + ((rel - p.from) / span) * PLOT_W,
    y: (v) => bottom - (Math.min(v, yMax) / yMax) * plotH,
  };

  const out: string[] = [];
  out.push(`<g class="panel">`);
  out.push(`<text x="${MARGIN_LEFT}" y="${n(p.top + 14)}" ${FONT} font-size="14" font-weight="bold" fill="#222">${escapeXml(p.title)}</text>`);
  out.push(`<rect x="${MARGIN_LEFT}" y="${n(plotTop)}" width="${PLOT_W}" height="${n(plotH)}" fill="#fafafa" stroke="#ccc"/>`);
  renderGaps(out, d, f);
  renderArrivals(out, f, data);
  if (!a || a.counts.length === 0) {
    out.push(
      `<text class="empty" x="${n(MARGIN_LEFT + PLOT_W / 2)}" y="${n(plotTop + plotH / 2)}" ${FONT} font-size="14" fill="#888" text-anchor="middle">no probe arrived</text>`,
    );
  }
  renderMarkers(out, d, f);
  renderAxes(out, f, a?.binMs ?? 1);
  out.push(`</g>`);
  return out;
}

/** The zoom's bars (runs of equal counts become one rectangle: a steady stream is a handful of elements) and their moving mean. */
function barsAndMean(a: ArrivalHistogram, binStart: number, p: Panel, data: PanelData): void {
  const span = p.to - p.from;
  const binMs = a.binMs;
  const i0 = Math.max(0, Math.floor((p.from - binStart) / binMs));
  const i1 = Math.min(a.counts.length, Math.ceil((p.to - binStart) / binMs));
  let i = i0;
  while (i < i1) {
    const c = a.counts[i];
    let j = i + 1;
    while (j < i1 && a.counts[j] === c) j++;
    if (c > 0) data.rects.push([binStart + i * binMs, binStart + j * binMs, c]);
    i = j;
  }
  // bars of single ms read like a barcode on a busy host: a moving mean shows the rate
  const half = Math.max(1, Math.round(SMOOTH_MS / 2 / binMs));
  for (let px = 0; px < PLOT_W; px += 2) {
    const t = p.from + ((px + 0.5) / PLOT_W) * span;
    const c = Math.floor((t - binStart) / binMs);
    if (c < 0 || c >= a.counts.length) continue;
    const b0 = Math.max(0, c - half);
    const b1 = Math.min(a.counts.length, c + half);
    let sum = 0;
    for (let b = b0; b < b1; b++) sum += a.counts[b];
    data.smooth.push([px, sum / (b1 - b0)]);
  }
}

/** The overview: the mean count per bin over each pixel column. */
function columnMeans(a: ArrivalHistogram, binStart: number, p: Panel, data: PanelData): void {
  const span = p.to - p.from;
  const binMs = a.binMs;
  for (let px = 0; px < PLOT_W; px++) {
    const t0 = p.from + (px / PLOT_W) * span;
    const t1 = p.from + ((px + 1) / PLOT_W) * span;
    const b0 = Math.max(0, Math.floor((t0 - binStart) / binMs));
    const b1 = Math.min(a.counts.length, Math.max(b0 + 1, Math.floor((t1 - binStart) / binMs)));
    if (b0 >= a.counts.length || b1 <= 0 || t1 < binStart) continue;
    let sum = 0;
    for (let b = b0; b < b1; b++) sum += a.counts[b];
    data.columns.push([px, sum / (b1 - b0)]);
  }
}

/** Twice the expected level at least, raised to the data but cut at Y_HEADROOM times the expected level. */
function yScaleTop(expected: number, data: PanelData): number {
  let yMax = Math.max(2, Math.ceil(expected * 2));
  const yCap = Math.max(yMax, Math.ceil(expected * Y_HEADROOM));
  for (const r of data.rects) yMax = Math.min(yCap, Math.max(yMax, r[2]));
  for (const [, v] of data.columns) yMax = Math.min(yCap, Math.max(yMax, Math.ceil(v)));
  return yMax;
}

/** The gaps, under the data; the largest few labelled where their labels do not overlap. */
function renderGaps(out: string[], d: TimelineData, f: PanelFrame): void {
  const { p, x, plotTop, plotH } = f;
  const shown: Array<{ g: TimelineGap; x0: number; w: number }> = [];
  for (const g of d.gaps) {
    const g0 = Math.max(p.from, g.startMs - d.zeroMs);
    const g1 = Math.min(p.to, g.startMs - d.zeroMs + g.gapMs);
    if (g1 <= g0) continue;
    const w = Math.max(2, x(g1) - x(g0));
    shown.push({ g, x0: x(g0), w });
    out.push(
      g.label !== undefined
        ? `<rect class="gap key-gap" x="${n(x(g0))}" y="${n(plotTop)}" width="${n(w)}" height="${n(plotH)}" fill="#e53935" fill-opacity="0.55"/>`
        : `<rect class="gap" x="${n(x(g0))}" y="${n(plotTop)}" width="${n(w)}" height="${n(plotH)}" fill="#ef9a9a" fill-opacity="0.35"/>`,
    );
  }
  const taken: Array<[number, number]> = [];
  // the story's gaps first, then by size
  const order = [...shown].sort((a, b) => Number(b.g.label !== undefined) - Number(a.g.label !== undefined) || b.g.gapMs - a.g.gapMs);
  for (const { g, x0, w } of order) {
    if (taken.length >= MAX_GAP_LABELS && g.label === undefined) break;
    const label = g.label ?? `${formatGapMs(g.gapMs)} gap`;
    const lx = Math.min(Math.max(x0 + w / 2, MARGIN_LEFT + label.length * 4), MARGIN_LEFT + PLOT_W - label.length * 4);
    const half = label.length * 4 + 6;
    if (g.label === undefined && taken.some(([l, r]) => lx + half > l && lx - half < r)) continue;
    taken.push([lx - half, lx + half]);
    out.push(
      `<text class="gap-label" x="${n(lx)}" y="${n(plotTop + 16)}" ${FONT} font-size="13" font-weight="bold" fill="${g.label !== undefined ? '#b71c1c' : '#c77'}" text-anchor="middle" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(label)}</text>`,
    );
  }
}

/** The expected level (one probe per interval), then the arrivals over it. */
function renderArrivals(out: string[], f: PanelFrame, data: PanelData): void {
  const { p, x, y, bottom } = f;
  out.push(
    `<line x1="${MARGIN_LEFT}" x2="${MARGIN_LEFT + PLOT_W}" y1="${n(y(f.expected))}" y2="${n(y(f.expected))}" stroke="#90a4ae" stroke-dasharray="2 3"/>`,
  );
  const { rects, smooth, columns } = data;
  if (p.bars) {
    const parts = rects.map(([t0, t1, c]) => {
      const x0 = x(Math.max(p.from, t0));
      const x1 = x(Math.min(p.to, t1));
      return `M${n(x0)} ${n(bottom)}V${n(y(c))}H${n(Math.max(x1, x0 + 0.6))}V${n(bottom)}Z`;
    });
    if (parts.length > 0) out.push(`<path class="arrivals" d="${parts.join('')}" fill="#90a4ae"/>`);
    if (smooth.length > 1) {
      const d2 = smooth.map(([px, v], i) => `${i === 0 ? 'M' : 'L'}${n(MARGIN_LEFT + px + 0.5)} ${n(y(v))}`).join('');
      out.push(`<path class="rate" d="${d2}" fill="none" stroke="#263238" stroke-width="1.6"/>`);
    }
  } else if (columns.length > 0) {
    const pts = columns.map(([px, v]) => `L${n(MARGIN_LEFT + px + 0.5)} ${n(y(v))}`);
    const first = MARGIN_LEFT + columns[0][0] + 0.5;
    const last = MARGIN_LEFT + columns[columns.length - 1][0] + 0.5;
    out.push(`<path class="arrivals" d="M${n(first)} ${n(bottom)}${pts.join('')}L${n(last)} ${n(bottom)}Z" fill="#546e7a" fill-opacity="0.85"/>`);
  }
}

/** Markers: a line through the plot, the label above it in the first row where it does not collide. */
export function renderMarkers(out: string[], d: Pick<TimelineData, 'markers' | 'zeroMs'>, f: PanelFrame): void {
  const { p, x, bottom } = f;
  const rowEnds: number[] = new Array<number>(LABEL_ROWS).fill(-Infinity);
  const sorted = [...d.markers].sort((m1, m2) => m1.atMs - m2.atMs);
  for (const m of sorted) {
    const rel = m.atMs - d.zeroMs;
    if (rel < p.from || rel > p.to) continue;
    const mx = x(rel);
    const colour = COLOURS[m.kind];
    const text = `${m.label} (${axisLabel(Math.round(rel), 1)})`;
    const textW = text.length * 6.2;
    const anchorEnd = mx + textW > WIDTH - 4;
    const left = anchorEnd ? mx - textW - 3 : mx + 3;
    let row = rowEnds.findIndex((end) => end < left - 6);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = left + textW;
    const ty = p.top + 22 + (row + 1) * LABEL_H - 3;
    out.push(`<g class="marker" data-kind="${m.kind}">`);
    out.push(`<line x1="${n(mx)}" x2="${n(mx)}" y1="${n(ty - 9)}" y2="${n(bottom)}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    out.push(
      `<text x="${n(anchorEnd ? mx - 3 : mx + 3)}" y="${n(ty)}" ${FONT} font-size="11" fill="${colour}"${anchorEnd ? ' text-anchor="end"' : ''}>${escapeXml(text)}</text>`,
    );
    out.push(`</g>`);
  }
}

/** Time ticks on a 1-2-5 step under the plot, three values up the y axis, and its title. */
function renderAxes(out: string[], f: PanelFrame, binMs: number): void {
  const { p, x, y, bottom, plotTop, plotH, yMax } = f;
  const step = niceStep(f.span, 10);
  for (let t = Math.ceil(p.from / step) * step; t <= p.to; t += step) {
    const tx = x(t);
    out.push(`<line x1="${n(tx)}" x2="${n(tx)}" y1="${n(bottom)}" y2="${n(bottom + 4)}" stroke="#666"/>`);
    out.push(`<text x="${n(tx)}" y="${n(bottom + 16)}" ${FONT} font-size="10" fill="#444" text-anchor="middle">${escapeXml(axisLabel(t, step))}</text>`);
  }
  for (const v of [0, yMax / 2, yMax]) {
    out.push(
      `<text x="${MARGIN_LEFT - 6}" y="${n(y(v) + 3)}" ${FONT} font-size="10" fill="#444" text-anchor="end">${escapeXml(String(Number(v.toFixed(1))))}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${MARGIN_LEFT - 40} ${n(plotTop + plotH / 2)}) rotate(-90)" ${FONT} font-size="10" fill="#444" text-anchor="middle">${escapeXml(p.bars ? `probes per ${binMs} ms` : `probes per ${binMs} ms (mean)`)}</text>`,
  );
}

/** The whole picture: an overview of the run, a zoom around the crash, a legend. */
export function timelineSvg(d: TimelineData, opts: TimelineOptions = {}): string {
  const [zFrom, zTo] = zoomWindow(d, opts);
  const [oFrom, oTo] = overviewWindow(d);
  const titleH = d.subtitle ? 56 : 40;
  const overview: Panel = { title: 'The whole run', from: oFrom, to: oTo, top: titleH, height: 210, bars: false };
  const zoom: Panel = {
    title: `Around the crash (${axisLabel(zFrom, 1)} to ${axisLabel(zTo, 1)})`,
    from: zFrom,
    to: zTo,
    top: titleH + 220,
    height: 260,
    bars: true,
  };
  const legendTop = zoom.top + zoom.height + 8;
  const binMs = d.arrivals?.binMs ?? 1;
  const legend = [
    `Grey: UDP probes that reached the server, counted per ${binMs} ms (dark line in the zoom: the mean over ${SMOOTH_MS} ms); the client sent one every ${d.probeIntervalMs} ms (dotted line: that rate; taller bars, a receiver catching up after a pause, are cut).`,
    `Red band: the silence across a state change (the failover gap). Pink: other silences over 5 ms (the probes run as ordinary processes: a loaded host delays them too). Dashed lines: what happened, and when.`,
    d.clockNote,
  ].flatMap((line) => wrap(line, LEGEND_CHARS));
  const height = legendTop + legend.length * 16 + 12;
  const desc = [
    d.title,
    ...d.markers.map((m) => `${m.label} at ${axisLabel(Math.round(m.atMs - d.zeroMs), 1)}`),
    ...d.gaps.map((g) => `${formatGapMs(g.gapMs)} gap at ${axisLabel(Math.round(g.startMs - d.zeroMs), 1)}`),
  ].join('; ');

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${n(height)}" viewBox="0 0 ${WIDTH} ${n(height)}" role="img" aria-label="${escapeXml(d.title)}">`,
  );
  out.push(`<title>${escapeXml(d.title)}</title>`);
  out.push(`<desc>${escapeXml(desc)}</desc>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN_LEFT}" y="26" ${FONT} font-size="18" font-weight="bold" fill="#111">${escapeXml(d.title)}</text>`);
  if (d.subtitle) out.push(`<text x="${MARGIN_LEFT}" y="44" ${FONT} font-size="12" fill="#555">${escapeXml(d.subtitle)}</text>`);
  out.push(...renderPanel(d, overview));
  out.push(...renderPanel(d, zoom));
  legend.forEach((line, i) => {
    out.push(`<text class="legend" x="${MARGIN_LEFT}" y="${n(legendTop + 12 + i * 16)}" ${FONT} font-size="11" fill="#444">${escapeXml(line)}</text>`);
  });
  out.push(`</svg>`);
  return `${out.join('\n')}\n`;
}
