// HA2 and TCP window tracking in active/passive (sync-port.ts with the lab firewall's real table):
// the window travels in the records and is installed as lagging; a synced session expires on the
// passive on its own timer (record's timeout + margin); the active refreshes a session in use.
import { describe, expect, it } from 'vitest';
import { SyncPort, syncedLifeMs, SYNCED_MIN_MARGIN_MS } from '../../../src/dataplane/sync-port.js';
import { DIR_ORIGINAL } from '../../../src/dataplane/session-table.js';
import { TCP_ESTABLISHED } from '../../../src/dataplane/tcp-state.js';
import { WF_END_LAGS, WF_MAXEND_LAGS, WF_SCALE_OPT } from '../../../src/dataplane/tcp-window.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { emptyRecord, REC_UPDATE, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';
import { CLIENT, CLIENT_MAC, frame, LAN, LAN_V, labRaw, makeRig, SERVER, sharedOf, SYN, tcpPacket } from './firewall-helpers.js';

const NOW = 1_000_000;

function rec(op: number, window: Partial<SessionRecord> = {}): SessionRecord {
  return {
    ...emptyRecord(),
    op,
    proto: 6,
    state: TCP_ESTABLISHED,
    origSrc: 0x0a000164,
    origSrcPort: 40000,
    origDst: 0x0a00020a,
    origDstPort: 80,
    replySrc: 0x0a00020a,
    replySrcPort: 80,
    replyDst: 0x0a000164,
    replyDstPort: 40000,
    ruleId: 0,
    ingress: 0,
    egress: 1,
    timeoutMs: 3_600_000,
    ...window,
  };
}

function rig() {
  const r = makeRig(sharedOf(labRaw()));
  const out = new RecordRing(256);
  const inRing = new RecordRing(256);
  const port = new SyncPort(out, inRing, r.fw, { event: () => undefined, drop: () => undefined });
  const t = r.fw.table;
  const slot = (): number => {
    const x = rec(REC_UPSERT);
    const h = t.lookup(6, x.origSrc, x.origSrcPort, x.origDst, x.origDstPort);
    return h >= 0 && (h & 1) === DIR_ORIGINAL ? h >> 1 : -1;
  };
  const apply = (x: SessionRecord, now = NOW) => {
    expect(inRing.push(x)).toBe(true);
    port.tick(now);
  };
  const drainOut = (): SessionRecord[] => {
    const got: SessionRecord[] = [];
    out.drain(1 << 20, (x) => got.push({ ...x }));
    return got;
  };
  return { r, t, port, slot, apply, drainOut };
}

const WINDOW = {
  origEnd: 5001,
  origMaxend: 5001 + 0x7210,
  origMaxwin: 0x7210,
  replyEnd: 9001,
  replyMaxend: 9001 + 0x7210 * 128,
  replyMaxwin: 0x7210 * 128,
  winFlags: WF_SCALE_OPT | (7 << 8) | (WF_SCALE_OPT << 16) | (7 << 24),
};

describe('SyncPort: the TCP window in records (active/passive)', () => {
  it('installs the record window, marked as lagging, on create and on update', () => {
    const x = rig();
    x.apply(rec(REC_UPSERT, WINDOW));
    const w = x.t.win;
    const o = x.slot() * 2;
    expect([w.end[o], w.maxend[o], w.maxwin[o], w.scale[o]]).toEqual([5001, 5001 + 0x7210, 0x7210, 7]);
    expect([w.end[o + 1], w.maxend[o + 1], w.maxwin[o + 1], w.scale[o + 1]]).toEqual([9001, 9001 + 0x7210 * 128, 0x7210 * 128, 7]);
    expect(w.flags[o]).toBe(WF_SCALE_OPT | WF_MAXEND_LAGS | WF_END_LAGS);
    x.apply(rec(REC_UPDATE, { ...WINDOW, origEnd: 777_777 }), NOW + 5);
    expect(w.end[o]).toBe(777_777);
    expect(w.flags[o + 1]).toBe(WF_SCALE_OPT | WF_MAXEND_LAGS | WF_END_LAGS);
  });

  it('a record from a peer without window fields leaves the window unknown (picked up loosely)', () => {
    const x = rig();
    x.apply(rec(REC_UPSERT));
    const o = x.slot() * 2;
    expect([x.t.win.maxwin[o], x.t.win.maxwin[o + 1]]).toEqual([0, 0]);
  });

  it('what the active sends carries its window, as the table holds it', () => {
    const x = rig();
    x.r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags: SYN, seq: 5000, win: 1000 })), NOW);
    const [created] = x.drainOut();
    expect(created).toMatchObject({ op: REC_UPSERT, origEnd: 5001, origMaxend: 5001, origMaxwin: 1000, replyMaxwin: 0 });
  });
});

describe('SyncPort: synced sessions expire on the passive on their own timers', () => {
  it('the record timeout plus half of it (at least 30 s), then the session is gone', () => {
    expect(syncedLifeMs(3_600_000)).toBe(5_400_000);
    expect(syncedLifeMs(20_000)).toBe(20_000 + SYNCED_MIN_MARGIN_MS);
    const x = rig();
    x.apply(rec(REC_UPSERT));
    expect(x.t.expiresMs(x.slot())).toBe(NOW + 5_400_000);
    x.r.fw.table.expire(NOW + 5_400_000 - 1000, 100);
    expect(x.slot()).toBeGreaterThanOrEqual(0);
    x.r.fw.table.expire(NOW + 5_400_000 + 100, 100);
    expect(x.slot()).toBe(-1);
  });

  it('the active sends a session in use again once its last record is a quarter of its timeout old', () => {
    const x = rig();
    const seg = (flags: number, seq: number, ack: number, at: number) =>
      x.r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 40000, dport: 80, flags, seq, ack })), at);
    seg(SYN, 5000, 0, NOW);
    x.drainOut();
    // the session is in SYN_SENT (transitory: 20 s): a quarter is 5 s
    seg(SYN, 5000, 0, NOW + 4000);
    expect(x.drainOut()).toEqual([]);
    seg(SYN, 5000, 0, NOW + 5000);
    expect(x.drainOut().map((r) => r.op)).toEqual([REC_UPDATE]);
    seg(SYN, 5000, 0, NOW + 6000);
    expect(x.drainOut()).toEqual([]);
  });
});
