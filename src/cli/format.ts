// The pieces every human view of the CLI is made of: aligned tables, "key : value" fields,
// durations, milliseconds and counts. The views are in format-*.ts; all of them are pure (data,
// and `now` where it matters, in; text out), so tests pin them exactly.
import { duration } from '../api/status-page/render.js';

/** "1d 2h 3m", "1h 2m 5s", "42s", "250 ms": one format for the terminal and the status page. */
export const formatDuration: (seconds: number) => string = duration;

/** "12 ms" from 10 ms up, "0.213 ms" below (an RTT on a LAN); "-" when unknown. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 10) return `${Math.round(value)} ms`;
  return `${Number(value.toFixed(3))} ms`;
}

export function yesNo(value: boolean | null | undefined): string {
  return value === null || value === undefined ? '-' : value ? 'yes' : 'no';
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** "  key : value" lines, the colons aligned. */
export function fields(pairs: readonly [string, string][], indent = '  '): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(width)} : ${v}`).join('\n');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** 1234 -> "1234", 123456 -> "123.5k", 12345678 -> "12.3M" (exact below 100 000). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n < 100_000) return String(Math.round(n));
  for (const [unit, size] of [
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))}${unit}`;
  }
  return String(n);
}
