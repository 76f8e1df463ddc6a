// Client of the management API, used by the CLI and the lab. Every failure is an ApiError:
// status 0 for transport failures (nothing answered, garbage did, TLS failed), the HTTP status
// otherwise. http://, https:// (a CA, and a client certificate for mutual TLS) or unix:.
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

import { ApiError } from './api-error.js';
import { clientTlsOptions, hasTlsFiles, tlsFailureReason, type ApiTlsFiles, type ClientTlsOptions } from './client-tls.js';

export { ApiError, type ApiTransportCode } from './api-error.js';
export { clientTlsOptions, type ApiTlsFiles, type ClientTlsOptions } from './client-tls.js';

export type ApiEndpoint = { kind: 'tcp'; host: string; port: number; tls: boolean } | { kind: 'unix'; path: string };

const URL_FORMS = 'http://host:port, https://host:port or unix:/absolute/path';

/** "http://host[:port]" (port 80 if absent), "https://host[:port]" (443) or "unix:/abs/path". Throws ApiError code bad-url. */
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
    throw new ApiError(0, 'bad-url', `bad API URL ${JSON.stringify(url)}: expected ${URL_FORMS}`);
  }
  const tls = parsed.protocol === 'https:';
  if ((parsed.protocol !== 'http:' && !tls) || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.username) {
    throw new ApiError(0, 'bad-url', `bad API URL ${JSON.stringify(url)}: expected ${URL_FORMS}`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port: parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port), tls };
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

export interface ApiClientOptions extends ApiTlsFiles {
  url: string;
  token: Buffer | string;
  /** Per request, connection included. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Reach the URL's host through this unix socket instead (a relay into another network namespace,
   * as the lab's): TLS still runs end to end and still verifies the URL's host.
   */
  socketPath?: string;
}

export class ApiClient {
  readonly url: string;
  private readonly endpoint: ApiEndpoint;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly tls: ClientTlsOptions | null;
  private readonly socketPath: string | undefined;

  /** Reads the TLS files given (an unreadable one is an ApiError 'bad-tls-file'). */
  constructor(opts: ApiClientOptions) {
    this.url = opts.url;
    this.endpoint = parseApiUrl(opts.url);
    const secure = this.endpoint.kind === 'tcp' && this.endpoint.tls;
    if (!secure && hasTlsFiles(opts)) {
      throw new ApiError(0, 'bad-url', `API URL ${opts.url} is not https://: a CA, client certificate or key is used only with https:// URLs`);
    }
    this.tls = secure ? clientTlsOptions(opts) : null;
    this.socketPath = opts.socketPath;
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
      if (this.socketPath !== undefined) options.socketPath = this.socketPath;
    }
    const request = this.tls ? httpsRequest : httpRequest;
    // rejectUnauthorized is Node's default; stated because the whole point is that it holds
    if (this.tls) Object.assign(options, this.tls, { rejectUnauthorized: true });

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
      // TLS 1.3 finishes the client's side of the handshake before the server has judged our
      // certificate: a refusal then arrives as a reset of the "established" connection
      let secured = false;
      req.on('socket', (socket) => socket.once('secureConnect', () => (secured = true)));
      req.on('error', (err) => settle(this.transportError(err, secured)));
      req.end(payload);
    });
  }

  private transportError(err: NodeJS.ErrnoException, secured = false): ApiError {
    const where = `tandem API at ${this.url}`;
    const tlsReason = this.tls ? tlsFailureReason(err, secured && this.tls.cert !== undefined) : null;
    if (tlsReason !== null) return new ApiError(0, 'tls', `TLS with ${where} failed: ${tlsReason} (${err.code})`, { cause: err });
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
