// The management API hit with what a confused or hostile client sends: bad JSON, huge bodies,
// wrong types, bad methods, bad query strings, random paths, broken request lines and headers,
// requests dribbled byte by byte, and connections left half-sent. Every request gets a JSON answer
// (2xx for the few that are right, 4xx/5xx otherwise, never a 500 "internal"), each is counted by
// route and status, and the server keeps serving. The routes are real: sessions come from a real
// firewall, config validate/commit from a real ConfigSync. The Prometheus listener gets the same junk.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROUTE_CONFIG,
  ROUTE_CONFIG_COMMIT,
  ROUTE_CONFIG_PEER,
  ROUTE_CONFIG_VALIDATE,
  ROUTE_FAILOVER,
  ROUTE_FUNCTIONAL,
  ROUTE_SESSIONS,
  ROUTE_STATUS,
  ROUTE_SUSPEND,
} from '../../src/api/protocol.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { fileRecord } from '../../src/config/commit.js';
import { ConfigStore } from '../../src/config/store.js';
import { ConfigSync } from '../../src/control/config-sync.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import { FakeController } from '../unit/api/fixtures.js';
import { FrameRig, labConfig } from './lib/frame-rig.js';
import { randomRequest, rawRequest, type RawResponse } from './lib/http.js';
import { describeInput, Prng, seedFromEnv } from './lib/prng.js';

const SEED = seedFromEnv(0xa91);
const REQUESTS = 1200;
const CONCURRENCY = 8;
const TOKEN = 'fuzz-token-0123456789abcdef';
const ROUTES = [
  ROUTE_STATUS,
  ROUTE_SESSIONS,
  ROUTE_CONFIG,
  ROUTE_CONFIG_PEER,
  ROUTE_CONFIG_COMMIT,
  ROUTE_CONFIG_VALIDATE,
  ROUTE_SUSPEND,
  ROUTE_FUNCTIONAL,
  ROUTE_FAILOVER,
];

let server: ApiServer;
let port: number;
let metrics: Metrics;
let dir: string;

beforeAll(async () => {
  const cfg = labConfig();
  dir = mkdtempSync(join(tmpdir(), 'tandem-fuzz-api-'));
  metrics = new Metrics({ defaultMetrics: false });
  const log = createLogger({ level: 'fatal', name: 'fuzz' });
  const sync = new ConfigSync({
    device: cfg.device,
    record: fileRecord(cfg.shared, cfg.device.name, new Date()),
    store: new ConfigStore(dir),
    metrics,
    log,
    apply: async () => ({ restartRequired: [], sessionsRemoved: 0 }),
  });
  sync.attach({ view: () => ({ state: 'active', peerUp: false, peerName: null }), send: () => false, announce: () => undefined });
  const rig = new FrameRig();
  server = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller: new FakeController(),
    metrics,
    log,
    dataplaneStatus: async () => rig.engine.status(),
    sessions: async (filter, limit) => rig.engine.pipeline.firewall!.sessions(filter, limit, rig.now),
    config: sync,
  });
  port = Number(new URL(server.address).port);
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** tandem_api_requests_total by route and code. */
async function counted(): Promise<Map<string, number>> {
  const text = await metrics.text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tandem_api_requests_total\{route="([^"]*)",code="(\d+)"\} (\d+)$/gm)) out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  return out;
}

function checkAnswer(r: RawResponse, head: boolean): string | null {
  if (r.status === 500) return `500: ${r.body}`;
  if (r.status < 200 || r.status > 599) return `status ${r.status}`;
  if (!(r.headers['content-type'] ?? '').startsWith('application/json')) return `content-type ${r.headers['content-type']}`;
  if (head) return null;
  let body: any;
  try {
    body = JSON.parse(r.body);
  } catch {
    return `body is not JSON: ${r.body.slice(0, 200)}`;
  }
  if (r.status >= 400 && (typeof body?.error?.code !== 'string' || typeof body?.error?.message !== 'string'))
    return `error body without code/message: ${r.body.slice(0, 200)}`;
  return null;
}

describe(`API fuzzing (seed ${SEED})`, () => {
  it(`${REQUESTS} random requests, some dribbled, with connections left half-sent: a JSON answer each, counted, the server up`, async () => {
    // half-sent requests held open through the storm: they must not block anyone else
    const held: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(i % 2 === 0 ? 'GET /v1/sta' : `POST ${ROUTE_CONFIG_VALIDATE} HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"te`);
      held.push(s);
    }
    try {
      await storm(held);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe(`API fuzzing behind the rate limiter (seed ${SEED + 2})`, () => {
  it('junk over the limit is answered 429 in JSON, counted, and the server keeps serving', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const limited = await startApiServer({
      listen: '127.0.0.1:0',
      token: Buffer.from(TOKEN),
      controller: new FakeController(),
      metrics: m,
      log: createLogger({ level: 'fatal', name: 'fuzz' }),
      rateLimit: { perClientPerS: 20, perClientBurst: 10, globalPerS: 40, globalBurst: 20, maxClients: 16 },
    });
    try {
      const p = Number(new URL(limited.address).port);
      const rng = new Prng(SEED + 2);
      const byStatus: Record<string, number> = {};
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < 300) {
          const i = next++;
          const req = randomRequest(rng, ROUTES, TOKEN);
          if (req.bytes.length > 64 * 1024) continue; // the cut-while-sending case is the other test's
          try {
            const r = await rawRequest(p, req.bytes, { head: req.head });
            const bad = checkAnswer(r, req.head);
            if (bad) failures.push(describeInput(`${req.label}: ${bad}`, SEED + 2, i, req.bytes.toString('latin1'), 600));
            byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
          } catch (err) {
            failures.push(describeInput(`${req.label}: ${(err as Error).message}`, SEED + 2, i, req.bytes.toString('latin1'), 600));
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(failures.slice(0, 10), failures.slice(0, 10).join('\n\n')).toEqual([]);
      expect(byStatus['429'] ?? 0).toBeGreaterThan(0);
      expect(await m.text()).toMatch(/^tandem_api_requests_total\{route="[^"]+",code="429"\} [1-9]/m);
      // once the bucket refills, a good request goes through
      await new Promise((r) => setTimeout(r, 1500));
      const ok = await rawRequest(p, Buffer.from(`GET ${ROUTE_STATUS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`));
      expect(ok.status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe(`metrics listener fuzzing (seed ${SEED + 3})`, () => {
  it('junk at the Prometheus endpoint: an HTTP answer each (never a 500), scrapes still work, it closes cleanly', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const ms = await startMetricsServer('127.0.0.1:0', m);
    let closed = false;
    try {
      const p = Number(new URL(ms.address).port);
      const rng = new Prng(SEED + 3);
      const byStatus: Record<string, number> = {};
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < 400) {
          const i = next++;
          const req = randomRequest(rng, ['/metrics', '/', '/metrics?x=1'], TOKEN);
          if (req.bytes.length > 64 * 1024) continue;
          try {
            const r = await rawRequest(p, req.bytes, { head: req.head, chunks: rng.chance(0.05) ? 4 : 1 });
            if (r.status === 500) failures.push(describeInput(`${req.label}: 500`, SEED + 3, i, req.bytes.toString('latin1'), 600));
            byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
          } catch (err) {
            // node:http drops a CONNECT nobody listens for: no answer, but nothing held either
            if (req.label.startsWith('CONNECT')) byStatus.closed = (byStatus.closed ?? 0) + 1;
            else failures.push(describeInput(`${req.label}: ${(err as Error).message}`, SEED + 3, i, req.bytes.toString('latin1'), 600));
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(failures.slice(0, 10), failures.slice(0, 10).join('\n\n')).toEqual([]);
      expect(byStatus['200'] ?? 0).toBeGreaterThan(0);
      const ok = await rawRequest(p, Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('tandem_');
      const done = await Promise.race([ms.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 10 s'), 10_000))]);
      closed = true;
      expect(done).toBe('closed');
    } finally {
      if (!closed) await ms.close();
    }
  });
});

/** The storm of the first test: REQUESTS random requests, CONCURRENCY at a time. */
async function storm(held: Socket[]): Promise<void> {
  const rng = new Prng(SEED + 1);
  const before = await counted();
  const byStatus: Record<string, number> = {};
  const failures: string[] = [];
  let answered = 0;
  let cut = 0;
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const req = randomRequest(rng, ROUTES, TOKEN);
      const chunks = rng.chance(0.05) ? rng.range(2, 12) : 1;
      try {
        const r = await rawRequest(port, req.bytes, { chunks, head: req.head });
        const bad = checkAnswer(r, req.head);
        if (bad) failures.push(describeInput(`${req.label}: ${bad}`, SEED, i, req.bytes.toString('latin1'), 600));
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        answered++;
      } catch (err) {
        // a server may answer before reading a body it refuses and close: a client still
        // sending that body can see the reset before the answer (RFC 9112 9.6). Only for bodies
        // past the limit, where the server is entitled to stop reading.
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'EPIPE' || code === 'ECONNRESET') && req.bytes.length > 64 * 1024) {
          cut++;
          continue;
        }
        failures.push(describeInput(`${req.label}: ${(err as Error).message}`, SEED, i, req.bytes.toString('latin1'), 600));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  process.stderr.write(`api fuzz: answers by status ${JSON.stringify(byStatus)}, cut while sending ${cut}\n`);
  expect(failures.slice(0, 10), failures.slice(0, 10).join('\n\n')).toEqual([]);
  expect(answered + cut).toBe(REQUESTS);
  expect(cut).toBeLessThan(REQUESTS / 20);

  // every answer counted by route and status
  const after = await counted();
  let added = 0;
  for (const [k, v] of after) added += v - (before.get(k) ?? 0);
  expect(added).toBe(REQUESTS);
  for (const status of Object.keys(byStatus)) expect([...after.keys()].some((k) => k.endsWith(` ${status}`))).toBe(true);
  expect(Object.keys(byStatus).length).toBeGreaterThanOrEqual(6);

  // still up, still right, the half-sent connections still open beside it
  const ok = await rawRequest(port, Buffer.from(`GET ${ROUTE_STATUS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`));
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.body).local.name).toBe('fw-a');
  const sessions = await rawRequest(
    port,
    Buffer.from(`GET ${ROUTE_SESSIONS}?limit=10 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`),
  );
  expect(sessions.status).toBe(200);
  expect(JSON.parse(sessions.body).total).toBeGreaterThanOrEqual(3);
  for (const s of held) s.destroy();
  // and it shuts down: no connection of the storm is left holding it open
  const closed = await Promise.race([server.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 10 s'), 10_000))]);
  expect(closed).toBe('closed');
}
