import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { pino } from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { ApiClient, ApiError, parseApiUrl } from '../../../src/api/client.js';
import {
  SessionQueryError,
  SessionsUnavailable,
  isSessionList,
  parseSessionQuery,
  sessionQueryString,
  type SessionFilter,
  type SessionList,
} from '../../../src/api/sessions.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController, fixedSessions } from './fixtures.js';

const TOKEN = 'sessions-test-token-0123456789';
const log = pino({ level: 'silent' });

describe('parseSessionQuery', () => {
  const q = (text: string) => parseSessionQuery(new URLSearchParams(text));

  it('no parameters: empty filter, limit 100', () => {
    expect(q('')).toEqual({ filter: {}, limit: 100 });
  });

  it('every parameter, typed', () => {
    expect(q('address=10.0.1.10&port=443&protocol=TCP&state=established&rule=web-out&limit=5')).toEqual({
      filter: { address: '10.0.1.10', port: 443, protocol: 'tcp', state: 'established', rule: 'web-out' },
      limit: 5,
    });
    expect(q('rule=(default)&limit=0&port=0')).toEqual({ filter: { rule: '(default)', port: 0 }, limit: 0 });
    expect(q('limit=10000&port=65535&protocol=icmp')).toEqual({ filter: { port: 65535, protocol: 'icmp' }, limit: 10000 });
  });

  it.each([
    ['address=10.0.1', 'address'],
    ['address=10.0.1.256', 'address'],
    ['address=', 'address'],
    ['address=010.0.1.1', 'address'],
    ['address=fe80::1', 'address'],
    ['port=65536', 'port'],
    ['port=-1', 'port'],
    ['port=80x', 'port'],
    ['port=', 'port'],
    ['port=1e3', 'port'],
    ['protocol=sctp', 'protocol'],
    ['protocol=', 'protocol'],
    ['state=ESTABLISHED', 'state'],
    ['state=' + 'a'.repeat(33), 'state'],
    ['state=a b', 'state'],
    ['rule=1bad', 'rule'],
    ['rule=' + 'r'.repeat(64), 'rule'],
    ['rule=a/b', 'rule'],
    ['limit=10001', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=', 'limit'],
    ['limit=1.5', 'limit'],
    ['adress=10.0.1.1', 'adress'],
    ['port=80&port=443', 'port'],
  ])('%s -> error naming %s', (text, param) => {
    let err: unknown;
    try {
      q(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SessionQueryError);
    expect((err as SessionQueryError).param).toBe(param);
    expect((err as Error).message).toMatch(new RegExp(`^${param}: got ".*", expected `));
  });

  it('sessionQueryString round-trips through parseSessionQuery', () => {
    const filter: SessionFilter = { address: '10.0.1.10', port: 0, protocol: 'udp', state: 'syn-sent', rule: '(default)' };
    const text = sessionQueryString(filter, 7);
    expect(text.startsWith('?')).toBe(true);
    expect(q(text.slice(1))).toEqual({ filter, limit: 7 });
    expect(sessionQueryString({})).toBe('');
    expect(sessionQueryString({}, 0)).toBe('?limit=0');
  });

  it('isSessionList checks the shape', () => {
    expect(isSessionList(fixedSessions())).toBe(true);
    expect(isSessionList({ total: 0, matched: 0, sessions: [], truncated: false })).toBe(true);
    expect(isSessionList(null)).toBe(false);
    expect(isSessionList({ total: 0, matched: 0, sessions: [], truncated: 'no' })).toBe(false);
    expect(isSessionList({ total: 0, matched: 0, sessions: [null], truncated: false })).toBe(false);
    expect(isSessionList({ error: 'timeout' })).toBe(false);
  });
});

function get(address: string, path: string, token: string | null = TOKEN): Promise<{ status: number; body: any }> {
  const ep = parseApiUrl(address);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: 'GET',
        path,
        agent: false,
        headers: token === null ? {} : { Authorization: `Bearer ${token}` },
        ...(ep.kind === 'tcp' ? { host: ep.host, port: ep.port } : { socketPath: ep.path }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('GET /v1/sessions', () => {
  let server: ApiServer;
  let metrics: Metrics;
  let calls: { filter: SessionFilter; limit: number }[];
  let source: (filter: SessionFilter, limit: number) => Promise<SessionList>;

  const start = async (withSource = true) => {
    server = await startApiServer({
      listen: '127.0.0.1:0',
      token: Buffer.from(TOKEN),
      controller: new FakeController(),
      metrics,
      log,
      ...(withSource
        ? {
            sessions: (filter: SessionFilter, limit: number) => {
              calls.push({ filter, limit });
              return source(filter, limit);
            },
          }
        : {}),
      sessionsTimeoutMs: 100,
    });
  };

  beforeEach(async () => {
    metrics = new Metrics({ defaultMetrics: false });
    calls = [];
    source = async () => fixedSessions();
    await start();
  });
  afterEach(async () => {
    await server.close();
  });

  it('passes the parsed filter and limit to the source and answers its list', async () => {
    const r = await get(server.address, '/v1/sessions?address=10.0.1.10&port=443&protocol=tcp&state=established&rule=web-out&limit=3');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(fixedSessions());
    expect(calls).toEqual([{ filter: { address: '10.0.1.10', port: 443, protocol: 'tcp', state: 'established', rule: 'web-out' }, limit: 3 }]);
  });

  it('no parameters: empty filter and limit 100', async () => {
    const r = await get(server.address, '/v1/sessions');
    expect(r.status).toBe(200);
    expect(calls).toEqual([{ filter: {}, limit: 100 }]);
  });

  it.each([
    ['address=10.0.1.999', 'address'],
    ['port=70000', 'port'],
    ['protocol=gre', 'protocol'],
    ['limit=20000', 'limit'],
    ['limit=abc', 'limit'],
    ['state=Bad%20State', 'state'],
    ['rule=%3Bdrop', 'rule'],
    ['bogus=1', 'bogus'],
  ])('?%s is a 400 naming %s; the source is not asked', async (query, param) => {
    const r = await get(server.address, `/v1/sessions?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad-query');
    expect(r.body.error.message.startsWith(`${param}: `)).toBe(true);
    expect(calls).toEqual([]);
  });

  it('still requires the bearer token (and validates nothing before it)', async () => {
    let r = await get(server.address, '/v1/sessions', null);
    expect(r.status).toBe(401);
    r = await get(server.address, '/v1/sessions?port=nope', 'wrong');
    expect(r.status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('POST is a 405', async () => {
    const ep = parseApiUrl(server.address);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          method: 'POST',
          path: '/v1/sessions',
          host: ep.kind === 'tcp' ? ep.host : '',
          port: ep.kind === 'tcp' ? ep.port : 0,
          agent: false,
          headers: { Authorization: `Bearer ${TOKEN}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(405);
  });

  it('a source that never answers is a 504 after sessionsTimeoutMs', async () => {
    source = () => new Promise(() => {});
    const t0 = Date.now();
    const r = await get(server.address, '/v1/sessions');
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('dataplane-timeout');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('SessionsUnavailable maps to 504 (timeout) and 502 (error)', async () => {
    source = async () => {
      throw new SessionsUnavailable('timeout', 'the dataplane did not list sessions within 2500 ms');
    };
    let r = await get(server.address, '/v1/sessions');
    expect(r).toEqual({ status: 504, body: { error: { code: 'dataplane-timeout', message: 'the dataplane did not list sessions within 2500 ms' } } });
    source = async () => {
      throw new SessionsUnavailable('error', 'table busy');
    };
    r = await get(server.address, '/v1/sessions');
    expect(r).toEqual({ status: 502, body: { error: { code: 'dataplane-error', message: 'table busy' } } });
  });

  it('a malformed list from the source is a 502; a crash is a 500 and the server stays up', async () => {
    source = async () => ({ error: 'timeout' }) as unknown as SessionList;
    expect((await get(server.address, '/v1/sessions')).status).toBe(502);
    source = async () => {
      throw new Error('boom');
    };
    expect((await get(server.address, '/v1/sessions')).status).toBe(500);
    source = async () => fixedSessions();
    expect((await get(server.address, '/v1/sessions')).status).toBe(200);
  });

  it('without a source the route answers 503', async () => {
    await server.close();
    await start(false);
    const r = await get(server.address, '/v1/sessions');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('unavailable');
  });

  it('requests are counted by route pattern, never by the query', async () => {
    await get(server.address, '/v1/sessions?port=443');
    await get(server.address, '/v1/sessions?port=x');
    const text = await metrics.text();
    expect(text).toContain('tandem_api_requests_total{route="/v1/sessions",code="200"} 1');
    expect(text).toContain('tandem_api_requests_total{route="/v1/sessions",code="400"} 1');
    expect(text).not.toContain('port=');
  });

  describe('ApiClient.sessions', () => {
    it('sends the filter and the limit, returns the list', async () => {
      const c = new ApiClient({ url: server.address, token: TOKEN });
      expect(await c.sessions({ address: '10.0.1.10', protocol: 'icmp', rule: '(default)' }, 0)).toEqual(fixedSessions());
      expect(calls.at(-1)).toEqual({ filter: { address: '10.0.1.10', protocol: 'icmp', rule: '(default)' }, limit: 0 });
      await c.sessions();
      expect(calls.at(-1)).toEqual({ filter: {}, limit: 100 });
    });

    it('a 400 is an ApiError with the server code', async () => {
      const c = new ApiClient({ url: server.address, token: TOKEN });
      const err = await c.sessions({ port: 99999 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).code).toBe('bad-query');
      expect((err as ApiError).message).toMatch(/^port: /);
    });

    it('a wrong token is a 401', async () => {
      const c = new ApiClient({ url: server.address, token: 'nope' });
      await expect(c.sessions()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    });
  });
});
