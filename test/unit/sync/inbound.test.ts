// The receive path's pure core (src/sync/inbound.ts): sequence checks, order into a sink that
// fills up, the pending bound, the acks, and what the bulk machine is told.
import { describe, expect, it } from 'vitest';
import { initialBulkState, step, type BulkEvent, type BulkState } from '../../../src/sync/bulk.js';
import { Inbound, type RecordSink } from '../../../src/sync/inbound.js';
import { emptyRecord, REC_BULK_BEGIN, REC_BULK_END, REC_CLEAR, REC_DELETE, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';

function rec(op: number, n = 0): SessionRecord {
  return { ...emptyRecord(), op, origSrc: n };
}

/** A ring stand-in with room for `room` records; what went in is kept. */
function sink(room = Infinity): RecordSink & { got: SessionRecord[]; room: number } {
  const s = {
    got: [] as SessionRecord[],
    room,
    push(r: SessionRecord): boolean {
      if (s.room <= 0) return false;
      s.room -= 1;
      s.got.push(r);
      return true;
    },
  };
  return s;
}

function state(...events: BulkEvent[]): BulkState {
  return events.reduce((s, e) => step(s, e).state, initialBulkState());
}

const receiver = state({ type: 'role', to: 'receiver' }, { type: 'connected' });

describe('Inbound', () => {
  it('checks the sequence: consecutive from 1 on each connection', () => {
    const inb = new Inbound(100);
    expect(inb.arrived(1, 0, receiver)).toEqual({ kind: 'ours', gap: null });
    expect(inb.arrived(2, 0, receiver)).toEqual({ kind: 'ours', gap: null });
    expect(inb.arrived(4, 0, receiver)).toEqual({ kind: 'ours', gap: { expected: 3, got: 4 } });
    inb.connected();
    expect(inb.arrived(1, 0, receiver)).toEqual({ kind: 'ours', gap: null });
  });

  it('counts the BULK_BEGINs received on this connection, also those a sender discards', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, receiver, [rec(REC_BULK_BEGIN), rec(REC_UPSERT), rec(REC_BULK_END)]);
    inb.arrived(2, 0, state({ type: 'role', to: 'sender' }, { type: 'connected' }), [rec(REC_BULK_BEGIN)]);
    expect(inb.beginsSeen).toBe(2);
    inb.connected();
    expect(inb.beginsSeen).toBe(0);
  });

  it('the sender applies nothing of the peer: acked at once', () => {
    const inb = new Inbound(100);
    const sender = state({ type: 'role', to: 'sender' }, { type: 'connected' });
    expect(inb.arrived(1, 77, sender)).toEqual({ kind: 'not-ours', ack: { seq: 1, echoSentMs: 77 } });
    expect(inb.counters.batches).toBe(1);
  });

  it('pushes in order until the ring is full, counts one stall, and acks a batch once all of it is in', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 10, receiver);
    inb.queue(1, [rec(REC_UPSERT, 1), rec(REC_UPSERT, 2)], 10, receiver);
    inb.arrived(2, 20, receiver);
    inb.queue(2, [rec(REC_UPSERT, 3), rec(REC_DELETE, 4)], 20, receiver);
    const ring = sink(3);
    let r = inb.push(ring, receiver, 0);
    expect(ring.got.map((x) => x.origSrc)).toEqual([1, 2, 3]);
    expect(r).toMatchObject({ stallStarted: true, ack: { seq: 1, echoSentMs: 10 }, events: [{ type: 'records-pushed', count: 3 }] });
    expect(inb.pending).toBe(1);
    r = inb.push(ring, receiver, 0);
    expect(r).toMatchObject({ stallStarted: false, ack: null }); // the same stall
    ring.room = 10;
    r = inb.push(ring, receiver, 0);
    expect(r).toMatchObject({ stallStarted: false, ack: { seq: 2, echoSentMs: 20 }, events: [] });
    expect(inb.counters).toEqual({ batches: 2, records: 4, stalls: 1 });
  });

  it('tells the machine about the peer dump in ring order, sessions summed between control records', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, receiver);
    inb.queue(1, [rec(REC_UPSERT), rec(REC_BULK_BEGIN), rec(REC_UPSERT), rec(REC_UPSERT), rec(REC_BULK_END, 2), rec(REC_UPSERT)], 0, receiver);
    const r = inb.push(sink(), receiver, 1234);
    expect(r.events).toEqual([
      { type: 'records-pushed', count: 1 },
      { type: 'begin-pushed' },
      { type: 'records-pushed', count: 2 },
      { type: 'end-pushed', sessions: 2, wallMs: 1234 },
      { type: 'records-pushed', count: 1 },
    ]);
  });

  it('our own requests go in behind what waits, and are not counted as received', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, receiver);
    inb.queue(1, [rec(REC_UPSERT, 1)], 0, receiver);
    inb.control(rec(REC_CLEAR));
    const ring = sink();
    inb.push(ring, receiver, 0);
    expect(ring.got.map((x) => x.op)).toEqual([REC_UPSERT, REC_CLEAR]);
    expect(inb.counters.records).toBe(1);
  });

  it('past the pending bound drops everything waiting and the batch, and still acks it', () => {
    const inb = new Inbound(3);
    inb.arrived(1, 0, receiver);
    expect(inb.queue(1, [rec(REC_UPSERT), rec(REC_UPSERT)], 0, receiver)).toBe(0);
    inb.arrived(2, 5, receiver);
    expect(inb.queue(2, [rec(REC_UPSERT), rec(REC_UPSERT)], 5, receiver)).toBe(4);
    expect(inb.pending).toBe(0);
    const ring = sink();
    expect(inb.push(ring, receiver, 0).ack).toEqual({ seq: 2, echoSentMs: 5 });
    expect(ring.got).toEqual([]);
  });

  it('a record the ring refuses as out of range is skipped alone', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, receiver);
    inb.queue(1, [rec(REC_UPSERT, 1), rec(REC_UPSERT, 2), rec(REC_UPSERT, 3)], 0, receiver);
    const got: number[] = [];
    const ring: RecordSink = {
      push: (r) => {
        if (r.origSrc === 2) throw new RangeError('bad');
        got.push(r.origSrc);
        return true;
      },
    };
    const r = inb.push(ring, receiver, 0);
    expect(got).toEqual([1, 3]);
    expect(r.invalid).toEqual([{ op: REC_UPSERT, error: 'bad' }]);
    expect(r.ack?.seq).toBe(1);
    expect(inb.counters.records).toBe(2);
  });

  it('as the sender, a clear still waiting (ours or the peer dump) is not pushed; the rest is', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 3, receiver);
    inb.queue(1, [rec(REC_UPSERT, 1), rec(REC_BULK_BEGIN), rec(REC_UPSERT, 2)], 3, receiver);
    inb.control(rec(REC_CLEAR));
    const sender = step(receiver, { type: 'role', to: 'sender' }).state;
    const ring = sink();
    const r = inb.push(ring, sender, 0);
    expect(ring.got.map((x) => [x.op, x.origSrc])).toEqual([
      [REC_UPSERT, 1],
      [REC_UPSERT, 2],
    ]);
    expect(r.staleClears).toBe(2);
    expect(r.ack).toEqual({ seq: 1, echoSentMs: 3 });
    expect(r.events).toEqual([{ type: 'records-pushed', count: 2 }]);
  });

  it('an ack is owed only on the connection its batch came on', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, receiver);
    inb.queue(1, [rec(REC_UPSERT)], 0, receiver);
    const down = step(receiver, { type: 'disconnected' }).state;
    expect(inb.push(sink(0), receiver, 0).ack).toBeNull();
    expect(inb.push(sink(), down, 0).ack).toBeNull(); // down: nothing to ack on
    inb.arrived(2, 0, receiver);
    inb.queue(2, [rec(REC_UPSERT)], 0, receiver);
    const next = step(down, { type: 'connected' }).state;
    expect(inb.push(sink(), next, 0).ack).toBeNull(); // batch 2 came on the old connection
  });
});

describe('Inbound as both (active/active)', () => {
  const both = state({ type: 'role', to: 'both' }, { type: 'connected' });

  it("the peer's batches are ours to apply (the sender's are not), checked for gaps", () => {
    const inb = new Inbound(100);
    expect(inb.arrived(1, 0, both)).toEqual({ kind: 'ours', gap: null });
    expect(inb.arrived(3, 0, both)).toEqual({ kind: 'ours', gap: { expected: 2, got: 3 } });
  });

  it('a clear queued before we became both is not pushed; one queued after is', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 3, receiver);
    inb.queue(1, [rec(REC_UPSERT, 1), rec(REC_BULK_BEGIN), rec(REC_UPSERT, 2)], 3, receiver);
    inb.control(rec(REC_CLEAR));
    const became = step(receiver, { type: 'role', to: 'both' });
    expect(became.actions.map((a) => a.type)).toEqual(['drop-queued-clears']);
    inb.dropQueuedClears(); // what the channel does for that action
    inb.arrived(2, 4, became.state);
    inb.queue(2, [rec(REC_BULK_BEGIN), rec(REC_UPSERT, 3), rec(REC_BULK_END, 1)], 4, became.state);
    const ring = sink();
    const r = inb.push(ring, became.state, 99);
    expect(ring.got.map((x) => [x.op, x.origSrc])).toEqual([
      [REC_UPSERT, 1],
      [REC_UPSERT, 2],
      [REC_BULK_BEGIN, 0],
      [REC_UPSERT, 3],
      [REC_BULK_END, 1],
    ]);
    expect(r.staleClears).toBe(2);
    expect(r.events).toEqual([
      { type: 'records-pushed', count: 2 },
      { type: 'begin-pushed' },
      { type: 'records-pushed', count: 1 },
      { type: 'end-pushed', sessions: 1, wallMs: 99 },
    ]);
    expect(r.ack).toEqual({ seq: 2, echoSentMs: 4 });
  });

  it('without the mark, both pushes every clear (a later dump of the peer must clear its sessions)', () => {
    const inb = new Inbound(100);
    inb.arrived(1, 0, both);
    inb.queue(1, [rec(REC_BULK_BEGIN), rec(REC_UPSERT, 1)], 0, both);
    inb.control(rec(REC_CLEAR));
    const ring = sink();
    expect(inb.push(ring, both, 0).staleClears).toBe(0);
    expect(ring.got.map((x) => x.op)).toEqual([REC_BULK_BEGIN, REC_UPSERT, REC_CLEAR]);
  });
});
