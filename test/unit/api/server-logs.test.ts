// The API's refusals are logged at most once per reason per 10 s (a token guesser or a looping
// script must not flood the log), while every refused request is still counted.
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ApiClient } from '../../../src/api/client.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController } from './fixtures.js';

const TOKEN = 'logs-token-0123456789abcdef';
let server: ApiServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/** A logger whose lines are kept, parsed. */
function capturedLog(): { log: pino.Logger; lines: { msg: string; suppressed?: number; path?: string }[] } {
  const lines: { msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

async function start(rateLimit?: { perClientPerS: number; perClientBurst: number }) {
  const { log, lines } = capturedLog();
  const metrics = new Metrics({ defaultMetrics: false });
  server = await startApiServer({ listen: '127.0.0.1:0', token: Buffer.from(TOKEN), controller: new FakeController(), metrics, log, rateLimit });
  return { lines, metrics, address: server.address };
}

const refused = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (e: { status?: number }) => e.status,
  );

describe('API refusal logs', () => {
  it('one line for a burst of unauthorized requests; each one counted', async () => {
    const { lines, metrics, address } = await start();
    const wrong = new ApiClient({ url: address, token: Buffer.from('wrong-token-0123456789'), timeoutMs: 2000 });
    for (let i = 0; i < 4; i++) expect(await refused(wrong.status())).toBe(401);
    const logged = lines.filter((l) => l.msg === 'unauthorized API request');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ path: '/v1/status', suppressed: 0 });
    expect(await metrics.text()).toMatch(/^tandem_api_requests_total\{route="\/v1\/status",code="401"\} 4$/m);
  });

  it('one line for a burst of rate-limited requests, apart from the unauthorized ones', async () => {
    const { lines, metrics, address } = await start({ perClientPerS: 0.001, perClientBurst: 2 });
    const client = new ApiClient({ url: address, token: Buffer.from(TOKEN), timeoutMs: 2000 });
    const wrong = new ApiClient({ url: address, token: Buffer.from('wrong-token-0123456789'), timeoutMs: 2000 });
    expect(await refused(client.status())).toBe('answered');
    expect(await refused(wrong.status())).toBe(401);
    for (let i = 0; i < 3; i++) expect(await refused(client.status())).toBe(429);
    expect(lines.filter((l) => l.msg === 'API request rate limit reached: answering 429')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'unauthorized API request')).toHaveLength(1);
    expect(await metrics.text()).toMatch(/^tandem_api_requests_total\{route="\/v1\/status",code="429"\} 3$/m);
  });
});
