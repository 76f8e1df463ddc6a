// The path monitor's prober child hung (alive, reading nothing): requests are refused past a
// bound instead of piling up in the parent's pipe buffer; the caller counts them unsent.
import { afterEach, expect, test } from 'vitest';
import { pino } from 'pino';
import { PROBER_MAX_PENDING_BYTES, ProberProcess } from '../../../../src/control/monitor/prober.js';

let prober: ProberProcess | null = null;
afterEach(() => prober?.stop());

const HUNG = `process.stdout.write(JSON.stringify({ t: 'ready' }) + '\\n'); setInterval(() => {}, 1000);`;

test('a prober that reads nothing: sends refused past PROBER_MAX_PENDING_BYTES', async () => {
  prober = new ProberProcess({
    identifier: 1234,
    log: pino({ level: 'silent' }),
    onMessage: () => undefined,
    onBadLine: () => undefined,
    onRestart: () => undefined,
    command: [process.execPath, '-e', HUNG],
  });
  prober.start();
  for (let i = 0; i < 500 && !prober.running; i++) await new Promise((r) => setTimeout(r, 10));
  expect(prober.running).toBe(true);
  let sent = 0;
  let refused = 0;
  const N = 200_000;
  for (let i = 0; i < N; i++) {
    if (prober.send('10.0.2.10', i)) sent++;
    else refused++;
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  expect(refused).toBeGreaterThan(0);
  // a request line is ~40 bytes: what went is what fits the kernel pipe (at most 1 MiB) and our bound
  const lineBytes = `${JSON.stringify({ t: 'send', dst: '10.0.2.10', seq: N })}\n`.length;
  expect(sent * (lineBytes - 6)).toBeLessThan(1024 * 1024 + PROBER_MAX_PENDING_BYTES + lineBytes);
});
