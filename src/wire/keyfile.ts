// Loads a secret (the HA pre-shared key, the API token, the API's TLS private key) from a file,
// refusing files that are not private: the key authenticates a peer, the token commands a failover
// and the TLS key impersonates the box, so a world-readable copy is as good as handing them out. The
// checks follow ssh's for private keys (mode & 0o077).
import { closeSync, fstatSync, openSync, readFileSync, constants } from 'node:fs';
import { SecretFileError } from './errors.js';

/** Minimum secret length after trimming: 16 bytes = 128 bits (the HMAC key floor in auth.ts). */
export const MIN_SECRET_BYTES = 16;

/** Group and other permission bits: any of them set means someone else may read or write it. */
const NON_OWNER_BITS = 0o077;

/** What a private file holds: the HA key, the API token, or the API's TLS private key. */
export type SecretFileKind = 'key' | 'token' | 'TLS key';

/** Reads, checks and returns the secret with surrounding whitespace removed. */
export function loadSecretFile(path: string, what: 'key' | 'token'): Buffer {
  const raw = readPrivateFile(path, what);
  const ctx = { path, what };
  const secret = trimAsciiWhitespace(raw);
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SecretFileError(
      'too-short',
      `${what} file ${path} holds ${secret.length} bytes after trimming whitespace; at least ${MIN_SECRET_BYTES} are required`,
      ctx,
    );
  }
  return secret;
}

/**
 * The file's bytes, as they are, once it is known to be a regular file only its owner may read or
 * write: the secret files' checks, for the callers that parse the content themselves (a PEM key).
 */
export function readPrivateFile(path: string, what: SecretFileKind): Buffer {
  const ctx = { path, what };
  let fd: number;
  try {
    // O_NOFOLLOW is not used: a key symlinked from a secrets mount is normal; fstat below checks
    // the file actually opened, so the permission check and the read see the same inode.
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecretFileError('missing', `${what} file ${path} does not exist`, ctx, { cause: err });
    throw new SecretFileError('unreadable', `${what} file ${path} cannot be opened (${code ?? String(err)})`, ctx, { cause: err });
  }
  let raw: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretFileError('unreadable', `${what} file ${path} is not a regular file`, ctx);
    const mode = st.mode & 0o777;
    if (mode & NON_OWNER_BITS) {
      throw new SecretFileError(
        'insecure-permissions',
        `${what} file ${path} has mode ${mode.toString(8).padStart(4, '0')}: group or others may read or write it; run: chmod 600 ${path}`,
        ctx,
      );
    }
    raw = readFileSync(fd);
  } catch (err) {
    if (err instanceof SecretFileError) throw err;
    throw new SecretFileError('unreadable', `${what} file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, ctx, { cause: err });
  } finally {
    closeSync(fd);
  }
  return raw;
}

/** Trims at the byte level so a binary key is never re-encoded through a string. */
function trimAsciiWhitespace(buf: Buffer): Buffer {
  const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
  let start = 0;
  let end = buf.length;
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  return Buffer.from(buf.subarray(start, end));
}
