// What `tandem lab demo --mode active-active` measured and the tables it prints. Pure: the result
// in, text out. The active/passive demo's result (demo-result.ts) stays as it is: this one has a
// phase per state of the pair (both forwarding, the survivor alone, the pair again) with each
// box's packet rates, and a line per client with its gaps.
import type { SetupDecisions } from '../wire/pair-status.js';
import type { RateEvent } from './box-rates.js';
import type { AaClient } from './demo-aa-monitor.js';
import { ipv6Rows, type DemoIpv6 } from './demo-result.js';
import { formatGapMs } from './timeline-svg.js';
import type { LabBox } from './topology.js';

export type AaPhaseName = 'both' | 'alone' | 'rejoined';

/** Each box's mean packet rates over one phase (null: the box was down or did not answer). */
export interface AaPhase {
  phase: AaPhaseName;
  /** In words, e.g. "fwb alone (after kill -9 of fwa)". */
  label: string;
  fromMs: number;
  toMs: number;
  rates: Record<LabBox, Record<RateEvent, number> | null>;
}

/** One client's traffic across the run. */
export interface AaClientResult {
  host: AaClient;
  /** Its way out: "via device 0". */
  via: string;
  probes: { sent: number; received: number; lostDuringRun: number; maxGapMs: number; gapsOver5Ms: number };
  /** The silence across the takeover and across the rejoin, ms (0: none over 5 ms). */
  crashGapMs: number;
  rejoinGapMs: number;
  /** `lostWhy`: what ended the lost connections, each reason once ("ECONNRESET", "echo incomplete (...)"). */
  tcp: { total: number; connected: number; survived: number; reset: number; lostWhy: string[] };
}

export interface AaDemoResult {
  name: string;
  mode: 'active-active';
  /** The active-primary before the crash: the box killed. */
  killed: LabBox | null;
  /** The active-secondary that became the active-primary. */
  tookOver: LabBox | null;
  takeoverMs: number | null;
  /** From the kill to the survivor's own transition to active-primary (its log). */
  takeoverLoggedMs: number | null;
  recoveryMs: number | null;
  /** The killed box's state after it rejoined (active-secondary with preemption off). */
  recoveredState: string | null;
  phases: AaPhase[];
  clients: AaClientResult[];
  /** client's IPv6 traffic (out through device 0, answered through device 1) through the same run; null when it did not run. */
  ipv6: DemoIpv6 | null;
  /** Each box's setup decisions at the end (its API; the killed box counts from its restart). */
  decisions: Record<LabBox, SetupDecisions | null>;
  /** Every state change while the traffic ran, from the daemons' logs: "+22 ms  fwb active-secondary -> active-primary (peer-closed)". */
  stateChanges: string[];
  svg: string | null;
  ok: boolean;
  errors: string[];
}

export function emptyAaDemoResult(name: string): AaDemoResult {
  return {
    name,
    mode: 'active-active',
    killed: null,
    tookOver: null,
    takeoverMs: null,
    takeoverLoggedMs: null,
    recoveryMs: null,
    recoveredState: null,
    phases: [],
    clients: [],
    ipv6: null,
    decisions: { fwa: null, fwb: null },
    stateChanges: [],
    svg: null,
    ok: false,
    errors: [],
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Columns padded to their widest cell, the last one left ragged, a rule under the head. */
function grid(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]))).join('   ')}`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** "12,345/s", or "down" when the box gave no rate. */
function perS(v: number | undefined): string {
  if (v === undefined) return 'down';
  return `${String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}/s`;
}

/** One row per phase: each box's forwarding rate, what it carried to the owner, HA3 each way. */
export function formatPhaseTable(phases: readonly AaPhase[]): string {
  const head = ['phase', 'fwa forwards', 'fwb forwards', 'fwa to owner', 'fwb to owner', 'HA3 fwa->fwb', 'HA3 fwb->fwa'];
  const rows = phases.map((p) => [
    p.label,
    perS(p.rates.fwa?.forwarded),
    perS(p.rates.fwb?.forwarded),
    perS(p.rates.fwa?.['to-owner']),
    perS(p.rates.fwb?.['to-owner']),
    perS(p.rates.fwa?.['ha3-tx']),
    perS(p.rates.fwb?.['ha3-tx']),
  ]);
  return grid(head, rows);
}

const gapText = (ms: number): string => (ms === 0 ? 'none > 5 ms' : formatGapMs(ms));

/** One row per client: the gaps at the kill and at the rejoin, the longest, the losses, TCP. */
export function formatClientTable(clients: readonly AaClientResult[]): string {
  const head = ['client', 'way out', 'gap at kill -9', 'gap at rejoin', 'longest gap', 'gaps > 5 ms', 'probes lost / sent', 'TCP survived'];
  const rows = clients.map((c) => [
    c.host,
    c.via,
    gapText(c.crashGapMs),
    gapText(c.rejoinGapMs),
    c.probes.gapsOver5Ms === 0 ? 'none' : formatGapMs(c.probes.maxGapMs),
    String(c.probes.gapsOver5Ms),
    `${c.probes.lostDuringRun} / ${c.probes.sent}`,
    `${c.tcp.survived} / ${c.tcp.total}`,
  ]);
  return grid(head, rows);
}

/** Each box's setup decisions (wire/pair-status.ts), one column per box. */
export function formatDecisionTable(d: AaDemoResult['decisions']): string {
  const keys: [keyof SetupDecisions, string][] = [
    ['setupLocal', 'set up here (setup-local)'],
    ['setupToPeer', 'first packets to the peer (setup-to-peer)'],
    ['toOwner', 'packets to the owner (to-owner)'],
    ['missToPeer', 'misses to the peer (miss-to-peer)'],
    ['sessionAdopted', "peer's sessions adopted"],
    ['deferAcked', 'first packets held, acked'],
    ['deferTimeout', 'first packets held, timed out'],
  ];
  const cell = (box: LabBox, k: keyof SetupDecisions): string => (d[box] === null ? '-' : String(d[box][k]));
  return grid(
    ['decision', 'fwa', 'fwb'],
    keys.map(([k, label]) => [label, cell('fwa', k), cell('fwb', k)]),
  );
}

export function formatAaDemoTable(r: AaDemoResult): string {
  const rows: Array<[string, string]> = [
    ['box killed (kill -9 of the primary)', r.killed ?? '-'],
    ['took over (active-primary)', r.tookOver ?? 'nobody'],
    ['takeover by its log', r.takeoverLoggedMs === null ? '-' : `${r.takeoverLoggedMs} ms`],
    ['takeover by the API', r.takeoverMs === null ? '-' : `${r.takeoverMs} ms`],
    ['rejoin (killed box back)', r.recoveryMs === null ? '-' : `${r.recoveryMs} ms, ${r.recoveredState ?? '?'}`],
    ...ipv6Rows(r.ipv6),
    ['picture', r.svg ?? '-'],
    ['result', r.ok ? 'OK' : `FAILED${r.errors.length ? `: ${r.errors.join('; ')}` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const main = rows.map(([k, v]) => `  ${pad(k, w)}  ${v}`).join('\n');
  const parts: string[] = [];
  if (r.phases.length > 0) parts.push(`Each box's packets per second (its API's counters):\n${formatPhaseTable(r.phases)}`);
  if (r.clients.length > 0) parts.push(`Each client's probes (UDP, 1 ms apart) and TCP streams:\n${formatClientTable(r.clients)}`);
  if (r.decisions.fwa !== null || r.decisions.fwb !== null) parts.push(`Setup decisions at the end:\n${formatDecisionTable(r.decisions)}`);
  if (r.stateChanges.length > 0) parts.push(`State changes (the daemons' logs, from the kill):\n${r.stateChanges.map((c) => `  ${c}`).join('\n')}`);
  parts.push(main);
  return parts.join('\n\n');
}
