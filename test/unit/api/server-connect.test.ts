// CONNECT never reaches the API's request handler (node:http hands the raw socket to a 'connect'
// listener, and without one closes it unanswered and uncounted). Found by test/fuzz/api.test.ts:
// it must get a JSON 405 like any other wrong method, be counted, and leave nothing open.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startApiServer } from '../../../src/api/server.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController } from './fixtures.js';

const TOKEN = 'test-token-0123456789abcdef';

function send(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n\r\n\{.*\}$/s.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(text);
  });
}

describe('API server: CONNECT', () => {
  it('answers 405 in JSON, counts it, and closes cleanly even when the client sent a body', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = await startApiServer({
      listen: '127.0.0.1:0',
      token: Buffer.from(TOKEN),
      controller: new FakeController(),
      metrics,
      log: createLogger({ level: 'fatal' }),
    });
    const port = Number(new URL(server.address).port);
    const body = 'a'.repeat(100_000);
    for (let i = 0; i < 3; i++) {
      const answer = await send(
        port,
        `CONNECT /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 405 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('method-not-allowed');
    }
    expect(await metrics.text()).toMatch(/^tandem_api_requests_total\{route="unknown",code="405"\} 3$/m);
    // the sockets handed over by CONNECT were closed with the client: close() does not wait on them
    const closed = await Promise.race([server.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000))]);
    expect(closed).toBe('closed');
  });
});
