// The status page's routes on the API server: the shell, stylesheet and scripts are served
// without the token (and hold no data), with strict headers; every data route still answers 401
// without the token or with a wrong one; /v1/counters reads the registry's dataplane counters.
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { BROWSER_MODULES, CONTENT_SECURITY_POLICY } from '../../../src/api/status-page/page.js';
import { ROUTE_COUNTERS, ROUTE_STATUS, type CountersResponse } from '../../../src/api/protocol.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS, dropIndex, eventIndex } from '../../../src/wire/dataplane-counters.js';
import { FakeController } from './fixtures.js';

const TOKEN = 'page-token-0123456789abcdef';
const log = pino({ level: 'silent' });

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function get(base: string, path: string, opts: { method?: string; token?: string } = {}): Promise<Raw> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.token === undefined ? {} : { Authorization: `Bearer ${opts.token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PAGE_PATHS = ['/ui', '/ui/', '/ui/style.css', ...BROWSER_MODULES.map((m) => `/ui/${m}`)];

describe('status page routes', () => {
  let server: ApiServer;
  let dir: string;
  let metrics: Metrics;
  let shared: SharedState;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-page-'));
    // stand-ins for the compiled browser modules (the build puts the real ones next to page.js)
    for (const m of BROWSER_MODULES) await writeFile(join(dir, m), `export const name = ${JSON.stringify(m)};\n`);
    metrics = new Metrics({ defaultMetrics: false });
    shared = new SharedState(COUNTER_COUNT);
    metrics.attachDataplane(shared);
    server = await startApiServer({ listen: '127.0.0.1:0', token: Buffer.from(TOKEN), controller: new FakeController(), metrics, log, statusPageDir: dir });
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the shell without the token: no data in it, no inline script or style, strict headers', async () => {
    const r = await get(server.address, '/ui');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.text).toContain('<script type="module" src="/ui/app.js"></script>');
    expect(r.text).toContain('type="password"');
    // every script has a src (nothing inline), no inline style, and nothing of the box in it
    expect(r.text.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/ui/app.js">']);
    expect(r.text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(r.text).not.toContain('fw-a');
    expect((await get(server.address, '/ui/')).text).toBe(r.text);
  });

  it('serves the scripts as JavaScript and the stylesheet as CSS, both with the same headers', async () => {
    for (const m of BROWSER_MODULES) {
      const r = await get(server.address, `/ui/${m}`);
      expect(r.status, m).toBe(200);
      expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.text).toBe(`export const name = ${JSON.stringify(m)};\n`);
    }
    const css = await get(server.address, '/ui/style.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.text).toContain('.state-active');
  });

  it('HEAD gets headers only; other methods 405', async () => {
    const head = await get(server.address, '/ui', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(100);
    const post = await get(server.address, '/ui', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.text).error.code).toBe('method-not-allowed');
  });

  it('only the page files skip the token: other /ui paths and every data route answer 401', async () => {
    for (const path of ['/ui/secret', '/ui/../v1/status', '/ui/app.js.map', '/uix', ROUTE_STATUS, ROUTE_COUNTERS, '/v1/sessions', '/v1/config']) {
      for (const token of [undefined, 'wrong-token', `${TOKEN}x`]) {
        const r = await get(server.address, path, { token });
        // '/ui/../v1/status' is normalized by the URL parser to /v1/status: still refused
        expect(r.status, `${path} with ${token ?? 'no token'}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer realm="tandem"');
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        expect(r.headers['cache-control']).toBe('no-store');
        expect(r.text).not.toContain('fw-a');
      }
    }
    for (const path of PAGE_PATHS) expect((await get(server.address, path)).status, path).toBe(200);
  });

  it('/v1/counters: every event and drop reason, sessions, read from the dataplane counters', async () => {
    const c = shared.counters();
    c[eventIndex('forwarded')] = 1234;
    c[eventIndex('rx')] = 5000;
    c[dropIndex('policy-deny')] = 7;
    const r = await get(server.address, ROUTE_COUNTERS, { token: TOKEN });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(r.text) as CountersResponse;
    expect(Object.keys(body.packets).sort()).toEqual([...EVENT_COUNTERS].sort());
    expect(Object.keys(body.drops).sort()).toEqual([...DROP_REASONS].sort());
    expect(body.packets.forwarded).toBe(1234);
    expect(body.packets.rx).toBe(5000);
    expect(body.drops['policy-deny']).toBe(7);
    expect(body.drops.fragment).toBe(0);
    expect(body.sessions.tableFull).toBe(0);
    expect(Object.keys(body.sessions.active).length).toBeGreaterThan(0);
    expect(typeof body.sampledAtMs).toBe('number');
    // a later sample is later by the daemon's clock and sees the counters move
    c[eventIndex('forwarded')] = 1300;
    const next = JSON.parse((await get(server.address, ROUTE_COUNTERS, { token: TOKEN })).text) as CountersResponse;
    expect(next.sampledAtMs).toBeGreaterThanOrEqual(body.sampledAtMs);
    expect(next.packets.forwarded).toBe(1300);
  });
});

describe('status page without a build', () => {
  it('a missing script is a clear 503, not a crash; the API keeps serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-page-empty-'));
    const server = await startApiServer({
      listen: '127.0.0.1:0',
      token: Buffer.from(TOKEN),
      controller: new FakeController(),
      metrics: new Metrics({ defaultMetrics: false }),
      log,
      statusPageDir: dir,
    });
    try {
      const r = await get(server.address, '/ui/app.js');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.text).error.message).toMatch(/not built .*npm run build/);
      expect((await get(server.address, '/ui')).status).toBe(200);
      expect((await get(server.address, ROUTE_STATUS, { token: TOKEN })).status).toBe(200);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
