// `tandem status`: the pair as this box sees it, like PAN-OS `show high-availability state`. One
// function per section, in the order printed; a section the daemon did not report (no HA2, no
// monitors, no config sync) is left out.
import type { StatusResponse } from '../api/protocol.js';
import type { ActiveActiveStatus, FloatingClassName, PairClassStatus, SetupDecisions } from '../wire/pair-status.js';
import { fields, formatDuration, ms, table, yesNo } from './format.js';

/** At most this many transitions are shown, newest first. */
export const STATUS_TRANSITIONS_SHOWN = 10;

/** `nowMs` makes "for 5m 0s" reproducible. */
export function formatStatus(s: StatusResponse, nowMs: number = Date.now()): string {
  const sections = [
    `Group ${s.groupId} (${s.mode})`,
    localSection(s, nowMs),
    peerSection(s),
    preemptionSection(s),
    linksSection(s),
    syncSection(s),
    monitorsSection(s),
    configSection(s),
    timersSection(s),
    transitionsSection(s),
    activeActiveSection(s),
    s.dataplane === undefined ? null : formatDataplane(s.dataplane),
  ];
  // one blank line between sections
  return `${sections.filter((x): x is string => x !== null).join('\n\n')}\n`;
}

function localSection(s: StatusResponse, nowMs: number): string {
  const sinceMs = Date.parse(s.local.since);
  const inState = Number.isFinite(sinceMs) ? ` for ${formatDuration(Math.max(0, (nowMs - sinceMs) / 1000))}` : '';
  return `Local Information:\n${fields([
    ['Device', `${s.local.name} (id ${s.local.id})`],
    ['State', `${s.local.state} (reason: ${s.local.reason})${inState}`],
    ['Priority', String(s.local.priority)],
    ['Preemptive', yesNo(s.local.preempt)],
    ['Faults', s.local.faults.length ? s.local.faults.join(', ') : 'none'],
    ['Uptime', formatDuration(s.local.uptimeS)],
  ])}`;
}

function peerSection(s: StatusResponse): string {
  const p = s.peer;
  const heard = p.lastHeardMsAgo === null ? 'never heard' : `last heard ${ms(p.lastHeardMsAgo)} ago`;
  return `Peer Information:\n${fields([
    ['Device', `${p.name ?? 'unknown'} (id ${p.id})`],
    ['Connection', `${p.up ? 'up' : 'down'} (${heard})`],
    ['State', p.state === null ? '-' : `${p.state}${p.reason ? ` (reason: ${p.reason})` : ''}`],
    ['Priority', p.priority === null ? '-' : String(p.priority)],
    ['Preemptive', yesNo(p.preempt)],
  ])}`;
}

function preemptionSection(s: StatusResponse): string {
  return `Preemption:\n${fields([
    ['Enabled', s.preemption.enabled ? `yes (hold ${ms(s.preemption.holdMs)})` : 'no'],
    ['Suspended', s.preemption.suspended === null ? 'no' : `yes: ${s.preemption.suspended}`],
  ])}`;
}

function linksSection(s: StatusResponse): string {
  if (s.links.length === 0) return 'HA1 Links:\n  none';
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
  return `HA1 Links:\n${table(rows, '  ')}`;
}

/** HA2, read leniently: its status is the sync channel's own record (src/sync/channel.ts). */
function syncSection(s: StatusResponse): string | null {
  if (!s.sync) return null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- read leniently: another version's daemon may answer
  const y = s.sync as Record<string, any>;
  const lag = y.lagMs as { p50: number; p99: number; max: number } | undefined;
  const bulk = y.bulk as { inProgress?: boolean; lastCompleteAt?: string | null; lastSessions?: number | null } | undefined;
  return `Session Sync (HA2):\n${fields([
    ['Connection', y.connected ? 'up' : 'down'],
    ['Role', String(y.role ?? '-')],
    ['Backlog', `${y.backlog ?? 0} records`],
    ['Lag', lag ? `p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}` : '-'],
    ['Records', `${y.recordsSent ?? 0} sent, ${y.recordsReceived ?? 0} received`],
    [
      'Bulk sync',
      bulk?.inProgress
        ? 'in progress'
        : bulk?.lastCompleteAt
          ? `complete at ${bulk.lastCompleteAt}${bulk.lastSessions != null ? ` (${bulk.lastSessions} sessions)` : ''}`
          : 'none yet',
    ],
    ['Resyncs', String(y.resyncs ?? 0)],
    ...directionRows(y.directions),
  ])}`;
}

/** Active/active: HA2 carries our changes to the peer and the peer's to us, each on its own. */
function directionRows(d: unknown): [string, string][] {
  type Fields = Partial<Record<string, string | number>>;
  if (!d || typeof d !== 'object') return [];
  const { tx, rx } = d as { tx?: Fields; rx?: Fields };
  const v = (o: Fields | undefined, k: string): string => String(o?.[k] ?? '-');
  return [
    ['To peer', `${v(tx, 'records')} records, ${v(tx, 'backlog')} unacked, dump of ours ${v(tx, 'dump')}, ${v(tx, 'resyncs')} resyncs`],
    ['From peer', `${v(rx, 'records')} records, ${v(rx, 'pending')} waiting, copy of its table ${v(rx, 'bulk')}, ${v(rx, 'resyncs')} resyncs`],
  ];
}

function monitorsSection(s: StatusResponse): string | null {
  if (!s.monitors || !(s.monitors.link || s.monitors.path)) return null;
  const m = s.monitors;
  const state = (g: { failed: boolean; faulted: boolean; failedForMs: number | null }) =>
    g.faulted ? `FAILED (${ms(g.failedForMs)})` : g.failed ? `failing, in hold-up (${ms(g.failedForMs)})` : 'ok';
  const rows = [['TYPE', 'GROUP', 'CONDITION', 'STATE', 'MEMBERS']];
  for (const g of m.link?.groups ?? []) {
    const members = g.interfaces.map((i) => `${i.name}${i.device ? `(${i.device})` : ''} ${i.up === null ? '?' : i.up ? 'up' : (i.why ?? 'down')}`).join(', ');
    rows.push(['link', g.name, g.failureCondition, state(g), members]);
  }
  for (const g of m.path?.groups ?? []) {
    const members = g.targets.map((t) => `${t.address} ${t.up ? `up ${ms(t.lastRttMs)}` : `down (${t.consecutiveFailures} lost)`}`).join(', ');
    rows.push(['path', g.name, `${g.failureCondition}, ${g.failures} x ${g.intervalMs} ms`, state(g), members]);
  }
  const lines = [`Monitors (hold-up ${ms(m.holdUpMs)}${m.faults.length > 0 ? `; faults: ${m.faults.join(', ')}` : ''}):`, table(rows, '  ')];
  if (m.path && !m.path.prober.running) lines.push(`  ICMP prober not running (restarts: ${m.path.prober.restarts})`);
  return lines.join('\n');
}

function configSection(s: StatusResponse): string | null {
  if (!s.config) return null;
  const c = s.config;
  const short = (h: string | null) => (h ? h.slice(0, 12) : '-');
  return `Configuration:\n${fields([
    ['Running', `v${c.version} (hash ${short(c.hash)}), ${c.origin === 'file' ? 'from the config file' : `committed ${c.committedAt} on ${c.committedBy}`}`],
    [
      'Peer',
      !c.peer.up
        ? 'down'
        : c.peer.inSync
          ? `in sync (v${c.peer.version})`
          : `NOT in sync: v${c.peer.version ?? '?'} (hash ${short(c.peer.hash)})${c.peer.lastError ? `, ${c.peer.lastError}` : ''}`,
    ],
    ...(c.restartRequired.length > 0 ? ([['Restart required', c.restartRequired.join(', ')]] as [string, string][]) : []),
    ...(c.keptAside.length > 0 ? ([['Kept aside', `${c.keptAside.length} config(s), newest ${c.keptAside[0].file}`]] as [string, string][]) : []),
  ])}`;
}

function timersSection(s: StatusResponse): string {
  const t = s.timers;
  return `Timers (profile ${t.profile}):\n${fields([
    ['Heartbeat interval', ms(t.heartbeatIntervalMs)],
    ['Heartbeats missed', `${t.heartbeatMissed} (dead interval ${ms(t.heartbeatIntervalMs * t.heartbeatMissed)})`],
    ['Hello interval', ms(t.helloIntervalMs)],
    ['Promotion hold', ms(t.promotionHoldMs)],
    ['Preempt hold', ms(t.preemptHoldMs)],
    ['Flap max', String(t.flapMax)],
    ['Initial wait', ms(t.initialWaitMs)],
  ])}`;
}

function transitionsSection(s: StatusResponse): string {
  if (s.transitions.length === 0) return 'Recent transitions (newest first):\n  none';
  const recent = s.transitions.slice(-STATUS_TRANSITIONS_SHOWN).reverse();
  return `Recent transitions (newest first):\n${table(
    recent.map((tr) => [tr.at, `${tr.from} -> ${tr.to}`, `(${tr.reason})`]),
    '  ',
  )}`;
}

/** `dataplane.activeActive`, read leniently: an older daemon may lack the classes and decisions. */
type ActiveActiveView = Pick<ActiveActiveStatus, 'device' | 'sessionsOwned' | 'ha3'> & Partial<Omit<ActiveActiveStatus, 'device' | 'sessionsOwned' | 'ha3'>>;

/** The dataplane's active/active figures (GET /v1/status), read leniently; null when absent. */
export function activeActiveOf(dp: unknown): ActiveActiveView | null {
  const aa = dp !== null && typeof dp === 'object' ? (dp as { activeActive?: unknown }).activeActive : undefined;
  if (aa === null || typeof aa !== 'object') return null;
  const v = aa as Partial<ActiveActiveView>;
  return Array.isArray(v.sessionsOwned) && v.ha3 !== undefined && typeof v.ha3 === 'object' ? (v as ActiveActiveView) : null;
}

/** "device 0", "device 1", "primary": the owner classes as docs/active-active.md names them. */
export function classLabel(c: FloatingClassName): string {
  return c === 'primary' ? 'primary' : `device ${c === 'device0' ? 0 : 1}`;
}

/** "device 0 (lan 10.0.1.1, wan 10.0.2.1)", "primary (no addresses)". */
function classWithAddresses(c: PairClassStatus): string {
  const addrs = c.addresses.map((a) => `${a.interface} ${a.address}`).join(', ');
  return `${classLabel(c.class)} (${addrs === '' ? 'no addresses' : addrs})`;
}

/** Both boxes of the pair with their shown states: "fw-a (device 0) active-primary, fw-b (device 1) active-secondary". */
function rolesLine(s: StatusResponse): string {
  const peer = s.peer.state ?? (s.peer.up ? 'unknown' : 'not heard');
  return `${s.local.name} (device ${s.local.id}) ${s.local.state}, ${s.peer.name ?? 'peer'} (device ${s.peer.id}) ${peer}`;
}

/** The classes this box holds, hands back, and leaves to the peer. */
function classRows(classes: readonly PairClassStatus[] | undefined): [string, string][] {
  if (classes === undefined) return [];
  const list = (cs: PairClassStatus[]): string => (cs.length === 0 ? 'none' : cs.map(classWithAddresses).join('; '));
  const rows: [string, string][] = [['Addresses held', list(classes.filter((c) => c.served))]];
  const back = classes.filter((c) => c.handingBack);
  if (back.length > 0) rows.push(['Handing back', list(back)]);
  rows.push(['Left to the peer', list(classes.filter((c) => !c.served && !c.handingBack))]);
  return rows;
}

/** Where this box sent what it could not simply forward (docs/active-active.md "Session setup and owner"). */
function decisionRows(d: SetupDecisions | undefined): [string, string][] {
  if (d === undefined) return [];
  return [
    ['Set up here', `${d.setupLocal} new sessions (setup-local)`],
    [
      'Sent to the peer',
      `${d.setupToPeer} first packets to set up (setup-to-peer), ${d.toOwner} to the owner (to-owner), ${d.missToPeer} misses (miss-to-peer)`,
    ],
    ['Sessions adopted', String(d.sessionAdopted)],
    ['Defer outcomes', `${d.deferAcked} acked, ${d.deferTimeout} timed out, ${d.deferFull} not held (queue full)`],
  ];
}

/** Active/active: the pair's roles, the addresses held, the sessions each device owns, HA3 (PAN-OS `show high-availability ha3`), the setup decisions. */
function activeActiveSection(s: StatusResponse): string | null {
  const aa = activeActiveOf(s.dataplane);
  if (aa === null) return null;
  const h = aa.ha3;
  const flow = (d: { frames: number; bytes: number }): string => `${d.frames} frames, ${d.bytes} bytes`;
  const primary = aa.primary === undefined ? [] : ([['Primary', `device ${aa.primary}${aa.primary === aa.device ? ' (this box)' : ''}`]] as [string, string][]);
  const peerFwd =
    aa.peerForwarding === undefined ? [] : ([['Peer forwards', aa.peerForwarding ? 'yes' : 'no (its sessions are adopted here)']] as [string, string][]);
  return `Active/active (this box is device ${aa.device}):
${fields([
  ['Roles', rolesLine(s)],
  ...primary,
  ...peerFwd,
  ...classRows(aa.classes),
  ['Sessions owned', `device 0: ${aa.sessionsOwned[0]}, device 1: ${aa.sessionsOwned[1]}`],
  ['HA3 link', `${h.device} ${h.open ? 'open' : 'CLOSED'}, ${h.hearsPeer ? `hears the peer (${h.peerMac ?? '?'})` : 'does NOT hear the peer'}`],
  ['HA3 to peer', flow(h.tx)],
  ['HA3 from peer', flow(h.rx)],
  ['First packets held', `${h.held} now`],
  ...decisionRows(aa.decisions),
])}`;
}

function formatDataplane(dp: unknown): string {
  if (dp === null || typeof dp !== 'object' || Array.isArray(dp)) return `Dataplane: ${JSON.stringify(dp)}`;
  const obj = dp as Record<string, unknown>;
  if (typeof obj.error === 'string' && Object.keys(obj).length === 1) return `Dataplane: unavailable (${obj.error})`;
  const capture = formatCapture(obj);
  const pairs: [string, string][] = Object.keys(obj)
    .sort()
    .filter((k) => !(k === 'interfaces' && capture !== null) && !(k === 'activeActive' && activeActiveOf(obj) !== null))
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
    handles: (itfs as { name?: unknown; device?: unknown; vlan?: unknown; mtu?: unknown; capture: { open: boolean; error?: unknown; downMs?: unknown } }[]).map(
      (i) => ({
        name: String(i.name),
        // a VLAN interface shares its trunk's handle: "eth1 vlan 20"
        device: typeof i.vlan === 'number' ? `${String(i.device)} vlan ${i.vlan}` : String(i.device),
        mtu: String(i.mtu),
        open: i.capture.open,
        error: typeof i.capture.error === 'string' ? i.capture.error : '',
        downMs: typeof i.capture.downMs === 'number' ? i.capture.downMs : null,
      }),
    ),
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
