// Listener addresses of the management API and the metrics endpoint:
//   "host:port"        TCP, e.g. "127.0.0.1:9480", "[::1]:9480", "0.0.0.0:9481" (port 0 = any free port)
//   "unix:/abs/path"   a unix socket, mode 0600 (only the daemon's user and root can connect)
import { lstat, unlink, chmod } from 'node:fs/promises';
import { connect } from 'node:net';
import { isAbsolute } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/** Either kind of HTTP server (the API serves HTTPS when given a certificate). */
type Server = HttpServer | HttpsServer;

export type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export class ListenError extends Error {
  readonly code = 'bad-listen-address';
  constructor(
    readonly text: string,
    expected: string,
  ) {
    super(`listen address ${JSON.stringify(text)}: expected ${expected}`);
    this.name = 'ListenError';
  }
}

const EXPECTED = '"host:port" (port 0-65535) or "unix:/absolute/path"';

export function parseListen(text: string): ListenTarget {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!isAbsolute(path) || path.includes('\0')) throw new ListenError(text, EXPECTED);
    // sun_path holds 108 bytes on Linux, the terminating NUL included
    if (Buffer.byteLength(path) > 107) throw new ListenError(text, 'a unix socket path of at most 107 bytes');
    return { kind: 'unix', path };
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) throw new ListenError(text, EXPECTED);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':') || !/^[A-Za-z0-9.-]+$/.test(host)) throw new ListenError(text, EXPECTED);
  }
  if (!/^\d{1,5}$/.test(portText)) throw new ListenError(text, EXPECTED);
  const port = Number(portText);
  if (port > 65535) throw new ListenError(text, EXPECTED);
  return { kind: 'tcp', host, port };
}

/** The URL a client uses to reach a target: "http://host:port" ("https://" for TLS) or "unix:/path". */
export function targetUrl(target: ListenTarget, scheme: 'http' | 'https' = 'http'): string {
  if (target.kind === 'unix') return `unix:${target.path}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${scheme}://${host}:${target.port}`;
}

/**
 * Start `server` listening on `text`. Resolves with the URL it is reachable at (the real port when
 * 0 was asked). For a unix socket: a stale socket file left by a crashed daemon is removed first,
 * but a live one (something accepts connections on it) or a file that is not a socket is never
 * touched: that is EADDRINUSE. The socket is chmod 0600 once listening; put it in a 0700 directory
 * to close the short window before the chmod.
 */
export async function listenHttp(server: Server, text: string): Promise<string> {
  const target = parseListen(text);
  if (target.kind === 'unix') await removeStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (target.kind === 'unix') server.listen(target.path, done);
    else server.listen(target.port, target.host, done);
  });
  if (target.kind === 'unix') {
    await chmod(target.path, 0o600);
    return targetUrl(target);
  }
  const addr = server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : target.port;
  return targetUrl({ ...target, port }, 'setSecureContext' in server ? 'https' : 'http');
}

/** Close `server` (and its idle keep-alive connections); for a unix socket, remove the file. */
export async function closeHttp(server: Server, text: string): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  const target = parseListen(text);
  if (target.kind === 'unix') await unlink(target.path).catch(() => undefined);
}

async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw inUse(path, 'exists and is not a socket');
  if (await socketIsLive(path)) throw inUse(path, 'is in use by a running process');
  await unlink(path);
}

function inUse(path: string, why: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`cannot listen on unix:${path}: ${why}`);
  err.code = 'EADDRINUSE';
  return err;
}

function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const finish = (live: boolean): void => {
      sock.destroy();
      resolve(live);
    };
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
    // no answer within a second: something holds it (a full backlog); do not steal it
    sock.setTimeout(1000, () => finish(true));
  });
}
