// HA2 and the TCP window (sync-port.ts, session-table.ts setWindows, tcp-window.ts WF_SYNCED) with
// a real firewall: what the active sends, what the passive installs (marked synced), how long the
// passive keeps a synced session on its own, and what the survivor of a failover accepts.
import { describe, expect, it } from 'vitest';
import { SYNC_EXPIRY_MARGIN_MS, SyncPort } from '../../../src/dataplane/sync-port.js';
import { TCP_ESTABLISHED } from '../../../src/dataplane/tcp-state.js';
import { WF_KNOWN, WF_SYNCED, WF_WSOPT } from '../../../src/dataplane/tcp-window.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { emptyRecord, REC_UPDATE, REC_UPSERT, type SessionRecord } from '../../../src/wire/session-record.js';
import {
  ACK,
  CLIENT_MAC,
  LAN_V,
  SYN,
  CLIENT,
  LAN,
  RST,
  SERVER,
  SERVER_MAC,
  WAN,
  WAN_FLOAT,
  WAN_V,
  forwarded,
  frame,
  labRaw,
  makeRig,
  sharedOf,
  tcpPacket,
} from './firewall-helpers.js';

const NOW = 5_000_000;
const P = 61000;
const CEND = 1_000_001;
const SEND = 0xffff_fff0;

/** An established, source-translated session client:40000 -> server:80 as the active's record says it. */
function record(op = REC_UPSERT, windows = true): SessionRecord {
  const r = emptyRecord();
  Object.assign(r, {
    op,
    proto: 6,
    state: TCP_ESTABLISHED,
    flags: 1,
    origSrc: parseIpv4(CLIENT),
    origSrcPort: 40000,
    origDst: parseIpv4(SERVER),
    origDstPort: 80,
    replySrc: parseIpv4(SERVER),
    replySrcPort: 80,
    replyDst: parseIpv4(WAN_FLOAT),
    replyDstPort: P,
    ruleId: 0,
    natRuleId: 0,
    ingress: LAN,
    egress: WAN,
    timeoutMs: 3_000_000,
    eventMs: 1,
  });
  if (windows) {
    // both sides known, scaled by 7: the client has sent up to CEND, the server up to SEND
    Object.assign(r, {
      origSeqEnd: CEND,
      origSeqMaxEnd: (CEND + 29200 * 128) >>> 0,
      origMaxWin: 64000 * 128,
      origMaxAck: SEND,
      origWinFlags: WF_KNOWN | WF_WSOPT | 7,
      replySeqEnd: SEND,
      replySeqMaxEnd: (SEND + 64000 * 128) >>> 0,
      replyMaxWin: 29200 * 128,
      replyMaxAck: CEND,
      replyWinFlags: WF_KNOWN | WF_WSOPT | 7,
    });
  }
  return r;
}

function rig() {
  const r = makeRig(sharedOf(labRaw()));
  const out = new RecordRing(64);
  const inRing = new RecordRing(64);
  const port = new SyncPort(out, inRing, r.fw, { event: () => undefined, drop: () => undefined });
  const apply = (rec: SessionRecord, nowMs = NOW) => {
    expect(inRing.push(rec)).toBe(true);
    port.tick(nowMs);
  };
  const slot = () => {
    let s = -1;
    r.fw.table.forEach((x) => (s = x));
    return s;
  };
  const server = (flags: number, seq: number, ack: number, data: number[] = []) =>
    r.send(WAN, frame(WAN_V, SERVER_MAC, tcpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 80, dport: P, flags, seq, ack, data })), NOW + 100);
  return { r, out, port, apply, slot, server };
}

describe('HA2 records and the TCP window', () => {
  it('a synced session holds the record’s window state, each known side marked synced', () => {
    const { r, apply, slot } = rig();
    apply(record());
    const w = r.fw.table.windows;
    const s = slot();
    expect([w.end[s * 2], w.end[s * 2 + 1], w.maxAck[s * 2 + 1]]).toEqual([CEND, SEND, CEND]);
    expect(w.flags[s * 2]).toBe(WF_KNOWN | WF_WSOPT | 7 | WF_SYNCED);
    // what the table sends on carries the same state
    const back = r.fw.table.toRecord(s, REC_UPDATE, NOW, emptyRecord());
    expect(back.replySeqMaxEnd).toBe(record().replySeqMaxEnd);
  });

  it('a record from an older peer (no window fields) leaves both sides unknown: picked up from their next segments', () => {
    const { r, port, apply, slot, server } = rig();
    apply(record(REC_UPSERT, false));
    const s = slot();
    expect([r.fw.table.windows.flags[s * 2], r.fw.table.windows.flags[s * 2 + 1]]).toEqual([0, 0]);
    port.takeOver(NOW);
    expect(server(ACK, 123_456_789, 42, [1, 2, 3]).moved).toEqual(forwarded());
  });

  it('the survivor accepts segments ahead of the synced state, learns, then drops blind resets', () => {
    const { port, apply, server } = rig();
    apply(record());
    port.takeOver(NOW);
    // the active had sent 3 MB more each way before it failed
    expect(server(ACK, SEND + 3_000_000, CEND + 3_000_000, new Array(100).fill(1)).moved).toEqual(forwarded());
    expect(server(RST, SEND + 900_000_000, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
    expect(server(RST, (SEND + 3_000_000 + 100 + 40_000_000) >>> 0, 0).moved).toEqual({ 'tcp-out-of-window': 1 });
  });

  it('taking over marks every known side synced: the previous forwarder saw more than the table holds', () => {
    const { r, port, slot } = rig();
    const syn = r.send(LAN, frame(LAN_V, CLIENT_MAC, tcpPacket({ src: CLIENT, dst: SERVER, sport: 40001, dport: 80, flags: SYN, seq: 7 })), NOW);
    expect(syn.out).toHaveLength(1);
    const s = slot();
    expect(r.fw.table.windows.flags[s * 2] & WF_SYNCED).toBe(0);
    port.takeOver(NOW);
    expect(r.fw.table.windows.flags[s * 2] & WF_SYNCED).toBe(WF_SYNCED);
    expect(r.fw.table.windows.flags[s * 2 + 1]).toBe(0); // nothing known of the reply side yet
  });

  it('merging a record moves each side forward only, and marks it synced', () => {
    const { r, apply, slot } = rig();
    apply(record());
    const s = slot();
    const w = r.fw.table.windows;
    w.flags[s * 2] &= ~WF_SYNCED;
    const behind = { ...record(), origSeqEnd: CEND - 500, replySeqEnd: (SEND + 9000) >>> 0 };
    r.fw.table.mergeWindows(s, behind);
    expect([w.end[s * 2], w.end[s * 2 + 1]]).toEqual([CEND, (SEND + 9000) >>> 0]);
    expect(w.flags[s * 2] & WF_SYNCED).toBe(WF_SYNCED);
  });

  it('the passive expires a synced session on its own: remaining lifetime + half its timeout + the margin', () => {
    const { r, apply } = rig();
    apply(record());
    const half = (r.fw.timeoutS(6, TCP_ESTABLISHED) * 1000) / 2;
    const due = NOW + 3_000_000 + half + SYNC_EXPIRY_MARGIN_MS;
    r.fw.expire(due - 200);
    expect(r.fw.table.size).toBe(1);
    // a refresh from the active pushes it back
    apply(record(REC_UPDATE), due - 150);
    r.fw.expire(due + 200);
    expect(r.fw.table.size).toBe(1);
    r.fw.expire(due - 150 + 3_000_000 + half + SYNC_EXPIRY_MARGIN_MS + 200);
    expect(r.fw.table.size).toBe(0);
  });
});
