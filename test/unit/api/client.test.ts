import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ApiError, parseApiUrl, readTokenFile } from '../../../src/api/client.js';

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ApiClient transport errors', () => {
  it('connection refused: status 0, unreachable, names the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = (await new ApiClient({ url, token: 't' }).status().catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(0);
    expect(err.code).toBe('unreachable');
    expect(err.message).toContain(url);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('missing unix socket: status 0, unreachable, names the socket', async () => {
    const url = 'unix:/nonexistent/tandem/api.sock';
    const err = (await new ApiClient({ url, token: 't' }).status().catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ status: 0, code: 'unreachable' });
    expect(err.message).toContain(url);
    expect(err.message).toContain('ENOENT');
  });

  it('times out on a server that never answers', async () => {
    const hang = createNetServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    try {
      const t0 = Date.now();
      const err = (await new ApiClient({ url, token: 't', timeoutMs: 150 }).status().catch((e: unknown) => e)) as ApiError;
      expect(err).toMatchObject({ status: 0, code: 'timeout' });
      expect(err.message).toContain(url);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      hang.close();
    }
  });

  it('non-JSON answers are bad-response; error bodies without the envelope keep the status', async () => {
    const srv = createServer((req, res) => {
      if (req.url === '/v1/status') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html>proxy</html>');
      } else {
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end('{}');
      }
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const c = new ApiClient({ url, token: 't' });
      await expect(c.status()).rejects.toMatchObject({ status: 200, code: 'bad-response' });
      await expect(c.suspend()).rejects.toMatchObject({ status: 502, code: 'http-502' });
    } finally {
      srv.close();
    }
  });

  it('sends the bearer token, trimmed', async () => {
    let auth: string | undefined;
    const srv = createServer((req, res) => {
      auth = req.headers.authorization;
      res.end('{"message":"ok"}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const c = new ApiClient({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, token: Buffer.from('  secret\n') });
      expect(await c.failover()).toEqual({ message: 'ok' });
      expect(auth).toBe('Bearer secret');
    } finally {
      srv.close();
    }
  });
});

describe('parseApiUrl', () => {
  it.each([
    ['http://127.0.0.1:9480', { kind: 'tcp', host: '127.0.0.1', port: 9480, tls: false }],
    ['http://127.0.0.1:9480/', { kind: 'tcp', host: '127.0.0.1', port: 9480, tls: false }],
    ['http://[::1]:9480', { kind: 'tcp', host: '::1', port: 9480, tls: false }],
    ['http://fw-a', { kind: 'tcp', host: 'fw-a', port: 80, tls: false }],
    ['https://10.0.0.1:9480', { kind: 'tcp', host: '10.0.0.1', port: 9480, tls: true }],
    ['https://fw-a', { kind: 'tcp', host: 'fw-a', port: 443, tls: true }],
    ['unix:/run/tandem/api.sock', { kind: 'unix', path: '/run/tandem/api.sock' }],
  ])('%s', (url, expected) => {
    expect(parseApiUrl(url)).toEqual(expected);
  });
  it.each(['https+unix://x:1', 'ftp://x', 'https://x:1/v1', 'unix:rel', '127.0.0.1:9480', 'http://x:1/v1', 'garbage'])('rejects %s', (url) => {
    expect(() => parseApiUrl(url)).toThrow(ApiError);
    try {
      parseApiUrl(url);
    } catch (e) {
      expect((e as ApiError).code).toBe('bad-url');
    }
  });
});

describe('readTokenFile', () => {
  it('trims and refuses empty files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-tok-'));
    try {
      await writeFile(join(dir, 'a'), 'abc\n');
      expect((await readTokenFile(join(dir, 'a'))).toString()).toBe('abc');
      await writeFile(join(dir, 'b'), '  \n');
      await expect(readTokenFile(join(dir, 'b'))).rejects.toThrow(/empty/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
