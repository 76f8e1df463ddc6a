// The dataplane's end of HA2 (src/dataplane/sync-port.ts) on in-process rings, with a stand-in
// firewall whose session table is empty: what matters here is the dump's control records.
import { describe, expect, it } from 'vitest';
import type { Firewall } from '../../../src/dataplane/firewall.js';
import { SyncPort } from '../../../src/dataplane/sync-port.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import {
  emptyRecord,
  REC_BULK_BEGIN,
  REC_BULK_END,
  REC_CLEAR,
  REC_DUMP_REQUEST,
  REC_LOST,
  REC_UPSERT,
  type SessionRecord,
} from '../../../src/wire/session-record.js';

function record(op: number): SessionRecord {
  const r = emptyRecord();
  r.op = op;
  return r;
}

function rig(capacity: number) {
  const out = new RecordRing(capacity);
  const inRing = new RecordRing(capacity);
  const table = { size: 0, forEach: () => undefined, isLive: () => false };
  const fw = { table, listener: null } as unknown as Firewall;
  const drops: string[] = [];
  const port = new SyncPort(out, inRing, fw, { event: () => undefined, drop: (reason) => drops.push(reason) });
  const drainOps = (): number[] => {
    const ops: number[] = [];
    out.drain(1 << 20, (r) => ops.push(r.op));
    return ops;
  };
  return { out, inRing, port, drops, drainOps };
}

describe('SyncPort dumps', () => {
  it('a dump asked while `out` is full starts once there is room (the worker waits for its BULK_BEGIN)', () => {
    const { out, inRing, port, drops, drainOps } = rig(4);
    for (let i = 0; i < 4; i++) expect(out.push(record(REC_UPSERT))).toBe(true);
    expect(inRing.push(record(REC_DUMP_REQUEST))).toBe(true);
    port.tick(1);
    expect(drainOps()).toEqual([REC_UPSERT, REC_UPSERT, REC_UPSERT, REC_UPSERT]); // no room for the BULK_BEGIN
    port.tick(3);
    expect(drainOps()).toEqual([REC_BULK_BEGIN, REC_BULK_END]);
    expect(drops).toEqual([]); // waiting is not a drop
    port.tick(5);
    expect(drainOps()).toEqual([]); // once
  });
});

/** A table of `n` live sessions (slot i has origSrc i) whose removals are recorded. */
function tableRig(n: number, capacity = 16) {
  const out = new RecordRing(capacity);
  const inRing = new RecordRing(capacity);
  const live = new Set(Array.from({ length: n }, (_, i) => i));
  const fields = {
    get size() {
      return live.size;
    },
    forEach: (fn: (slot: number) => void) => [...live].forEach(fn),
    isLive: (slot: number) => live.has(slot),
    proto: () => 6,
    src: (slot: number) => slot,
    ruleId: () => -1,
    natRuleId: () => -1,
    expiresMs: () => 0,
    // the record of slot i: a TCP session whose original source is i, every other field 0
    toRecord: (slot: number, op: number, nowMs: number, r: SessionRecord): SessionRecord =>
      Object.assign(r, emptyRecord(), { op, proto: 6, origSrc: slot, ruleId: -1, natRuleId: -1, eventMs: nowMs }),
  };
  // every other field of a session reads 0
  const table = new Proxy(fields, { get: (t, k) => (k in t ? t[k as keyof typeof t] : () => 0) });
  const fw = {
    table,
    listener: null,
    timeoutS: () => 60,
    removeSession: (slot: number) => live.delete(slot),
    windowsMayLag: () => undefined,
  } as unknown as Firewall;
  const events: string[] = [];
  const drops: string[] = [];
  const port = new SyncPort(out, inRing, fw, { event: (name) => events.push(name), drop: (reason) => drops.push(reason) });
  const drain = (): [number, number][] => {
    const got: [number, number][] = [];
    out.drain(1 << 20, (r) => got.push([r.op, r.origSrc]));
    return got;
  };
  return { out, inRing, port, live, events, drops, drain };
}

describe('SyncPort on becoming active', () => {
  it('a clear that waited in `in` from before the take-over leaves the new active table alone', () => {
    const { inRing, port, live, events } = tableRig(3);
    // queued by our worker while passive (a gap's REC_CLEAR, the peer's next dump), not yet applied
    expect(inRing.push(record(REC_CLEAR))).toBe(true);
    expect(inRing.push(record(REC_BULK_BEGIN))).toBe(true);
    expect(inRing.push(record(REC_BULK_END))).toBe(true);
    port.takeOver(10);
    port.tick(10);
    expect(live.size).toBe(3);
    expect(events.filter((e) => e === 'sync-clear-skipped')).toHaveLength(2);
    // what comes after the take-over is our worker's doing in the new role: applied
    expect(inRing.push(record(REC_CLEAR))).toBe(true);
    port.tick(12);
    expect(live.size).toBe(0);
  });
});

describe('SyncPort when `out` is full', () => {
  it('a change that does not fit is lost, and the loss is said in order before the next record', () => {
    const { out, port, drops, drain } = tableRig(8, 4);
    for (let i = 0; i < 4; i++) port.created(i, 1);
    port.created(4, 1); // no room: lost
    port.changed(5, 1); // still no room: lost too
    expect(drops).toEqual(['sync-overflow', 'sync-overflow']);
    expect(drain()).toEqual([0, 1, 2, 3].map((i) => [REC_UPSERT, i]));
    port.created(6, 2); // room again: the marker first, then the change
    expect(drain()).toEqual([
      [REC_LOST, 2],
      [REC_UPSERT, 6],
    ]);
    expect(out.size).toBe(0);
  });

  it('a loss with no change after it is said on the next tick', () => {
    const { port, drain } = tableRig(8, 4);
    for (let i = 0; i < 5; i++) port.created(i, 1);
    drain();
    port.tick(2);
    expect(drain()).toEqual([[REC_LOST, 1]]);
  });

  it('a dump leaves a quarter of `out` to live changes, and waits for room without losing anything', () => {
    const { inRing, port, drops, drain } = tableRig(40, 16);
    inRing.push(record(REC_DUMP_REQUEST));
    port.tick(1);
    const first = drain();
    expect(first).toHaveLength(12); // BULK_BEGIN and 11 sessions: 4 slots stay free
    expect(first[0]).toEqual([REC_BULK_BEGIN, 40]);
    const rest: [number, number][] = [];
    for (let t = 2; t < 20; t++) {
      port.tick(t);
      rest.push(...drain());
    }
    expect(rest.at(-1)).toEqual([REC_BULK_END, 40]);
    expect([...first, ...rest].filter(([op]) => op === REC_UPSERT).map(([, src]) => src)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(drops).toEqual([]);
  });
});
