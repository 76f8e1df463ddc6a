// Central's history: SQLite through better-sqlite3 (synchronous; each call is a few microseconds
// against a local file, far below a poll interval). WAL mode, so `events` reads while polls
// write. The schema and its migrations are migrations.ts; retention is prune(), run on a timer.
import Database from 'better-sqlite3';
import type { MemberRecord } from './member-record.js';
import { migrate } from './migrations.js';
import type { CentralEvent, EventKind } from './protocol.js';
import { memberKey } from './secrets.js';

export interface EventQuery {
  sinceMs?: number;
  pair?: string;
  /** The newest `limit` matching events are returned (oldest first). */
  limit: number;
}

interface EventRow {
  at_ms: number;
  pair: string;
  member: string;
  kind: EventKind;
  from_state: string | null;
  to_state: string;
  reason: string;
  detail: string | null;
}

export class CentralStore {
  private readonly db: Database.Database;
  readonly schemaVersion: number;
  private readonly insertEvent: Database.Statement;
  private readonly upsertRecord: Database.Statement;

  /** Opens (creating if absent) and migrates; throws StoreVersionError for a newer schema. */
  constructor(path: string) {
    this.db = new Database(path);
    try {
      this.db.pragma('journal_mode = WAL');
      // a crash may lose the last poll's writes, never corrupt the file; a poll rewrites them
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 2000');
      this.schemaVersion = migrate(this.db, path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insertEvent = this.db.prepare(
      `INSERT OR IGNORE INTO events (at_ms, pair, member, kind, from_state, to_state, reason, detail)
       VALUES (@at_ms, @pair, @member, @kind, @from_state, @to_state, @reason, @detail)`,
    );
    this.upsertRecord = this.db.prepare(
      `INSERT INTO member_state (pair, member, record, updated_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (pair, member) DO UPDATE SET record = excluded.record, updated_ms = excluded.updated_ms`,
    );
  }

  /** Stores a poll's events and the member's new record together. Returns how many events were new. */
  save(events: readonly CentralEvent[], record: MemberRecord | null, nowMs: number): number {
    return this.db.transaction(() => {
      let added = 0;
      for (const e of events) added += this.insertEvent.run(eventRow(e)).changes;
      if (record) this.upsertRecord.run(record.pair, record.member, JSON.stringify(record), nowMs);
      return added;
    })();
  }

  /** The last known record of every member; a row that does not parse is skipped (a poll rewrites it). */
  records(): MemberRecord[] {
    const rows = this.db.prepare('SELECT record FROM member_state').all() as { record: string }[];
    const out: MemberRecord[] = [];
    for (const { record } of rows) {
      try {
        const r = JSON.parse(record) as MemberRecord;
        if (typeof r?.pair === 'string' && typeof r.member === 'string' && Array.isArray(r.seenTransitions)) out.push(r);
      } catch {
        // skipped: see above
      }
    }
    return out;
  }

  events(q: EventQuery): { events: CentralEvent[]; truncated: boolean } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.sinceMs !== undefined) {
      where.push('at_ms >= ?');
      args.push(q.sinceMs);
    }
    if (q.pair !== undefined) {
      where.push('pair = ?');
      args.push(q.pair);
    }
    const sql = `SELECT at_ms, pair, member, kind, from_state, to_state, reason, detail FROM events
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at_ms DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit + 1) as EventRow[];
    const truncated = rows.length > q.limit;
    return { events: rows.slice(0, q.limit).reverse().map(eventOf), truncated };
  }

  /** Retention: events older than `days`, then all but the newest `maxEvents`. Returns how many went. */
  prune(nowMs: number, days: number, maxEvents: number): number {
    return this.db.transaction(() => {
      const old = this.db.prepare('DELETE FROM events WHERE at_ms < ?').run(nowMs - days * 86_400_000).changes;
      const over = this.db
        .prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY at_ms DESC, id DESC LIMIT -1 OFFSET ?)')
        .run(maxEvents).changes;
      return old + over;
    })();
  }

  /** Drops the records of members no longer in the inventory. */
  forgetMembersExcept(keep: ReadonlySet<string>): void {
    const rows = this.db.prepare('SELECT pair, member FROM member_state').all() as { pair: string; member: string }[];
    const del = this.db.prepare('DELETE FROM member_state WHERE pair = ? AND member = ?');
    for (const r of rows) if (!keep.has(memberKey(r.pair, r.member))) del.run(r.pair, r.member);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function eventRow(e: CentralEvent): EventRow {
  return {
    at_ms: Date.parse(e.at),
    pair: e.pair,
    member: e.member,
    kind: e.kind,
    from_state: e.from,
    to_state: e.to,
    reason: e.reason,
    detail: e.detail === null ? null : JSON.stringify(e.detail),
  };
}

function eventOf(r: EventRow): CentralEvent {
  let detail: Record<string, unknown> | null = null;
  if (r.detail !== null) {
    try {
      detail = JSON.parse(r.detail) as Record<string, unknown>;
    } catch {
      detail = { unparsed: r.detail };
    }
  }
  return { at: new Date(r.at_ms).toISOString(), pair: r.pair, member: r.member, kind: r.kind, from: r.from_state, to: r.to_state, reason: r.reason, detail };
}
