// The dataplane's end of HA2 (src/dataplane/sync-port.ts) on in-process rings, with a stand-in
// firewall whose session table is empty: what matters here is the dump's control records.
import { describe, expect, it } from 'vitest';
import type { Firewall } from '../../../src/dataplane/firewall.js';
import { SyncPort } from '../../../src/dataplane/sync-port.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { emptyRecord, REC_BULK_BEGIN, REC_BULK_END, REC_DUMP_REQUEST, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';

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
