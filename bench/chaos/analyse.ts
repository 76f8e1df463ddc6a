// Pure analysis for the chaos run: frames captured on the switch -> dual-active overlaps, the
// failure schedule, and the figures of the table. No I/O, no clock: times are inputs.

export type Box = 'fwa' | 'fwb';

/** One frame sourced from a virtual MAC, seen entering the switch from `box`. */
export interface VmacFrame {
  /** Capture timestamp, epoch microseconds (the kernel's clock, the same for every port). */
  tUs: number;
  box: Box;
  /**
   * The class of its source MAC (02:74:64:<c>:..): 0 in active/passive; in active/active 1 (device
   * 0's addresses), 2 (device 1's), 3 (the primary's). Absent: 0.
   */
  cls?: number;
}

export interface Overlap {
  /** The virtual MAC class both boxes spoke for (analyseDualActiveByClass; 0 in active/passive). */
  cls?: number;
  startUs: number;
  endUs: number;
  /** Dual-active frames inside the interval, by the box that emitted them. */
  frames: Record<Box, number>;
}

export interface Handoff {
  from: Box;
  to: Box;
  /** Last frame of the box that stopped, first frame of the box that started. */
  lastFromUs: number;
  firstToUs: number;
}

export interface DualActiveReport {
  frames: Record<Box, number>;
  /** Frames emitted while the other box was emitting too (see analyseDualActive). */
  dualActiveFrames: number;
  overlaps: Overlap[];
  /** Every change of the emitting box, in time order. */
  handoffs: Handoff[];
}

const other = (b: Box): Box => (b === 'fwa' ? 'fwb' : 'fwa');

/**
 * Both boxes forwarding at once, from the wire. A frame of box X is a dual-active frame when the
 * other box emitted a frame within `windowUs` before it AND within `windowUs` after it: X spoke in
 * the middle of the other's activity. A clean handoff (A A A | B B B, however short the silence
 * between them) flags nothing; the old active's frame leaving after the new one's first frame
 * (A A B A B B) flags that A frame and the B frames around it. Flagged frames closer than
 * windowUs are merged into one overlap interval.
 */
export function analyseDualActive(input: readonly VmacFrame[], windowUs: number): DualActiveReport {
  if (!(windowUs > 0)) throw new Error(`windowUs: got ${windowUs}, expected a positive number`);
  const frames = [...input].sort((a, b) => a.tUs - b.tUs);
  const n = frames.length;
  // for each frame: time of the other box's latest frame at or before it / earliest at or after it
  const prevOther = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const nextOther = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const last: Record<Box, number> = { fwa: Number.NEGATIVE_INFINITY, fwb: Number.NEGATIVE_INFINITY };
  for (let i = 0; i < n; i++) {
    prevOther[i] = last[other(frames[i].box)];
    last[frames[i].box] = frames[i].tUs;
  }
  const next: Record<Box, number> = { fwa: Number.POSITIVE_INFINITY, fwb: Number.POSITIVE_INFINITY };
  for (let i = n - 1; i >= 0; i--) {
    nextOther[i] = next[other(frames[i].box)];
    next[frames[i].box] = frames[i].tUs;
  }
  const count: Record<Box, number> = { fwa: 0, fwb: 0 };
  const overlaps: Overlap[] = [];
  const handoffs: Handoff[] = [];
  let dual = 0;
  for (let i = 0; i < n; i++) {
    const f = frames[i];
    count[f.box]++;
    if (i > 0 && frames[i - 1].box !== f.box) handoffs.push({ from: frames[i - 1].box, to: f.box, lastFromUs: frames[i - 1].tUs, firstToUs: f.tUs });
    if (f.tUs - prevOther[i] > windowUs || nextOther[i] - f.tUs > windowUs) continue;
    dual++;
    const cur = overlaps[overlaps.length - 1];
    if (cur && f.tUs - cur.endUs <= windowUs) {
      cur.endUs = f.tUs;
      cur.frames[f.box]++;
    } else {
      overlaps.push({ startUs: f.tUs, endUs: f.tUs, frames: { fwa: f.box === 'fwa' ? 1 : 0, fwb: f.box === 'fwb' ? 1 : 0 } });
    }
  }
  return { frames: count, dualActiveFrames: dual, overlaps, handoffs };
}

/**
 * analyseDualActive per class of virtual MAC, merged: in active/active each box speaks for its own
 * class all the time, so frames of both boxes together prove nothing; a class spoken for by both
 * boxes at once (its addresses answered, announced or its frames sent by both) does. With one
 * class (active/passive) the result is analyseDualActive's.
 */
export function analyseDualActiveByClass(
  input: readonly VmacFrame[],
  windowUs: number,
): DualActiveReport & { byClass: Record<number, { fwa: number; fwb: number; dual: number }> } {
  const classes = [...new Set(input.map((f) => f.cls ?? 0))].sort((a, b) => a - b);
  const frames: Record<Box, number> = { fwa: 0, fwb: 0 };
  const byClass: Record<number, { fwa: number; fwb: number; dual: number }> = {};
  const overlaps: Overlap[] = [];
  const handoffs: Handoff[] = [];
  let dual = 0;
  for (const cls of classes) {
    const r = analyseDualActive(
      input.filter((f) => (f.cls ?? 0) === cls),
      windowUs,
    );
    frames.fwa += r.frames.fwa;
    frames.fwb += r.frames.fwb;
    dual += r.dualActiveFrames;
    byClass[cls] = { fwa: r.frames.fwa, fwb: r.frames.fwb, dual: r.dualActiveFrames };
    overlaps.push(...r.overlaps.map((o) => ({ ...o, cls })));
    handoffs.push(...r.handoffs);
  }
  overlaps.sort((a, b) => a.startUs - b.startUs);
  handoffs.sort((a, b) => a.firstToUs - b.firstToUs);
  return { frames, dualActiveFrames: dual, overlaps, handoffs, byClass };
}

/** The longest silence on the wire at a handoff (ms), null when the emitting box never changed. */
export function longestHandoffSilenceMs(handoffs: readonly Handoff[]): number | null {
  let best: number | null = null;
  for (const h of handoffs) {
    const ms = (h.firstToUs - h.lastFromUs) / 1000;
    if (best === null || ms > best) best = ms;
  }
  return best;
}

// --- the schedule ---------------------------------------------------------------------------------

/** Failure kinds, in the order of the issue. */
export const KINDS = ['kill', 'stop', 'link', 'ha1', 'ha2', 'path', 'restart', 'admin', 'recreate'] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABEL: Readonly<Record<Kind, string>> = {
  kill: 'kill -9 + restart',
  stop: 'SIGSTOP/SIGCONT',
  link: 'WAN link down/up',
  ha1: 'HA1 cut (+ planned)',
  ha2: 'HA2 cut (+ planned)',
  path: 'path target loss',
  restart: 'graceful restart',
  admin: "box's WAN device admin down/up",
  recreate: "box's WAN device deleted/created",
};

/** Kinds whose failure must not move the role (the heartbeat backup, or HA2 only carrying sessions). */
export const NO_FAILOVER_KINDS: ReadonlySet<Kind> = new Set<Kind>(['ha1', 'ha2']);

export function parseKinds(text: string): Kind[] {
  const out: Kind[] = [];
  for (const k of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: unknown kind ${JSON.stringify(k)}, expected some of ${KINDS.join(',')}`);
    if (!out.includes(k as Kind)) out.push(k as Kind);
  }
  if (out.length === 0) throw new Error(`--kinds: expected at least one of ${KINDS.join(',')}`);
  return out;
}

/** mulberry32: a small seeded generator, so a run's schedule can be replayed with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` failures cycling through `kinds`: each full cycle holds every kind once, in an order
 * shuffled by the seeded generator, so any 7 consecutive failovers of the default set cover all
 * kinds and the kinds follow each other in varied orders.
 */
export function schedule(kinds: readonly Kind[], count: number, rand: () => number): Kind[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`failovers: got ${count}, expected a whole number >= 0`);
  const out: Kind[] = [];
  while (out.length < count) {
    const cycle = [...kinds];
    for (let i = cycle.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [cycle[i], cycle[j]] = [cycle[j], cycle[i]];
    }
    out.push(...cycle.slice(0, count - out.length));
  }
  return out;
}

// --- figures ---------------------------------------------------------------------------------------

export function minMedianMax(xs: readonly number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { min: s[0], median, max: s[s.length - 1] };
}

export function formatMmm(xs: readonly number[], digits = 1): string {
  const m = minMedianMax(xs);
  if (m === null) return '-';
  const f = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(digits));
  return `${f(m.min)} / ${f(m.median)} / ${f(m.max)}`;
}

/** Role changes counted in an iteration, against what the kind expects: 'ok', 'none' or 'extra'. */
export function roleChangeVerdict(changes: number, expected = 1): 'ok' | 'none' | 'extra' {
  if (changes === expected) return 'ok';
  return changes < expected ? 'none' : 'extra';
}

/** A fixed-width text table (the first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
