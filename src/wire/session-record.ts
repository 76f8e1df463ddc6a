// One session change as it travels from the active box's dataplane to the passive box's: through a
// shared-memory ring to the control worker (src/wire/record-ring.ts), over HA2 as protobuf
// (proto/ha2.proto), through a ring into the passive's dataplane. The same shape serves the bulk
// dump and in-band control (op codes below), so order is kept end to end.
import type { tandem } from '../../generated/ha2.js';
import type { Checked } from './numbers.js';

/** Create or replace a session (both tuples, state, NAT, rule). */
export const REC_UPSERT = 1;
/** A session's state or timeout changed (same fields as UPSERT; the receiver upserts). */
export const REC_UPDATE = 2;
/** A session ended (expired or closed); only the original tuple is meaningful. */
export const REC_DELETE = 3;
/** A full dump starts: the receiver forgets every synced session first. */
export const REC_BULK_BEGIN = 4;
/** The dump is complete: `origSrc` carries the number of sessions sent. */
export const REC_BULK_END = 5;
/** Worker -> own dataplane: dump the whole table into the outgoing ring (paced). */
export const REC_DUMP_REQUEST = 6;
/** Worker -> own dataplane: forget every synced session (we are not in sync any more). */
export const REC_CLEAR = 7;
/** Own dataplane -> worker, in `out` only: `origSrc` changes did not fit `out` just before this point. */
export const REC_LOST = 8;

/**
 * Whether a record empties the receiving table (the peer's BULK_BEGIN, our worker's REC_CLEAR).
 * Neither may reach the table of a box that has become active: it is the pair's table now.
 */
export function clearsTable(op: number): boolean {
  return op === REC_BULK_BEGIN || op === REC_CLEAR;
}

/**
 * One session change: proto/ha2.proto's SessionRecord, field for field (its comments say what each
 * field holds), every field a number. The HA2 codec (ha2-codec.ts) range-checks each field, the
 * ring's 128-byte slot (record-ring.ts) holds each one, and the session table's NewSession takes
 * its fields from here.
 */
export type SessionRecord = Checked<tandem.ha2.SessionRecord.$Properties>;

/**
 * SessionRecord.flags bit 1 (active/active): the session is owned by device 1 (clear: device 0),
 * the box that processes its packets; the other forwards them over HA3. Bit 0 is the session
 * table's SESSION_FLAG_LOOSE.
 */
export const SESSION_FLAG_OWNER1 = 2;

/**
 * SessionRecord.flags bit 2 (active/active): both boxes have forwarded segments of this session (one
 * adopted it while it took the other for down, and the other went on with its own copy), so each
 * may have seen only part of them: its TCP window is checked as in `loose` mode (only resets
 * outside the window are dropped; src/dataplane/tcp-window.ts, docs/firewall.md).
 */
export const SESSION_FLAG_SPLIT = 4;

/**
 * SessionRecord.flags bit 3: an IPv6 session. Its four addresses are 128 bits: the low 32 in
 * origSrc, origDst, replySrc, replyDst, the high 96 in the Address6Fields (w0 most significant).
 */
export const SESSION_FLAG_V6 = 8;

/** The high words of an IPv6 session's addresses (proto/ha2.proto 29-40); 0 for IPv4. */
export type Address6Fields =
  | 'origSrcW0'
  | 'origSrcW1'
  | 'origSrcW2'
  | 'origDstW0'
  | 'origDstW1'
  | 'origDstW2'
  | 'replySrcW0'
  | 'replySrcW1'
  | 'replySrcW2'
  | 'replyDstW0'
  | 'replyDstW1'
  | 'replyDstW2';

/** The Address6Fields in field-number order. */
export const ADDRESS6_FIELDS: readonly Address6Fields[] = [
  'origSrcW0',
  'origSrcW1',
  'origSrcW2',
  'origDstW0',
  'origDstW1',
  'origDstW2',
  'replySrcW0',
  'replySrcW1',
  'replySrcW2',
  'replyDstW0',
  'replyDstW1',
  'replyDstW2',
];

export function emptyRecord(): SessionRecord {
  return {
    op: 0,
    proto: 0,
    state: 0,
    flags: 0,
    origSrc: 0,
    origSrcPort: 0,
    origDst: 0,
    origDstPort: 0,
    replySrc: 0,
    replySrcPort: 0,
    replyDst: 0,
    replyDstPort: 0,
    ruleId: -1,
    natRuleId: -1,
    ingress: 0,
    egress: 0,
    timeoutMs: 0,
    eventMs: 0,
    origSeqEnd: 0,
    origSeqMaxEnd: 0,
    origMaxWin: 0,
    origMaxAck: 0,
    origWinFlags: 0,
    replySeqEnd: 0,
    replySeqMaxEnd: 0,
    replyMaxWin: 0,
    replyMaxAck: 0,
    replyWinFlags: 0,
    origSrcW0: 0,
    origSrcW1: 0,
    origSrcW2: 0,
    origDstW0: 0,
    origDstW1: 0,
    origDstW2: 0,
    replySrcW0: 0,
    replySrcW1: 0,
    replySrcW2: 0,
    replyDstW0: 0,
    replyDstW1: 0,
    replyDstW2: 0,
  };
}

/** The TCP window fields (proto/ha2.proto 19-28), each side's sequence state. */
export type WindowFields =
  | 'origSeqEnd'
  | 'origSeqMaxEnd'
  | 'origMaxWin'
  | 'origMaxAck'
  | 'origWinFlags'
  | 'replySeqEnd'
  | 'replySeqMaxEnd'
  | 'replyMaxWin'
  | 'replyMaxAck'
  | 'replyWinFlags';

/** Forgets r's TCP window state: what a record without it (an older peer, HA3's INSERT) says. */
export function clearWindows(r: SessionRecord): void {
  r.origSeqEnd = 0;
  r.origSeqMaxEnd = 0;
  r.origMaxWin = 0;
  r.origMaxAck = 0;
  r.origWinFlags = 0;
  r.replySeqEnd = 0;
  r.replySeqMaxEnd = 0;
  r.replyMaxWin = 0;
  r.replyMaxAck = 0;
  r.replyWinFlags = 0;
}

/** Zeroes r's IPv6 high address words (an IPv4 record). */
export function clearAddress6(r: SessionRecord): void {
  for (const f of ADDRESS6_FIELDS) r[f] = 0;
}
