// Client of the management API, used by the CLI and the lab. Every failure is an ApiError:
// status 0 for transport failures (nothing answered, or garbage did), the HTTP status otherwise.
import { request, type RequestOptions } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { ConfigIssue } from '../config/types.js';
import {
  ROUTE_CONFIG,
  ROUTE_CONFIG_COMMIT,
  ROUTE_CONFIG_PEER,
  ROUTE_CONFIG_VALIDATE,
  ROUTE_COUNTERS,
  ROUTE_FAILOVER,
  ROUTE_FUNCTIONAL,
  ROUTE_SESSIONS,
  ROUTE_STATUS,
  ROUTE_SUSPEND,
  type CommandResponse,
  type CountersResponse,
  type CommitResponse,
  type ConfigResponse,
  type ConfigTextRequest,
  type PeerConfigResponse,
  type ValidateResponse,
  type SessionsResponse,
  type StatusResponse,
} from './protocol.js';
import { isSessionList, sessionQueryString, type SessionFilter } from './sessions.js';

export type ApiTransportCode =
  | 'bad-url' //       the URL is neither http://host:port nor unix:/abs/path
  | 'unreachable' //   connection refused, no such socket, host unreachable, ...
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

export type ApiEndpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** "http://host[:port]" (port 80 if absent) or "unix:/abs/path". Throws ApiError code bad-url. */
export function parseApiUrl(url: string): ApiEndpoint {
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length);
    if (!path.startsWith('/')) throw new ApiError(0, 'bad-url', `bad API URL ${JSON.stringify(url)}: expected unix:/absolute/path`);
    return { kind: 'unix', path };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError(0, 'bad-url', `bad API URL ${JSON.stringify(url)}: expected http://host:port or unix:/absolute/path`);
  }
  if (parsed.protocol !== 'http:' || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.username) {
    throw new ApiError(0, 'bad-url', `bad API URL ${JSON.stringify(url)}: expected http://host:port or unix:/absolute/path`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port: parsed.port === '' ? 80 : Number(parsed.port) };
}

/** The token file's content without surrounding whitespace (editors add a final newline). */
export async function readTokenFile(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  if (text === '') throw new Error(`token file ${path} is empty`);
  return Buffer.from(text, 'utf8');
}

/**
 * Answers bigger than this are refused: a status is a few KiB; a full session listing (10 000
 * sessions of ~400 bytes of JSON) about 4 MB.
 */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface ApiClientOptions {
  url: string;
  token: Buffer | string;
  /** Per request, connection included. Default 5000 ms. */
  timeoutMs?: number;
}

export class ApiClient {
  readonly url: string;
  private readonly endpoint: ApiEndpoint;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.url = opts.url;
    this.endpoint = parseApiUrl(opts.url);
    this.token = typeof opts.token === 'string' ? opts.token.trim() : opts.token.toString('utf8').trim();
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  status(): Promise<StatusResponse> {
    return this.call<StatusResponse>('GET', ROUTE_STATUS);
  }

  suspend(): Promise<CommandResponse> {
    return this.call<CommandResponse>('POST', ROUTE_SUSPEND);
  }

  functional(): Promise<CommandResponse> {
    return this.call<CommandResponse>('POST', ROUTE_FUNCTIONAL);
  }

  failover(): Promise<CommandResponse> {
    return this.call<CommandResponse>('POST', ROUTE_FAILOVER);
  }

  /**
   * GET /v1/sessions. The server validates the filter (a bad one is an ApiError 400 bad-query);
   * `limit` is the server's default (100) when absent.
   */
  async sessions(filter: SessionFilter = {}, limit?: number): Promise<SessionsResponse> {
    const list = await this.call<unknown>('GET', `${ROUTE_SESSIONS}${sessionQueryString(filter, limit)}`);
    if (!isSessionList(list)) throw new ApiError(200, 'bad-response', `tandem API at ${this.url} answered a malformed session list`);
    return list;
  }

  /** GET /v1/counters: the dataplane's cumulative counters (the lab demo's per-box rates divide two of them). */
  counters(): Promise<CountersResponse> {
    return this.call<CountersResponse>('GET', ROUTE_COUNTERS);
  }

  /** GET /v1/config: the running shared config and the pair's sync state. */
  config(): Promise<ConfigResponse> {
    return this.call<ConfigResponse>('GET', ROUTE_CONFIG);
  }

  /** GET /v1/config/peer: the peer's running shared config, fetched over HA1 by the daemon. */
  peerConfig(): Promise<PeerConfigResponse> {
    return this.call<PeerConfigResponse>('GET', ROUTE_CONFIG_PEER);
  }

  /** POST /v1/config/commit: an invalid file is an ApiError 422 'invalid-config' with `issues`. */
  commitConfig(text: string, source: string): Promise<CommitResponse> {
    return this.call<CommitResponse>('POST', ROUTE_CONFIG_COMMIT, { text, source } satisfies ConfigTextRequest);
  }

  /** POST /v1/config/validate: checks a file against the running box (its device half) without applying it. */
  validateConfig(text: string, source: string): Promise<ValidateResponse> {
    return this.call<ValidateResponse>('POST', ROUTE_CONFIG_VALIDATE, { text, source } satisfies ConfigTextRequest);
  }

  /** One request; resolves with the parsed JSON of a 2xx answer. */
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const options: RequestOptions = {
      method,
      path,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: 'application/json',
        ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
      },
      agent: false,
    };
    if (this.endpoint.kind === 'unix') options.socketPath = this.endpoint.path;
    else {
      options.host = this.endpoint.host;
      options.port = this.endpoint.port;
    }

    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (err: ApiError | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value as T);
      };
      const timer = setTimeout(
        () => settle(new ApiError(0, 'timeout', `tandem API at ${this.url} did not answer ${method} ${path} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            settle(new ApiError(res.statusCode ?? 0, 'bad-response', `tandem API at ${this.url} sent more than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => settle(this.transportError(err)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            settle(new ApiError(status, 'bad-response', `tandem API at ${this.url} answered ${status} with non-JSON: ${snippet(text)}`));
            return;
          }
          if (status >= 200 && status < 300) return settle(null, parsed as T);
          const e = (parsed as { error?: { code?: unknown; message?: unknown; issues?: unknown } } | null)?.error;
          const code = typeof e?.code === 'string' ? e.code : `http-${status}`;
          const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
          const issues = Array.isArray(e?.issues) ? (e.issues as ConfigIssue[]).filter(isIssue) : undefined;
          settle(new ApiError(status, code, message, issues ? { issues } : undefined));
        });
      });
      req.on('error', (err) => settle(this.transportError(err)));
      req.end(payload);
    });
  }

  private transportError(err: NodeJS.ErrnoException): ApiError {
    const where = `tandem API at ${this.url}`;
    const why: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is the daemon running?)',
      ENOENT: 'no such socket (is the daemon running?)',
      EACCES: 'permission denied',
      ECONNRESET: 'connection reset',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      ENOTFOUND: 'unknown host',
      EAI_AGAIN: 'cannot resolve host',
      ETIMEDOUT: 'connection timed out',
    };
    const reason = (err.code && why[err.code]) ?? err.message;
    return new ApiError(0, 'unreachable', `cannot reach ${where}: ${reason}${err.code ? ` (${err.code})` : ''}`, { cause: err });
  }
}

function isIssue(v: unknown): v is ConfigIssue {
  return v !== null && typeof v === 'object' && typeof (v as ConfigIssue).path === 'string' && typeof (v as ConfigIssue).expected === 'string';
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one);
}
