// Range checks shared by the HA1 and HA2 codecs: protobufjs hands us plain numbers (or Longs for
// uint64); everything the rest of tandem trusts is checked here. Field names for error messages are
// built only when a check fails: the HA2 codec runs these for every field of every session record.
// The envelope header both protocols carry (sender, epoch, seq, group id) is checked here too.
import { WireError } from './errors.js';

export const UINT32_MAX = 0xffff_ffff;
/**
 * uint64 fields hold ms or ns values and sequence numbers: 2^53 ns is 104 days of monotonic clock,
 * 2^53 ms is 285,000 years. Above Number.MAX_SAFE_INTEGER a JS number silently loses precision, so
 * a larger value is refused rather than rounded.
 */
export const UINT64_MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A protobufjs uint64 as read: a number, or a Long when the `long` package is present. */
export type WireUint64 = number | { low: number; high: number; unsigned?: boolean } | null | undefined;

/**
 * A generated message's fields (`tandem.<proto>.<Message>.$Properties`, each optional, a uint64 a
 * number or a Long) as tandem's checked type: every field present, a uint64 a plain number (the
 * codecs turn a Long into one: uint64FromWire), and the fields `Over` names with the types it
 * gives them (an enum as tandem's union of words, a field that stays optional). The .proto is then
 * the one list of a message's fields and their documentation: a field added there does not compile
 * until the codec's decoder fills it.
 */
export type Checked<P, Over = unknown> = {
  -readonly [K in keyof P as K extends '$unknowns' | keyof Over ? never : K]-?: Exclude<P[K], null | undefined | { low: number; high: number }>;
} & Over;

/** `field`, or `batch.records[record].field` for a field of a session record. */
function fieldName(field: string, record: number | undefined): string {
  return record === undefined ? field : `batch.records[${record}].${field}`;
}

export function uint64FromWire(value: WireUint64, field: string, record?: number): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      const name = fieldName(field, record);
      throw new WireError('malformed', `${name} out of range`, { field: name, value });
    }
    return value;
  }
  const high = value.high >>> 0;
  const low = value.low >>> 0;
  // 2^53 - 1 has high word 0x1fffff: anything above does not fit a safe integer.
  if (high > 0x1f_ffff) {
    const name = fieldName(field, record);
    throw new WireError('malformed', `${name} exceeds 2^53-1`, { field: name, high, low });
  }
  return high * 0x1_0000_0000 + low;
}

/** uint32 and fixed32 as read (protobufjs reads them `>>> 0`), at most `max`. */
export function uintFromWire(value: number | null | undefined, field: string, max = UINT32_MAX, record?: number): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    const name = fieldName(field, record);
    throw new WireError('malformed', `${name} out of range`, { field: name, value: v, max });
  }
  return v;
}

/** A value we are about to encode: an integer in 0..max. */
export function checkUint(value: number, field: string, max: number, record?: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    const name = fieldName(field, record);
    throw new WireError('invalid-message', `${name} must be an integer in 0..${max}`, { field: name, value, max });
  }
  return value;
}

export function checkString(value: string, field: string, max?: number): string {
  if (typeof value !== 'string') throw new WireError('invalid-message', `${field} must be a string`, { field, value });
  if (max !== undefined && value.length > max)
    throw new WireError('invalid-message', `${field} is ${value.length} characters (at most ${max})`, { field, max });
  return value;
}

/**
 * A string field from the peer: absent is '', longer than `max` characters is malformed. These
 * strings are logged and shown in status; without a bound only the 4 MiB frame limited them.
 */
export function stringFromWire(value: string | null | undefined, field: string, max: number): string {
  const s = value ?? '';
  if (s.length > max) throw new WireError('malformed', `${field} is ${s.length} characters (at most ${max})`, { field, max });
  return s;
}

/** The fields every HA envelope (HA1 and HA2) carries besides its body. */
export interface EnvelopeHeaderFields {
  sender: number;
  epoch: number;
  seq: number;
  groupId: number;
}

/** An envelope header about to be encoded: sender and group id uint32, epoch and seq safe uint64. */
export function headerToWire(h: EnvelopeHeaderFields): EnvelopeHeaderFields {
  return {
    sender: checkUint(h.sender, 'sender', UINT32_MAX),
    epoch: checkUint(h.epoch, 'epoch', UINT64_MAX_SAFE),
    seq: checkUint(h.seq, 'seq', UINT64_MAX_SAFE),
    groupId: checkUint(h.groupId, 'groupId', UINT32_MAX),
  };
}

/** Runs a generated decoder: bytes it cannot read are malformed (`what` names the message). */
export function decodeOrMalformed<T>(what: string, bytes: Uint8Array, decode: (bytes: Uint8Array) => T): T {
  try {
    return decode(bytes);
  } catch (err) {
    throw new WireError('malformed', `undecodable ${what}: ${(err as Error).message}`, { bytes: bytes.length }, { cause: err });
  }
}

/** An envelope header as read (absent fields are 0). */
export function headerFromWire(raw: { sender?: number | null; epoch?: WireUint64; seq?: WireUint64; groupId?: number | null }): EnvelopeHeaderFields {
  return {
    sender: uintFromWire(raw.sender, 'sender'),
    epoch: uint64FromWire(raw.epoch, 'epoch'),
    seq: uint64FromWire(raw.seq, 'seq'),
    groupId: uintFromWire(raw.groupId, 'groupId'),
  };
}

/** What a protobufjs writer finished, as a Buffer: it is one under Node (protobufjs picks util.Buffer when present). */
export function writerBytes(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
