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
// INSERT carries no TCP window state (proto/ha2.proto fields 19-28): the owner learns each side
// of the connection from its first segment there (tcp-window.ts pick-up), as from an older peer.
//
// ACK (16 bytes): the session's original tuple, as the table keys it:
//
//   | proto u8 | 0 0 0 | origSrc u32 | origDst u32 | origSrcPort u16 | origDstPort u16 |
//
// Pure: no allocation on decode (the caller's record is filled), none on encode into its buffer.
import { clearAddress6, clearWindows, SESSION_FLAG_V6, type SessionRecord } from './session-record.js';

export const HA3_RECORD_BYTES = 64;
export const HA3_KEY_BYTES = 16;

/** The tuple an ACK carries: which session the peer now holds. */
export interface Ha3Key {
  proto: number;
  origSrc: number;
  origSrcPort: number;
  origDst: number;
  origDstPort: number;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Writes r into out[0..64); the fields must fit the ring layout (as they do when read from a table). */
export function encodeHa3Record(r: SessionRecord, out: Uint8Array): void {
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
}

/**
 * Fills r from an INSERT payload; false (r partly written) when the payload is not one record or a
 * field is out of the ranges the session table takes (rule ids below -1, eventMs not a safe
 * non-negative integer). An authenticated peer sends none of these: a bug must not become a session.
 */
export function decodeHa3Record(payload: Uint8Array, r: SessionRecord): boolean {
  if (payload.length !== HA3_RECORD_BYTES) return false;
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
  clearAddress6(r);
  // INSERT has no room for an IPv6 session's high address words: such a record is not one
  return (r.flags & SESSION_FLAG_V6) === 0 && r.ruleId >= -1 && r.natRuleId >= -1 && Number.isSafeInteger(r.eventMs) && r.eventMs >= 0;
}

/** Writes the session's key into out[0..16). */
export function encodeHa3Key(k: Ha3Key, out: Uint8Array): void {
  const v = view(out);
  v.setUint32(0, (k.proto & 0xff) << 24);
  v.setUint32(4, k.origSrc >>> 0);
  v.setUint32(8, k.origDst >>> 0);
  v.setUint16(12, k.origSrcPort & 0xffff);
  v.setUint16(14, k.origDstPort & 0xffff);
}

/** Fills k from an ACK payload; false when it is not one key. */
export function decodeHa3Key(payload: Uint8Array, k: Ha3Key): boolean {
  if (payload.length !== HA3_KEY_BYTES) return false;
  const v = view(payload);
  const w0 = v.getUint32(0);
  if ((w0 & 0xffffff) !== 0) return false;
  k.proto = w0 >>> 24;
  k.origSrc = v.getUint32(4);
  k.origDst = v.getUint32(8);
  k.origSrcPort = v.getUint16(12);
  k.origDstPort = v.getUint16(14);
  return true;
}
