// Human output of the CLI. Pure: data (and `now`) in, text out, so tests pin it exactly.
import type { StatusResponse } from '../api/protocol.js';
import type { SessionList, SessionTuple, SessionView } from '../api/sessions.js';
import type { TandemConfig } from '../config/types.js';
import { duration } from '../api/status-page/render.js';

/** "1d 2h 3m", "1h 2m 5s", "42s", "250 ms": one format for the terminal and the status page. */
export const formatDuration: (seconds: number) => string = duration;

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 10) return `${Math.round(value)} ms`;
  return `${Number(value.toFixed(3))} ms`;
}

function yesNo(value: boolean | null | undefined): string {
  return value === null || value === undefined ? '-' : value ? 'yes' : 'no';
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

function fields(pairs: readonly [string, string][], indent = '  '): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(width)} : ${v}`).join('\n');
}

/** At most this many transitions are shown, newest first. */
export const STATUS_TRANSITIONS_SHOWN = 10;

/** Like PAN-OS `show high-availability state`. `nowMs` makes "for 5m 0s" reproducible. */
export function formatStatus(s: StatusResponse, nowMs: number = Date.now()): string {
  const out: string[] = [];
  out.push(`Group ${s.groupId} (${s.mode})`);
  out.push('');

  const sinceMs = Date.parse(s.local.since);
  const inState = Number.isFinite(sinceMs) ? ` for ${formatDuration(Math.max(0, (nowMs - sinceMs) / 1000))}` : '';
  out.push('Local Information:');
  out.push(
    fields([
      ['Device', `${s.local.name} (id ${s.local.id})`],
      ['State', `${s.local.state} (reason: ${s.local.reason})${inState}`],
      ['Priority', String(s.local.priority)],
      ['Preemptive', yesNo(s.local.preempt)],
      ['Faults', s.local.faults.length ? s.local.faults.join(', ') : 'none'],
      ['Uptime', formatDuration(s.local.uptimeS)],
    ]),
  );
  out.push('');

  const p = s.peer;
  const heard = p.lastHeardMsAgo === null ? 'never heard' : `last heard ${ms(p.lastHeardMsAgo)} ago`;
  out.push('Peer Information:');
  out.push(
    fields([
      ['Device', `${p.name ?? 'unknown'} (id ${p.id})`],
      ['Connection', `${p.up ? 'up' : 'down'} (${heard})`],
      ['State', p.state === null ? '-' : `${p.state}${p.reason ? ` (reason: ${p.reason})` : ''}`],
      ['Priority', p.priority === null ? '-' : String(p.priority)],
      ['Preemptive', yesNo(p.preempt)],
    ]),
  );
  out.push('');

  out.push('Preemption:');
  out.push(
    fields([
      ['Enabled', s.preemption.enabled ? `yes (hold ${ms(s.preemption.holdMs)})` : 'no'],
      ['Suspended', s.preemption.suspended === null ? 'no' : `yes: ${s.preemption.suspended}`],
    ]),
  );
  out.push('');

  out.push('HA1 Links:');
  if (s.links.length === 0) out.push('  none');
  else {
    const rows = [['LINK', 'LOCAL', 'PEER', 'HEARTBEAT', 'SESSION', 'LAST HEARD', 'RTT']];
    for (const l of s.links) {
      rows.push([
        l.name,
        l.local,
        l.peer,
        l.heartbeatUp ? 'up' : 'down',
        l.heartbeatOnly ? '-' : l.sessionUp ? 'up' : 'down',
        l.lastHeardMsAgo === null ? 'never' : `${ms(l.lastHeardMsAgo)} ago`,
        ms(l.rttMs),
      ]);
    }
    out.push(table(rows, '  '));
  }
  out.push('');

  if (s.sync) {
    const y = s.sync as Record<string, any>;
    const lag = y.lagMs as { p50: number; p99: number; max: number } | undefined;
    const bulk = y.bulk as { inProgress?: boolean; lastCompleteAt?: string | null; lastSessions?: number | null } | undefined;
    out.push('Session Sync (HA2):');
    out.push(
      fields([
        ['Connection', y.connected ? 'up' : 'down'],
        ['Role', String(y.role ?? '-')],
        ['Tentative', y.tentative ? 'yes (bulk sync pending: may not take the role by preemption)' : 'no'],
        ['Backlog', `${y.backlog ?? 0} records`],
        ['Lag', lag ? `p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}` : '-'],
        ['Records', `${y.recordsSent ?? 0} sent, ${y.recordsReceived ?? 0} received`],
        ['Bulk sync', bulk?.inProgress ? 'in progress' : bulk?.lastCompleteAt ? `complete at ${bulk.lastCompleteAt}${bulk.lastSessions != null ? ` (${bulk.lastSessions} sessions)` : ''}` : 'none yet'],
        ['Resyncs', String(y.resyncs ?? 0)],
      ]),
    );
    out.push('');
  }

  if (s.monitors && (s.monitors.link || s.monitors.path)) {
    const m = s.monitors;
    const state = (g: { failed: boolean; faulted: boolean; failedForMs: number | null }) =>
      g.faulted ? `FAILED (${ms(g.failedForMs)})` : g.failed ? `failing, in hold-up (${ms(g.failedForMs)})` : 'ok';
    out.push(`Monitors (hold-up ${ms(m.holdUpMs)}${m.faults.length > 0 ? `; faults: ${m.faults.join(', ')}` : ''}):`);
    const rows = [['TYPE', 'GROUP', 'CONDITION', 'STATE', 'MEMBERS']];
    for (const g of m.link?.groups ?? []) {
      const members = g.interfaces.map((i) => `${i.name}${i.device ? `(${i.device})` : ''} ${i.up === null ? '?' : i.up ? 'up' : (i.why ?? 'down')}`).join(', ');
      rows.push(['link', g.name, g.failureCondition, state(g), members]);
    }
    for (const g of m.path?.groups ?? []) {
      const members = g.targets.map((t) => `${t.address} ${t.up ? `up ${ms(t.lastRttMs)}` : `down (${t.consecutiveFailures} lost)`}`).join(', ');
      rows.push(['path', g.name, `${g.failureCondition}, ${g.failures} x ${g.intervalMs} ms`, state(g), members]);
    }
    out.push(table(rows, '  '));
    if (m.path && !m.path.prober.running) out.push(`  ICMP prober not running (restarts: ${m.path.prober.restarts})`);
    out.push('');
  }

  if (s.config) {
    const c = s.config;
    const short = (h: string | null) => (h ? h.slice(0, 12) : '-');
    out.push('Configuration:');
    out.push(
      fields([
        ['Running', `v${c.version} (hash ${short(c.hash)}), ${c.origin === 'file' ? 'from the config file' : `committed ${c.committedAt} on ${c.committedBy}`}`],
        ['Peer', !c.peer.up ? 'down' : c.peer.inSync ? `in sync (v${c.peer.version})` : `NOT in sync: v${c.peer.version ?? '?'} (hash ${short(c.peer.hash)})${c.peer.lastError ? `, ${c.peer.lastError}` : ''}`],
        ...(c.restartRequired.length > 0 ? ([['Restart required', c.restartRequired.join(', ')]] as [string, string][]) : []),
        ...(c.keptAside.length > 0 ? ([['Kept aside', `${c.keptAside.length} config(s), newest ${c.keptAside[0].file}`]] as [string, string][]) : []),
      ]),
    );
    out.push('');
  }

  const t = s.timers;
  out.push(`Timers (profile ${t.profile}):`);
  out.push(
    fields([
      ['Heartbeat interval', ms(t.heartbeatIntervalMs)],
      ['Heartbeats missed', `${t.heartbeatMissed} (dead interval ${ms(t.heartbeatIntervalMs * t.heartbeatMissed)})`],
      ['Hello interval', ms(t.helloIntervalMs)],
      ['Promotion hold', ms(t.promotionHoldMs)],
      ['Preempt hold', ms(t.preemptHoldMs)],
      ['Flap max', String(t.flapMax)],
      ['Initial wait', ms(t.initialWaitMs)],
    ]),
  );
  out.push('');

  out.push('Recent transitions (newest first):');
  if (s.transitions.length === 0) out.push('  none');
  else {
    const recent = s.transitions.slice(-STATUS_TRANSITIONS_SHOWN).reverse();
    out.push(table(recent.map((tr) => [tr.at, `${tr.from} -> ${tr.to}`, `(${tr.reason})`]), '  '));
  }

  if (s.dataplane !== undefined) {
    out.push('');
    out.push(formatDataplane(s.dataplane));
  }
  return `${out.join('\n')}\n`;
}

function formatDataplane(dp: unknown): string {
  if (dp === null || typeof dp !== 'object' || Array.isArray(dp)) return `Dataplane: ${JSON.stringify(dp)}`;
  const obj = dp as Record<string, unknown>;
  if (typeof obj.error === 'string' && Object.keys(obj).length === 1) return `Dataplane: unavailable (${obj.error})`;
  const capture = formatCapture(obj);
  const pairs: [string, string][] = Object.keys(obj)
    .sort()
    .filter((k) => !(k === 'interfaces' && capture !== null))
    .map((k) => {
      const v = obj[k];
      const text = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
      return [k, text.length > 100 ? `${text.slice(0, 97)}...` : text];
    });
  if (capture !== null) pairs.unshift(['capture', capture]);
  return pairs.length ? `Dataplane:\n${fields(pairs)}` : 'Dataplane: (no data)';
}

/** One capture handle of the dataplane, read leniently from a status answer. */
export interface CaptureState {
  name: string;
  device: string;
  mtu: string;
  open: boolean;
  error: string;
  downMs: number | null;
}

/**
 * The frame I/O backend and the capture handles from a status answer's dataplane
 * (`io`, `interfaces[].capture`, docs/packet-io.md); null when it has none (an older daemon, a
 * test's stand-in). The CLI's status and doctor both read it through here.
 */
export function captureStates(dp: unknown): { io: string; handles: CaptureState[] } | null {
  if (dp === null || typeof dp !== 'object') return null;
  const itfs = (dp as { interfaces?: unknown }).interfaces;
  if (!Array.isArray(itfs) || itfs.length === 0) return null;
  if (!itfs.every((i) => i !== null && typeof i === 'object' && typeof (i as { capture?: { open?: unknown } }).capture?.open === 'boolean')) return null;
  const io = (dp as { io?: unknown }).io;
  return {
    io: typeof io === 'string' ? io : '?',
    handles: (itfs as { name?: unknown; device?: unknown; mtu?: unknown; capture: { open: boolean; error?: unknown; downMs?: unknown } }[]).map((i) => ({
      name: String(i.name),
      device: String(i.device),
      mtu: String(i.mtu),
      open: i.capture.open,
      error: String(i.capture.error ?? ''),
      downMs: typeof i.capture.downMs === 'number' ? i.capture.downMs : null,
    })),
  };
}

/** One line for the frame I/O: each capture handle open, or why not and for how long. */
function formatCapture(dp: Record<string, unknown>): string | null {
  const c = captureStates(dp);
  if (c === null) return null;
  const parts = c.handles.map((h) => {
    const name = `${h.name}(${h.device}, MTU ${h.mtu})`;
    if (h.open) return `${name} open`;
    const since = h.downMs !== null ? ` for ${(h.downMs / 1000).toFixed(1)} s` : '';
    return `${name} CLOSED${since} (${h.error})`;
  });
  return `${c.io}: ${parts.join(', ')}`;
}

/** The one line `tandem config validate` prints for a good file. */
export function formatConfigSummary(file: string, c: TandemConfig): string {
  const d = c.device;
  const sh = c.shared;
  const parts = [
    `device ${d.name}`,
    `id ${d.id}`,
    `priority ${d.priority}`,
    `${sh.ha.mode}`,
    `group ${sh.ha.groupId}`,
    `timers ${sh.ha.timers.profile}`,
    `preempt ${sh.ha.preempt.enabled ? 'on' : 'off'}`,
    plural(Object.keys(d.interfaces).length, 'interface'),
    plural(sh.floatingIps.length, 'floating IP'),
    plural(sh.policy.rules.length, 'policy rule'),
    plural(sh.nat.length, 'NAT rule'),
    plural(sh.routes.length, 'route'),
  ];
  return `${file}: valid (${parts.join(', ')})`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What `tandem lab status` returns (DESIGN "The lab"); fields beyond these are ignored here. */
export interface LabStatusView {
  name: string;
  boxes: Record<
    string,
    {
      namespace: string;
      pid?: number | null;
      state?: string | null;
      reason?: string | null;
      api?: string | null;
      metrics?: string | null;
      /** Why state is null (the API error). */
      error?: string;
    }
  >;
  hosts: Record<string, { namespace: string; address?: string | null; gateway?: string | null }>;
  floatingIps?: string[];
}

export function formatLabStatus(s: LabStatusView): string {
  const dash = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : String(v));
  const out: string[] = [`Lab ${s.name}`, ''];
  const boxes = Object.entries(s.boxes ?? {});
  if (boxes.length === 0) out.push('  no boxes');
  else {
    const rows = [['BOX', 'NAMESPACE', 'PID', 'STATE', 'REASON', 'API', 'METRICS']];
    for (const [name, b] of boxes) {
      const reason = b.state === null || b.state === undefined ? (b.error ?? b.reason) : b.reason;
      rows.push([name, dash(b.namespace), dash(b.pid), dash(b.state), dash(reason), dash(b.api), dash(b.metrics)]);
    }
    out.push(table(rows));
  }
  out.push('');
  const hosts = Object.entries(s.hosts ?? {});
  if (hosts.length === 0) out.push('  no hosts');
  else {
    const gw = hosts.some(([, h]) => h.gateway);
    const rows = [['HOST', 'NAMESPACE', 'ADDRESS', ...(gw ? ['GATEWAY'] : [])]];
    for (const [name, h] of hosts) rows.push([name, dash(h.namespace), dash(h.address), ...(gw ? [dash(h.gateway)] : [])]);
    out.push(table(rows));
  }
  if (s.floatingIps?.length) {
    out.push('');
    out.push(`Floating IPs: ${s.floatingIps.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
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

function endpoint(addr: string, port: number, iface?: string): string {
  return `${addr}[${port}]${iface ? `/${iface}` : ''}`;
}

/** Where the original direction's source and destination are translated to ("" when not). */
export function translatedEnds(s: SessionView): { source: string; destination: string } {
  // conntrack convention (see SessionView): the reply is sent to the translated source and comes
  // from the translated destination.
  const o: SessionTuple = s.original;
  const r: SessionTuple = s.reply;
  const srcChanged = r.dst !== o.src || r.dstPort !== o.srcPort;
  const dstChanged = r.src !== o.dst || r.srcPort !== o.dstPort;
  return {
    source: srcChanged ? `(${endpoint(r.dst, r.dstPort)})` : '',
    destination: dstChanged ? `(${endpoint(r.src, r.srcPort)})` : '',
  };
}

const NAT_FLAGS: Record<SessionView['nat'], string> = { none: '', source: 'NS', destination: 'ND', both: 'NB' };
export const SESSION_FLAGS_LEGEND = 'Flags: NS source NAT, ND destination NAT, NB both, L loose (picked up mid-stream, e.g. after a failover)';

/**
 * Like PAN-OS `show session all`: two lines per session, the source side (original source,
 * ingress interface, translated source, policy rule) over the destination side (original
 * destination, egress interface, translated destination, NAT rule); packets and bytes are
 * "original/reply"; then a count line.
 */
export function formatSessions(list: SessionList): string {
  const out: string[] = [];
  if (list.sessions.length > 0) {
    const rows: string[][] = [
      ['ID', 'PROTO', 'STATE', 'FLAGS', 'SOURCE[PORT]/IF', 'TRANSLATED', 'RULE', 'PACKETS', 'BYTES', 'AGE', 'EXPIRES'],
      ['', '', '', '', 'DESTINATION[PORT]/IF', 'TRANSLATED', 'NAT RULE', '', '', '', ''],
    ];
    let anyFlag = false;
    for (const s of list.sessions) {
      const flags = [NAT_FLAGS[s.nat] ?? '', s.loose ? 'L' : ''].filter((f) => f !== '').join(',');
      if (flags !== '') anyFlag = true;
      const x = translatedEnds(s);
      rows.push([
        String(s.id),
        s.protocol,
        s.state,
        flags,
        endpoint(s.original.src, s.original.srcPort, s.ingress),
        x.source,
        s.rule,
        `${formatCount(s.packets[0])}/${formatCount(s.packets[1])}`,
        `${formatCount(s.bytes[0])}/${formatCount(s.bytes[1])}`,
        formatDuration(s.ageS),
        s.expiresInS <= 0 ? 'now' : formatDuration(s.expiresInS),
      ]);
      rows.push(['', '', '', '', endpoint(s.original.dst, s.original.dstPort, s.egress), x.destination, s.natRule ?? '', '', '', '', '']);
    }
    out.push(table(rows));
    out.push('');
    if (anyFlag) out.push(SESSION_FLAGS_LEGEND);
  }
  out.push(sessionCountLine(list));
  return `${out.join('\n')}\n`;
}

/** "2 sessions shown of 3 matching, 5 in the table." (+ how to see the rest when truncated). */
export function sessionCountLine(list: SessionList): string {
  const inTable = `${list.total} in the table`;
  if (list.matched === 0) return `No matching sessions (${inTable}).`;
  const line = `${plural(list.sessions.length, 'session')} shown of ${list.matched} matching, ${inTable}.`;
  return list.truncated ? `${line} Truncated: raise --limit or narrow the filter to see the rest.` : line;
}
