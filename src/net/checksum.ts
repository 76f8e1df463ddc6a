// The Internet checksum: RFC 1071 (computation) and RFC 1624 (incremental update).
// Allocation free; words are big-endian 16-bit values as they appear on the wire.

/**
 * RFC 1071: the 16-bit ones'-complement of the ones'-complement sum of `len` bytes at `off`
 * (an odd trailing byte is padded with zero). Writing this value into a zeroed checksum field
 * makes the region verify; `checksum(...) === 0` over a region holding its checksum means valid.
 */
export function checksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + (len & ~1);
  let i = off;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (len & 1) sum += buf[i] << 8;
  // Fold carries: at most two folds are needed for any realistic length (< 2^16 words).
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The unfolded sum of the 16-bit words of `len` bytes (even) at `off`: a term for checksum()'s
 * `initial`, e.g. the addresses of an IPv6 pseudo-header (RFC 8200 8.1), which lie side by side
 * in the header. Under 2^21 for the 32 address bytes, so it adds to a payload sum without overflow.
 */
export function sum16(buf: Uint8Array, off: number, len: number): number {
  let sum = 0;
  const end = off + len;
  for (let i = off; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  return sum;
}

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), is the incremental update that gives the same result
// as a full recompute, including the -0/+0 corner case (RFC 1141's eqn. 2 does not). A change of
// several words sums their terms (delta16, delta32) before one applyDelta.

/** ~m + m' for one 16-bit word changing from m to m' (a term of RFC 1624 eqn. 3). */
export function delta16(oldWord: number, newWord: number): number {
  return (~oldWord & 0xffff) + (newWord & 0xffff);
}

/** A 32-bit field (an address) changing from `oldV` to `newV`, as two word terms. */
export function delta32(oldV: number, newV: number): number {
  return delta16(oldV >>> 16, newV >>> 16) + delta16(oldV & 0xffff, newV & 0xffff);
}

/** HC' = ~(~HC + sum of terms), folded. `sum` is a sum of delta terms (unfolded, < 2^20). */
export function applyDelta(hc: number, sum: number): number {
  sum += ~hc & 0xffff;
  // at most ~hc + 8 word terms (< 2^21): two folds leave 16 bits
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The new checksum after one 16-bit word changes from `oldWord` (m) to `newWord` (m'). */
export function checksumUpdate16(hc: number, oldWord: number, newWord: number): number {
  return applyDelta(hc, delta16(oldWord, newWord));
}
