// The API's and the metrics listener's bounds reached on purpose: the request rate limit (429,
// Retry-After, counted by status) and the concurrent-connection caps (counted, refused, the
// server still serving once the holders leave).
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { API_MAX_CONNECTIONS, startApiServer, type ApiServer } from '../../../src/api/server.js';
import { DEFAULT_RATE_LIMIT } from '../../../src/api/rate-limit.js';
import { parseApiUrl } from '../../../src/api/client.js';
import { METRICS_MAX_CONNECTIONS, startMetricsServer, type MetricsServer } from '../../../src/metrics/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { parseConfig } from '../../../src/config/load.js';
import { FakeController } from './fixtures.js';
import { boxA } from '../config/fixture.js';
import { stringify } from 'yaml';

const TOKEN = 'test-token-0123456789abcdef';
const log = pino({ level: 'silent' });

function get(address: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const ep = parseApiUrl(address);
  if (ep.kind !== 'tcp') throw new Error('tcp only');
  return new Promise((resolve, reject) => {
    const req = request({ method: 'GET', path, host: ep.host, port: ep.port, agent: false, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res.headers['content-type']?.includes('json') ? JSON.parse(text) : text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function counter(text: string, line: RegExp): number {
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Opens n TCP connections and waits until each is accepted (or closed by the server). */
async function hold(address: string, n: number): Promise<Socket[]> {
  const ep = parseApiUrl(address);
  if (ep.kind !== 'tcp') throw new Error('tcp only');
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(ep.port, ep.host, () => resolve(s));
          s.on('error', reject);
        }),
    ),
  );
}

/** Resolves once the server closes `s` (refused at its connection cap). */
function closedByServer(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.on('close', () => resolve());
    s.on('end', () => resolve());
    s.resume();
  });
}

const toClose: Array<{ close(): Promise<void> }> = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of toClose.splice(0)) await c.close();
});

async function api(metrics: Metrics, rateLimit?: Parameters<typeof startApiServer>[0]['rateLimit']): Promise<ApiServer> {
  const server = await startApiServer({ listen: '127.0.0.1:0', token: Buffer.from(TOKEN), controller: new FakeController(), metrics, log, rateLimit });
  toClose.push(server);
  return server;
}

describe('API request rate limit', () => {
  it('answers 429 with Retry-After past the burst, counts it by status, serves again after the refill', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await api(metrics, { perClientPerS: 2, perClientBurst: 5, globalPerS: 1000, globalBurst: 1000, maxClients: 16 });
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await get(server.address, '/v1/status'));
    expect(answers.map((a) => a.status).filter((s) => s === 200)).toHaveLength(5);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(7);
    expect(refused[0].headers['retry-after']).toBe('1');
    expect(refused[0].body.error.code).toBe('rate-limited');
    const text = await metrics.text();
    expect(counter(text, /^tandem_api_requests_total\{route="\/v1\/status",code="429"\} (\d+)$/m)).toBe(7);
    expect(counter(text, /^tandem_api_requests_total\{route="\/v1\/status",code="200"\} (\d+)$/m)).toBe(5);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get(server.address, '/v1/status')).status).toBe(200);
  });

  it('limits unauthenticated requests too (a token guesser), before the token check', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await api(metrics, { perClientPerS: 1, perClientBurst: 2, globalPerS: 1000, globalBurst: 1000, maxClients: 16 });
    const ep = parseApiUrl(server.address) as { host: string; port: number };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const req = request({ host: ep.host, port: ep.port, path: '/v1/status', agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        }),
      );
    }
    expect(statuses).toEqual([401, 401, 429, 429, 429]);
  });

  it('without the option nothing is limited (embedded servers and tools decide)', async () => {
    const server = await api(new Metrics({ defaultMetrics: false }));
    for (let i = 0; i < 150; i++) expect((await get(server.address, '/v1/status')).status).toBe(200);
  });

  it('the config defaults are the limiter defaults', () => {
    const doc = boxA();
    const parsed = parseConfig(stringify(doc));
    expect(parsed.device.api.rateLimit).toEqual(DEFAULT_RATE_LIMIT);
  });
});

describe('request size bounds', () => {
  it('headers over 16 KiB: 431 as JSON, counted, the server still serving', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await api(metrics);
    const ep = parseApiUrl(server.address) as { host: string; port: number };
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(ep.port, ep.host, () => s.write(`GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('close', () => resolve(text));
      s.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('"request headers too large"');
    expect(counter(await metrics.text(), /^tandem_api_requests_total\{route="unknown",code="431"\} (\d+)$/m)).toBe(1);
    expect((await get(server.address, '/v1/status')).status).toBe(200);
  });
});

describe('concurrent connection caps', () => {
  it(`the API refuses connection ${API_MAX_CONNECTIONS + 1}, counts it, and serves again once the others leave`, async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await api(metrics);
    sockets.push(...(await hold(server.address, API_MAX_CONNECTIONS)));
    const [extra] = await hold(server.address, 1);
    sockets.push(extra);
    await closedByServer(extra);
    expect(counter(await metrics.text(), /^tandem_connections_refused_total\{listener="api"\} (\d+)$/m)).toBe(1);
    for (const s of sockets.splice(0)) s.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await get(server.address, '/v1/status').then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  it(`the metrics listener refuses connection ${METRICS_MAX_CONNECTIONS + 1} and counts it`, async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server: MetricsServer = await startMetricsServer('127.0.0.1:0', metrics);
    toClose.push(server);
    sockets.push(...(await hold(server.address, METRICS_MAX_CONNECTIONS)));
    const [extra] = await hold(server.address, 1);
    sockets.push(extra);
    await closedByServer(extra);
    expect(counter(await metrics.text(), /^tandem_connections_refused_total\{listener="metrics"\} (\d+)$/m)).toBe(1);
    for (const s of sockets.splice(0)) s.destroy();
    let text = '';
    for (let i = 0; i < 50 && !text.includes('tandem_'); i++) {
      text = await get(server.address, '/metrics').then(
        (r) => String(r.body),
        () => '',
      );
      if (!text.includes('tandem_')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toContain('tandem_connections_refused_total{listener="metrics"}');
  });
});
