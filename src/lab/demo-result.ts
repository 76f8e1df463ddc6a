// What `tandem lab demo` measured (DemoResult, one DemoStep per state change) and the tables it
// prints at the end. Pure: the result in, text out.
import type { LabBox } from './topology.js';
import { formatGapMs } from './timeline-svg.js';

/** What one step (the crash, the restore) cost the traffic. */
export interface DemoStep {
  step: 'crash' | 'restore';
  /**
   * The silence across the state change (the kill to the takeover; the restart to the box being
   * back), ms: what the step cost the traffic. 0 when no silence over the threshold spans it.
   */
  changeGapMs: number;
  /** Longest silence at the receiver in the step, ms (0 when none passed the threshold). */
  maxGapMs: number;
  /** Silences longer than the threshold (5 ms) in the step. */
  gaps: number;
  /** Probes skipped across those silences. */
  probesLost: number;
  /** TCP connections alive after the step: established in the client's socket table after the crash; echoing every byte at the end. */
  tcpAlive: number | null;
  tcpTotal: number;
  /** The state change the step caused, in words. */
  change: string;
}

export interface DemoResult {
  name: string;
  /** The box killed with SIGKILL and the one that took over. */
  killed: LabBox | null;
  tookOver: LabBox | null;
  /** From the kill to the survivor reporting active through its API, ms. */
  takeoverMs: number | null;
  /** From the kill to the survivor's own transition to active (its transition log), ms. */
  takeoverLoggedMs: number | null;
  /** From restarting the killed box to the pair being active/passive again, ms. */
  recoveryMs: number | null;
  /** HA state of the restarted box at the end (passive with preemption off). */
  recoveredState: string | null;
  probes: {
    sent: number;
    received: number;
    /** sent - received. */
    lost: number;
    /** Lost before the first one arrived (the path being set up: ARP for the gateway). */
    lostBeforeFirst: number;
    /** Lost between the first and the last arrival: what the failover cost. */
    lostDuringRun: number;
    /** Longest silence at the receiver, ms, and when it started (wall clock). */
    maxGapMs: number;
    maxGapAt: string | null;
    gapsOver5Ms: number;
  } | null;
  tcp: { total: number; connected: number; survived: number; reset: number } | null;
  /** The IPv6 traffic beside it through the same failure (demo-ipv6.ts); null when it did not run. */
  ipv6: DemoIpv6 | null;
  /** Per step: the crash (kill -9 to the restart) and the restore (the restart to the end). */
  steps: DemoStep[];
  /** The failover picture as copied for the user, and in the run dir (gone after the teardown). */
  svg: string | null;
  /** Everything went as it should: a takeover, no connection lost, the pair whole again. */
  ok: boolean;
  /** What went wrong, when something did. */
  errors: string[];
}

/** The IPv6 probes and TCP streams of the demo. */
export interface DemoIpv6 {
  probes: { sent: number; received: number; lostDuringRun: number; maxGapMs: number };
  /** The silence across the takeover, ms (0: none over 5 ms). */
  changeGapMs: number;
  tcp: { total: number; connected: number; survived: number; reset: number };
}

/** A result before anything was measured: what a demo that fails at once reports. */
export function emptyDemoResult(name: string): DemoResult {
  return {
    name,
    killed: null,
    tookOver: null,
    takeoverMs: null,
    takeoverLoggedMs: null,
    recoveryMs: null,
    recoveredState: null,
    probes: null,
    tcp: null,
    ipv6: null,
    steps: [],
    svg: null,
    ok: false,
    errors: [],
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatDemoTable(r: DemoResult): string {
  const crashStep = r.steps.find((s) => s.step === 'crash');
  const rows: Array<[string, string]> = [
    ['box killed (kill -9)', r.killed ?? '-'],
    ['took over', r.tookOver ?? 'nobody'],
    ['takeover by its log', r.takeoverLoggedMs === null ? '-' : `${r.takeoverLoggedMs} ms`],
    ['takeover by the API', r.takeoverMs === null ? '-' : `${r.takeoverMs} ms`],
    ['traffic gap at the takeover', crashStep ? (crashStep.changeGapMs === 0 ? 'none over 5 ms' : formatGapMs(crashStep.changeGapMs)) : '-'],
    ['longest gap in the run (1 ms UDP probes)', r.probes ? `${r.probes.maxGapMs.toFixed(1)} ms` : '-'],
    [
      'probes lost in the run / sent',
      r.probes
        ? `${r.probes.lostDuringRun} / ${r.probes.sent}${r.probes.lost > r.probes.lostDuringRun ? ` (+${r.probes.lost - r.probes.lostDuringRun} before the path was up or still in flight)` : ''}`
        : '-',
    ],
    ['TCP connections surviving', r.tcp ? `${r.tcp.survived} / ${r.tcp.total}` : '-'],
    ...ipv6Rows(r.ipv6),
    ['recovery (killed box back)', r.recoveryMs === null ? '-' : `${r.recoveryMs} ms, ${r.recoveredState ?? '?'}`],
    ['failover picture', r.svg ?? '-'],
    ['result', r.ok ? 'OK' : `FAILED${r.errors.length ? `: ${r.errors.join('; ')}` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const main = rows.map(([k, v]) => `  ${pad(k, w)}  ${v}`).join('\n');
  return r.steps.length > 0 ? `${formatStepTable(r.steps)}\n\n${main}` : main;
}

/** The IPv6 traffic's rows, beside the IPv4 ones (the active/active demo's table too). */
export function ipv6Rows(v6: DemoIpv6 | null): Array<[string, string]> {
  if (v6 === null) return [];
  return [
    ['IPv6: traffic gap at the takeover', v6.changeGapMs === 0 ? 'none over 5 ms' : formatGapMs(v6.changeGapMs)],
    ['IPv6: probes lost in the run / sent', `${v6.probes.lostDuringRun} / ${v6.probes.sent}`],
    ['IPv6: TCP connections surviving', `${v6.tcp.survived} / ${v6.tcp.total}`],
  ];
}

/** One row per step: the gap, the loss, the TCP connections alive, the state change. */
export function formatStepTable(steps: readonly DemoStep[]): string {
  const head = ['step', 'gap at the change', 'longest gap', 'gaps > 5 ms', 'probes lost', 'TCP alive', 'state change'];
  const rows = steps.map((s) => [
    s.step,
    s.changeGapMs === 0 ? 'none > 5 ms' : formatGapMs(s.changeGapMs),
    s.gaps === 0 ? 'none' : formatGapMs(s.maxGapMs),
    String(s.gaps),
    String(s.probesLost),
    `${s.tcpAlive === null ? '?' : s.tcpAlive} / ${s.tcpTotal}`,
    s.change,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]))).join('   ')}`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
