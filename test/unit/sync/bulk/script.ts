// A tiny script language for bulk-sync scenarios, after the election's (test/unit/control/election/
// script.ts) and etcd raft's testdata: each command line is one event; the indented lines under it
// are what the machine answered, recorded. The test replays the commands and compares the whole
// text; UPDATE_SCENARIOS=1 rewrites it.
//
//   start                                   a fresh machine (role idle, down)
//   role sender|receiver|idle|both
//   connected | disconnected
//   gap <expected> <got> | overflow <dropped> | request-timeout
//   begin-pushed | records-pushed <n> | end-pushed <sessions> at=<wallMs>
//   peer-request <reason> [seen=N] | resync-needed backlog|connection-lost|peer-request
//   begin-out | end-out | out-lost <count>
//
// Output lines: one per action, then `= ` and a summary of the state.
import { initialBulkState, step, type BulkAction, type BulkEvent, type BulkState, type SyncRole } from '../../../../src/sync/bulk.js';
import type { ResyncReason } from '../../../../src/sync/reliable.js';

const ROLES: SyncRole[] = ['sender', 'receiver', 'idle', 'both'];
const RESYNC: ResyncReason[] = ['backlog', 'connection-lost', 'peer-request'];

function int(text: string | undefined, line: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n)) throw new Error(`scenario: a number expected in "${line}"`);
  return n;
}

export function parseEvent(line: string): BulkEvent {
  const [type, ...rest] = line.trim().split(/\s+/);
  switch (type) {
    case 'role':
      if (!ROLES.includes(rest[0] as SyncRole)) throw new Error(`scenario: bad role in "${line}"`);
      return { type, to: rest[0] as SyncRole };
    case 'connected':
    case 'disconnected':
    case 'begin-pushed':
    case 'begin-out':
    case 'end-out':
    case 'request-timeout':
      return { type };
    case 'gap':
      return { type, expected: int(rest[0], line), got: int(rest[1], line) };
    case 'overflow':
      return { type, dropped: int(rest[0], line) };
    case 'records-pushed':
    case 'out-lost':
      return { type, count: int(rest[0], line) };
    case 'end-pushed': {
      const at = rest.find((w) => w.startsWith('at='));
      return { type, sessions: int(rest[0], line), wallMs: int(at?.slice(3), line) };
    }
    case 'peer-request': {
      // `seen=N`: the BULK_BEGINs the peer had received on this connection when it asked
      const seen = rest.find((w) => w.startsWith('seen='));
      const words = rest.filter((w) => w !== seen);
      if (words.length === 0) throw new Error(`scenario: a reason expected in "${line}"`);
      return { type, reason: words.join(' '), ...(seen !== undefined ? { beginsSeen: int(seen.slice(5), line) } : {}) };
    }
    case 'resync-needed':
      if (!RESYNC.includes(rest[0] as ResyncReason)) throw new Error(`scenario: bad resync reason in "${line}"`);
      return { type, reason: rest[0] as ResyncReason };
    default:
      throw new Error(`scenario: unknown event in "${line}"`);
  }
}

export function formatAction(a: BulkAction): string {
  switch (a.type) {
    case 'rx-transition':
      return `rx ${a.from} -> ${a.to} (${a.reason})`;
    case 'tx-transition':
      return `tx ${a.from} -> ${a.to} (${a.reason})`;
    case 'push-clear':
    case 'resync-started':
    case 'sender-reset':
    case 'drop-queued-clears':
      return a.type;
    case 'connection-lost':
      return a.sender ? 'connection-lost (sender: backlog lost)' : 'connection-lost';
    case 'send-bulk-request':
      return `send-bulk-request ${a.reason}`;
    case 'request-dump':
      return `request-dump ${a.reason} (${a.why})`;
    case 'dump-coalesced':
      return `dump-coalesced ${a.reason} (${a.why}) onto ${a.onto}`;
    case 'dump-deferred':
      return `dump-deferred ${a.reason}`;
    case 'bulk-complete':
      return `bulk-complete sessions=${a.sessions} received=${a.received}`;
    case 'bulk-incomplete':
      return `bulk-incomplete ${a.reason}`;
    case 'stale-end':
      return `stale-end sessions=${a.sessions}`;
    case 'invalid-transition':
      return `invalid-transition ${a.event} (role=${a.role} rx=${a.rx} tx=${a.tx})`;
  }
}

export function summary(s: BulkState): string {
  const { rx, tx } = s;
  let out = `= ${s.role} ${s.connected ? 'up' : 'down'} conn=${s.conn} | rx ${rx.phase} (${rx.reason}) received=${rx.received}`;
  if (rx.lastComplete !== null) out += ` last=${rx.lastComplete.sessions}@${rx.lastComplete.wallMs}`;
  out += ` | tx ${tx.phase} (${tx.reason})`;
  if (tx.askedConn !== 0) out += ` asked=conn${tx.askedConn}`;
  if (tx.deferred !== null) out += ` deferred=${tx.deferred}`;
  return out;
}

/** Replay a script and return its text with freshly recorded output. */
export function replay(text: string): string {
  const out: string[] = [];
  let s: BulkState | null = null;
  for (const line of text.split('\n')) {
    if (/^\s+\S/.test(line)) continue; // recorded output: regenerated below
    out.push(line);
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (t === 'start') {
      s = initialBulkState();
      out.push(`  ${summary(s)}`);
      continue;
    }
    if (s === null) throw new Error('scenario: an event before the first start line');
    const r = step(s, parseEvent(t));
    for (const a of r.actions) out.push(`  ${formatAction(a)}`);
    s = r.state;
    out.push(`  ${summary(s)}`);
  }
  return out.join('\n');
}
