// The active/active demo's picture: each box's forwarding rate over the run, then each client's
// probe arrivals (the whole run, and zoomed around the crash), the state changes marked and the
// gaps shaded. Built from the active/passive picture's panels (timeline-svg.ts), one per client,
// plus a panel of its own for the boxes' rates. Pure: data in, SVG text out.
import type { ArrivalHistogram } from './gaps.js';
import type { RatePoint } from './box-rates.js';
import {
  axisLabel,
  escapeXml,
  FONT,
  LABEL_H,
  LABEL_ROWS,
  MARGIN_LEFT,
  n,
  niceStep,
  overviewWindow,
  PLOT_W,
  renderMarkers,
  renderPanel,
  SMOOTH_MS,
  WIDTH,
  wrap,
  zoomWindow,
  type Panel,
  type PanelFrame,
  type TimelineData,
  type TimelineGap,
  type TimelineMarker,
} from './timeline-svg.js';

export interface PairTimelineClient {
  /** "client (via device 0)". */
  label: string;
  arrivals: ArrivalHistogram | null;
  gaps: TimelineGap[];
}

export interface PairTimelineBox {
  /** "fwa". */
  label: string;
  /** Packets forwarded per second, sample by sample. */
  points: RatePoint[];
}

export interface PairTimelineData {
  title: string;
  subtitle?: string;
  /** Epoch ms drawn as time 0 (the kill). */
  zeroMs: number;
  markers: TimelineMarker[];
  clients: PairTimelineClient[];
  boxes: PairTimelineBox[];
  probeIntervalMs: number;
  clockNote: string;
}

/** One colour per box line, in order (fwa, fwb). */
const BOX_COLOURS = ['#1565c0', '#ef6c00'];
const LEGEND_CHARS = 140;
/** Two rate points further apart than this have no samples between them (the demo samples every 500 ms). */
export const RATE_BREAK_MS = 1500;

/** A client's panels draw from the active/passive picture's data shape. */
function clientData(d: PairTimelineData, c: PairTimelineClient): TimelineData {
  return {
    title: c.label,
    arrivals: c.arrivals,
    zeroMs: d.zeroMs,
    markers: d.markers,
    gaps: c.gaps,
    probeIntervalMs: d.probeIntervalMs,
    clockNote: d.clockNote,
  };
}

/** The whole run: every client's arrivals and every box's samples, the markers inside. */
function runWindow(d: PairTimelineData): [number, number] {
  const windows = d.clients.map((c) => overviewWindow(clientData(d, c)));
  const times = d.boxes.flatMap((b) => b.points.map((p) => p.atMs - d.zeroMs));
  const from = Math.min(...windows.map((w) => w[0]), ...times);
  const to = Math.max(...windows.map((w) => w[1]), ...times);
  return [from, to];
}

/** The boxes' forwarding rates as lines over the whole run, with the markers. */
function ratePanel(d: PairTimelineData, p: Panel): string[] {
  const plotTop = p.top + 22 + LABEL_ROWS * LABEL_H;
  const plotH = p.height - (plotTop - p.top) - 28;
  const bottom = plotTop + plotH;
  const span = p.to - p.from;
  const top = Math.max(1, ...d.boxes.flatMap((b) => b.points.map((q) => q.perS)));
  const yStep = niceStep(top, 4);
  const yMax = Math.ceil(top / yStep) * yStep;
  const f: PanelFrame = {
    p,
    span,
    plotTop,
    plotH,
    bottom,
    expected: 0,
    yMax,
    x: (rel) => MARGIN_LEFT + ((rel - p.from) / span) * PLOT_W,
    y: (v) => bottom - (Math.min(v, yMax) / yMax) * plotH,
  };
  const out: string[] = [`<g class="panel rates">`];
  out.push(`<text x="${MARGIN_LEFT}" y="${n(p.top + 14)}" ${FONT} font-size="14" font-weight="bold" fill="#222">${escapeXml(p.title)}</text>`);
  out.push(`<rect x="${MARGIN_LEFT}" y="${n(plotTop)}" width="${PLOT_W}" height="${n(plotH)}" fill="#fafafa" stroke="#ccc"/>`);
  d.boxes.forEach((b, i) => {
    const colour = BOX_COLOURS[i % BOX_COLOURS.length];
    const pts = b.points.filter((q) => q.atMs - d.zeroMs >= p.from && q.atMs - d.zeroMs <= p.to);
    if (pts.length > 0) {
      // a box that was down (killed, restarting) has no samples: the line breaks there, not slopes
      const path = pts
        .map((q, j) => `${j === 0 || q.atMs - pts[j - 1].atMs > RATE_BREAK_MS ? 'M' : 'L'}${n(f.x(q.atMs - d.zeroMs))} ${n(f.y(q.perS))}`)
        .join('');
      out.push(`<path class="box-rate" data-box="${escapeXml(b.label)}" d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    }
    // the key, top right of the plot
    const kx = MARGIN_LEFT + PLOT_W - 150 + i * 75;
    out.push(`<line x1="${n(kx)}" x2="${n(kx + 18)}" y1="${n(plotTop + 12)}" y2="${n(plotTop + 12)}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${n(kx + 22)}" y="${n(plotTop + 16)}" ${FONT} font-size="11" fill="${colour}">${escapeXml(b.label)}</text>`);
  });
  renderMarkers(out, d, f);
  rateAxes(out, f);
  out.push(`</g>`);
  return out;
}

/** Time ticks under the rate panel, packets per second up its side. */
function rateAxes(out: string[], f: PanelFrame): void {
  const { p, x, y, bottom, plotTop, plotH, yMax } = f;
  const step = niceStep(f.span, 10);
  for (let t = Math.ceil(p.from / step) * step; t <= p.to; t += step) {
    out.push(`<line x1="${n(x(t))}" x2="${n(x(t))}" y1="${n(bottom)}" y2="${n(bottom + 4)}" stroke="#666"/>`);
    out.push(`<text x="${n(x(t))}" y="${n(bottom + 16)}" ${FONT} font-size="10" fill="#444" text-anchor="middle">${escapeXml(axisLabel(t, step))}</text>`);
  }
  for (const v of [0, yMax / 2, yMax]) {
    out.push(`<text x="${MARGIN_LEFT - 6}" y="${n(y(v) + 3)}" ${FONT} font-size="10" fill="#444" text-anchor="end">${escapeXml(String(Math.round(v)))}</text>`);
  }
  out.push(
    `<text transform="translate(${MARGIN_LEFT - 50} ${n(plotTop + plotH / 2)}) rotate(-90)" ${FONT} font-size="10" fill="#444" text-anchor="middle">packets/s</text>`,
  );
}

/** The zoom around the crash, wide enough for every client's crash gap. */
function pairZoom(d: PairTimelineData): [number, number] {
  const all: TimelineData = { ...clientData(d, d.clients[0] ?? { label: '', arrivals: null, gaps: [] }), gaps: d.clients.flatMap((c) => c.gaps) };
  return zoomWindow(all);
}

/** The whole picture: the boxes' rates, each client's run, each client's crash, a legend. */
export function pairTimelineSvg(d: PairTimelineData): string {
  const [oFrom, oTo] = runWindow(d);
  const [zFrom, zTo] = pairZoom(d);
  const titleH = d.subtitle ? 56 : 40;
  const panels: string[] = [];
  let top = titleH;
  const add = (lines: string[], height: number): void => {
    panels.push(...lines);
    top += height + 10;
  };
  add(ratePanel(d, { title: "Each box's forwarding rate (packets/s, from its API's counters)", from: oFrom, to: oTo, top, height: 200, bars: false }), 200);
  for (const c of d.clients) {
    add(renderPanel(clientData(d, c), { title: `${c.label}: the whole run`, from: oFrom, to: oTo, top, height: 190, bars: false }), 190);
  }
  for (const c of d.clients) {
    const title = `${c.label}: around the crash (${axisLabel(zFrom, 1)} to ${axisLabel(zTo, 1)})`;
    add(renderPanel(clientData(d, c), { title, from: zFrom, to: zTo, top, height: 230, bars: true }), 230);
  }
  const legend = [
    `Lines: packets each box forwarded per second, between two reads of its counters (a killed box has none until it answers again).`,
    `Grey: each client's UDP probes that reached the server, one sent every ${d.probeIntervalMs} ms (dark line in the zooms: the mean over ${SMOOTH_MS} ms). Red band: the silence across a state change; pink: other silences over 5 ms. Dashed lines: what happened, and when.`,
    d.clockNote,
  ].flatMap((line) => wrap(line, LEGEND_CHARS));
  const height = top + legend.length * 16 + 12;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${n(height)}" viewBox="0 0 ${WIDTH} ${n(height)}" role="img" aria-label="${escapeXml(d.title)}">`,
  );
  out.push(`<title>${escapeXml(d.title)}</title>`);
  out.push(`<desc>${escapeXml(description(d))}</desc>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN_LEFT}" y="26" ${FONT} font-size="18" font-weight="bold" fill="#111">${escapeXml(d.title)}</text>`);
  if (d.subtitle) out.push(`<text x="${MARGIN_LEFT}" y="44" ${FONT} font-size="12" fill="#555">${escapeXml(d.subtitle)}</text>`);
  out.push(...panels);
  legend.forEach((line, i) => {
    out.push(`<text class="legend" x="${MARGIN_LEFT}" y="${n(top + 4 + i * 16)}" ${FONT} font-size="11" fill="#444">${escapeXml(line)}</text>`);
  });
  out.push(`</svg>`);
  return `${out.join('\n')}\n`;
}

/** The picture in words (the SVG's desc): the markers and each client's gaps. */
function description(d: PairTimelineData): string {
  return [
    d.title,
    ...d.markers.map((m) => `${m.label} at ${axisLabel(Math.round(m.atMs - d.zeroMs), 1)}`),
    ...d.clients.flatMap((c) => c.gaps.filter((g) => g.label !== undefined).map((g) => `${c.label}: ${g.label ?? ''}`)),
  ].join('; ');
}
