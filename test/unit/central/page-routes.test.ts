// The fleet page on central's listener: the shell, stylesheet and modules without the token and
// with the box page's strict headers; only the listed files; the API still needs the token.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../src/api/status-page/static-files.js';
import { CentralMetrics } from '../../../src/central/metrics.js';
import { fleetPage, PAGE_MODULES, SHARED_MODULES } from '../../../src/central/page.js';
import { startCentralApi, type CentralApi } from '../../../src/central/server.js';

let api: CentralApi;

beforeAll(async () => {
  api = await startCentralApi({
    listen: '127.0.0.1:0',
    token: Buffer.from('central-page-token-0123456789'),
    fleet: () => ({ at: new Date(0).toISOString(), pairs: [] }),
    events: () => ({ events: [], truncated: false }),
    metrics: new CentralMetrics(),
    log: pino({ level: 'silent' }),
  });
});
afterAll(() => api.close());

describe('the fleet page on central', () => {
  it('serves the shell and stylesheet without the token, with a strict CSP', async () => {
    for (const path of ['/ui', '/ui/', '/ui/style.css']) {
      const res = await fetch(`${api.address}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const shell = await (await fetch(`${api.address}/ui`)).text();
    expect(shell).toContain('<script type="module" src="/ui/central/page/app.js"></script>');
    expect(shell).not.toMatch(/<script>|style=|https?:\/\//);
    expect(await (await fetch(`${api.address}/ui/style.css`)).text()).toContain('.tone-unreachable');
  });

  it('anything else still needs the token; the page only reads', async () => {
    expect((await fetch(`${api.address}/ui/api/status-page/poll.js`)).status).toBe(401);
    expect((await fetch(`${api.address}/ui/central/page/../../server.js`)).status).toBe(401);
    expect((await fetch(`${api.address}/v1/fleet`)).status).toBe(401);
    const post = await fetch(`${api.address}/ui`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves each listed module from its place below src/, and says when one is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'central-page-'));
    try {
      mkdirSync(join(dir, 'central/page'), { recursive: true });
      mkdirSync(join(dir, 'api/status-page'), { recursive: true });
      for (const m of PAGE_MODULES) writeFileSync(join(dir, 'central/page', m), `// ${m}\n`);
      for (const m of SHARED_MODULES.slice(1)) writeFileSync(join(dir, 'api/status-page', m), `// shared ${m}\n`);
      const page = fleetPage(dir);
      const app = await page.respond('/ui/central/page/app.js', 'GET');
      expect([app.status, app.headers['Content-Type'], String(app.body)]).toEqual([200, 'text/javascript; charset=utf-8', '// app.js\n']);
      expect(String((await page.respond(`/ui/api/status-page/${SHARED_MODULES[1]}`, 'GET')).body)).toBe(`// shared ${SHARED_MODULES[1]}\n`);
      const missing = await page.respond(`/ui/api/status-page/${SHARED_MODULES[0]}`, 'GET');
      expect(missing.status).toBe(503);
      expect(page.has('/ui/api/status-page/poll.js')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
