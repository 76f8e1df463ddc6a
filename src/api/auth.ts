// The management API's bearer token check.
import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Constant-time: both sides are hashed to 32 bytes first, so even the length is not leaked. */
export function authorized(header: string | undefined, tokenDigest: Buffer): boolean {
  if (header === undefined) return false;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(sha256(m[1]), tokenDigest);
}
