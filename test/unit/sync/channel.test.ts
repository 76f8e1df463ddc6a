// Two SyncChannels on 127.0.0.1 with in-process rings; the test plays both dataplanes.
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SyncChannel, type SyncRole } from '../../../src/sync/channel.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { Metrics } from '../../../src/metrics/registry.js';
import {
  emptyRecord,
  REC_BULK_BEGIN,
  REC_BULK_END,
  REC_CLEAR,
  REC_DUMP_REQUEST,
  REC_LOST,
  REC_UPDATE,
  REC_UPSERT,
  type SessionRecord,
} from '../../../src/wire/session-record.js';
import { monotonicMs } from '../../../src/clock.js';
import { Ha2Opener, Ha2Sealer } from '../../../src/wire/auth.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/framing.js';
import type { Ha2Envelope } from '../../../src/wire/ha2-codec.js';

const KEY = Buffer.alloc(32, 7);
const log = pino({ level: 'silent' });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what} ${JSON.stringify(open.map((c) => c.status()))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rec(op: number, n: number): SessionRecord {
  const r = emptyRecord();
  r.op = op;
  r.proto = 6;
  r.origSrc = n;
  r.origSrcPort = n & 0xffff;
  r.origDst = 0x0a000002;
  r.origDstPort = 443;
  r.eventMs = Math.floor(monotonicMs());
  return r;
}

interface Box {
  ch: SyncChannel;
  out: RecordRing;
  in: RecordRing;
  metrics: Metrics;
  /** Everything drained from `in` so far (the test's dataplane). */
  applied: SessionRecord[];
  bulkDone: number[];
  /** Reasons given by onBulkIncomplete: the copy stopped being complete. */
  bulkLost: string[];
}

const open: SyncChannel[] = [];

function box(
  deviceId: number,
  port: number,
  opts: { key?: Buffer; inCapacity?: number; role?: SyncRole; activeActive?: boolean; bulkAnswerWaitMs?: number; loopback?: string } = {},
): Box {
  const out = new RecordRing(1 << 14);
  const inRing = new RecordRing(opts.inCapacity ?? 1 << 14);
  const metrics = new Metrics({ defaultMetrics: false });
  const bulkDone: number[] = [];
  const bulkLost: string[] = [];
  const ch = new SyncChannel({
    deviceId,
    groupId: 9,
    key: opts.key ?? KEY,
    link: { local: opts.loopback ?? '127.0.0.1', peer: opts.loopback ?? '127.0.0.1', port },
    out,
    in: inRing,
    metrics,
    log,
    reconnectMs: 20,
    onBulkComplete: (n) => bulkDone.push(n),
    onBulkIncomplete: (reason) => bulkLost.push(reason),
    activeActive: opts.activeActive,
    bulkAnswerWaitMs: opts.bulkAnswerWaitMs,
  });
  if (opts.role) ch.setRole(opts.role);
  open.push(ch);
  return { ch, out, in: inRing, metrics, applied: [], bulkDone, bulkLost };
}

function drainIn(b: Box, max = 1 << 20): SessionRecord[] {
  const got: SessionRecord[] = [];
  b.in.drain(max, (r) => got.push({ ...r }));
  b.applied.push(...got);
  return got;
}

/** Plays the sender's dataplane: answers each DUMP_REQUEST in its `in` with a dump of `table`. */
function serveDumps(b: Box, table: SessionRecord[]): number {
  let dumps = 0;
  for (const r of drainIn(b)) {
    if (r.op !== REC_DUMP_REQUEST) continue;
    dumps += 1;
    expect(b.out.push(rec(REC_BULK_BEGIN, 0))).toBe(true);
    for (const s of table) expect(b.out.push(s)).toBe(true);
    const end = rec(REC_BULK_END, table.length);
    expect(b.out.push(end)).toBe(true);
  }
  return dumps;
}

/** A hand-made HA2 peer (device 0, dialling): sends what the test says, records what it gets. */
interface HandPeer {
  got: Ha2Envelope[];
  batch(seq: number, records: SessionRecord[]): void;
  ack(seq: number): void;
  requests(): string[];
  close(): void;
}

function handPeer(port: number): HandPeer {
  const sealer = new Ha2Sealer({ key: KEY, sender: 0, groupId: 9, epoch: Date.now(), channel: 'ha2' });
  const opener = new Ha2Opener({ key: KEY, expectedSender: 1, groupId: 9, channel: 'ha2', maxBytes: 1 << 22 });
  const sock = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
  const got: Ha2Envelope[] = [];
  const dec = new FrameDecoder(1 << 22);
  sock.on('data', (chunk: Buffer) => {
    for (const f of dec.push(chunk)) {
      const r = opener.open(f);
      if (r.ok) got.push(r.envelope);
    }
  });
  sock.on('error', () => undefined);
  return {
    got,
    batch: (seq, records) => void sock.write(encodeFrame(sealer.seal({ kind: 'batch', batch: { seq, records, sentMs: 77 } }))),
    ack: (seq) => void sock.write(encodeFrame(sealer.seal({ kind: 'ack', ack: { seq, echoSentMs: 0 } }))),
    requests: () => got.flatMap((e) => (e.body.kind === 'bulkRequest' ? [e.body.bulkRequest.reason] : [])),
    close: () => sock.destroy(),
  };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.stop()));
});

describe('SyncChannel over 127.0.0.1: bulk on join', () => {
  it('bulk on join, then live changes arrive in order in the receiver ring, acked with lag', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender' });
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start(); // device 1 listens
    await a.ch.start(); // device 0 dials
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    expect(b.ch.status().bulk.pending).toBe(true);

    // the receiver cleared its table and asked for a dump; the sender's dataplane gets one request
    const table = Array.from({ length: 2500 }, (_, i) => rec(REC_UPSERT, 1_000_000 + i));
    let dumps = 0;
    await waitFor('dump request', () => (dumps += serveDumps(a, table)) > 0);

    // live changes interleave after the dump, in the dataplane's order
    const live: SessionRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const r = rec(i % 3 === 0 ? REC_UPDATE : REC_UPSERT, i);
      live.push(r);
      expect(a.out.push(r)).toBe(true);
    }
    const total = 1 + table.length + 1 + live.length; // BULK_BEGIN, table, BULK_END, live (nothing cleared before: the dump's BULK_BEGIN does it)
    await waitFor('all applied', () => {
      drainIn(b);
      return b.applied.length >= total;
    });
    await waitFor('acked', () => a.ch.status().backlog === 0);

    const ops = b.applied.map((r) => r.op);
    expect(ops[0]).toBe(REC_BULK_BEGIN);
    expect(b.applied.slice(1, 1 + table.length).map((r) => r.origSrc)).toEqual(table.map((r) => r.origSrc));
    expect(ops[1 + table.length]).toBe(REC_BULK_END);
    const tail = b.applied.slice(2 + table.length);
    expect(tail.map((r) => [r.op, r.origSrc])).toEqual(live.map((r) => [r.op, r.origSrc]));
    expect(tail[5]).toEqual(live[5]); // every field survives the trip

    // the sender's dataplane was asked once (the receiver's connect request coalesced or served once)
    expect(dumps).toBe(1);
    serveDumps(a, table);
    expect(b.bulkDone).toEqual([table.length]);
    const bs = b.ch.status();
    expect(bs.bulk).toMatchObject({ inProgress: false, pending: false, received: table.length, lastSessions: table.length });
    expect(bs.bulk.lastCompleteAt).not.toBeNull();
    expect(bs.recordsReceived).toBe(total);
    const as = a.ch.status();
    expect(as.recordsSent).toBe(total);
    expect(as.batchesSent).toBeGreaterThanOrEqual(Math.ceil(total / 1000));
    expect(bs.batchesReceived).toBe(as.batchesSent);
    expect(as.lagMs.max).toBeGreaterThan(0);
    expect(as.lagMs.p50).toBeLessThanOrEqual(as.lagMs.max);
    expect(as.rttMs).not.toBeNull();

    const text = await a.metrics.text();
    expect(text).toMatch(/tandem_sync_connected 1/);
    expect(text).toMatch(/tandem_sync_messages_total\{direction="tx",type="batch"\} \d+/);
    expect(text).toMatch(/tandem_sync_messages_total\{direction="rx",type="ack"\} \d+/);
    expect(text).toMatch(/tandem_sync_lag_seconds_count [1-9]/);
    expect(text).toMatch(/tandem_sync_resyncs_total\{reason="peer-request"\} 1/);
    const btext = await b.metrics.text();
    expect(btext).toMatch(/tandem_sync_resyncs_total\{reason="connect"\} 1/);
    expect(btext).toMatch(new RegExp(`tandem_sessions_synced ${total}`));
  });
});

describe('SyncChannel over ::1 (HA2 over IPv6)', () => {
  it('connects, syncs in bulk and live, and acks', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender', loopback: '::1' });
    const b = box(1, port, { role: 'receiver', loopback: '::1' });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    const table = Array.from({ length: 10 }, (_, i) => rec(REC_UPSERT, 2_000_000 + i));
    await waitFor('dump request', () => serveDumps(a, table) > 0);
    const live = rec(REC_UPSERT, 7);
    expect(a.out.push(live)).toBe(true);
    await waitFor('all applied', () => {
      drainIn(b);
      return b.applied.length >= table.length + 3;
    });
    await waitFor('acked', () => a.ch.status().backlog === 0);
    expect(b.applied.map((r) => r.origSrc).slice(1, 1 + table.length)).toEqual(table.map((r) => r.origSrc));
    expect(b.applied[b.applied.length - 1].origSrc).toBe(live.origSrc);
    expect(b.bulkDone).toEqual([table.length]);
  });
});

describe('SyncChannel over 127.0.0.1: roles, a slow dataplane, the wrong key', () => {
  it('a receiver made receiver while connected asks again, keeping what it holds until the dump; an idle peer keeps the request for when it becomes sender', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'idle' });
    const b = box(1, port, { role: 'idle' });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    b.ch.setRole('receiver');
    await new Promise((r) => setTimeout(r, 50));
    drainIn(b);
    expect(b.applied).toEqual([]); // nothing cleared: the table stays until the dump's BULK_BEGIN
    expect(serveDumps(a, [])).toBe(0); // idle: not asked yet
    a.ch.setRole('sender');
    let dumps = 0;
    await waitFor('dump request after becoming sender', () => (dumps += serveDumps(a, [rec(REC_UPSERT, 1)])) > 0);
    await waitFor('bulk complete', () => {
      drainIn(b);
      return b.bulkDone.length === 1;
    });
    expect(b.bulkDone).toEqual([1]);
    expect(dumps).toBe(1);
  });

  it('waits for room in a full in ring, keeps order, counts the stall', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender' });
    const b = box(1, port, { role: 'receiver', inCapacity: 16 });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    await waitFor('dump request', () => serveDumps(a, []) > 0);
    const n = 500;
    for (let i = 0; i < n; i++) a.out.push(rec(REC_UPSERT, i));
    // the test's dataplane drains slowly: 8 records per 2 ms
    await waitFor(
      'all through a 16-slot ring',
      () => {
        const got: SessionRecord[] = [];
        b.in.drain(8, (r) => got.push({ ...r }));
        b.applied.push(...got);
        return b.applied.filter((r) => r.op === REC_UPSERT).length >= n;
      },
      10_000,
    );
    const ups = b.applied.filter((r) => r.op === REC_UPSERT).map((r) => r.origSrc);
    expect(ups).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(b.ch.status().inStalls).toBeGreaterThan(0);
    await waitFor('sender backlog acked', () => a.ch.status().backlog === 0);
  });

  it('rejects every message sealed with the wrong key, applies nothing', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender', key: Buffer.alloc(32, 8) });
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    for (let i = 0; i < 10; i++) a.out.push(rec(REC_UPSERT, i));
    await waitFor('rejected on both sides', () => b.ch.status().rejected > 0 && a.ch.status().rejected > 0);
    await new Promise((r) => setTimeout(r, 50));
    drainIn(b);
    expect(b.applied).toEqual([]);
    expect(b.ch.status().recordsReceived).toBe(0);
    expect(b.ch.status().batchesReceived).toBe(0);
    expect(serveDumps(a, [])).toBe(0); // the bulk request was rejected too
    expect(await b.metrics.text()).toMatch(/tandem_ha_messages_rejected_total\{channel="ha2",reason="bad-mac"\} [1-9]/);
  });
});

describe('SyncChannel over 127.0.0.1: loss and resync', () => {
  it('a lost connection makes the sender resync once on reconnect (the receiver request coalesces)', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender' });
    const b1 = box(1, port, { role: 'receiver' });
    await b1.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected);
    await waitFor('first dump request', () => serveDumps(a, []) > 0);
    await b1.ch.stop();
    open.splice(open.indexOf(b1.ch), 1);
    await waitFor('down', () => !a.ch.status().connected);
    // changes while down are discarded: the dump on reconnect carries them
    a.out.push(rec(REC_UPSERT, 42));
    await new Promise((r) => setTimeout(r, 20));
    const b2 = box(1, port, { role: 'receiver' });
    await b2.ch.start();
    await waitFor('reconnected', () => a.ch.status().connected && b2.ch.status().connected);
    await new Promise((r) => setTimeout(r, 100)); // let the receiver's request arrive too
    let dumps = 0;
    await waitFor('dump request after reconnect', () => (dumps += serveDumps(a, [rec(REC_UPSERT, 42)])) > 0);
    await new Promise((r) => setTimeout(r, 50));
    dumps += serveDumps(a, []);
    expect(dumps).toBe(1);
    await waitFor('b2 bulk complete', () => {
      drainIn(b2);
      return b2.bulkDone.length === 1;
    });
    expect(b2.applied.filter((r) => r.op === REC_UPSERT).map((r) => r.origSrc)).toEqual([42]);
    expect(a.ch.status().resyncs).toBe(2);
  });

  it('a gap in batch seqs clears and asks for a dump; acks are cumulative (hand-made peer)', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      await waitFor('bulk request on connect', () => peer.requests().length === 1);
      peer.batch(1, [rec(REC_UPSERT, 1)]);
      peer.batch(3, [rec(REC_UPSERT, 3)]); // 2 is missing
      await waitFor('two acks and a gap request', () => {
        drainIn(b);
        const acks = peer.got.filter((e) => e.body.kind === 'ack');
        return acks.length >= 1 && acks.some((e) => e.body.kind === 'ack' && e.body.ack.seq === 3) && peer.requests().length === 2;
      });
      expect(peer.requests()).toEqual(['connect', 'gap']);
      const ack = peer.got.find((e) => e.body.kind === 'ack' && e.body.ack.seq === 3);
      expect(ack?.body.kind === 'ack' && ack.body.ack.echoSentMs).toBe(77);
      expect(b.applied.map((r) => [r.op, r.origSrc])).toEqual([
        [REC_UPSERT, 1],
        [REC_CLEAR, 0],
        [REC_UPSERT, 3],
      ]);
      expect(await b.metrics.text()).toMatch(/tandem_sync_resyncs_total\{reason="gap"\} 1/);
    } finally {
      peer.close();
    }
  });
});

describe('SyncChannel: an unanswered request', () => {
  it('is asked again after the wait, and again, until a dump begins; then no more', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver', bulkAnswerWaitMs: 150 });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      // the peer (playing one whose dump never left) answers nothing
      await waitFor('asked twice more', () => peer.requests().length >= 3, 3000);
      expect(peer.requests().slice(0, 3)).toEqual(['connect', 'no-answer', 'no-answer']);
      expect(await b.metrics.text()).toMatch(/tandem_sync_resyncs_total\{reason="no-answer"\} [2-9]/);
      peer.batch(1, [rec(REC_BULK_BEGIN, 0)]);
      await waitFor('the dump began', () => (drainIn(b), b.ch.status().bulk.inProgress));
      const asked = peer.requests().length;
      await new Promise((r) => setTimeout(r, 400));
      expect(peer.requests().length).toBe(asked);
    } finally {
      peer.close();
    }
  });
});

describe('SyncChannel: changes our dataplane could not put into `out`', () => {
  it('the loss marker is counted, never sent, and makes the sender resync the peer with a dump', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender' });
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    const table = [rec(REC_UPSERT, 1), rec(REC_UPSERT, 2)];
    await waitFor('dump on join', () => serveDumps(a, table) > 0);
    await waitFor('bulk complete', () => {
      drainIn(b);
      return b.bulkDone.length === 1;
    });
    // the dataplane's `out` was full: 5 changes are gone, and it says so in order (SyncPort)
    expect(a.out.push(rec(REC_UPSERT, 3))).toBe(true);
    expect(a.out.push(rec(REC_LOST, 5))).toBe(true);
    expect(a.out.push(rec(REC_UPSERT, 4))).toBe(true);
    let dumps = 0;
    await waitFor('a dump asked of our dataplane', () => (dumps += serveDumps(a, table)) > 0);
    expect(dumps).toBe(1);
    expect(a.ch.status().outLost).toBe(5);
    await waitFor('the peer has the new dump', () => {
      drainIn(b);
      return b.bulkDone.length === 2;
    });
    expect(b.applied.map((r) => r.op)).not.toContain(REC_LOST);
    expect(b.bulkLost).toEqual(['unasked bulk-begin']); // tentative until that dump's end
    const text = await a.metrics.text();
    expect(text).toMatch(/tandem_sync_resyncs_total\{reason="out-overflow"\} 1/);
    expect(text).toMatch(/tandem_sync_records_discarded_total\{reason="out-overflow"\} 5/);
  });
});

describe('SyncChannel: batch seqs (hand-made peer)', () => {
  it('start at 1 on every connection, even one lost while we were not the sender', async () => {
    const port = await freePort();
    const a = box(1, port, { role: 'sender' });
    await a.ch.start();
    const seqs = (p: HandPeer) => p.got.flatMap((e) => (e.body.kind === 'batch' ? [e.body.batch.seq] : []));
    const p1 = handPeer(port);
    await waitFor('connected', () => a.ch.status().connected);
    a.out.push(rec(REC_UPSERT, 1));
    await waitFor('batch 1', () => seqs(p1).length === 1);
    a.out.push(rec(REC_UPSERT, 2));
    await waitFor('batch 2', () => seqs(p1).length === 2);
    expect(seqs(p1)).toEqual([1, 2]);
    a.ch.setRole('receiver'); // a failover: the peer is the sender now
    p1.close();
    await waitFor('down', () => !a.ch.status().connected);
    const p2 = handPeer(port);
    try {
      await waitFor('reconnected', () => a.ch.status().connected);
      a.ch.setRole('sender'); // and back
      a.out.push(rec(REC_UPSERT, 3));
      await waitFor('a batch on the new connection', () => seqs(p2).length === 1);
      expect(seqs(p2)).toEqual([1]); // the peer counts from 1 on a new connection: 3 would be a gap
    } finally {
      p2.close();
    }
  });
});

describe('SyncChannel: when a bulk sync is complete (hand-made peer)', () => {
  it("a gap mid-dump: that dump's BULK_END does not complete the bulk sync (the clear removed its start); the next dump does", async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      await waitFor('bulk request on connect', () => peer.requests().length === 1);
      peer.batch(1, [rec(REC_BULK_BEGIN, 3), rec(REC_UPSERT, 1)]);
      peer.batch(3, [rec(REC_UPSERT, 3), rec(REC_BULK_END, 3)]); // 2 (with UPSERT 2) is missing
      await waitFor('the gap request', () => peer.requests().length === 2);
      await waitFor('all pushed', () => {
        drainIn(b);
        return b.applied.length === 5;
      });
      expect(b.applied.map((r) => r.op)).toEqual([REC_BULK_BEGIN, REC_UPSERT, REC_CLEAR, REC_UPSERT, REC_BULK_END]);
      expect(b.bulkDone).toEqual([]); // the table holds session 3 only: not complete
      expect(b.ch.status().bulk).toMatchObject({ pending: true, inProgress: false, lastCompleteAt: null });
      peer.batch(4, [rec(REC_BULK_BEGIN, 3), rec(REC_UPSERT, 1), rec(REC_UPSERT, 2), rec(REC_UPSERT, 3), rec(REC_BULK_END, 3)]);
      await waitFor('the second dump completes', () => {
        drainIn(b);
        return b.bulkDone.length === 1;
      });
      expect(b.bulkDone).toEqual([3]);
      expect(b.ch.status().bulk).toMatchObject({ pending: false, inProgress: false, received: 3, lastSessions: 3 });
    } finally {
      peer.close();
    }
  });

  it('a dump cut by a lost connection: its tail on the next connection does not complete the bulk sync', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'idle' }); // idle: no request on connect, the sender's resync is what comes
    await b.ch.start();
    const p1 = handPeer(port);
    await waitFor('connected', () => b.ch.status().connected);
    p1.batch(1, [rec(REC_BULK_BEGIN, 3), rec(REC_UPSERT, 1)]);
    await waitFor('begin pushed', () => b.ch.status().bulk.inProgress);
    p1.close();
    await waitFor('down', () => !b.ch.status().connected);
    const p2 = handPeer(port);
    try {
      await waitFor('reconnected', () => b.ch.status().connected);
      p2.batch(1, [rec(REC_UPSERT, 3), rec(REC_BULK_END, 3)]); // the old dump's tail: session 2 went with the connection
      await waitFor('all pushed', () => {
        drainIn(b);
        return b.applied.length === 4;
      });
      expect(b.bulkDone).toEqual([]);
      expect(b.ch.status().bulk).toMatchObject({ pending: true, inProgress: false, lastCompleteAt: null });
    } finally {
      p2.close();
    }
  });
});

describe('SyncChannel: a complete copy that stops being complete (hand-made peer)', () => {
  it('a gap after a complete bulk sync: the agent is told the copy is incomplete, and a new dump is asked', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver' });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      await waitFor('bulk request on connect', () => peer.requests().length === 1);
      peer.batch(1, [rec(REC_BULK_BEGIN, 1), rec(REC_UPSERT, 1), rec(REC_BULK_END, 1)]);
      await waitFor('complete', () => {
        drainIn(b);
        return b.bulkDone.length === 1;
      });
      expect(b.bulkLost).toEqual([]);
      peer.batch(3, [rec(REC_UPSERT, 3)]); // 2 is missing: the copy has a hole (and is cleared)
      await waitFor('the gap request', () => peer.requests().length === 2);
      expect(b.bulkLost).toEqual(['gap']);
      expect(b.ch.status().bulk).toMatchObject({ pending: true, inProgress: false });
      peer.batch(4, [rec(REC_BULK_BEGIN, 1), rec(REC_UPSERT, 3), rec(REC_BULK_END, 1)]);
      await waitFor('complete again', () => {
        drainIn(b);
        return b.bulkDone.length === 2;
      });
      expect(b.bulkLost).toEqual(['gap']);
      expect(b.ch.status().bulk.pending).toBe(false);
    } finally {
      peer.close();
    }
  });
});

describe('SyncChannel: a box that becomes active keeps its table (hand-made peer)', () => {
  it('a REC_CLEAR or a BULK_BEGIN still waiting for `in` when we become the sender never goes in', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver', inCapacity: 16 });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      await waitFor('bulk request on connect', () => peer.requests().length === 1);
      // the test's dataplane does not drain yet: 16 records fit, the rest waits in the channel
      peer.batch(
        1,
        Array.from({ length: 20 }, (_, i) => rec(REC_UPSERT, i)),
      );
      peer.batch(3, [rec(REC_UPSERT, 100)]); // 2 is missing: a REC_CLEAR queues behind what waits
      peer.batch(4, [rec(REC_BULK_BEGIN, 1), rec(REC_UPSERT, 101), rec(REC_BULK_END, 1)]);
      await waitFor('all three batches waiting', () => b.ch.status().batchesReceived === 3 && b.ch.status().pendingIn > 0);
      b.ch.setRole('sender'); // the election made us active: our table is the pair's now
      await waitFor('everything pushed', () => {
        drainIn(b);
        return b.ch.status().pendingIn === 0;
      });
      drainIn(b);
      const ops = b.applied.map((r) => r.op);
      expect(ops).not.toContain(REC_CLEAR);
      expect(ops).not.toContain(REC_BULK_BEGIN);
      // what the previous active sent before is still applied, in order
      expect(b.applied.filter((r) => r.op === REC_UPSERT).map((r) => r.origSrc)).toEqual([...Array.from({ length: 20 }, (_, i) => i), 100, 101]);
      expect(await b.metrics.text()).toMatch(/tandem_sync_records_discarded_total\{reason="stale-clear"\} 2/);
    } finally {
      peer.close();
    }
  });
});

describe('SyncChannel: the sender copies nothing (hand-made peer)', () => {
  it('a dump begun in our ring only after we became the sender completes nothing (what it sent us as sender was discarded)', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'receiver', inCapacity: 16 });
    await b.ch.start();
    const peer = handPeer(port);
    try {
      await waitFor('bulk request on connect', () => peer.requests().length === 1);
      // the test's dataplane does not drain yet: the dump's BULK_BEGIN waits behind a full ring
      peer.batch(
        1,
        Array.from({ length: 20 }, (_, i) => rec(REC_UPSERT, i)),
      );
      peer.batch(2, [rec(REC_BULK_BEGIN, 3), rec(REC_UPSERT, 100)]);
      await waitFor('begin waiting for room', () => b.ch.status().batchesReceived === 2 && b.ch.status().pendingIn >= 2);
      b.ch.setRole('sender');
      peer.batch(3, [rec(REC_UPSERT, 101)]); // discarded: we are the sender
      await waitFor('batch 3 discarded', () => b.ch.status().batchesReceived === 3);
      await waitFor('the rest pushed, begin included', () => {
        drainIn(b);
        return b.ch.status().pendingIn === 0;
      });
      b.ch.setRole('idle');
      peer.batch(4, [rec(REC_UPSERT, 102), rec(REC_BULK_END, 3)]);
      await waitFor('the end pushed', () => {
        drainIn(b);
        return b.applied.some((r) => r.op === REC_BULK_END);
      });
      expect(b.applied.filter((r) => r.op === REC_UPSERT && r.origSrc >= 100).map((r) => r.origSrc)).toEqual([100, 102]); // 101 is missing
      expect(b.bulkDone).toEqual([]);
      expect(b.ch.status().bulk).toMatchObject({ pending: false, inProgress: false, lastCompleteAt: null });
    } finally {
      peer.close();
    }
  });
});

describe('SyncChannel as both (active/active): each box sends its changes and applies the peer', () => {
  const upserts = (b: Box): number[] => b.applied.filter((r) => r.op === REC_UPSERT).map((r) => r.origSrc);

  it('both directions on one connection: each side in order, each acked, nothing asked', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'both' });
    const b = box(1, port, { role: 'both' });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    const n = 2500;
    for (let i = 0; i < n; i++) {
      expect(a.out.push(rec(REC_UPSERT, i))).toBe(true);
      expect(b.out.push(rec(REC_UPSERT, 100_000 + i))).toBe(true);
    }
    await waitFor('each has the other', () => {
      drainIn(a);
      drainIn(b);
      return upserts(a).length >= n && upserts(b).length >= n;
    });
    expect(upserts(b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(upserts(a)).toEqual(Array.from({ length: n }, (_, i) => 100_000 + i));
    // acks came back both ways: the backlogs drain and each side measured its own lag
    await waitFor('both acked', () => a.ch.status().backlog === 0 && b.ch.status().backlog === 0);
    for (const x of [a, b]) {
      const st = x.ch.status();
      expect(st.recordsSent).toBe(n);
      expect(st.recordsReceived).toBe(n);
      expect(st.lagMs.max).toBeGreaterThan(0);
      expect(st.resyncs).toBe(0); // neither asked the other for a dump on connect
      expect(x.applied.map((r) => r.op)).not.toContain(REC_DUMP_REQUEST);
      expect(st.directions).toMatchObject({
        tx: { records: n, backlog: 0, dump: 'idle', resyncs: 0 },
        rx: { records: n, pending: 0, bulk: 'idle', resyncs: 0 },
      });
    }
    expect(await a.metrics.text()).not.toMatch(/type="bulkRequest"/);
  });

  it('a joiner (receiver) gets the active box whole table, then both send: no dump the other way', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'both' });
    const b = box(1, port, { role: 'receiver', activeActive: true });
    await b.ch.start();
    await a.ch.start();
    await waitFor('connected', () => a.ch.status().connected && b.ch.status().connected);
    // its own sessions and the ones it held for the joiner: one dump, whatever their owner
    const table = [rec(REC_UPSERT, 1), rec(REC_UPSERT, 2), rec(REC_UPSERT, 3)];
    await waitFor('the joiner asked, the dump went out', () => serveDumps(a, table) > 0);
    await waitFor('the joiner complete', () => {
      drainIn(b);
      return b.bulkDone.length === 1;
    });
    expect(b.bulkDone).toEqual([3]);
    // a tentative box of an active/active pair shows both directions already
    expect(b.ch.status().directions?.rx).toMatchObject({ bulk: 'complete', lastSessions: 3, resyncs: 1 });
    b.ch.setRole('both'); // the HA core: tentative -> active-secondary
    expect(b.out.push(rec(REC_UPSERT, 50))).toBe(true);
    expect(a.out.push(rec(REC_UPSERT, 60))).toBe(true);
    await waitFor('live changes both ways', () => {
      drainIn(a);
      drainIn(b);
      return upserts(a).includes(50) && upserts(b).includes(60);
    });
    expect(a.applied.map((r) => r.op)).not.toContain(REC_BULK_BEGIN); // the joiner dumped nothing to us
    expect(upserts(a)).toEqual([50]);
    expect(serveDumps(b, [])).toBe(0);
    expect(a.bulkDone).toEqual([]);
    expect(b.bulkLost).toEqual([]);
  });

  it('a gap in the peer stream resyncs that direction only: no clear, our stream and its acks go on', async () => {
    const port = await freePort();
    const b = box(1, port, { role: 'both' });
    await b.ch.start();
    const peer = handPeer(port);
    const seqs = (): number[] => peer.got.flatMap((e) => (e.body.kind === 'batch' ? [e.body.batch.seq] : []));
    try {
      await waitFor('connected', () => b.ch.status().connected);
      b.out.push(rec(REC_UPSERT, 10));
      await waitFor('our batch 1', () => seqs().length === 1);
      peer.batch(1, [rec(REC_UPSERT, 1)]);
      peer.batch(3, [rec(REC_UPSERT, 3)]); // 2 is missing
      await waitFor('the gap request', () => peer.requests().length === 1);
      expect(peer.requests()).toEqual(['gap']);
      peer.ack(1);
      b.out.push(rec(REC_UPSERT, 11));
      await waitFor('our batch 2', () => seqs().length === 2);
      expect(seqs()).toEqual([1, 2]); // our stream is not reset by the peer's gap
      peer.ack(2);
      await waitFor('ours acked', () => b.ch.status().backlog === 0);
      await waitFor('theirs pushed', () => {
        drainIn(b);
        return b.applied.length === 2;
      });
      expect(b.applied.map((r) => [r.op, r.origSrc])).toEqual([
        [REC_UPSERT, 1],
        [REC_UPSERT, 3],
      ]); // no REC_CLEAR: we forward with that copy until the dump's BULK_BEGIN
      expect(serveDumps(b, [])).toBe(0); // nothing of ours to resync
      expect(b.ch.status().directions).toMatchObject({
        tx: { dump: 'idle', resyncs: 0, backlog: 0 },
        rx: { bulk: 'requested', bulkReason: 'gap', resyncs: 1 },
      });
    } finally {
      peer.close();
    }
  });

  it('active/passive status keeps its shape: no directions', async () => {
    const port = await freePort();
    const a = box(0, port, { role: 'sender' });
    expect('directions' in a.ch.status()).toBe(false);
    a.ch.setRole('receiver');
    expect('directions' in a.ch.status()).toBe(false);
    a.ch.setRole('both');
    expect(a.ch.status().directions?.tx.dump).toBe('idle');
  });
});
