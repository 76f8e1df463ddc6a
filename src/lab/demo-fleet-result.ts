// What `tandem lab demo --pairs N` measured, and its table. Pure: the result in, text out.
import type { PairPushResult } from '../central/protocol.js';

export interface FleetDemoResult {
  name: string;
  mode: 'fleet';
  pairs: number;
  /** Central's view when every pair was ok, and after the failover. */
  before: { pair: string; site: string; health: string; members: string; config: number | null }[];
  after: FleetDemoResult['before'];
  /** The pair failed over (kill -9 of its active) and how long central took to show its survivor active. */
  failover: { pair: string; killed: string; survivor: string; seenMs: number } | null;
  /** The template pushed with the killed box down, then again once it was back. */
  push: { pair: string; outcome: PairPushResult['outcome']; member: string | null; version: number | null; inSync: boolean | null; reason: string }[];
  repush: FleetDemoResult['push'];
  /** Central's merged timeline from the kill on. */
  timeline: string[];
  ok: boolean;
  errors: string[];
}

export function emptyFleetDemoResult(name: string, pairs: number): FleetDemoResult {
  return { name, mode: 'fleet', pairs, before: [], after: [], failover: null, push: [], repush: [], timeline: [], ok: false, errors: [] };
}

function grid(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ')}`;
  return [line(rows[0]), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

function viewTable(rows: FleetDemoResult['before']): string {
  return grid([
    ['pair', 'site', 'health', 'config', 'members'],
    ...rows.map((r) => [r.pair, r.site, r.health, r.config === null ? '-' : `v${r.config}`, r.members]),
  ]);
}

function pushTable(rows: FleetDemoResult['push']): string {
  return grid([
    ['pair', 'outcome', 'on', 'version', 'both run it', 'why'],
    ...rows.map((r) => [
      r.pair,
      r.outcome,
      r.member ?? '-',
      r.version === null ? '-' : `v${r.version}`,
      r.inSync === null ? '-' : r.inSync ? 'yes' : 'NO',
      r.reason,
    ]),
  ]);
}

export function formatFleetDemo(r: FleetDemoResult): string {
  const parts: string[] = [];
  if (r.before.length > 0) parts.push(`Central's fleet view, settled:\n${viewTable(r.before)}`);
  if (r.failover !== null)
    parts.push(
      `kill -9 of ${r.failover.pair}'s active ${r.failover.killed}: central shows ${r.failover.survivor} active ${r.failover.seenMs} ms later\n${viewTable(r.after)}`,
    );
  if (r.push.length > 0)
    parts.push(`Template pushed to every pair (${r.failover?.killed ?? 'a box'} of ${r.failover?.pair ?? '?'} down):\n${pushTable(r.push)}`);
  if (r.repush.length > 0) parts.push(`The same template again, every box back:\n${pushTable(r.repush)}`);
  if (r.timeline.length > 0) parts.push(`Central's timeline from the kill:\n${r.timeline.map((l) => `  ${l}`).join('\n')}`);
  parts.push(`  result  ${r.ok ? 'OK' : `FAILED${r.errors.length > 0 ? `: ${r.errors.join('; ')}` : ''}`}`);
  return parts.join('\n\n');
}
