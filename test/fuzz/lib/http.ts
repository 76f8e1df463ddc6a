// Raw HTTP/1.1 requests for the API fuzzer, written byte by byte on a TCP socket (node:http's
// client refuses most of what a fuzzer wants to send), and a small response reader.
import { connect } from 'node:net';
import type { Prng } from './prng.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` (in `chunks` pieces) and reads one response; rejects on timeout or a close without one. */
export function rawRequest(port: number, request: Buffer, opts: { chunks?: number; timeoutMs?: number; head?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${opts.timeoutMs ?? 15_000} ms`)), opts.timeoutMs ?? 15_000);
    const tryParse = (final: boolean) => {
      // interim answers (100 Continue to an Expect) come before the real one
      while (/^HTTP\/1\.[01] 1\d\d /.test(buf.subarray(0, 16).toString('latin1')) && buf.indexOf('\r\n\r\n') >= 0)
        buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final) finish(new Error(`connection closed without a response (${buf.length} bytes: ${JSON.stringify(buf.toString('latin1').slice(0, 200))})`));
        return;
      }
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
      if (!m) return finish(new Error(`bad status line ${JSON.stringify(head[0])}`));
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = opts.head ? 0 : Number(headers['content-length'] ?? NaN);
      const body = buf.subarray(end + 4);
      if (Number.isFinite(len) ? body.length >= len : final) {
        finish(null, { status: Number(m[1]), headers, body: body.subarray(0, Number.isFinite(len) ? len : body.length).toString('utf8') });
      }
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    sock.on('end', () => tryParse(true));
    sock.on('close', () => tryParse(true));
    let writeError: Error | null = null;
    sock.on('error', (err) => {
      // the server may close while we still send (an answer before the whole body): read what came
      writeError = err;
      if (buf.length > 0) tryParse(true);
      else finish(Object.assign(new Error(`${err.message} before any answer`), { code: (err as NodeJS.ErrnoException).code }));
    });
    const dribble = async (): Promise<void> => {
      const n = Math.max(1, opts.chunks ?? 1);
      const step = Math.ceil(request.length / n);
      for (let off = 0; off < request.length && !done && writeError === null; off += step) {
        sock.write(request.subarray(off, off + step));
        if (n > 1) await new Promise((r) => setTimeout(r, 2));
      }
    };
    sock.on('connect', () => void dribble());
  });
}

const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'FOO', 'get', 'G\u0000T'];

const BODIES: ((rng: Prng) => string | Buffer)[] = [
  () => '',
  () => '{',
  () => '{"text": ',
  () => 'null',
  () => '[]',
  () => '42',
  () => '"text"',
  () => '{"text": 5, "source": []}',
  () => '{"text": "device: {}", "source": "x"}',
  () => '{"text": "device: {}", "source": "x", "extra": 1}',
  () => '{"__proto__": {"polluted": true}, "text": "a", "source": "b"}',
  () => '['.repeat(100_000),
  (rng) => JSON.stringify({ text: 'x'.repeat(rng.pick([10, 70 * 1024, 3 * 1024 * 1024 + 10])), source: 's' }),
  (rng) => rng.bytes(rng.int(2000)),
  () => '\uffff\ud800',
  (rng) => Buffer.alloc(rng.pick([64 * 1024 + 1, 200 * 1024]), 0x61),
];

function query(rng: Prng): string {
  if (rng.chance(0.4)) return '';
  const parts = Array.from({ length: rng.range(1, 4) }, () =>
    rng.pick([
      'limit=-1',
      'limit=0',
      'limit=abc',
      'limit=1e9',
      'limit=10',
      'protocol=tcp',
      'protocol=sctp',
      'port=70000',
      'port=80',
      'port=-5',
      'src=10.0.1.10',
      'src=300.1.1.1',
      'dst=::1',
      'state=established',
      'nat=source',
      'rule=%zz',
      '%',
      '=',
      '&&',
      'a[]=1',
      `x=${'y'.repeat(5000)}`,
    ]),
  );
  return `?${parts.join('&')}`;
}

/** A random request: method, path (routes and not), query, auth, headers and body. */
export function randomRequest(rng: Prng, routes: readonly string[], token: string): { bytes: Buffer; head: boolean; label: string } {
  const method = rng.pick(METHODS);
  const path = rng.chance(0.75)
    ? rng.pick(routes)
    : rng.pick([
        '/',
        '/v1',
        '/v1/',
        '/v2/status',
        '/v1/status/',
        '//v1/status',
        '/v1/../v1/status',
        '*',
        'http://x/v1/status',
        '/%00',
        `/${'a'.repeat(9000)}`,
        '/v1/config/commit/x',
        '/status',
        '/metrics',
      ]);
  const auth = rng.chance(0.8) ? `Bearer ${token}` : rng.pick(['', 'Bearer', `Bearer ${token}x`, 'Basic YTpi', `bearer  ${token}`, `Bearer ${token} extra`]);
  const body = rng.pick(BODIES)(rng);
  const bodyBuf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path}${query(rng)} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (auth !== '' || rng.chance(0.5)) lines.push(`Authorization: ${auth}`);
  const lenMode = rng.int(10);
  if (bodyBuf.length > 0 || rng.chance(0.3)) {
    if (lenMode === 0) lines.push('Transfer-Encoding: chunked');
    else if (lenMode === 1) lines.push(`Content-Length: ${rng.pick(['-1', 'abc', '1e3', '99999999999'])}`);
    else lines.push(`Content-Length: ${bodyBuf.length}`);
  }
  if (rng.chance(0.2))
    lines.push(
      rng.pick([
        'Content-Type: text/plain',
        'Expect: 100-continue',
        `X-Big: ${'h'.repeat(rng.pick([100, 20_000]))}`,
        'Bad Header',
        ': empty-name',
        'Upgrade: websocket\r\nConnection: Upgrade',
        'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings',
      ]),
    );
  lines.push('Connection: close');
  let payload = bodyBuf;
  if (lenMode === 0 && bodyBuf.length > 0) payload = Buffer.concat([Buffer.from(`${bodyBuf.length.toString(16)}\r\n`), bodyBuf, Buffer.from('\r\n0\r\n\r\n')]);
  const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
  return { bytes, head: method === 'HEAD', label: `${method} ${path.slice(0, 40)}` };
}
