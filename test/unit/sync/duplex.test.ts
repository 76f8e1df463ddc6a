// Two boxes' pure HA2 cores in the role 'both' (active/active), back to back on one "connection":
// each one's sender core (reliable.ts), receive path (inbound.ts) and bulk machine (bulk.ts, its
// actions carried out by bulk-actions.ts), wired as the channel wires them, the messages carried
// by hand. Each row loses some batches in one direction or both, and checks that each loss resyncs
// its own direction only, and that seqs and acks of the other go on.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { initialBulkState, sends, step, type BulkEvent, type BulkState } from '../../../src/sync/bulk.js';
import { carryOut, type BulkHands } from '../../../src/sync/bulk-actions.js';
import { Inbound } from '../../../src/sync/inbound.js';
import { ReliableSender } from '../../../src/sync/reliable.js';
import { SyncView } from '../../../src/sync/status.js';
import { Metrics } from '../../../src/metrics/registry.js';
import type { Ha2Body } from '../../../src/wire/ha2-codec.js';
import { emptyRecord, REC_CLEAR, REC_DUMP_REQUEST, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';

const log = pino({ level: 'silent' });

interface Box {
  bulk: BulkState;
  reliable: ReliableSender;
  inbound: Inbound;
  /** What went into our dataplane's `in` ring. */
  ring: SessionRecord[];
  /** Messages to the peer, in order. */
  wire: Ha2Body[];
  hands: BulkHands;
  /** Batch seqs of the peer's stream whose gap we saw, as [expected, got]. */
  gaps: [number, number][];
}

function box(): Box {
  const reliable = new ReliableSender({ batchMax: 2, flushIntervalMs: 0 });
  const inbound = new Inbound(1000);
  const wire: Ha2Body[] = [];
  const view = new SyncView(new Metrics({ defaultMetrics: false }), log);
  const b: Box = {
    bulk: initialBulkState(),
    reliable,
    inbound,
    ring: [],
    wire,
    hands: { log, view, reliable, inbound, send: (body) => (wire.push(body), true) },
    gaps: [],
  };
  feed(b, { type: 'role', to: 'both' });
  feed(b, { type: 'connected' });
  return b;
}

/** As SyncChannel.feed, then feedIn: the machine steps, its actions are carried out, `in` is fed. */
function feed(b: Box, ev: BulkEvent): void {
  const r = step(b.bulk, ev);
  b.bulk = r.state;
  for (const a of r.actions) carryOut(a, b.hands);
  feedIn(b);
}

function feedIn(b: Box): void {
  const r = b.inbound.push({ push: (x) => (b.ring.push({ ...x }), true) }, b.bulk, 0);
  for (const e of r.events) {
    const s = step(b.bulk, e);
    b.bulk = s.state;
    for (const a of s.actions) carryOut(a, b.hands);
  }
  if (r.ack !== null) b.wire.push({ kind: 'ack', ack: r.ack });
}

/** Our dataplane's changes n..n+count-1, batched and put on the wire (the pump). */
function change(b: Box, from: number, count: number): void {
  for (let i = 0; i < count; i++) b.reliable.enqueue({ ...emptyRecord(), op: REC_UPSERT, origSrc: from + i }, 0);
  let batch;
  while ((batch = b.reliable.poll(0)) !== null) b.wire.push({ kind: 'batch', batch: { ...batch, sentMs: 1 } });
}

/** Carries what `from` sent to `to`, but the batches `lose` names (by seq). As the channel's onBatch / onAck / onBulkRequest. */
function carry(from: Box, to: Box, lose: number[]): void {
  for (const body of from.wire.splice(0)) {
    if (body.kind === 'ack' && sends(to.bulk.role)) to.reliable.ack(body.ack.seq, 0);
    if (body.kind === 'bulkRequest') feed(to, { type: 'peer-request', reason: body.bulkRequest.reason });
    if (body.kind !== 'batch' || lose.includes(body.batch.seq)) continue;
    const arrival = to.inbound.arrived(body.batch.seq, body.batch.sentMs, to.bulk);
    if (arrival.kind === 'ours' && arrival.gap !== null) {
      to.gaps.push([arrival.gap.expected, arrival.gap.got]);
      feed(to, { type: 'gap', ...arrival.gap });
    }
    to.inbound.queue(body.batch.seq, body.batch.records, body.batch.sentMs, to.bulk);
    feedIn(to);
  }
}

interface Row {
  name: string;
  /** Batch seqs lost from a to b, and from b to a. */
  loseAB: number[];
  loseBA: number[];
}

const ROWS: Row[] = [
  { name: 'nothing lost', loseAB: [], loseBA: [] },
  { name: 'a batch lost from a to b', loseAB: [2], loseBA: [] },
  { name: 'a batch lost from b to a', loseAB: [], loseBA: [1] },
  { name: 'a batch lost each way', loseAB: [2], loseBA: [2] },
];

/** What the receiver of a direction did about it: the gaps it saw, what it asked, what it cleared. */
function receiverView(rx: Box, sender: Box) {
  const asked = sender.ring.filter((r) => r.op === REC_DUMP_REQUEST).length;
  return { gaps: rx.gaps, copy: rx.bulk.rx.phase, senderDumps: asked, clears: rx.ring.filter((r) => r.op === REC_CLEAR).length };
}

describe('HA2 both ways on one connection: each direction on its own', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const a = box();
      const b = box();
      change(a, 100, 6); // a's batches 1..3
      change(b, 200, 6); // b's batches 1..3
      for (let round = 0; round < 3; round++) {
        carry(a, b, round === 0 ? row.loseAB : []);
        carry(b, a, round === 0 ? row.loseBA : []);
      }
      // each direction: a gap where its batch went missing, a request of that sender's dump, no clear
      const expectDir = (lost: number[]) =>
        lost.length === 0
          ? { gaps: [], copy: 'idle', senderDumps: 0, clears: 0 }
          : { gaps: [[lost[0], lost[0] + 1]], copy: 'requested', senderDumps: 1, clears: 0 };
      expect(receiverView(b, a)).toEqual(expectDir(row.loseAB));
      expect(receiverView(a, b)).toEqual(expectDir(row.loseBA));
      // acks are cumulative: a lost batch is freed by the next one's ack; both backlogs drain
      expect([a.reliable.backlog, b.reliable.backlog]).toEqual([0, 0]);
      expect([a.reliable.counters.staleAcks, b.reliable.counters.staleAcks]).toEqual([0, 0]);
      // the other direction's stream goes on where it was: the next batch of each is 4
      change(a, 300, 2);
      change(b, 400, 2);
      expect(a.wire.find((m) => m.kind === 'batch')).toMatchObject({ batch: { seq: 4 } });
      expect(b.wire.find((m) => m.kind === 'batch')).toMatchObject({ batch: { seq: 4 } });
      carry(a, b, []);
      carry(b, a, []);
      expect(a.gaps).toHaveLength(row.loseBA.length);
      expect(b.gaps).toHaveLength(row.loseAB.length);
      // what each applied of the other: everything but the lost batch's records, in order
      const applied = (x: Box) => x.ring.filter((r) => r.op === REC_UPSERT).map((r) => r.origSrc);
      const sent = (base: number, lost: number[]) => [0, 1, 2, 3, 4, 5].filter((i) => !lost.includes(Math.floor(i / 2) + 1)).map((i) => base + i);
      expect(applied(b)).toEqual([...sent(100, row.loseAB), 300, 301]);
      expect(applied(a)).toEqual([...sent(200, row.loseBA), 400, 401]);
    });
  }
});
