// The soak run's judgement, pure: a least-squares line through a series of samples, and whether a
// series (RSS, heap) clearly grows after the warm-up plateau. A clear growth needs both the fitted
// slope over the limit and the end clearly above the plateau: the slope alone over a short run
// extrapolates GC sawtooth noise into megabytes per hour.

export interface Point {
  /** Seconds since the run began. */
  tS: number;
  value: number;
}

export interface GrowthLimits {
  /** Slope allowed whatever the size, per hour (bytes). */
  floorPerHour: number;
  /** Slope allowed relative to the plateau, per hour (0.25 = a quarter of the plateau per hour). */
  relativePerHour: number;
  /** The end must exceed the plateau by at least this (bytes) to count as growth at all. */
  minIncrease: number;
}

export interface Growth {
  /** Mean over the second half of the warm-up (after start-up allocations). */
  plateau: number;
  /** Mean over the last window (as long as the warm-up). */
  end: number;
  /** Fitted over every sample from the plateau on. */
  slopePerHour: number;
  limitPerHour: number;
  clear: boolean;
  samples: number;
}

/** Least-squares slope and intercept of y over x; slope 0 for fewer than two distinct x. */
export function linearFit(points: readonly Point[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n === 0) return { slope: 0, intercept: 0 };
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.tS;
    sy += p.value;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.tS - mx) ** 2;
    sxy += (p.tS - mx) * (p.value - my);
  }
  if (sxx === 0) return { slope: 0, intercept: my };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The warm-up: the first five minutes, or a third of a shorter run. */
export function warmupS(durationS: number): number {
  return Math.min(300, durationS / 3);
}

function mean(points: readonly Point[]): number {
  return points.length === 0 ? NaN : points.reduce((a, p) => a + p.value, 0) / points.length;
}

export function growth(points: readonly Point[], durationS: number, limits: GrowthLimits): Growth {
  const w = warmupS(durationS);
  const plateauPts = points.filter((p) => p.tS >= w / 2 && p.tS <= w);
  const fitPts = points.filter((p) => p.tS >= w / 2);
  const endPts = points.filter((p) => p.tS >= durationS - w);
  const plateau = mean(plateauPts);
  const end = mean(endPts);
  const slopePerHour = linearFit(fitPts).slope * 3600;
  const limitPerHour = Math.max(limits.floorPerHour, limits.relativePerHour * (Number.isFinite(plateau) ? plateau : 0));
  const spanH = Math.max(0, durationS - w) / 3600;
  const needed = Math.max(limits.minIncrease, (limitPerHour * spanH) / 2);
  const clear = fitPts.length >= 3 && slopePerHour > limitPerHour && end - plateau > needed;
  return { plateau, end, slopePerHour, limitPerHour, clear, samples: fitPts.length };
}

const MIB = 1024 * 1024;
export const RSS_LIMITS: GrowthLimits = { floorPerHour: 48 * MIB, relativePerHour: 0.25, minIncrease: 16 * MIB };
export const HEAP_LIMITS: GrowthLimits = { floorPerHour: 24 * MIB, relativePerHour: 0.25, minIncrease: 8 * MIB };

/** Right-aligned columns under a header line. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function mib(bytes: number | null): string {
  return bytes === null || !Number.isFinite(bytes) ? '-' : (bytes / MIB).toFixed(1);
}
