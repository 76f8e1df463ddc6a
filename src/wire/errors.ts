// Errors of the wire layer. Each carries a code (what the caller switches on and counts) and
// structured context (what the log line shows). A wire error on a stream is fatal to that stream:
// the caller closes the connection; on a datagram it drops that datagram only.

export type WireErrorCode =
  /** Bytes that are not a valid Envelope: garbage, truncated, no body, out-of-range value. */
  | 'malformed'
  /** A frame or datagram larger than the configured limit. */
  | 'oversize'
  /** A stream frame whose length prefix is 0: no sender of ours ever produces one. */
  | 'empty-frame'
  /** A local message that cannot be encoded (a bug in the caller, never peer input). */
  | 'invalid-message';

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: WireErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WireError';
    this.code = code;
    this.context = context;
  }
}

export function isWireError(err: unknown): err is WireError {
  return err instanceof WireError;
}

export type SecretFileErrorCode =
  /** The file does not exist. */
  | 'missing'
  /** Group or others may read or write it (mode & 0o077): a leaked key authenticates a peer. */
  | 'insecure-permissions'
  /** Fewer than the minimum bytes after trimming whitespace. */
  | 'too-short'
  /** Exists but cannot be read (not a regular file, EACCES, I/O error). */
  | 'unreadable';

export class SecretFileError extends Error {
  readonly code: SecretFileErrorCode;
  readonly path: string;
  readonly what: 'key' | 'token' | 'TLS key';

  constructor(code: SecretFileErrorCode, message: string, ctx: { path: string; what: 'key' | 'token' | 'TLS key' }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretFileError';
    this.code = code;
    this.path = ctx.path;
    this.what = ctx.what;
  }
}

export function isSecretFileError(err: unknown): err is SecretFileError {
  return err instanceof SecretFileError;
}
