// What the fleet page shows, as kept in the URL's hash so a link reproduces the view: the label
// filter (`label=site=dc1`, repeatable: a pair must carry every one) and the pair whose timeline
// is open (`pair=dc1-edge`). Pure (browser code: no imports but types).
import type { PairView } from '../protocol.js';

export interface FleetView {
  /** "key=value" each; sorted, no repeats. */
  labels: string[];
  /** The pair whose timeline is open, or null. */
  pair: string | null;
}

/** Longer than any label central accepts or any pair name: not a view, ignored. */
const MAX_PART = 200;

export function parseView(hash: string): FleetView {
  const q = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const labels = q.getAll('label').filter((l) => l.length <= MAX_PART && l.indexOf('=') > 0);
  const pair = q.get('pair');
  return { labels: [...new Set(labels)].sort(), pair: pair !== null && pair !== '' && pair.length <= MAX_PART ? pair : null };
}

/** The hash (with its '#') that parseView reads back as `v`. */
export function formatView(v: FleetView): string {
  const q = new URLSearchParams();
  for (const l of [...new Set(v.labels)].sort()) q.append('label', l);
  if (v.pair !== null) q.set('pair', v.pair);
  const s = q.toString();
  return s === '' ? '#' : `#${s}`;
}

/** The view with `label` added to the filter, or taken out if it was in. */
export function toggleLabel(v: FleetView, label: string): FleetView {
  return { ...v, labels: v.labels.includes(label) ? v.labels.filter((l) => l !== label) : [...v.labels, label].sort() };
}

export function labelText(key: string, value: string): string {
  return `${key}=${value}`;
}

/** A pair is shown when it carries every label of the filter. */
export function pairShown(p: Pick<PairView, 'labels'>, v: FleetView): boolean {
  return v.labels.every((l) => {
    const i = l.indexOf('=');
    const labels = p.labels ?? {};
    return Object.prototype.hasOwnProperty.call(labels, l.slice(0, i)) && labels[l.slice(0, i)] === l.slice(i + 1);
  });
}

/** Every label the fleet's pairs carry, and those of the filter (so a stale one can be taken out). */
export function labelsPresent(pairs: readonly Pick<PairView, 'labels'>[], v: FleetView): string[] {
  const all = new Set(v.labels);
  for (const p of pairs) for (const [k, val] of Object.entries(p.labels ?? {})) all.add(labelText(k, String(val)));
  return [...all].sort();
}
