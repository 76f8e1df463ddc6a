// Typed encode/decode of the HA2 envelope (proto/ha2.proto) into our own plain types: numbers,
// never Long; session records as src/wire/session-record.ts's SessionRecord; the oneof body as a
// discriminated union. The generated code (generated/ha2.js) only moves bytes; every range
// check lives here, so a batch that decodes holds records the ring (src/wire/record-ring.ts) and the
// dataplane can take as they are. Authentication is not done here: Ha2Opener in
// src/wire/auth.ts checks the MAC before calling decodeHa2.
import { tandem } from '../../generated/ha2.js';
import type { SessionRecord } from './session-record.js';
import { WireError } from './errors.js';
import {
  UINT32_MAX,
  UINT64_MAX_SAFE,
  type Checked,
  checkUint,
  decodeOrMalformed,
  headerFromWire,
  headerToWire,
  uint64FromWire,
  uintFromWire,
  writerBytes,
} from './numbers.js';

const pb = tandem.ha2;

/**
 * Most records one Batch may carry. Bounds the receiver's work and memory per message (the
 * conventions' "explicit decode limits"): 2,000 records are at most ~314 KB on the wire (~196 KB
 * before the TCP window fields)
 * (HA2_MAX_ENVELOPE_BYTES), twice what our sender puts in one (DEFAULT_BATCH_MAX). It was
 * 10,000 until the fuzzer showed what one such batch costs the control thread: 11-25 ms to decode
 * (more than the aggressive dead interval), and protobufjs decodes every record before the count
 * can be checked; the message's byte limit is what bounds that work, so it must be small.
 */
export const MAX_BATCH_RECORDS = 2_000;

/** Longest BulkRequest.reason, in UTF-8 bytes: a label for logs, not a document. */
export const MAX_BULK_REASON_BYTES = 256;

// ---- per-field limits of a SessionRecord on the wire ----
// src/wire/record-ring.ts stores at least these widths, so whatever decodes here fits a ring.

/** Record op codes (src/wire/session-record.ts) are small; 8 bits leave room for new ones. */
export const RECORD_OP_MAX = 0xff;
/** IP protocol number: an 8-bit field (RFC 791 section 3.1). */
export const RECORD_PROTO_MAX = 0xff;
/** TCP/UDP ports and ICMP identifiers are 16-bit fields (RFC 793, RFC 768, RFC 792). */
export const RECORD_PORT_MAX = 0xffff;
/** Rule ids: -1 (default action / no NAT) or an index that fits an int32. */
export const RECORD_RULE_ID_MIN = -1;
export const RECORD_RULE_ID_MAX = 0x7fff_ffff;

/** TCP window: the largest window a side can advertise, 65535 << 14 (RFC 7323 2.3). */
export const RECORD_MAX_WIN = 65535 * 2 ** 14;
/** TCP window flags: one byte (src/dataplane/tcp-window.ts WF_*). */
export const RECORD_WIN_FLAGS_MAX = 0xff;

/**
 * Largest encoded SessionRecord inside a Batch, every field at its limit: op 3 + proto 3 +
 * state 6 + flags 6 + four fixed32 addresses 20 + four ports 16 + two sint32 rule ids 12 +
 * ingress 6 + egress 7 + timeout_ms 7 (fields 16-18 have two-byte tags) + event_ms 10 = 96
 * bytes; the TCP window fields (two-byte tags): six fixed32 36 + two max_win 14 + two
 * win_flags 8 = 58; the IPv6 address words (fields 29-40, two-byte tags): twelve fixed32 72;
 * 226 in all, plus the repeated field's tag and two-byte length: 229. Proven by test.
 */
export const HA2_MAX_RECORD_WIRE_BYTES = 229;

/**
 * Largest encoded Ha2Envelope (a full Batch with every value at its limit), MAC trailer not
 * included: envelope fields (sender 6, epoch 9, seq 9, group_id 6), the batch field's tag 1 and
 * length 3, the batch's seq 9 and sent_ms 9, and MAX_BATCH_RECORDS records. Size the HA2
 * FrameDecoder and Ha2Opener from this (plus MAC_BYTES: src/wire/auth.ts HA2_MAX_MESSAGE_BYTES).
 */
export const HA2_MAX_ENVELOPE_BYTES = 6 + 9 + 9 + 6 + 1 + 3 + 9 + 9 + MAX_BATCH_RECORDS * HA2_MAX_RECORD_WIRE_BYTES;

// The bodies, each derived from its generated message (proto/ha2.proto documents the fields):
// every field present, numbers never Long.

/** A batch of at most MAX_BATCH_RECORDS records, in the order the sender's dataplane made the changes. */
export type Ha2Batch = Checked<tandem.ha2.Batch.$Properties, { records: SessionRecord[] }>;

export type Ha2Ack = Checked<tandem.ha2.Ack.$Properties>;

/** reason: a log label of at most MAX_BULK_REASON_BYTES. */
export type Ha2BulkRequest = Checked<tandem.ha2.BulkRequest.$Properties>;

export type Ha2Body = { kind: 'batch'; batch: Ha2Batch } | { kind: 'ack'; ack: Ha2Ack } | { kind: 'bulkRequest'; bulkRequest: Ha2BulkRequest };

export type Ha2BodyKind = Ha2Body['kind'];

/** Every HA2 body kind, e.g. for metric labels of messages by kind. */
export const HA2_BODY_KINDS: readonly Ha2BodyKind[] = ['batch', 'ack', 'bulkRequest'];

export interface Ha2Envelope {
  /** The sender's device id (0 or 1; the receiver checks it). */
  sender: number;
  /** The sender's process epoch (wall-clock ms at its start). */
  epoch: number;
  /** Strictly increasing per (sender, epoch, channel); assigned by Ha2Sealer. */
  seq: number;
  groupId: number;
  body: Ha2Body;
}

// ---- encode ----

function checkRuleId(value: number, field: string, record: number): number {
  if (!Number.isInteger(value) || value < RECORD_RULE_ID_MIN || value > RECORD_RULE_ID_MAX) {
    const name = `batch.records[${record}].${field}`;
    throw new WireError('invalid-message', `${name} must be an integer in ${RECORD_RULE_ID_MIN}..${RECORD_RULE_ID_MAX}`, { field: name, value });
  }
  return value;
}

function checkReason(value: string, field: string): string {
  if (typeof value !== 'string') throw new WireError('invalid-message', `${field} must be a string`, { field, value });
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_BULK_REASON_BYTES) {
    throw new WireError('invalid-message', `${field} longer than ${MAX_BULK_REASON_BYTES} bytes`, { field, bytes, max: MAX_BULK_REASON_BYTES });
  }
  return value;
}

function recordToWire(r: SessionRecord, i: number): tandem.ha2.SessionRecord.$Properties {
  return {
    op: checkUint(r.op, 'op', RECORD_OP_MAX, i),
    proto: checkUint(r.proto, 'proto', RECORD_PROTO_MAX, i),
    state: checkUint(r.state, 'state', UINT32_MAX, i),
    flags: checkUint(r.flags, 'flags', UINT32_MAX, i),
    origSrc: checkUint(r.origSrc, 'origSrc', UINT32_MAX, i),
    origSrcPort: checkUint(r.origSrcPort, 'origSrcPort', RECORD_PORT_MAX, i),
    origDst: checkUint(r.origDst, 'origDst', UINT32_MAX, i),
    origDstPort: checkUint(r.origDstPort, 'origDstPort', RECORD_PORT_MAX, i),
    replySrc: checkUint(r.replySrc, 'replySrc', UINT32_MAX, i),
    replySrcPort: checkUint(r.replySrcPort, 'replySrcPort', RECORD_PORT_MAX, i),
    replyDst: checkUint(r.replyDst, 'replyDst', UINT32_MAX, i),
    replyDstPort: checkUint(r.replyDstPort, 'replyDstPort', RECORD_PORT_MAX, i),
    ruleId: checkRuleId(r.ruleId, 'ruleId', i),
    natRuleId: checkRuleId(r.natRuleId, 'natRuleId', i),
    ingress: checkUint(r.ingress, 'ingress', UINT32_MAX, i),
    egress: checkUint(r.egress, 'egress', UINT32_MAX, i),
    timeoutMs: checkUint(r.timeoutMs, 'timeoutMs', UINT32_MAX, i),
    eventMs: checkUint(r.eventMs, 'eventMs', UINT64_MAX_SAFE, i),
    origSeqEnd: checkUint(r.origSeqEnd, 'origSeqEnd', UINT32_MAX, i),
    origSeqMaxEnd: checkUint(r.origSeqMaxEnd, 'origSeqMaxEnd', UINT32_MAX, i),
    origMaxWin: checkUint(r.origMaxWin, 'origMaxWin', RECORD_MAX_WIN, i),
    origMaxAck: checkUint(r.origMaxAck, 'origMaxAck', UINT32_MAX, i),
    origWinFlags: checkUint(r.origWinFlags, 'origWinFlags', RECORD_WIN_FLAGS_MAX, i),
    replySeqEnd: checkUint(r.replySeqEnd, 'replySeqEnd', UINT32_MAX, i),
    replySeqMaxEnd: checkUint(r.replySeqMaxEnd, 'replySeqMaxEnd', UINT32_MAX, i),
    replyMaxWin: checkUint(r.replyMaxWin, 'replyMaxWin', RECORD_MAX_WIN, i),
    replyMaxAck: checkUint(r.replyMaxAck, 'replyMaxAck', UINT32_MAX, i),
    replyWinFlags: checkUint(r.replyWinFlags, 'replyWinFlags', RECORD_WIN_FLAGS_MAX, i),
    origSrcW0: checkUint(r.origSrcW0, 'origSrcW0', UINT32_MAX, i),
    origSrcW1: checkUint(r.origSrcW1, 'origSrcW1', UINT32_MAX, i),
    origSrcW2: checkUint(r.origSrcW2, 'origSrcW2', UINT32_MAX, i),
    origDstW0: checkUint(r.origDstW0, 'origDstW0', UINT32_MAX, i),
    origDstW1: checkUint(r.origDstW1, 'origDstW1', UINT32_MAX, i),
    origDstW2: checkUint(r.origDstW2, 'origDstW2', UINT32_MAX, i),
    replySrcW0: checkUint(r.replySrcW0, 'replySrcW0', UINT32_MAX, i),
    replySrcW1: checkUint(r.replySrcW1, 'replySrcW1', UINT32_MAX, i),
    replySrcW2: checkUint(r.replySrcW2, 'replySrcW2', UINT32_MAX, i),
    replyDstW0: checkUint(r.replyDstW0, 'replyDstW0', UINT32_MAX, i),
    replyDstW1: checkUint(r.replyDstW1, 'replyDstW1', UINT32_MAX, i),
    replyDstW2: checkUint(r.replyDstW2, 'replyDstW2', UINT32_MAX, i),
  };
}

/**
 * Encodes an Ha2Envelope; throws WireError('invalid-message') for values the wire cannot carry
 * (a bug in the caller, never peer input): out-of-range numbers, more than MAX_BATCH_RECORDS
 * records, a reason longer than MAX_BULK_REASON_BYTES.
 */
export function encodeHa2(envelope: Ha2Envelope): Buffer {
  const msg: tandem.ha2.Ha2Envelope.$Properties = headerToWire(envelope);
  const body = envelope.body;
  switch (body.kind) {
    case 'batch': {
      const b = body.batch;
      if (!Array.isArray(b.records) || b.records.length > MAX_BATCH_RECORDS) {
        throw new WireError('invalid-message', `batch.records must be an array of at most ${MAX_BATCH_RECORDS}`, {
          field: 'batch.records',
          count: Array.isArray(b.records) ? b.records.length : typeof b.records,
        });
      }
      msg.batch = {
        seq: checkUint(b.seq, 'batch.seq', UINT64_MAX_SAFE),
        records: b.records.map(recordToWire),
        sentMs: checkUint(b.sentMs, 'batch.sentMs', UINT64_MAX_SAFE),
      };
      break;
    }
    case 'ack':
      msg.ack = {
        seq: checkUint(body.ack.seq, 'ack.seq', UINT64_MAX_SAFE),
        echoSentMs: checkUint(body.ack.echoSentMs, 'ack.echoSentMs', UINT64_MAX_SAFE),
      };
      break;
    case 'bulkRequest':
      msg.bulkRequest = {
        reason: checkReason(body.bulkRequest.reason, 'bulkRequest.reason'),
        beginsSeen: checkUint(body.bulkRequest.beginsSeen, 'bulkRequest.beginsSeen', UINT32_MAX),
      };
      break;
    default: {
      const never: never = body;
      throw new WireError('invalid-message', 'unknown body kind', { kind: (never as { kind?: unknown }).kind });
    }
  }
  return writerBytes(pb.Ha2Envelope.encode(msg).finish());
}

// ---- decode ----

function ruleIdFromWire(value: number | null | undefined, field: string, record: number): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < RECORD_RULE_ID_MIN || v > RECORD_RULE_ID_MAX) {
    const name = `batch.records[${record}].${field}`;
    throw new WireError('malformed', `${name} out of range`, { field: name, value: v });
  }
  return v;
}

function recordFromWire(r: tandem.ha2.SessionRecord.$Properties, i: number): SessionRecord {
  return {
    op: uintFromWire(r.op, 'op', RECORD_OP_MAX, i),
    proto: uintFromWire(r.proto, 'proto', RECORD_PROTO_MAX, i),
    state: uintFromWire(r.state, 'state', UINT32_MAX, i),
    flags: uintFromWire(r.flags, 'flags', UINT32_MAX, i),
    origSrc: uintFromWire(r.origSrc, 'origSrc', UINT32_MAX, i),
    origSrcPort: uintFromWire(r.origSrcPort, 'origSrcPort', RECORD_PORT_MAX, i),
    origDst: uintFromWire(r.origDst, 'origDst', UINT32_MAX, i),
    origDstPort: uintFromWire(r.origDstPort, 'origDstPort', RECORD_PORT_MAX, i),
    replySrc: uintFromWire(r.replySrc, 'replySrc', UINT32_MAX, i),
    replySrcPort: uintFromWire(r.replySrcPort, 'replySrcPort', RECORD_PORT_MAX, i),
    replyDst: uintFromWire(r.replyDst, 'replyDst', UINT32_MAX, i),
    replyDstPort: uintFromWire(r.replyDstPort, 'replyDstPort', RECORD_PORT_MAX, i),
    ruleId: ruleIdFromWire(r.ruleId, 'ruleId', i),
    natRuleId: ruleIdFromWire(r.natRuleId, 'natRuleId', i),
    ingress: uintFromWire(r.ingress, 'ingress', UINT32_MAX, i),
    egress: uintFromWire(r.egress, 'egress', UINT32_MAX, i),
    timeoutMs: uintFromWire(r.timeoutMs, 'timeoutMs', UINT32_MAX, i),
    eventMs: uint64FromWire(r.eventMs, 'eventMs', i),
    // absent (an older peer): 0, which win_flags reads as "nothing known"
    origSeqEnd: uintFromWire(r.origSeqEnd, 'origSeqEnd', UINT32_MAX, i),
    origSeqMaxEnd: uintFromWire(r.origSeqMaxEnd, 'origSeqMaxEnd', UINT32_MAX, i),
    origMaxWin: uintFromWire(r.origMaxWin, 'origMaxWin', RECORD_MAX_WIN, i),
    origMaxAck: uintFromWire(r.origMaxAck, 'origMaxAck', UINT32_MAX, i),
    origWinFlags: uintFromWire(r.origWinFlags, 'origWinFlags', RECORD_WIN_FLAGS_MAX, i),
    replySeqEnd: uintFromWire(r.replySeqEnd, 'replySeqEnd', UINT32_MAX, i),
    replySeqMaxEnd: uintFromWire(r.replySeqMaxEnd, 'replySeqMaxEnd', UINT32_MAX, i),
    replyMaxWin: uintFromWire(r.replyMaxWin, 'replyMaxWin', RECORD_MAX_WIN, i),
    replyMaxAck: uintFromWire(r.replyMaxAck, 'replyMaxAck', UINT32_MAX, i),
    replyWinFlags: uintFromWire(r.replyWinFlags, 'replyWinFlags', RECORD_WIN_FLAGS_MAX, i),
    // IPv6 sessions' high address words (absent: 0, an IPv4 record or an older peer)
    origSrcW0: uintFromWire(r.origSrcW0, 'origSrcW0', UINT32_MAX, i),
    origSrcW1: uintFromWire(r.origSrcW1, 'origSrcW1', UINT32_MAX, i),
    origSrcW2: uintFromWire(r.origSrcW2, 'origSrcW2', UINT32_MAX, i),
    origDstW0: uintFromWire(r.origDstW0, 'origDstW0', UINT32_MAX, i),
    origDstW1: uintFromWire(r.origDstW1, 'origDstW1', UINT32_MAX, i),
    origDstW2: uintFromWire(r.origDstW2, 'origDstW2', UINT32_MAX, i),
    replySrcW0: uintFromWire(r.replySrcW0, 'replySrcW0', UINT32_MAX, i),
    replySrcW1: uintFromWire(r.replySrcW1, 'replySrcW1', UINT32_MAX, i),
    replySrcW2: uintFromWire(r.replySrcW2, 'replySrcW2', UINT32_MAX, i),
    replyDstW0: uintFromWire(r.replyDstW0, 'replyDstW0', UINT32_MAX, i),
    replyDstW1: uintFromWire(r.replyDstW1, 'replyDstW1', UINT32_MAX, i),
    replyDstW2: uintFromWire(r.replyDstW2, 'replyDstW2', UINT32_MAX, i),
  };
}

/**
 * Decodes an Ha2Envelope. Throws WireError('malformed') for anything that is not a complete,
 * in-range Ha2Envelope with a body of a known kind, or a batch of more than MAX_BATCH_RECORDS.
 * Unknown fields are ignored (a newer peer may add optional fields); an unknown body kind is
 * malformed (we cannot act on it). Note proto3 semantics: an absent field is 0, so an absent
 * rule id decodes as 0, not -1; our encoder always writes -1 explicitly (sint32, one byte).
 */
export function decodeHa2(bytes: Uint8Array): Ha2Envelope {
  const raw = decodeOrMalformed('HA2 envelope', bytes, (b) => pb.Ha2Envelope.decode(b));
  const header = headerFromWire(raw);
  let body: Ha2Body;
  switch (raw.body) {
    case 'batch': {
      const b = raw.batch;
      const rawRecords = b.records ?? [];
      if (rawRecords.length > MAX_BATCH_RECORDS) {
        throw new WireError('malformed', `batch of ${rawRecords.length} records exceeds ${MAX_BATCH_RECORDS}`, {
          field: 'batch.records',
          count: rawRecords.length,
          max: MAX_BATCH_RECORDS,
        });
      }
      const records = new Array<SessionRecord>(rawRecords.length);
      for (let i = 0; i < rawRecords.length; i++) records[i] = recordFromWire(rawRecords[i], i);
      body = {
        kind: 'batch',
        batch: {
          seq: uint64FromWire(b.seq, 'batch.seq'),
          records,
          sentMs: uint64FromWire(b.sentMs, 'batch.sentMs'),
        },
      };
      break;
    }
    case 'ack': {
      const a = raw.ack;
      body = {
        kind: 'ack',
        ack: { seq: uint64FromWire(a.seq, 'ack.seq'), echoSentMs: uint64FromWire(a.echoSentMs, 'ack.echoSentMs') },
      };
      break;
    }
    case 'bulkRequest': {
      const reason = raw.bulkRequest.reason ?? '';
      const reasonBytes = Buffer.byteLength(reason, 'utf8');
      if (reasonBytes > MAX_BULK_REASON_BYTES) {
        throw new WireError('malformed', `bulkRequest.reason longer than ${MAX_BULK_REASON_BYTES} bytes`, { field: 'bulkRequest.reason', bytes: reasonBytes });
      }
      body = { kind: 'bulkRequest', bulkRequest: { reason, beginsSeen: uintFromWire(raw.bulkRequest.beginsSeen, 'bulkRequest.beginsSeen') } };
      break;
    }
    default:
      // No body at all, or (from a newer peer) a body field this build does not know.
      throw new WireError('malformed', 'HA2 envelope without a known body', { bytes: bytes.length });
  }
  return { ...header, body };
}
