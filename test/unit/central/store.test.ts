// The history store: migrations from an empty file and from version 1, a newer schema refused,
// dedupe across a reopen, retention by age and by count, last known member records.
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyRecord } from '../../../src/central/member-record.js';
import { migrate, MIGRATIONS, StoreVersionError } from '../../../src/central/migrations.js';
import type { CentralEvent } from '../../../src/central/protocol.js';
import { CentralStore } from '../../../src/central/store.js';
import { T0 } from './fixtures.js';

const dbPath = (): string => join(mkdtempSync(join(tmpdir(), 'ce-store-')), 'central.db');

function ev(atMs: number, to = 'active', pair = 'p1', member = 'fwa'): CentralEvent {
  return { at: new Date(atMs).toISOString(), pair, member, kind: 'transition', from: 'passive', to, reason: 'peer-dead', detail: { box: 'fw-a' } };
}

describe('central store', () => {
  it('migrates an empty file to the newest version, in WAL mode', () => {
    const path = dbPath();
    const s = new CentralStore(path);
    expect(s.schemaVersion).toBe(MIGRATIONS.length);
    s.close();
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('migrates a version 1 file, keeping its events', () => {
    const path = dbPath();
    const db = new Database(path);
    expect(migrate(db, path, 1)).toBe(1);
    db.prepare(
      "INSERT INTO events (at_ms, pair, member, kind, from_state, to_state, reason, detail) VALUES (?, 'p1', 'fwa', 'transition', 'passive', 'active', 'peer-dead', NULL)",
    ).run(T0);
    db.close();
    const s = new CentralStore(path);
    expect(s.schemaVersion).toBe(2);
    expect(s.events({ limit: 10 }).events).toEqual([{ ...ev(T0), detail: null }]);
    expect(s.records()).toEqual([]);
    s.close();
  });

  it('refuses a file from a newer central', () => {
    const path = dbPath();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new CentralStore(path)).toThrow(StoreVersionError);
  });

  it('stores an event once, also across a reopen', () => {
    const path = dbPath();
    const s = new CentralStore(path);
    expect(s.save([ev(T0), ev(T0)], null, T0)).toBe(1);
    s.close();
    const again = new CentralStore(path);
    expect(again.save([ev(T0), ev(T0 + 1)], null, T0)).toBe(1);
    expect(again.count()).toBe(2);
    again.close();
  });

  it('queries by time and pair, newest `limit`, oldest first', () => {
    const s = new CentralStore(dbPath());
    s.save([ev(T0 + 3, 'a'), ev(T0 + 1, 'b'), ev(T0 + 2, 'c', 'p2'), ev(T0 + 4, 'd')], null, T0);
    expect(s.events({ limit: 10 }).events.map((e) => e.to)).toEqual(['b', 'c', 'a', 'd']);
    expect(s.events({ limit: 2 })).toMatchObject({ truncated: true, events: [{ to: 'a' }, { to: 'd' }] });
    expect(s.events({ limit: 10, pair: 'p2' }).events.map((e) => e.to)).toEqual(['c']);
    expect(s.events({ limit: 10, sinceMs: T0 + 3 }).events.map((e) => e.to)).toEqual(['a', 'd']);
    s.close();
  });

  it('prunes by age, then by count', () => {
    const s = new CentralStore(dbPath());
    const day = 86_400_000;
    s.save([ev(T0 - 40 * day, 'old'), ev(T0 - 1, 'x'), ev(T0 - 2, 'y'), ev(T0 - 3, 'z')], null, T0);
    expect(s.prune(T0, 30, 100)).toBe(1);
    expect(s.prune(T0, 30, 2)).toBe(1);
    expect(s.events({ limit: 10 }).events.map((e) => e.to)).toEqual(['y', 'x']);
    s.close();
  });

  it('keeps the last record per member and forgets members no longer listed', () => {
    const path = dbPath();
    const s = new CentralStore(path);
    const a = { ...emptyRecord('p1', 'fwa'), reachable: false, unreachableSinceMs: T0 };
    s.save([], emptyRecord('p1', 'fwa'), T0);
    s.save([], a, T0 + 1);
    s.save([], emptyRecord('p9', 'gone'), T0);
    s.close();
    const again = new CentralStore(path);
    again.forgetMembersExcept(new Set(['p1/fwa']));
    expect(again.records()).toEqual([a]);
    again.close();
  });
});
