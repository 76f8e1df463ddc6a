// The demo's timeline: the receiver's silences on the wall clock, which of them each step owns,
// and the picture's markers (the kill, the takeover, the restart, the return) from the daemons'
// transition logs or, failing those, from what the demo saw. Pure: times in, gaps and markers out.
import type { ReceiverSummary } from './probe.js';
import type { LabBox } from './topology.js';
import type { TimelineMarker } from './timeline-svg.js';

/** A gap that ends this long before the kill belongs to the warm-up, not to the crash. */
export const CRASH_WINDOW_BEFORE_MS = 100;

/** A silence at the receiver on the wall clock (epoch ms). */
export interface WallGap {
  startMs: number;
  gapMs: number;
  skipped: number;
}

/** The receiver's gaps (relative to its first arrival) on the wall clock. */
export function wallGaps(recv: ReceiverSummary): WallGap[] {
  // the histogram's anchor has sub-ms resolution; firstArrivalAt (ISO) only ms
  const origin = recv.arrivals?.startEpochMs ?? (recv.firstArrivalAt ? Date.parse(recv.firstArrivalAt) : null);
  if (origin === null) return [];
  return recv.gaps.map((g) => ({ startMs: origin + g.startMs, gapMs: g.gapMs, skipped: g.skipped }));
}

/** The gaps that began in [fromMs, toMs): how many, the longest, the probes skipped across them. */
export function gapsBetween(gaps: readonly WallGap[], fromMs: number, toMs: number): { count: number; maxGapMs: number; lost: number } {
  const inside = gaps.filter((g) => g.startMs >= fromMs && g.startMs < toMs);
  return {
    count: inside.length,
    maxGapMs: inside.reduce((m, g) => Math.max(m, g.gapMs), 0),
    lost: inside.reduce((n, g) => n + g.skipped, 0),
  };
}

/** The longest silence that spans any part of [fromMs, toMs]: what a state change cost. */
export function gapAcross(gaps: readonly WallGap[], fromMs: number, toMs: number): WallGap | null {
  let best: WallGap | null = null;
  for (const g of gaps) {
    if (g.startMs <= toMs && g.startMs + g.gapMs >= fromMs && (best === null || g.gapMs > best.gapMs)) best = g;
  }
  return best;
}

/**
 * The longest silence that began in [fromMs, toMs]: what a change that starts at fromMs cost (a
 * silence already running at fromMs has another cause).
 */
export function gapStartingIn(gaps: readonly WallGap[], fromMs: number, toMs: number): WallGap | null {
  let best: WallGap | null = null;
  for (const g of gaps) if (g.startMs >= fromMs && g.startMs <= toMs && (best === null || g.gapMs > best.gapMs)) best = g;
  return best;
}

/** A transition from a daemon's log (GET /v1/status transitions). */
export interface SeenTransition {
  box: LabBox;
  atMs: number;
  from: string;
  to: string;
  reason: string;
}

/** When the demo itself saw things happen (its own clock). */
export interface DemoClockTimes {
  /** The traffic started: state changes from here on are part of the picture. */
  trafficAt?: number;
  killedAt: number;
  /** The survivor answered active through its API. */
  takeoverSeenAt: number | null;
  restartAt: number | null;
  /** The pair was active/passive again by the APIs. */
  recoveredSeenAt: number | null;
}

/** The states a takeover and a return go to: active/passive's, or active/active's primary and secondary. */
export interface PairStateNames {
  active: string;
  passive: string;
}
export const ACTIVE_PASSIVE_NAMES: PairStateNames = { active: 'active', passive: 'passive' };
export const ACTIVE_ACTIVE_NAMES: PairStateNames = { active: 'active-primary', passive: 'active-secondary' };

/**
 * The picture's markers: the kill and the restart on the demo's clock; the takeover and the
 * return from the daemons' transition logs when they have them, else when the demo saw them.
 */
export function timelineMarkers(
  killed: LabBox,
  survivor: LabBox,
  times: DemoClockTimes,
  transitions: readonly SeenTransition[],
  names: PairStateNames = ACTIVE_PASSIVE_NAMES,
): { markers: TimelineMarker[]; clockNote: string; takeoverLoggedAt: number | null } {
  const markers: TimelineMarker[] = [{ atMs: times.killedAt, label: `kill -9 ${killed}`, kind: 'crash' }];
  const used = new Set<SeenTransition>();
  const fromLog: string[] = [];
  const fromDemo: string[] = ['kill -9'];

  const takeover = transitions.find((t) => t.box === survivor && t.to === names.active && t.atMs >= times.killedAt - CRASH_WINDOW_BEFORE_MS);
  if (takeover) {
    used.add(takeover);
    markers.push({ atMs: takeover.atMs, label: `${survivor} ${names.active}`, kind: 'takeover' });
    fromLog.push(`${survivor} ${names.active}`);
  } else if (times.takeoverSeenAt !== null) {
    markers.push({ atMs: times.takeoverSeenAt, label: `${survivor} ${names.active} (seen by the demo)`, kind: 'takeover' });
    fromDemo.push(`${survivor} ${names.active}`);
  }
  if (times.restartAt !== null) {
    markers.push({ atMs: times.restartAt, label: `${killed} restarted`, kind: 'restart' });
    fromDemo.push('restart');
    // back in the pair: ready to take over (passive, its bulk sync complete) or took the role;
    // only joined (tentative) when the log shows no more
    const after = (to: string) => transitions.find((t) => t.box === killed && t.atMs >= times.restartAt! && t.to === to);
    const back = [after(names.passive), after(names.active)].filter((t) => t !== undefined).sort((a, b) => a.atMs - b.atMs)[0] ?? after('tentative');
    if (back) {
      used.add(back);
      markers.push({ atMs: back.atMs, label: `${killed} back (${back.to})`, kind: 'recovered' });
      fromLog.push(`${killed} back`);
    } else if (times.recoveredSeenAt !== null) {
      markers.push({ atMs: times.recoveredSeenAt, label: `${killed} back (seen by the demo)`, kind: 'recovered' });
      fromDemo.push(`${killed} back`);
    }
  }
  // any other state change while the traffic ran is part of the story (a flap, a monitor failing)
  for (const t of transitions) {
    if (used.has(t) || t.atMs < (times.trafficAt ?? times.killedAt - CRASH_WINDOW_BEFORE_MS)) continue;
    // the restarted box starting up, and its bulk sync completing: part of being back
    if (t.box === killed && (t.from === 'initial' || (t.from === 'tentative' && t.to === names.passive))) continue;
    markers.push({ atMs: t.atMs, label: `${t.box} ${t.from} \u2192 ${t.to}`, kind: 'other' });
  }
  const clockNote =
    `Times: ${fromDemo.join(', ')} on the demo's clock` +
    (fromLog.length > 0 ? `; ${fromLog.join(', ')} from the daemons' own transition logs (ms resolution)` : '') +
    "; probe arrivals on the receiver's clock. One machine: one wall clock.";
  return { markers, clockNote, takeoverLoggedAt: takeover?.atMs ?? null };
}
