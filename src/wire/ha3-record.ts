// The payloads of HA3's INSERT and ACK (src/wire/ha3.ts): a session record, and the key the
// receiver echoes once it holds the session.
//
// INSERT (64 bytes): the slot layout of the HA2 rings (src/wire/record-ring.ts), word for word,
// in network byte order (the rings are host order: they never leave the box):
//
//   word 0   op (bits 0-15) | proto (bits 16-31)
//   word 1   state                      word 8   replyDst
//   word 2   flags                      word 9   ruleId (int32)
//   word 3   origSrc                    word 10  natRuleId (int32)
//   word 4   origSrcPort | origDstPort << 16     word 11  ingress
//   word 5   origDst                    word 12  egress
//   word 6   replySrc                   word 13  timeoutMs
//   word 7   replySrcPort | replyDstPort << 16   bytes 56-63  eventMs (float64)
//
// An IPv6 session (flags bit SESSION_FLAG_V6) adds 48 bytes (112 in all): the high 96 bits of
// each address (Address6Fields, in ADDRESS6_FIELDS order: origSrcW0-2, origDstW0-2,
// replySrcW0-2, replyDstW0-2); words 3, 5, 6 and 8 above are the low 32 bits. The length tells the
// families apart, and it must agree with the flag: a record that says one and is the other is none.
//
// INSERT carries no TCP window state (proto/ha2.proto fields 19-28): the owner learns each side
// of the connection from its first segment there (tcp-window.ts pick-up), as from an older peer.
//
// ACK: the session's original tuple, as the table keys it; 16 bytes for IPv4, 40 for IPv6:
//
//   | proto u8 | 0 0 0 | origSrc u32 | origDst u32 | origSrcPort u16 | origDstPort u16 |
//   | proto u8 | 0 0 0 | origSrc 16 bytes | origDst 16 bytes | origSrcPort u16 | origDstPort u16 |
//
// Pure: no allocation on decode (the caller's record is filled), none on encode into its buffer.
import { ADDRESS6_FIELDS, clearAddress6, clearWindows, SESSION_FLAG_V6, type SessionRecord } from './session-record.js';

/** An IPv4 session's INSERT. */
export const HA3_RECORD_BYTES = 64;
/** An IPv6 session's INSERT: the IPv4 layout and the addresses' high words. */
export const HA3_RECORD6_BYTES = HA3_RECORD_BYTES + 4 * ADDRESS6_FIELDS.length;
export const HA3_KEY_BYTES = 16;
export const HA3_KEY6_BYTES = 40;

/** The tuple an ACK carries: which session the peer now holds. */
export interface Ha3Key {
  proto: number;
  /** An IPv6 session's: `addrs` holds its addresses, origSrc and origDst are unused. */
  v6: boolean;
  origSrc: number;
  origSrcPort: number;
  origDst: number;
  origDstPort: number;
  /** IPv6: the source's 4 words then the destination's (as SessionTable.lookup6 takes them). */
  addrs: Uint32Array;
}

export function emptyHa3Key(): Ha3Key {
  return { proto: 0, v6: false, origSrc: 0, origSrcPort: 0, origDst: 0, origDstPort: 0, addrs: new Uint32Array(8) };
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Writes r into `out` (HA3_RECORD6_BYTES long, enough for either family); returns the payload's
 * length (64, or 112 for an IPv6 session). The fields must fit the ring layout (as they do when
 * read from a table).
 */
export function encodeHa3Record(r: SessionRecord, out: Uint8Array): number {
  const v = view(out);
  v.setUint32(0, ((r.op & 0xffff) | ((r.proto & 0xffff) << 16)) >>> 0);
  v.setUint32(4, r.state >>> 0);
  v.setUint32(8, r.flags >>> 0);
  v.setUint32(12, r.origSrc >>> 0);
  v.setUint32(16, ((r.origSrcPort & 0xffff) | ((r.origDstPort & 0xffff) << 16)) >>> 0);
  v.setUint32(20, r.origDst >>> 0);
  v.setUint32(24, r.replySrc >>> 0);
  v.setUint32(28, ((r.replySrcPort & 0xffff) | ((r.replyDstPort & 0xffff) << 16)) >>> 0);
  v.setUint32(32, r.replyDst >>> 0);
  v.setInt32(36, r.ruleId | 0);
  v.setInt32(40, r.natRuleId | 0);
  v.setUint32(44, r.ingress >>> 0);
  v.setUint32(48, r.egress >>> 0);
  v.setUint32(52, r.timeoutMs >>> 0);
  v.setFloat64(56, Math.floor(r.eventMs));
  if ((r.flags & SESSION_FLAG_V6) === 0) return HA3_RECORD_BYTES;
  for (let i = 0; i < ADDRESS6_FIELDS.length; i++) v.setUint32(HA3_RECORD_BYTES + 4 * i, r[ADDRESS6_FIELDS[i]] >>> 0);
  return HA3_RECORD6_BYTES;
}

/**
 * Fills r from an INSERT payload; false (r partly written) when the payload is not one record or a
 * field is out of the ranges the session table takes (rule ids below -1, eventMs not a safe
 * non-negative integer). An authenticated peer sends none of these: a bug must not become a session.
 */
export function decodeHa3Record(payload: Uint8Array, r: SessionRecord): boolean {
  const v6 = payload.length === HA3_RECORD6_BYTES;
  if (payload.length !== HA3_RECORD_BYTES && !v6) return false;
  const v = view(payload);
  const w0 = v.getUint32(0);
  r.op = w0 & 0xffff;
  r.proto = w0 >>> 16;
  r.state = v.getUint32(4);
  r.flags = v.getUint32(8);
  r.origSrc = v.getUint32(12);
  const w4 = v.getUint32(16);
  r.origSrcPort = w4 & 0xffff;
  r.origDstPort = w4 >>> 16;
  r.origDst = v.getUint32(20);
  r.replySrc = v.getUint32(24);
  const w7 = v.getUint32(28);
  r.replySrcPort = w7 & 0xffff;
  r.replyDstPort = w7 >>> 16;
  r.replyDst = v.getUint32(32);
  r.ruleId = v.getInt32(36);
  r.natRuleId = v.getInt32(40);
  r.ingress = v.getUint32(44);
  r.egress = v.getUint32(48);
  r.timeoutMs = v.getUint32(52);
  r.eventMs = v.getFloat64(56);
  clearWindows(r);
  if (v6) for (let i = 0; i < ADDRESS6_FIELDS.length; i++) r[ADDRESS6_FIELDS[i]] = v.getUint32(HA3_RECORD_BYTES + 4 * i);
  else clearAddress6(r);
  // the length and the flag name the same family, or the record is not one
  return ((r.flags & SESSION_FLAG_V6) !== 0) === v6 && r.ruleId >= -1 && r.natRuleId >= -1 && Number.isSafeInteger(r.eventMs) && r.eventMs >= 0;
}

/**
 * Writes the key of session record `r` (its original tuple) into `out` (HA3_KEY6_BYTES long, enough
 * for either family); returns the payload's length (16, or 40 for an IPv6 session).
 */
export function encodeHa3Key(r: SessionRecord, out: Uint8Array): number {
  const v = view(out);
  v.setUint32(0, (r.proto & 0xff) << 24);
  if ((r.flags & SESSION_FLAG_V6) === 0) {
    v.setUint32(4, r.origSrc >>> 0);
    v.setUint32(8, r.origDst >>> 0);
    v.setUint16(12, r.origSrcPort & 0xffff);
    v.setUint16(14, r.origDstPort & 0xffff);
    return HA3_KEY_BYTES;
  }
  v.setUint32(4, r.origSrcW0 >>> 0);
  v.setUint32(8, r.origSrcW1 >>> 0);
  v.setUint32(12, r.origSrcW2 >>> 0);
  v.setUint32(16, r.origSrc >>> 0);
  v.setUint32(20, r.origDstW0 >>> 0);
  v.setUint32(24, r.origDstW1 >>> 0);
  v.setUint32(28, r.origDstW2 >>> 0);
  v.setUint32(32, r.origDst >>> 0);
  v.setUint16(36, r.origSrcPort & 0xffff);
  v.setUint16(38, r.origDstPort & 0xffff);
  return HA3_KEY6_BYTES;
}

/** Fills k from an ACK payload; false when it is not one key. */
export function decodeHa3Key(payload: Uint8Array, k: Ha3Key): boolean {
  const v6 = payload.length === HA3_KEY6_BYTES;
  if (payload.length !== HA3_KEY_BYTES && !v6) return false;
  const v = view(payload);
  const w0 = v.getUint32(0);
  if ((w0 & 0xffffff) !== 0) return false;
  k.proto = w0 >>> 24;
  k.v6 = v6;
  if (v6) {
    for (let i = 0; i < 8; i++) k.addrs[i] = v.getUint32(4 + 4 * i);
    k.origSrc = k.addrs[3];
    k.origDst = k.addrs[7];
    k.origSrcPort = v.getUint16(36);
    k.origDstPort = v.getUint16(38);
    return true;
  }
  k.origSrc = v.getUint32(4);
  k.origDst = v.getUint32(8);
  k.origSrcPort = v.getUint16(12);
  k.origDstPort = v.getUint16(14);
  return true;
}
