// `tandem events`: the box's transition history as a failover timeline, oldest first.
import type { TransitionRecord } from '../api/protocol.js';

export interface TimelineEvent extends TransitionRecord {
  /** How long the box stayed in `from` before this transition (ms); null for the first one shown. */
  inPreviousStateMs: number | null;
  /** A transition into active: a failover onto this box (or its first election). */
  tookRole: boolean;
}

export function timeline(transitions: readonly TransitionRecord[]): TimelineEvent[] {
  return transitions.map((t, i) => ({
    ...t,
    inPreviousStateMs: i === 0 ? null : Date.parse(t.at) - Date.parse(transitions[i - 1].at),
    tookRole: t.to === 'active',
  }));
}

function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatTimeline(box: string, events: readonly TimelineEvent[]): string {
  if (events.length === 0) return `${box}: no transitions recorded`;
  const rows = [['TIME', 'FROM', '', 'TO', 'REASON', 'AFTER']];
  for (const e of events) rows.push([e.at, e.from, '->', e.to + (e.tookRole ? ' *' : ''), e.reason, duration(e.inPreviousStateMs)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd(),
  );
  return [`${box}: ${events.length} transition(s), oldest first (* = took the active role; AFTER = time spent in FROM)`, ...lines].join('\n');
}
