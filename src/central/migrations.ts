// The history store's schema, as an ordered list of migrations.
//
// The migration story: the database's PRAGMA user_version is the number of migrations applied.
// At open, every migration past it runs, in order, in one transaction that also sets
// user_version, so a crash mid-way leaves the previous version intact. A migration, once
// released, is never edited: a change is a new migration appended to the list. A database whose
// user_version is higher than this list is from a newer central and is refused (never
// downgraded). Test: test/unit/central/store.test.ts migrates from an empty file and from v1.
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  what: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'events: the merged timeline of every pair (transitions, reachability, config, push)',
    sql: `
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        pair TEXT NOT NULL,
        member TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('transition', 'reachability', 'config', 'push')),
        from_state TEXT,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT
      );
      -- the identity of an event: a transition seen again (central or the member restarted) is not stored twice
      CREATE UNIQUE INDEX events_identity ON events (pair, member, kind, at_ms, to_state);
      CREATE INDEX events_at ON events (at_ms);
      CREATE INDEX events_pair_at ON events (pair, at_ms);
    `,
  },
  {
    version: 2,
    what: 'member_state: the last known record of each member, shown after a restart until the first poll',
    sql: `
      CREATE TABLE member_state (
        pair TEXT NOT NULL,
        member TEXT NOT NULL,
        record TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (pair, member)
      );
    `,
  },
];

export class StoreVersionError extends Error {
  constructor(found: number, known: number, path: string) {
    super(`history database ${path} has schema version ${found}; this central knows up to ${known} (written by a newer central? it is never downgraded)`);
    this.name = 'StoreVersionError';
  }
}

/** Applies the migrations past the database's user_version, up to `upTo` (tests stop early). */
export function migrate(db: Database, path: string, upTo: number = MIGRATIONS.length): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) throw new StoreVersionError(current, MIGRATIONS.length, path);
  const pending = MIGRATIONS.filter((m) => m.version > current && m.version <= upTo);
  if (pending.length === 0) return current;
  db.transaction(() => {
    for (const m of pending) db.exec(m.sql);
    // PRAGMA takes no bound parameters; the value is one of our own integers
    db.pragma(`user_version = ${pending[pending.length - 1].version}`);
  })();
  return pending[pending.length - 1].version;
}
