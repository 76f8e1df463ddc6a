// RecordRing across two real threads: a worker_threads Worker produces, this thread consumes.
//
// A worker does not get vitest's TypeScript loader, and dist/ may be stale or mid-build by
// someone else. So the test transpiles src/wire/record-ring.ts and src/wire/session-record.ts (the whole
// dependency closure of the ring) with the project's own TypeScript into a temp dir, and the
// worker imports that: the code under test is the source as it is now, and nothing is shared
// with other runs. This thread imports the same transpiled module, so both ends run one build.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordRing as RecordRingT } from '../../../src/wire/record-ring.js';
import type { SessionRecord } from '../../../src/wire/session-record.js';

const srcWire = fileURLToPath(new URL('../../../src/wire/', import.meta.url));
const TOTAL = 200_000;
/** Small on purpose: the producer finds the ring full thousands of times and the counters wrap the slots often. */
const CAPACITY = 256;

/** The expected record for index i: every field differs between neighbours, extremes included. */
const RECORD_FOR_SRC = `
export function recordFor(i) {
  return {
    op: 1 + (i % 7),
    proto: i & 0xff,
    state: i % 13,
    flags: (i * 7) & 0xff,
    origSrc: Math.imul(i, 2654435761) >>> 0,
    origSrcPort: i & 0xffff,
    origDst: ~i >>> 0,
    origDstPort: (i >>> 3) & 0xffff,
    replySrc: i % 3 === 0 ? 0xffffffff : i,
    replySrcPort: (0xffff - i) & 0xffff,
    replyDst: (0xffffffff - i) >>> 0,
    replyDstPort: (i * 5) & 0xffff,
    ruleId: (i % 5) - 1,
    natRuleId: i % 2 === 0 ? -1 : i,
    ingress: i % 4,
    egress: (i + 1) % 4,
    timeoutMs: (i * 1000) >>> 0,
    eventMs: Number.MAX_SAFE_INTEGER - i,
    origSeqEnd: Math.imul(i, 0x9e3779b1) >>> 0,
    origSeqMaxEnd: (0xfffffff0 + i) >>> 0,
    origMaxWin: i * 3,
    origMaxAck: ~i >>> 0,
    origWinFlags: i & 0xff,
    replySeqEnd: (i * 7) >>> 0,
    replySeqMaxEnd: Math.imul(i, 40503) >>> 0,
    replyMaxWin: i * 5,
    replyMaxAck: (0xffffffff - i * 2) >>> 0,
    replyWinFlags: (i >>> 8) & 0xff,
    origSrcW0: Math.imul(i, 16777619) >>> 0,
    origSrcW1: Math.imul(i, 16777621) >>> 0,
    origSrcW2: Math.imul(i, 16777623) >>> 0,
    origDstW0: Math.imul(i, 16777625) >>> 0,
    origDstW1: Math.imul(i, 16777627) >>> 0,
    origDstW2: Math.imul(i, 16777629) >>> 0,
    replySrcW0: Math.imul(i, 16777631) >>> 0,
    replySrcW1: Math.imul(i, 16777633) >>> 0,
    replySrcW2: Math.imul(i, 16777635) >>> 0,
    replyDstW0: Math.imul(i, 16777637) >>> 0,
    replyDstW1: Math.imul(i, 16777639) >>> 0,
    replyDstW2: Math.imul(i, 16777641) >>> 0,
  };
}
`;

const PRODUCER_SRC = `
import { workerData, parentPort } from 'node:worker_threads';
import { RecordRing } from './sync/record-ring.js';
import { recordFor } from './record-for.js';
const ring = new RecordRing(workerData.capacity, workerData.buffer);
const spin = new Int32Array(new SharedArrayBuffer(4));
let full = 0;
for (let i = 0; i < workerData.total; i++) {
  const r = recordFor(i);
  while (!ring.push(r)) {
    full++;
    // Let the consumer catch up: a short sleep, not a hot spin that starves it of the core.
    Atomics.wait(spin, 0, 0, 0.05);
  }
}
parentPort.postMessage({ done: true, full });
`;

let dir: string;
let RecordRing: typeof RecordRingT;
let recordFor: (i: number) => SessionRecord;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-ring-'));
  mkdirSync(join(dir, 'sync'));
  for (const name of ['record-ring', 'session-record']) {
    const out = ts.transpileModule(readFileSync(join(srcWire, `${name}.ts`), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: `${name}.ts`,
    });
    writeFileSync(join(dir, 'sync', `${name}.js`), out.outputText);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'record-for.js'), RECORD_FOR_SRC);
  writeFileSync(join(dir, 'producer.js'), PRODUCER_SRC);
  ({ RecordRing } = (await import(pathToFileURL(join(dir, 'sync', 'record-ring.js')).href)) as { RecordRing: typeof RecordRingT });
  ({ recordFor } = (await import(pathToFileURL(join(dir, 'record-for.js')).href)) as { recordFor: (i: number) => SessionRecord });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('RecordRing across threads', () => {
  it(`a worker produces ${TOTAL} records, this thread drains them: each arrives once, in order, intact`, async () => {
    const ring = new RecordRing(CAPACITY);
    const worker = new Worker(pathToFileURL(join(dir, 'producer.js')), { workerData: { buffer: ring.buffer, capacity: CAPACITY, total: TOTAL } });
    let finished: { done: boolean; full: number } | null = null;
    let failure: unknown = null;
    worker.on('message', (m: { done: boolean; full: number }) => (finished = m));
    worker.on('error', (err) => (failure = err));

    let received = 0;
    let mismatch: string | null = null;
    const check = (r: SessionRecord): void => {
      if (mismatch === null) {
        const want = recordFor(received);
        for (const key of Object.keys(want) as (keyof SessionRecord)[]) {
          if (r[key] !== want[key]) {
            mismatch = `record ${received}: ${key} = ${r[key]}, expected ${want[key]}`;
            break;
          }
        }
      }
      received++;
    };

    const deadline = Date.now() + 30_000;
    while (received < TOTAL && failure === null && Date.now() < deadline) {
      // Drain in bursts; give the event loop a turn when the ring is empty (worker events).
      if (ring.drain(64, check) === 0) await yieldToLoop();
    }
    // Nothing more may arrive once the producer is done.
    while (finished === null && failure === null && Date.now() < deadline) await yieldToLoop();
    expect(ring.drain(1024, check)).toBe(0);
    await worker.terminate();

    expect(failure).toBeNull();
    expect(mismatch).toBeNull();
    expect(received).toBe(TOTAL);
    expect(finished).toMatchObject({ done: true });
    expect(ring.size).toBe(0);
  });

  it('the worker end refuses a buffer with a mismatched capacity', async () => {
    const ring = new RecordRing(CAPACITY);
    const worker = new Worker(pathToFileURL(join(dir, 'producer.js')), { workerData: { buffer: ring.buffer, capacity: CAPACITY * 2, total: 1 } });
    const err = await new Promise<unknown>((resolve) => {
      worker.on('error', resolve);
      worker.on('exit', () => resolve(null));
    });
    await worker.terminate();
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/capacity 256, not 512/);
  });
});
