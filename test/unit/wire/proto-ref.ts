// A deliberately simple protobuf writer for tests: hand-builds bytes the generated code must
// agree with, and bytes our encoder refuses to produce (2^64-1, unknown enum values, unknown
// fields). Only varint (wire type 0) and length-delimited (wire type 2) fields.

export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v); // int32 negatives are 10-byte varints
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

export function vfield(fieldNo: number, value: number | bigint | boolean): number[] {
  const v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  // proto3 omits zero scalars
  if (BigInt(v) === 0n) return [];
  return [...varint((fieldNo << 3) | 0), ...varint(v)];
}

export function lfield(fieldNo: number, bytes: number[] | string): number[] {
  const data = typeof bytes === 'string' ? [...Buffer.from(bytes, 'utf8')] : bytes;
  return [...varint((fieldNo << 3) | 2), ...varint(data.length), ...data];
}

export function sfield(fieldNo: number, text: string): number[] {
  return text === '' ? [] : lfield(fieldNo, text);
}

export function bytes(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}
