// The one error of the API client (client.ts): status 0 for transport failures (nothing answered,
// garbage did, or TLS failed), the HTTP status otherwise. Its own file so that client-tls.ts, which
// client.ts imports, can throw it too.
import type { ConfigIssue } from '../config/types.js';

export type ApiTransportCode =
  | 'bad-url' //       the URL is neither http(s)://host:port nor unix:/abs/path
  | 'bad-tls-file' //  a CA, certificate or key file given to the client cannot be read or used
  | 'unreachable' //   connection refused, no such socket, host unreachable, ...
  | 'tls' //           the TLS handshake failed: the server's certificate does not verify, or the server refused ours
  | 'timeout' //       no complete answer within the timeout
  | 'bad-response'; // the answer is not the JSON we expect

export class ApiError extends Error {
  /** HTTP status; 0 when no usable HTTP answer came back. */
  readonly status: number;
  /** The server's error code (e.g. "command-refused", "unauthorized") or an ApiTransportCode. */
  readonly code: string;
  /** For 'invalid-config': every problem the server found in the file. */
  readonly issues?: ConfigIssue[];

  constructor(status: number, code: string, message: string, options?: { cause?: unknown; issues?: ConfigIssue[] }) {
    super(message, options);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    if (options?.issues) this.issues = options.issues;
  }
}
