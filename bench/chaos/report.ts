// The chaos run's table and verdict, from its result (run.ts). Pure: data in, text out.
import { formatMmm, KIND_LABEL, KINDS, NO_FAILOVER_KINDS, roleChangeVerdict, table } from './analyse.js';
import type { ChaosResult, Iteration, Memory } from './run.js';

export interface Verdict {
  failovers: number;
  dualActiveFrames: number;
  /** Established connections lost (reset, closed, stalled to the end), in iterations or outside them. */
  sessionsLost: number;
  roleChangesMissing: number;
  roleChangesExtra: number;
  /** Targets missed, in words; empty when every target is met. */
  missed: string[];
}

export function verdict(r: ChaosResult): Verdict {
  const its = r.iterations;
  const dualActiveFrames = its.reduce((n, it) => n + it.wire.dualActiveFrames, 0);
  const sessionsLost = its.reduce((n, it) => n + it.tcp.lost.length, 0) + r.lostOutside.length;
  const missed: string[] = [];
  if (r.aborted) missed.push(`the run stopped: ${r.aborted}`);
  if (dualActiveFrames > 0) missed.push(`${dualActiveFrames} dual-active frames (target 0)`);
  if (sessionsLost > 0) missed.push(`${sessionsLost} established sessions lost (target 0)`);
  return {
    failovers: its.length,
    dualActiveFrames,
    sessionsLost,
    roleChangesMissing: its.filter((it) => roleVerdict(it) === 'none').length,
    roleChangesExtra: its.filter((it) => roleVerdict(it) === 'extra').length,
    missed,
  };
}

const mib = (b: number | null): string => (b === null ? '-' : (b / 1048576).toFixed(1));

/** The iteration's role changes against what its failure should cause (one, or none for an active/active secondary). */
const roleVerdict = (it: Iteration) => roleChangeVerdict(it.roleChanges, it.expectedRoleChanges ?? 1);

function row(label: string, its: Iteration[]): string[] {
  const took = its.map((i) => i.takeoverMs).filter((x): x is number => x !== null);
  const silences = its.map((i) => i.wire.handoffSilenceMs).filter((x): x is number => x !== null);
  const cuts = its.filter((i) => i.heldDuringCut !== null);
  const v = its.map(roleVerdict);
  return [
    label,
    String(its.length),
    `${v.filter((x) => x === 'ok').length} / ${v.filter((x) => x === 'none').length} / ${v.filter((x) => x === 'extra').length}`,
    cuts.length === 0 ? '-' : `${cuts.filter((i) => i.heldDuringCut).length}/${cuts.length}`,
    formatMmm(took, 0),
    formatMmm(its.map((i) => i.udp.maxGapMs)),
    String(its.reduce((n, i) => n + i.udp.lost, 0)),
    formatMmm(
      its.map((i) => i.tcp.maxStallMs),
      0,
    ),
    String(its.reduce((n, i) => n + i.tcp.lost.length, 0)),
    String(Math.max(0, ...its.map((i) => i.tcp.stalledAtEnd))),
    String(its.reduce((n, i) => n + i.wire.dualActiveFrames, 0)),
    formatMmm(silences),
  ];
}

/** Frames of each box and dual-active frames per class, over every iteration. */
function classSummary(its: Iteration[]): string {
  const sum: Record<number, { fwa: number; fwb: number; dual: number }> = {};
  for (const it of its) {
    for (const [c, x] of Object.entries(it.wire.byClass ?? {})) {
      const s = (sum[Number(c)] ??= { fwa: 0, fwb: 0, dual: 0 });
      s.fwa += x.fwa;
      s.fwb += x.fwb;
      s.dual += x.dual;
    }
  }
  const name = (c: number) => ({ 0: 'active/passive', 1: 'device 0', 2: 'device 1', 3: 'primary' })[c] ?? `class ${c}`;
  return (
    Object.entries(sum)
      .map(([c, x]) => `${name(Number(c))}: fwa ${x.fwa} fwb ${x.fwb} frames, dual-active ${x.dual}`)
      .join('; ') || 'no frames'
  );
}

function memRow(box: string, before: Memory, after: Memory): string[] {
  return [
    box,
    `${before.pid ?? '-'} -> ${after.pid ?? '-'}`,
    `${mib(before.rssBytes)} -> ${mib(after.rssBytes)}`,
    `${mib(before.processRssBytes)} -> ${mib(after.processRssBytes)}`,
    `${mib(before.heapUsedBytes)} -> ${mib(after.heapUsedBytes)}`,
  ];
}

export function formatReport(r: ChaosResult): string {
  const o = r.options;
  const v = verdict(r);
  const lines: string[] = [];
  const aa = o.labMode === 'active-active';
  const what = aa
    ? `failovers of either box in the active/active lab (${o.fail ?? 'alternate'}: ${r.iterations.filter((i) => i.expectedRoleChanges === 0).length} of the secondary), ${r.connected}/${2 * o.conns} TCP connections routed from client and client2`
    : `failovers of the active box, ${r.connected}/${o.conns} TCP connections through source NAT`;
  lines.push(
    `chaos run: ${v.failovers} ${what} (seed ${o.seed}) ` +
      `(1 KiB each every ${o.intervalMs} ms) and a UDP probe every 1 ms${aa ? ' from each client' : ''}, for ${r.durationS} s; timers ${o.timers ?? "the lab's (aggressive)"}; dual-active window ${o.windowUs / 1000} ms`,
  );
  lines.push('');
  const header = [
    'failure',
    'runs',
    'role changes ok/none/extra',
    'role held in cut',
    'takeover ms (API) min/med/max',
    'UDP gap ms min/med/max',
    'probes lost',
    'TCP stall ms min/med/max',
    'sessions lost',
    'conns stalled > 1 s at the end (max)',
    'dual-active frames',
    'wire handoff silence ms min/med/max',
  ];
  const rows = [header];
  for (const k of KINDS) {
    const its = r.iterations.filter((i) => i.kind === k);
    if (its.length > 0) rows.push(row(KIND_LABEL[k], its));
  }
  rows.push(row('all', r.iterations));
  lines.push(table(rows));
  if (r.iterations.some((i) => NO_FAILOVER_KINDS.has(i.kind))) {
    lines.push('');
    lines.push(
      'HA1 cut / HA2 cut: the cut must not move the role (watched 1 s: exactly one active, the same box); takeover and gap are of the planned failover that follows once the link is back.',
    );
  }
  if (r.lostOutside.length > 0) lines.push(`sessions lost outside the failovers (start-up or the final drain): ${r.lostOutside.length}`);
  const lost = r.iterations.flatMap((i) => i.tcp.lost.map((l) => `#${i.i} ${i.kind}: conn ${l.id} ${l.why} at ${new Date(l.atMs).toISOString()}`));
  if (lost.length > 0) lines.push('', 'lost sessions:', ...lost.slice(0, 20), ...(lost.length > 20 ? [`... ${lost.length - 20} more`] : []));
  const overl = r.iterations.flatMap((i) =>
    i.wire.overlaps.map(
      (x) =>
        `#${i.i} ${i.kind} of ${i.failed}${x.cls ? ` (class ${x.cls})` : ''}: ${new Date(x.startUs / 1000).toISOString()} for ${((x.endUs - x.startUs) / 1000).toFixed(3)} ms, fwa ${x.frames.fwa} fwb ${x.frames.fwb} frames`,
    ),
  );
  if (overl.length > 0) lines.push('', 'dual-active intervals (switch capture):', ...overl);
  const odd = r.iterations.filter((i) => roleVerdict(i) !== 'ok' || i.heldDuringCut === false || i.error);
  if (odd.length > 0)
    lines.push(
      '',
      'iterations off the expected path:',
      ...odd.map(
        (i) =>
          `#${i.i} ${i.kind} of ${i.failed}: ${i.roleChanges} role changes [${i.roleChangeLog.join('; ')}]${i.heldDuringCut === false ? ', role moved during the cut' : ''}${i.error ? `, error: ${i.error}` : ''}`,
      ),
    );
  const outages = [
    ...r.outagesBeforeFirst.map((g) => `before the first failure: ${new Date(g.atMs).toISOString()} for ${g.gapMs} ms`),
    ...r.iterations.flatMap((i) =>
      i.udp.outages.map(
        (g) =>
          `#${i.i} ${i.kind} of ${i.failed}, ${g.atMs < (i.failedAtMs ?? 0) ? 'before the failure' : 'after the pair was healthy'}: ${new Date(g.atMs).toISOString()} for ${g.gapMs} ms`,
      ),
    ),
  ];
  if (outages.length > 0) lines.push('', 'UDP outages of 100 ms or more with no failure in progress (the pair said it was healthy):', ...outages);
  if (aa) lines.push('', `dual-active per virtual MAC class (a class spoken for by both boxes at once): ${classSummary(r.iterations)}`);
  const drops = r.iterations.reduce((n, i) => n + i.wire.droppedByKernel, 0);
  lines.push(
    '',
    `switch capture: ${r.iterations.reduce((n, i) => n + i.wire.framesFwa + i.wire.framesFwb, 0)} virtual-MAC frames, ${drops} dropped by the kernel before tcpdump read them`,
  );
  if (r.memory) {
    lines.push('', 'memory (MiB, before the first failure -> after the last; a killed or restarted box has a new pid):');
    lines.push(
      table([
        ['box', 'pid', 'RSS (/proc)', 'RSS (own metrics)', 'JS heap used'],
        memRow('fwa', r.memory.before.fwa, r.memory.after.fwa),
        memRow('fwb', r.memory.before.fwb, r.memory.after.fwb),
      ]),
    );
  }
  lines.push('');
  lines.push(
    `targets: dual-active frames ${v.dualActiveFrames} (0), established sessions lost ${v.sessionsLost} (0); failovers that did not happen ${v.roleChangesMissing}, that happened more than once ${v.roleChangesExtra}; outages with no failure in progress ${outages.length}`,
  );
  lines.push(v.missed.length === 0 ? 'every target met' : `MISSED: ${v.missed.join('; ')}`);
  return lines.join('\n');
}
