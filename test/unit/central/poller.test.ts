// The poller: every member on its own timer; a member that hangs or answers garbage never delays
// another; every failure is an outcome, never a rejection.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/api/client.js';
import type { PollResult } from '../../../src/central/member-record.js';
import { memberSource, pollOnce, startPolling, type PollTarget } from '../../../src/central/poller.js';
import { A_START, boxStatus } from './fixtures.js';

const sane = { status: () => Promise.resolve(boxStatus('fw-a', 'active', A_START)) };
const never = { status: () => new Promise<never>(() => undefined) };
const target = (member: string, source: PollTarget['source']): PollTarget => ({ pair: 'p1', member, source });

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const s = createServer((req, res) => {
    req.resume();
    answer(res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('poller', () => {
  it('a hanging member does not hold back the other one', async () => {
    const got: string[] = [];
    const p = startPolling([target('stuck', never), target('fine', sane)], { intervalMs: 20 }, (t) => got.push(t.member));
    await new Promise((r) => setTimeout(r, 150));
    p.stop();
    expect(got.filter((m) => m === 'fine').length).toBeGreaterThanOrEqual(4);
    expect(got).not.toContain('stuck');
  });

  it('a failing onResult is reported and polling goes on', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const p = startPolling([target('fine', sane)], { intervalMs: 10, onError: (_t, e) => errors.push(e) }, () => {
      n++;
      throw new Error('disk full');
    });
    await new Promise((r) => setTimeout(r, 80));
    p.stop();
    expect(n).toBeGreaterThanOrEqual(3);
    expect(errors.length).toBe(n);
  });

  it('outcomes: ok, timeout, unreachable, unauthorized, bad-response (garbage, wrong shape, HTTP 500)', async () => {
    const token = Buffer.from('x'.repeat(32));
    const outcome = async (url: string): Promise<PollResult> => pollOnce(target('m', memberSource(url, token, 300)));
    const okUrl = await serve((res) => res.end(JSON.stringify(boxStatus('fw-a', 'active', A_START))));
    expect((await outcome(okUrl)).outcome).toBe('ok');
    expect((await outcome(await serve(() => undefined))).outcome).toBe('timeout');
    expect((await outcome('http://127.0.0.1:1')).outcome).toBe('unreachable');
    expect((await outcome(await serve((res) => res.writeHead(401).end('{"error":{"code":"unauthorized","message":"no"}}')))).outcome).toBe('unauthorized');
    const garbage = await outcome(await serve((res) => res.end('<html>oops</html>')));
    expect(garbage).toMatchObject({ outcome: 'bad-response', message: expect.stringContaining('non-JSON') });
    expect((await outcome(await serve((res) => res.end('{"local":{}}')))).outcome).toBe('bad-response');
    expect((await outcome(await serve((res) => res.writeHead(500).end('{}')))).outcome).toBe('bad-response');
    const thrower = { status: () => Promise.reject(new ApiError(0, 'bad-url', 'nope')) };
    expect((await pollOnce(target('m', thrower))).outcome).toBe('bad-response');
    const tls = { status: () => Promise.reject(new ApiError(0, 'tls', 'TLS with x failed: its certificate has expired')) };
    expect(await pollOnce(target('m', tls))).toMatchObject({ outcome: 'unreachable', message: expect.stringContaining('expired') });
  });
});
