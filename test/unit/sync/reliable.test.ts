import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/sync/fifo.js';
import { MAX_BATCH_RECORDS, ReliableSender } from '../../../src/sync/reliable.js';
import { emptyRecord, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';

function rec(i: number, eventMs = 0): SessionRecord {
  const r = emptyRecord();
  r.op = REC_UPSERT;
  r.origSrc = i;
  r.eventMs = eventMs;
  return r;
}

function fill(s: ReliableSender, n: number, now: number, from = 0): void {
  for (let i = 0; i < n; i++) s.enqueue(rec(from + i, now), now);
}

describe('ReliableSender batching', () => {
  it('flushes a partial batch only once flushIntervalMs has passed since its first record', () => {
    const s = new ReliableSender({ flushIntervalMs: 2, batchMax: 10 });
    s.enqueue(rec(1), 100);
    expect(s.poll(100)).toBeNull();
    s.enqueue(rec(2), 101);
    expect(s.poll(101.9)).toBeNull();
    const b = s.poll(102);
    expect(b?.seq).toBe(1);
    expect(b?.records.map((r) => r.origSrc)).toEqual([1, 2]);
    expect(s.poll(200)).toBeNull(); // empty
  });

  it('flushes at once when batchMax records are queued, and splits larger queues in order', () => {
    const s = new ReliableSender({ flushIntervalMs: 1000, batchMax: 4 });
    fill(s, 3, 0);
    expect(s.poll(0)).toBeNull();
    fill(s, 7, 0, 3);
    const a = s.poll(0);
    const b = s.poll(0);
    expect(a?.records.map((r) => r.origSrc)).toEqual([0, 1, 2, 3]);
    expect(b?.records.map((r) => r.origSrc)).toEqual([4, 5, 6, 7]);
    expect(s.poll(0)).toBeNull(); // 2 left, not due by size
    // the remainder's timer restarted when the full batches left
    expect(s.poll(999)).toBeNull();
    expect(s.poll(1000)?.records.map((r) => r.origSrc)).toEqual([8, 9]);
    expect([a?.seq, b?.seq]).toEqual([1, 2]);
  });

  it('flushIntervalMs 0 sends whatever is queued at the next poll', () => {
    const s = new ReliableSender({ flushIntervalMs: 0 });
    s.enqueue(rec(1), 5);
    expect(s.poll(5)?.records).toHaveLength(1);
  });

  it('refuses nonsense options', () => {
    expect(() => new ReliableSender({ batchMax: 0 })).toThrow(RangeError);
    expect(() => new ReliableSender({ batchMax: MAX_BATCH_RECORDS + 1 })).toThrow(RangeError);
    expect(() => new ReliableSender({ backlogMax: 1.5 })).toThrow(RangeError);
    expect(() => new ReliableSender({ flushIntervalMs: -1 })).toThrow(RangeError);
  });
});

describe('ReliableSender seq and acks', () => {
  it('numbers batches from 1; a cumulative ack frees every batch up to it', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 2 });
    for (let i = 0; i < 3; i++) {
      fill(s, 2, 10);
      expect(s.poll(10)?.seq).toBe(i + 1);
    }
    expect(s.backlog).toBe(6);
    expect(s.unackedBatches).toBe(3);
    const acked = s.ack(2, 15);
    expect(acked.map((a) => a.seq)).toEqual([1, 2]);
    expect(s.backlog).toBe(2);
    expect(s.counters.recordsAcked).toBe(4);
    // a duplicate or old ack is stale, changes nothing
    expect(s.ack(2, 16)).toEqual([]);
    expect(s.counters.staleAcks).toBe(1);
    expect(s.ack(3, 17).map((a) => a.seq)).toEqual([3]);
    expect(s.backlog).toBe(0);
  });

  it('backlog counts queued plus unacked records', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 3 });
    fill(s, 5, 0);
    expect(s.backlog).toBe(5);
    s.poll(0);
    expect(s.queued).toBe(2);
    expect(s.backlog).toBe(5);
    s.ack(1, 0);
    expect(s.backlog).toBe(2);
  });

  it('stops handing out batches when unackedMax batches are in flight (the window)', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 1, unackedMax: 2 });
    fill(s, 5, 0);
    expect(s.poll(0)?.seq).toBe(1);
    expect(s.poll(0)?.seq).toBe(2);
    expect(s.poll(0)).toBeNull();
    s.ack(1, 0);
    expect(s.poll(0)?.seq).toBe(3);
  });

  it('measures lag as ack arrival minus the batch oldest eventMs', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 10 });
    s.enqueue(rec(1, 1000), 1001);
    s.enqueue(rec(2, 999.5), 1001); // out of order eventMs: the oldest counts
    s.enqueue(rec(3, 0), 1001); // no eventMs: ignored
    s.poll(1002);
    const [a] = s.ack(1, 1004.5);
    expect(a.count).toBe(3);
    expect(a.lagMs).toBe(5);
    s.enqueue(rec(4, 0), 1005);
    s.poll(1005);
    expect(s.ack(2, 1006)[0].lagMs).toBeNull();
  });
});

describe('ReliableSender resync', () => {
  it('a backlog over backlogMax drops everything and needs a resync, once', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 2, backlogMax: 5 });
    fill(s, 2, 0);
    s.poll(0); // 2 unacked
    fill(s, 3, 0); // backlog 5: at the bound, fine
    expect(s.needsResync).toBe(false);
    s.enqueue(rec(99), 0); // 6 > 5
    expect(s.needsResync).toBe(true);
    expect(s.resyncReason).toBe('backlog');
    expect(s.backlog).toBe(0);
    expect(s.counters.recordsDropped).toBe(6);
    expect(s.counters.overflows).toBe(1);
    // acks for forgotten batches are stale, not an error
    expect(s.ack(1, 0)).toEqual([]);
    // a second overflow before the resync started keeps the first reason, counts one resync
    fill(s, 6, 0);
    expect(s.counters.resyncsNeeded).toBe(1);
    s.resyncStarted();
    expect(s.needsResync).toBe(false);
    expect(s.resyncReason).toBeNull();
  });

  it('a lost connection drops the backlog, needs a resync and restarts seqs at 1', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 2 });
    fill(s, 3, 0);
    s.poll(0);
    expect(s.lastSeq).toBe(1);
    s.connectionLost();
    expect(s.needsResync).toBe(true);
    expect(s.resyncReason).toBe('connection-lost');
    expect(s.backlog).toBe(0);
    expect(s.counters.recordsDropped).toBe(3);
    s.resyncStarted();
    fill(s, 1, 1);
    expect(s.poll(1)?.seq).toBe(1);
  });

  it('a lost connection with nothing pending still needs a resync (records drained while down are gone)', () => {
    const s = new ReliableSender();
    s.connectionLost();
    expect(s.needsResync).toBe(true);
  });

  it('reset (no longer the sender) forgets backlog and resync without counting a drop; seq goes on', () => {
    const s = new ReliableSender({ flushIntervalMs: 0, batchMax: 1 });
    fill(s, 2, 0);
    s.poll(0);
    s.connectionLost();
    fill(s, 2, 0);
    s.poll(0);
    s.reset();
    expect(s.backlog).toBe(0);
    expect(s.needsResync).toBe(false);
    expect(s.counters.recordsDropped).toBe(2);
    fill(s, 1, 0);
    expect(s.poll(0)?.seq).toBe(2);
  });
});

describe('ReliableSender streams', () => {
  it('a stream that ended while we were not the sender: the next starts at seq 1, nothing dropped or resynced', () => {
    const s = new ReliableSender({ flushIntervalMs: 0 });
    s.enqueue(rec(1), 0);
    expect(s.poll(0)?.seq).toBe(1);
    s.reset(); // no longer the sender: the seq goes on while the stream does
    s.streamEnded();
    s.enqueue(rec(2), 0);
    expect(s.poll(0)?.seq).toBe(1);
    expect(s.needsResync).toBe(false);
    expect(s.counters.recordsDropped).toBe(0);
  });
});

describe('Fifo', () => {
  it('is a FIFO across take, shift and compaction', () => {
    const q = new Fifo<SessionRecord>();
    let next = 0;
    let expectNext = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(rec(next++));
      const took = q.take(150);
      for (const r of took) expect(r.origSrc).toBe(expectNext++);
      for (let i = 0; i < 100; i++) expect(q.shift()?.origSrc).toBe(expectNext++);
    }
    expect(q.length).toBe(next - expectNext);
    expect(q.peek()?.origSrc).toBe(expectNext);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});
