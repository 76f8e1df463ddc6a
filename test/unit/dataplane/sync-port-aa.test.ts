// The dataplane's end of HA2 in active/active (src/dataplane/sync-port.ts built with a pair): the
// lab firewall and its real session table, the peer's records put into `in` by hand, what this
// box sends read from `out`.
import { describe, expect, it } from 'vitest';
import { SYNCED_EXPIRY_MS, SyncPort, type SyncPortPair } from '../../../src/dataplane/sync-port.js';
import { DIR_ORIGINAL, SESSION_FLAG_LOOSE } from '../../../src/dataplane/session-table.js';
import { TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_SYN_SENT } from '../../../src/dataplane/tcp-state.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import {
  emptyRecord,
  REC_BULK_BEGIN,
  REC_BULK_END,
  REC_CLEAR,
  REC_DELETE,
  REC_DUMP_REQUEST,
  REC_UPDATE,
  REC_UPSERT,
  SESSION_FLAG_OWNER1,
  SESSION_FLAG_SPLIT,
  type SessionRecord,
} from '../../../src/wire/session-record.js';
import { aaPipeline } from './aa-helpers.js';
import { CLIENT, frame, LAN, LAN_V, CLIENT_MAC, labRaw, makeRig, SERVER, sharedOf, SYN, tcpPacket } from './firewall-helpers.js';

const NOW = 1_000_000;
const ME = 0;
const PEER = 1;

/** Owner bits for `device` (device 1 sets SESSION_FLAG_OWNER1). */
const owner = (device: number): number => (device === 1 ? SESSION_FLAG_OWNER1 : 0);

/** A TCP session n (10.0.1.<100+n>:<40000+n> -> 10.0.2.10:80, not translated), owned by `device`. */
function rec(op: number, n: number, device: number, state = TCP_ESTABLISHED): SessionRecord {
  return {
    ...emptyRecord(),
    op,
    proto: 6,
    state,
    flags: owner(device),
    origSrc: 0x0a000164 + n,
    origSrcPort: 40000 + n,
    origDst: 0x0a00020a,
    origDstPort: 80,
    replySrc: 0x0a00020a,
    replySrcPort: 80,
    replyDst: 0x0a000164 + n,
    replyDstPort: 40000 + n,
    ruleId: 0,
    ingress: 0,
    egress: 1,
  };
}

function rig() {
  const r = makeRig(sharedOf(labRaw()));
  const out = new RecordRing(256);
  const inRing = new RecordRing(256);
  const pairView = { forwarding: true, peerForwarding: true };
  const pair: SyncPortPair = { me: ME, active: () => pairView.forwarding, peerForwarding: () => pairView.peerForwarding };
  const events: string[] = [];
  const port = new SyncPort(out, inRing, r.fw, { event: (e) => events.push(e), drop: (d) => events.push(d) }, pair);
  const t = r.fw.table;
  /** The slot of session n, or -1. */
  const slotOf = (n: number): number => {
    const x = rec(REC_UPSERT, n, ME);
    const h = t.lookup(x.proto, x.origSrc, x.origSrcPort, x.origDst, x.origDstPort);
    return h >= 0 && (h & 1) === DIR_ORIGINAL ? h >> 1 : -1;
  };
  /** The peer's records, applied on a tick at `now`. */
  const apply = (records: SessionRecord[], now = NOW): void => {
    for (const x of records) expect(inRing.push(x)).toBe(true);
    port.tick(now);
  };
  const drainOut = (): SessionRecord[] => {
    const got: SessionRecord[] = [];
    out.drain(1 << 20, (x) => got.push({ ...x }));
    return got;
  };
  /** Session n installed as this box's own (as if our firewall had created it), on its protocol timeout. */
  const ownSession = (n: number, state = TCP_ESTABLISHED): number => {
    const x = rec(REC_UPSERT, n, ME, state);
    const slot = t.create({ ...x, expiresMs: NOW + 3_600_000, nowMs: NOW });
    expect(slot).toBeGreaterThanOrEqual(0);
    return slot;
  };
  return { r, t, port, out, inRing, pairView, events, slotOf, apply, drainOut, ownSession };
}

describe('SyncPort active/active: what goes out, what comes in', () => {
  it("pushes every change our firewall makes, applies the peer's records and never sends them back", () => {
    const x = rig();
    const syn = frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 41000, dport: 80, flags: SYN }));
    expect(x.r.send(LAN, syn, NOW).moved['session-created']).toBe(1);
    expect(x.drainOut().map((o) => [o.op, o.origSrcPort])).toEqual([[REC_UPSERT, 41000]]);
    x.apply([rec(REC_UPSERT, 1, PEER, TCP_SYN_SENT), rec(REC_UPDATE, 1, PEER, TCP_ESTABLISHED), rec(REC_UPSERT, 2, PEER), rec(REC_DELETE, 2, PEER)]);
    expect(x.t.state(x.slotOf(1))).toBe(TCP_ESTABLISHED);
    expect(x.t.flags(x.slotOf(1))).toBe(SESSION_FLAG_OWNER1 | SESSION_FLAG_LOOSE); // the peer's, learned: loose
    expect(x.slotOf(2)).toBe(-1);
    expect(x.drainOut()).toEqual([]); // no echo
    expect(x.events.filter((e) => e === 'sync-applied')).toHaveLength(4);
  });

  it("a clear or the peer's BULK_BEGIN forgets the peer's sessions only, never ours", () => {
    for (const op of [REC_CLEAR, REC_BULK_BEGIN]) {
      const x = rig();
      x.ownSession(1);
      x.apply([rec(REC_UPSERT, 2, PEER), rec(REC_UPSERT, 3, PEER), rec(REC_UPSERT, 4, ME)]);
      expect(x.t.size).toBe(4);
      x.apply([{ ...emptyRecord(), op }]);
      expect([1, 2, 3, 4].map((n) => x.slotOf(n) >= 0)).toEqual([true, false, false, true]);
      expect(x.drainOut()).toEqual([]);
    }
  });

  it('a dump carries our whole table, each session with its owner (ours, and the ones we hold for the peer)', () => {
    const x = rig();
    x.ownSession(1);
    x.apply([rec(REC_UPSERT, 2, PEER)]);
    x.drainOut();
    x.apply([{ ...emptyRecord(), op: REC_DUMP_REQUEST }], NOW + 2);
    const dump = x.drainOut();
    expect(dump.map((o) => o.op)).toEqual([REC_BULK_BEGIN, REC_UPSERT, REC_UPSERT, REC_BULK_END]);
    const flagsBySrcPort = Object.fromEntries(dump.filter((o) => o.op === REC_UPSERT).map((o) => [o.origSrcPort, o.flags]));
    expect(flagsBySrcPort).toEqual({ 40001: 0, 40002: SESSION_FLAG_OWNER1 | SESSION_FLAG_LOOSE });
  });
});

// Our copy of a session, the peer's record about it, whether we forward: which view wins.
interface OwnerRow {
  name: string;
  ours: 'ours' | 'peer' | 'none';
  record: typeof REC_UPDATE | typeof REC_DELETE;
  recordOwner: number;
  forwarding: boolean;
  outcome: 'kept' | 'applied' | 'removed' | 'absent';
}

const OWNER_ROWS: OwnerRow[] = [
  // the owner's view wins: a record calling our session ours is the peer's copy of it, at best as new
  { name: 'ours, record says ours, forwarding', ours: 'ours', record: REC_UPDATE, recordOwner: ME, forwarding: true, outcome: 'kept' },
  { name: 'ours, record says ours, not forwarding', ours: 'ours', record: REC_UPDATE, recordOwner: ME, forwarding: false, outcome: 'kept' },
  // both changed it: the peer adopted it while it took us for down; we keep what we process
  { name: 'ours, peer adopted it, we forward (race)', ours: 'ours', record: REC_UPDATE, recordOwner: PEER, forwarding: true, outcome: 'kept' },
  // we did not forward: the peer adopted it and is the one processing it
  { name: 'ours, peer adopted it, we do not forward', ours: 'ours', record: REC_UPDATE, recordOwner: PEER, forwarding: false, outcome: 'applied' },
  // the peer says it is ours (set up for us, or held for us): the pair agrees on us
  { name: "the peer's, record says ours", ours: 'peer', record: REC_UPDATE, recordOwner: ME, forwarding: true, outcome: 'applied' },
  { name: "the peer's, record says the peer's", ours: 'peer', record: REC_UPDATE, recordOwner: PEER, forwarding: true, outcome: 'applied' },
  { name: 'none, record says ours (set up for us by the peer)', ours: 'none', record: REC_UPDATE, recordOwner: ME, forwarding: true, outcome: 'applied' },
  { name: "none, record says the peer's", ours: 'none', record: REC_UPDATE, recordOwner: PEER, forwarding: true, outcome: 'applied' },
  // deletes: the owner deletes its own
  { name: 'delete: ours, record says ours (the peer dropped its copy)', ours: 'ours', record: REC_DELETE, recordOwner: ME, forwarding: true, outcome: 'kept' },
  { name: 'delete: ours, peer adopted it, we forward (race)', ours: 'ours', record: REC_DELETE, recordOwner: PEER, forwarding: true, outcome: 'kept' },
  {
    name: 'delete: ours, peer adopted and ended it, we do not forward',
    ours: 'ours',
    record: REC_DELETE,
    recordOwner: PEER,
    forwarding: false,
    outcome: 'removed',
  },
  { name: "delete: the peer's", ours: 'peer', record: REC_DELETE, recordOwner: PEER, forwarding: true, outcome: 'removed' },
  { name: 'delete: none', ours: 'none', record: REC_DELETE, recordOwner: PEER, forwarding: true, outcome: 'absent' },
];

describe('SyncPort active/active: a session both boxes speak for (the owner view wins)', () => {
  for (const row of OWNER_ROWS) {
    it(row.name, () => {
      const x = rig();
      x.pairView.forwarding = row.forwarding;
      if (row.ours === 'ours') x.ownSession(1, TCP_ESTABLISHED);
      if (row.ours === 'peer') x.apply([rec(REC_UPSERT, 1, PEER, TCP_ESTABLISHED)]);
      x.events.length = 0;
      x.apply([rec(row.record, 1, row.recordOwner, TCP_FIN_WAIT)], NOW + 5);
      const slot = x.slotOf(1);
      switch (row.outcome) {
        case 'kept':
          expect(x.events).toEqual(['sync-own-kept']);
          expect(x.t.state(slot)).toBe(TCP_ESTABLISHED);
          // kept as ours; when an update says the peer owns it, both of us forward its segments
          // from now on, so its TCP window is checked loosely (SESSION_FLAG_SPLIT)
          expect(x.t.flags(slot)).toBe(owner(ME) | (row.recordOwner === ME || row.record === REC_DELETE ? 0 : SESSION_FLAG_SPLIT));
          expect(x.t.expiresMs(slot)).toBe(NOW + 3_600_000);
          break;
        case 'applied':
          expect(x.events).toEqual(['sync-applied']);
          expect(x.t.state(slot)).toBe(TCP_FIN_WAIT);
          expect(x.t.flags(slot)).toBe(owner(row.recordOwner) | SESSION_FLAG_LOOSE);
          break;
        case 'removed':
          expect(x.events).toEqual(['sync-applied']);
          expect(slot).toBe(-1);
          break;
        case 'absent':
          expect(x.events).toEqual([]);
          expect(slot).toBe(-1);
          break;
      }
      expect(x.drainOut()).toEqual([]);
    });
  }
});

describe('SyncPort active/active: timers follow the owner', () => {
  const timeout = (x: ReturnType<typeof rig>, state: number): number => x.r.fw.timeoutS(6, state) * 1000;

  it("a record of ours we lack runs on its protocol timeout while we forward; the peer's waits for its delete", () => {
    const x = rig();
    x.apply([rec(REC_UPSERT, 1, ME), rec(REC_UPSERT, 2, PEER)]);
    expect(x.t.expiresMs(x.slotOf(1))).toBe(NOW + timeout(x, TCP_ESTABLISHED));
    expect(x.t.expiresMs(x.slotOf(2))).toBe(NOW + SYNCED_EXPIRY_MS);
    x.pairView.forwarding = false; // a joiner: ours wait until we take over
    x.apply([rec(REC_UPSERT, 3, ME)]);
    expect(x.t.expiresMs(x.slotOf(3))).toBe(NOW + SYNCED_EXPIRY_MS);
  });

  it("taking over starts our sessions' timers, not the peer's while it forwards; the peer's follow it when it stops and starts", () => {
    const x = rig();
    x.pairView.forwarding = false;
    x.apply([rec(REC_UPSERT, 1, ME), rec(REC_UPSERT, 2, PEER)]); // learned while tentative
    x.pairView.forwarding = true;
    x.port.takeOver(NOW + 10);
    expect(x.t.expiresMs(x.slotOf(1))).toBe(NOW + 10 + timeout(x, TCP_ESTABLISHED));
    expect(x.t.expiresMs(x.slotOf(2))).toBe(NOW + 10 + SYNCED_EXPIRY_MS);
    // the peer stops forwarding: its sessions age here from now (adopted at their next packet)
    x.pairView.peerForwarding = false;
    x.port.tick(NOW + 20);
    expect(x.t.expiresMs(x.slotOf(2))).toBe(NOW + 20 + timeout(x, TCP_ESTABLISHED));
    expect(x.t.expiresMs(x.slotOf(1))).toBe(NOW + 10 + timeout(x, TCP_ESTABLISHED)); // ours untouched
    // and back: they wait for its deletes again
    x.pairView.peerForwarding = true;
    x.port.tick(NOW + 30);
    expect(x.t.expiresMs(x.slotOf(2))).toBe(NOW + 30 + SYNCED_EXPIRY_MS);
  });

  it('a clear queued before we took over is skipped, as in active/passive (the peer may be gone: its sessions are ours to adopt)', () => {
    const x = rig();
    x.pairView.forwarding = false;
    x.apply([rec(REC_UPSERT, 1, PEER)]);
    expect(x.inRing.push({ ...emptyRecord(), op: REC_CLEAR })).toBe(true);
    x.pairView.forwarding = true;
    x.port.takeOver(NOW + 1);
    x.port.tick(NOW + 1);
    expect(x.slotOf(1)).toBeGreaterThanOrEqual(0);
    expect(x.events).toContain('sync-clear-skipped');
  });
});

describe('SyncPort active/passive ignores the owner bit', () => {
  it('a clear forgets every session, whatever its owner; a record always applies', () => {
    const r = makeRig(sharedOf(labRaw()));
    const out = new RecordRing(16);
    const inRing = new RecordRing(16);
    const port = new SyncPort(out, inRing, r.fw, { event: () => undefined, drop: () => undefined });
    const t = r.fw.table;
    t.create({ ...rec(REC_UPSERT, 1, ME), expiresMs: NOW + 1000, nowMs: NOW });
    inRing.push(rec(REC_UPSERT, 2, PEER));
    inRing.push(rec(REC_UPDATE, 1, ME, TCP_FIN_WAIT));
    port.tick(NOW);
    expect(t.size).toBe(2);
    inRing.push({ ...emptyRecord(), op: REC_BULK_BEGIN });
    port.tick(NOW + 1);
    expect(t.size).toBe(0);
  });
});

describe("SyncPort active/active: each device's session count follows the owner a record moves", () => {
  it('an update that moves the owner moves the count; the delete takes it off the right device, never below 0', () => {
    const a = aaPipeline(ME);
    const inRing = new RecordRing(64);
    const view = { forwarding: true };
    const pair: SyncPortPair = { me: ME, active: () => view.forwarding, peerForwarding: () => true };
    const port = new SyncPort(new RecordRing(64), inRing, a.fw, { event: () => undefined, drop: () => undefined }, pair);
    const apply = (x: SessionRecord, now: number): void => {
      expect(inRing.push(x)).toBe(true);
      port.tick(now);
    };
    const count = () => a.fw.ownedSessions();
    apply(rec(REC_UPSERT, 1, PEER, TCP_ESTABLISHED), NOW);
    expect(count()).toEqual([0, 1]);
    // the peer set it up for us (or held it for us): ours now
    apply(rec(REC_UPDATE, 1, ME, TCP_ESTABLISHED), NOW + 1);
    expect(count()).toEqual([1, 0]);
    // we stopped forwarding and the peer adopted it, then ended it
    view.forwarding = false;
    apply(rec(REC_UPDATE, 1, PEER, TCP_FIN_WAIT), NOW + 2);
    expect(count()).toEqual([0, 1]);
    apply(rec(REC_DELETE, 1, PEER, TCP_FIN_WAIT), NOW + 3);
    expect(count()).toEqual([0, 0]);
  });
});
