import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { ApiClient, ApiError, parseApiUrl } from '../../../src/api/client.js';
import { parseListen, listenHttp } from '../../../src/net/http-listen.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController, fixedStatus } from './fixtures.js';

const TOKEN = 'test-token-0123456789abcdef';
const log = pino({ level: 'silent' });

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** A raw HTTP request against `address` ("http://h:p" or "unix:/p"). */
function raw(address: string, method: string, path: string, opts: { token?: string | null; body?: string | Buffer } = {}): Promise<Raw> {
  const ep = parseApiUrl(address);
  const headers: Record<string, string | number> = {};
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      { method, path, headers, agent: false, ...(ep.kind === 'unix' ? { socketPath: ep.path } : { host: ep.host, port: ep.port }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function apiCount(text: string, route: string, code: number): number {
  const m = new RegExp(`^tandem_api_requests_total\\{route="${route.replace(/\//g, '\\/')}",code="${code}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

for (const transport of ['tcp', 'unix'] as const) {
  describe(`API server over ${transport}`, () => {
    let dir: string;
    let server: ApiServer;
    let controller: FakeController;
    let metrics: Metrics;
    let dataplane: () => Promise<unknown>;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tandem-api-'));
      controller = new FakeController();
      metrics = new Metrics({ defaultMetrics: false });
      dataplane = async () => ({ rx: 5 });
      server = await startApiServer({
        listen: transport === 'tcp' ? '127.0.0.1:0' : `unix:${join(dir, 'api.sock')}`,
        token: Buffer.from(TOKEN),
        controller,
        metrics,
        log,
        dataplaneStatus: () => dataplane(),
        dataplaneTimeoutMs: 100,
      });
    });
    afterEach(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('reports its address', () => {
      if (transport === 'tcp') expect(server.address).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      else expect(server.address).toBe(`unix:${join(dir, 'api.sock')}`);
    });

    it('401 without a token, with a wrong token, with a non-bearer scheme; counted', async () => {
      for (const token of [null, 'wrong', `${TOKEN}x`, '']) {
        const r = await raw(server.address, 'GET', '/v1/status', { token });
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('unauthorized');
        expect(r.headers['www-authenticate']).toContain('Bearer');
      }
      // unknown routes are also 401 before auth: nothing is learned without the token
      expect((await raw(server.address, 'GET', '/nope', { token: null })).status).toBe(401);
      const text = await metrics.text();
      expect(apiCount(text, '/v1/status', 401)).toBe(4);
      expect(apiCount(text, 'unknown', 401)).toBe(1);
    });

    it('GET /v1/status returns the controller status and the dataplane', async () => {
      const r = await raw(server.address, 'GET', '/v1/status');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toContain('application/json');
      expect(r.body).toEqual({ ...fixedStatus(), dataplane: { rx: 5 } });
      expect(apiCount(await metrics.text(), '/v1/status', 200)).toBe(1);
    });

    it('a hanging dataplane costs a timeout, not the API', async () => {
      dataplane = () => new Promise(() => {});
      const t0 = Date.now();
      const r = await raw(server.address, 'GET', '/v1/status');
      expect(r.status).toBe(200);
      expect(r.body.dataplane).toEqual({ error: 'timeout' });
      expect(r.body.local.name).toBe('fw-a');
      expect(Date.now() - t0).toBeLessThan(2000);
    });

    it('a failing dataplane is reported in the status', async () => {
      dataplane = async () => {
        throw new Error('worker gone');
      };
      const r = await raw(server.address, 'GET', '/v1/status');
      expect(r.body.dataplane).toEqual({ error: 'worker gone' });
    });

    it('POST commands reach the controller', async () => {
      for (const cmd of ['suspend', 'functional', 'failover']) {
        const r = await raw(server.address, 'POST', `/v1/${cmd}`);
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ message: `${cmd} done` });
      }
      expect(controller.calls).toEqual(['suspend', 'functional', 'failover']);
      // a JSON object body is accepted
      expect((await raw(server.address, 'POST', '/v1/suspend', { body: '{"reason":"maintenance"}' })).status).toBe(200);
    });

    it('409 when the controller refuses', async () => {
      controller.next = 'refuse';
      const r = await raw(server.address, 'POST', '/v1/failover');
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ error: { code: 'command-refused', message: 'failover refused: not active' } });
      expect(apiCount(await metrics.text(), '/v1/failover', 409)).toBe(1);
    });

    it('500 on a handler exception, and the server keeps serving', async () => {
      controller.next = 'throw';
      let r = await raw(server.address, 'POST', '/v1/suspend');
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('internal');
      controller.statusThrows = true;
      r = await raw(server.address, 'GET', '/v1/status');
      expect(r.status).toBe(500);
      controller.statusThrows = false;
      expect((await raw(server.address, 'GET', '/v1/status')).status).toBe(200);
    });

    it('404 unknown route, 405 wrong method', async () => {
      let r = await raw(server.address, 'GET', '/v1/nope');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not-found');
      r = await raw(server.address, 'GET', '/__proto__');
      expect(r.status).toBe(404);
      r = await raw(server.address, 'POST', '/v1/status');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET');
      r = await raw(server.address, 'GET', '/v1/failover');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('POST');
      const text = await metrics.text();
      expect(apiCount(text, 'unknown', 404)).toBe(2);
      expect(apiCount(text, '/v1/status', 405)).toBe(1);
    });

    it('400 on bad JSON or a non-object body', async () => {
      for (const body of ['{not json', '[1,2]', '42', 'null']) {
        const r = await raw(server.address, 'POST', '/v1/suspend', { body });
        expect(r.status, body).toBe(400);
        expect(r.body.error.code).toBe('bad-json');
      }
      expect(controller.calls).toEqual([]);
    });

    it('413 on a body over 64 KiB (declared or streamed), and the command is not run', async () => {
      const big = Buffer.alloc(64 * 1024 + 1, 0x20);
      const r = await raw(server.address, 'POST', '/v1/suspend', { body: big });
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('body-too-large');
      // chunked (no Content-Length): the limit applies while streaming
      const ep = parseApiUrl(server.address);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            method: 'POST',
            path: '/v1/suspend',
            headers: { Authorization: `Bearer ${TOKEN}` },
            agent: false,
            ...(ep.kind === 'unix' ? { socketPath: ep.path } : { host: ep.host, port: ep.port }),
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write(Buffer.alloc(8192, 0x20));
        req.end();
      });
      expect(status).toBe(413);
      expect(controller.calls).toEqual([]);
      // exactly 64 KiB is fine (whitespace around an object)
      const ok = Buffer.alloc(64 * 1024, 0x20);
      ok.write('{}', 0);
      expect((await raw(server.address, 'POST', '/v1/suspend', { body: ok })).status).toBe(200);
    });

    it('unparseable HTTP still gets a JSON 400, counted', async () => {
      const { connect } = await import('node:net');
      const ep = parseApiUrl(server.address);
      const text = await new Promise<string>((resolve, reject) => {
        const sock = ep.kind === 'unix' ? connect(ep.path) : connect(ep.port, ep.host);
        let got = '';
        sock.on('data', (d) => (got += d.toString()));
        sock.on('end', () => resolve(got));
        sock.on('error', reject);
        sock.write('THIS IS NOT HTTP\r\n\r\n');
      });
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'bad-request', message: 'malformed HTTP request' } });
      expect(apiCount(await metrics.text(), 'unknown', 400)).toBe(1);
    });

    it('the client talks to it', async () => {
      const client = new ApiClient({ url: server.address, token: `${TOKEN}\n` });
      const st = await client.status();
      expect(st.local.state).toBe('active');
      expect(st.dataplane).toEqual({ rx: 5 });
      expect(await client.suspend()).toEqual({ message: 'suspend done' });
      expect(await client.functional()).toEqual({ message: 'functional done' });
      controller.next = 'refuse';
      const err = await client.failover().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 409, code: 'command-refused', message: 'failover refused: not active' });
      const bad = new ApiClient({ url: server.address, token: 'nope' });
      await expect(bad.status()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    });
  });
}

describe('API server options', () => {
  it('refuses an empty token', async () => {
    await expect(
      startApiServer({ listen: '127.0.0.1:0', token: Buffer.alloc(0), controller: new FakeController(), metrics: new Metrics({ defaultMetrics: false }), log }),
    ).rejects.toThrow(/empty/);
  });

  it('unix socket: mode 0600, stale file replaced, live socket and regular file refused, removed on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-api-'));
    const path = join(dir, 'api.sock');
    try {
      const opts = { token: Buffer.from(TOKEN), controller: new FakeController(), metrics: new Metrics({ defaultMetrics: false }), log };
      // a live socket (someone listens on it): refused, not stolen
      const live = createNetServer();
      await new Promise<void>((r) => live.listen(path, r));
      await expect(startApiServer({ ...opts, listen: `unix:${path}` })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await new Promise<void>((r) => live.close(() => r()));

      // a stale socket file, as a crashed daemon leaves it (SIGKILL: nobody unlinks)
      const made = spawnSync(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      expect(made.signal).toBe('SIGKILL');
      expect((await stat(path)).isSocket()).toBe(true);
      const server = await startApiServer({ ...opts, listen: `unix:${path}` });
      expect(((await stat(path)).mode & 0o777).toString(8)).toBe('600');
      const client = new ApiClient({ url: server.address, token: TOKEN });
      expect((await client.status()).local.name).toBe('fw-a');
      await server.close();
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });

      // a regular file is never deleted
      await writeFile(path, 'precious');
      await expect(startApiServer({ ...opts, listen: `unix:${path}` })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect((await stat(path)).isFile()).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9480', { kind: 'tcp', host: '127.0.0.1', port: 9480 }],
    ['0.0.0.0:0', { kind: 'tcp', host: '0.0.0.0', port: 0 }],
    ['localhost:65535', { kind: 'tcp', host: 'localhost', port: 65535 }],
    ['[::1]:9480', { kind: 'tcp', host: '::1', port: 9480 }],
    ['unix:/run/tandem/api.sock', { kind: 'unix', path: '/run/tandem/api.sock' }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each([
    '9480',
    ':9480',
    '127.0.0.1',
    '127.0.0.1:65536',
    '127.0.0.1:-1',
    '127.0.0.1:http',
    'unix:relative.sock',
    'unix:',
    '::1:9480',
    `unix:/${'x'.repeat(120)}`,
    'a b:1',
  ])('rejects %s', (text) => {
    expect(() => parseListen(text)).toThrow(/listen address/);
  });

  it('listenHttp reports the real port for port 0', async () => {
    const { createServer } = await import('node:http');
    const s = createServer();
    const url = await listenHttp(s, '127.0.0.1:0');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    await new Promise<void>((r) => s.close(() => r()));
  });
});
