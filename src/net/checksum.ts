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
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the new checksum after one 16-bit word changes
 * from `oldWord` (m) to `newWord` (m'). Eqn. 3 (not RFC 1141's eqn. 2) is the one that gives
 * the same result as a full recompute, including the -0/+0 corner case.
 */
export function checksumUpdate16(hc: number, oldWord: number, newWord: number): number {
  let sum = (~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
