// What central knows of one member, and how one poll changes it: the pure heart of the poller.
// A poll result goes in; the member's new record and the events worth storing come out:
// - transitions the member reports that central has not seen (by time + new state, so a restart of
//   central or of the member neither duplicates nor loses them; the store's unique index is the
//   backstop),
// - reachability changes (unreachable with the poll's error code, reachable again),
// - config changes (a new version or hash).
// The record is what the store keeps per member, so a restarted central shows the last known
// state and "unreachable since" before its first poll.
import type { CentralEvent, PollOutcome } from './protocol.js';
import type { StatusSummary, StatusTransition } from './status-shape.js';

export interface PollResult {
  atMs: number;
  outcome: PollOutcome;
  /** For a failure: the client's words (never a token: the client never puts it in a message). */
  message?: string;
  /** For 'ok': the checked answer. */
  summary?: StatusSummary;
}

export interface MemberRecord {
  pair: string;
  member: string;
  reachable: boolean | null;
  unreachableSinceMs: number | null;
  error: { code: string; message: string } | null;
  lastPollAtMs: number | null;
  lastOkAtMs: number | null;
  /** The last good answer, without its transition list (the store holds the transitions). */
  status: Omit<StatusSummary, 'transitions'> | null;
  lastTransition: StatusTransition | null;
  /** Keys (transitionKey) of the transitions in the last good answer: what is not new. */
  seenTransitions: string[];
}

export function emptyRecord(pair: string, member: string): MemberRecord {
  return {
    pair,
    member,
    reachable: null,
    unreachableSinceMs: null,
    error: null,
    lastPollAtMs: null,
    lastOkAtMs: null,
    status: null,
    lastTransition: null,
    seenTransitions: [],
  };
}

/** A transition's identity for one member: its time and the state it entered. */
export function transitionKey(t: { at: string; to: string }): string {
  return `${t.at}|${t.to}`;
}

export interface Applied {
  record: MemberRecord;
  events: CentralEvent[];
}

/**
 * One poll applied to a record. `oldestMs`: transitions before it are not stored (they are past
 * the retention window, and would be pruned at once).
 */
export function applyPoll(prev: MemberRecord, poll: PollResult, oldestMs: number): Applied {
  if (poll.outcome === 'ok' && poll.summary) return applyAnswer(prev, poll.summary, poll.atMs, oldestMs);
  return applyFailure(prev, poll);
}

function applyFailure(prev: MemberRecord, poll: PollResult): Applied {
  const error = { code: poll.outcome, message: poll.message ?? poll.outcome };
  const events: CentralEvent[] = [];
  if (prev.reachable !== false) {
    events.push(
      event(prev, poll.atMs, 'reachability', prev.reachable === null ? 'unknown' : 'reachable', 'unreachable', poll.outcome, { message: error.message }),
    );
  }
  const record: MemberRecord = {
    ...prev,
    reachable: false,
    unreachableSinceMs: prev.reachable === false && prev.unreachableSinceMs !== null ? prev.unreachableSinceMs : poll.atMs,
    error,
    lastPollAtMs: poll.atMs,
  };
  return { record, events };
}

function applyAnswer(prev: MemberRecord, summary: StatusSummary, atMs: number, oldestMs: number): Applied {
  const events: CentralEvent[] = [];
  if (prev.reachable === false) {
    const downS = prev.unreachableSinceMs !== null ? Math.round((atMs - prev.unreachableSinceMs) / 1000) : null;
    events.push(event(prev, atMs, 'reachability', 'unreachable', 'reachable', prev.error?.code ?? 'unreachable', { unreachableForS: downS }));
  }
  const seen = new Set(prev.seenTransitions);
  for (const t of summary.transitions) {
    if (seen.has(transitionKey(t)) || Date.parse(t.at) < oldestMs) continue;
    events.push({
      at: t.at,
      pair: prev.pair,
      member: prev.member,
      kind: 'transition',
      from: t.from,
      to: t.to,
      reason: t.reason,
      detail: { box: summary.boxName },
    });
  }
  const old = prev.status;
  if (old && old.configHash !== null && summary.configHash !== null && old.configHash !== summary.configHash) {
    events.push(
      event(prev, atMs, 'config', versionText(old.configVersion), versionText(summary.configVersion), summary.configHash, {
        fromHash: old.configHash,
        toHash: summary.configHash,
      }),
    );
  }
  const { transitions, ...status } = summary;
  const record: MemberRecord = {
    ...prev,
    reachable: true,
    unreachableSinceMs: null,
    error: null,
    lastPollAtMs: atMs,
    lastOkAtMs: atMs,
    status,
    lastTransition: transitions.length > 0 ? newest(transitions) : prev.lastTransition,
    seenTransitions: transitions.map(transitionKey),
  };
  return { record, events };
}

function newest(ts: readonly StatusTransition[]): StatusTransition {
  return ts.reduce((a, b) => (Date.parse(b.at) >= Date.parse(a.at) ? b : a));
}

function versionText(v: number | null): string {
  return v === null ? 'unknown' : `v${v}`;
}

function event(
  rec: MemberRecord,
  atMs: number,
  kind: CentralEvent['kind'],
  from: string | null,
  to: string,
  reason: string,
  detail: Record<string, unknown>,
): CentralEvent {
  return { at: new Date(atMs).toISOString(), pair: rec.pair, member: rec.member, kind, from, to, reason, detail };
}

/** Whether a poll changed the member's reachability or its error: logged once, not every poll. */
export function outcomeChanged(prev: MemberRecord | undefined, next: MemberRecord): boolean {
  return prev?.reachable !== next.reachable || prev?.error?.code !== next.error?.code;
}
