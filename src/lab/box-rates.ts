// Per-box packet rates for the active/active demo, from samples of each box's GET /v1/counters.
// Pure: samples in, rates out. A rate divides two samples of one daemon by its own monotonic clock
// (sampledAtMs); a restarted daemon starts its counters and its clock again, so a pair of samples
// whose clock or counters went backwards spans a restart and gives no rate.
import type { LabBox } from './topology.js';

/** The events the demo shows per box (names of wire/dataplane-counters.ts). */
export const RATE_EVENTS = ['forwarded', 'to-owner', 'ha3-tx', 'ha3-rx'] as const;
export type RateEvent = (typeof RATE_EVENTS)[number];

/** One sample of one box's counters. */
export interface CounterSample {
  box: LabBox;
  /** Wall clock when the answer arrived (epoch ms): where the sample sits on the timeline. */
  atMs: number;
  /** The daemon's monotonic clock when it read the counters (ms). */
  sampledAtMs: number;
  packets: Record<RateEvent, number>;
}

/** Packets per second of each event between two samples, or null across a restart. */
export function rateBetween(a: CounterSample, b: CounterSample): Record<RateEvent, number> | null {
  const s = (b.sampledAtMs - a.sampledAtMs) / 1000;
  if (!(s > 0)) return null;
  const out = {} as Record<RateEvent, number>;
  for (const e of RATE_EVENTS) {
    const d = b.packets[e] - a.packets[e];
    if (d < 0) return null;
    out[e] = d / s;
  }
  return out;
}

/** The samples of `box` taken in [fromMs, toMs] (wall clock), in order. */
function samplesIn(samples: readonly CounterSample[], box: LabBox, fromMs: number, toMs: number): CounterSample[] {
  return samples.filter((x) => x.box === box && x.atMs >= fromMs && x.atMs <= toMs).sort((x, y) => x.atMs - y.atMs);
}

/**
 * A box's mean rates over a phase: from its first to its last sample in the window, or null when
 * it has fewer than two (not running, not answering) or restarted in between.
 */
export function phaseRate(samples: readonly CounterSample[], box: LabBox, fromMs: number, toMs: number): Record<RateEvent, number> | null {
  const inside = samplesIn(samples, box, fromMs, toMs);
  if (inside.length < 2) return null;
  return rateBetween(inside[0], inside[inside.length - 1]);
}

/** A point of a box's rate series: the rate between two consecutive samples, at the later one. */
export interface RatePoint {
  atMs: number;
  perS: number;
}

/** The series of one event's rate for one box (consecutive samples; none across a restart). */
export function rateSeries(samples: readonly CounterSample[], box: LabBox, event: RateEvent): RatePoint[] {
  const mine = samplesIn(samples, box, -Infinity, Infinity);
  const out: RatePoint[] = [];
  for (let i = 1; i < mine.length; i++) {
    const r = rateBetween(mine[i - 1], mine[i]);
    if (r !== null) out.push({ atMs: mine[i].atMs, perS: r[event] });
  }
  return out;
}

/** A sample from a GET /v1/counters answer (missing events read as 0). */
export function sampleOf(box: LabBox, atMs: number, answer: { sampledAtMs: number; packets: Record<string, number> }): CounterSample {
  const packets = {} as Record<RateEvent, number>;
  for (const e of RATE_EVENTS) packets[e] = answer.packets[e] ?? 0;
  return { box, atMs, sampledAtMs: answer.sampledAtMs, packets };
}
