// bench/session-table: the session table at 1,000,000 sessions. Inserts/s, lookups/s (hits from
// both directions, misses), the per-packet hit path (lookup + count + setExpires), expiry rate,
// and memory per session (RSS, heap, array buffers: process.memoryUsage() before and after
// filling), side by side with a naive Map of objects keyed by tuple strings.
//
//   npm run build && node dist/bench/session-table.js [--sessions 1000000] [--no-baseline]
//
// Tuples are a bijection of the session number (distinct, no collisions by construction), the
// order of lookups is shuffled so that they miss the CPU caches as real traffic does.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SessionTable, type NewSession } from '../src/dataplane/session-table.js';

const argv = process.argv.slice(2);
const argOf = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(argOf('sessions') ?? '1000000');
const baseline = !argv.includes('--no-baseline');

// a real gc() for clean memory readings, without needing --expose-gc on the command line
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function mem() {
  gc();
  gc();
  return process.memoryUsage();
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const MB = (n: number) => (n / 1048576).toFixed(1);

// ---- the workload: N distinct connections, client 10.x.y.z:port -> one of 8 servers :443 ----
const oSrc = new Uint32Array(N);
const oSp = new Uint16Array(N);
const oDst = new Uint32Array(N);
const order = new Uint32Array(N);
for (let i = 0; i < N; i++) {
  // multiplication by an odd constant permutes 0..2^24-1: distinct (src, port) per i
  const j = Math.imul(i, 0x9e3779b1) & 0xffffff;
  oSrc[i] = (0x0a000000 + (j & 0xffff)) >>> 0;
  oSp[i] = 1024 + (j >>> 16);
  oDst[i] = (0xc6336400 + (i & 7)) >>> 0; // 198.51.100.0-7
  order[i] = i;
}
// deterministic shuffle (xorshift) of the lookup order
let x = 0x2545f491;
for (let i = N - 1; i > 0; i--) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  const k = (x >>> 0) % (i + 1);
  const t = order[i];
  order[i] = order[k];
  order[k] = t;
}

const NOW = 1_000_000;
const s: NewSession = {
  proto: 6,
  origSrc: 0,
  origSrcPort: 0,
  origDst: 0,
  origDstPort: 443,
  replySrc: 0,
  replySrcPort: 443,
  replyDst: 0,
  replyDstPort: 0,
  state: 3,
  expiresMs: 0,
  nowMs: NOW,
  ruleId: 1,
  natRuleId: -1,
  ingress: 0,
  egress: 1,
  flags: 0,
};

interface Row {
  what: string;
  table: string;
  map: string;
}
const rows: Row[] = [];

// ---- SessionTable ----
const before = mem();
const t0 = performance.now();
const table = new SessionTable({ capacity: N });
const tAlloc = performance.now() - t0;
let t1 = performance.now();
for (let i = 0; i < N; i++) {
  s.origSrc = oSrc[i];
  s.origSrcPort = oSp[i];
  s.origDst = oDst[i];
  s.replySrc = oDst[i];
  s.replyDst = oSrc[i];
  s.replyDstPort = oSp[i];
  // expiries spread over 60 s, for the expiry run below
  s.expiresMs = NOW + 1 + (i % 60_000);
  if (table.create(s) < 0) throw new Error(`create ${i} failed`);
}
const tInsert = performance.now() - t1;
const after = mem();
if (table.size !== N) throw new Error('size');
// a full GC with the million sessions live: typed arrays are not traced
t1 = performance.now();
gc();
const tGc = performance.now() - t1;

function lookups(dirReply: boolean): number {
  let found = 0;
  const start = performance.now();
  for (let k = 0; k < N; k++) {
    const i = order[k];
    const r = dirReply ? table.lookup(6, oDst[i], 443, oSrc[i], oSp[i]) : table.lookup(6, oSrc[i], oSp[i], oDst[i], 443);
    if (r >= 0) found++;
  }
  const ms = performance.now() - start;
  if (found !== N) throw new Error(`lookups found ${found}`);
  return (N / ms) * 1000;
}
function misses(): number {
  let found = 0;
  const start = performance.now();
  for (let k = 0; k < N; k++) {
    const i = order[k];
    if (table.lookup(6, oSrc[i], oSp[i], oDst[i], 80) >= 0) found++;
  }
  const ms = performance.now() - start;
  if (found !== 0) throw new Error('misses found something');
  return (N / ms) * 1000;
}
function hitPath(): number {
  const start = performance.now();
  for (let k = 0; k < N; k++) {
    const i = order[k];
    const ref = table.lookup(6, oSrc[i], oSp[i], oDst[i], 443);
    const slot = ref >> 1;
    table.count(slot, ref & 1, 1500);
    table.setExpires(slot, table.expiresMs(slot) + 1); // later: the lazy (per-packet) case
  }
  return (N / (performance.now() - start)) * 1000;
}
lookups(false); // warm-up (JIT)
const lookO = lookups(false);
const lookR = lookups(true);
const lookMiss = misses();
const hit = hitPath();

// expire everything, 100 ms of simulated time per call (the dataplane's housekeeping tick)
let emptyCallUs: number;
{
  const start = performance.now();
  for (let k = 0; k < 1000; k++) table.expire(NOW, 1_000_000);
  emptyCallUs = ((performance.now() - start) / 1000) * 1000;
}
// the hit path pushed every expiry 1 ms later: those sessions get re-filed once, then expire
t1 = performance.now();
let expired = 0;
let calls = 0;
for (let now = NOW; table.size > 0; now += 100) {
  expired += table.expire(now, 1_000_000);
  calls++;
}
const tExpire = performance.now() - t1;
if (expired !== N) throw new Error(`expired ${expired}`);

// churn: create + remove at a full table (slot reuse, index backward shift)
for (let i = 0; i < N; i++) {
  s.origSrc = oSrc[i];
  s.origSrcPort = oSp[i];
  s.origDst = oDst[i];
  s.replySrc = oDst[i];
  s.replyDst = oSrc[i];
  s.replyDstPort = oSp[i];
  s.expiresMs = NOW + 3_600_000;
  table.create(s);
}
t1 = performance.now();
for (let k = 0; k < N; k++) {
  const i = order[k];
  const slot = table.lookup(6, oSrc[i], oSp[i], oDst[i], 443) >> 1;
  table.remove(slot);
  s.origSrc = oSrc[i];
  s.origSrcPort = oSp[i];
  s.origDst = oDst[i];
  s.replySrc = oDst[i];
  s.replyDst = oSrc[i];
  s.replyDstPort = oSp[i];
  table.create(s);
}
const tChurn = performance.now() - t1;

const perSession = (a: number, b: number) => ((b - a) / N).toFixed(1);
rows.push(
  { what: `create (${fmt(N)} sessions, into an empty table)`, table: `${fmt((N / tInsert) * 1000)} /s`, map: '' },
  { what: 'lookup hit, original direction (random order)', table: `${fmt(lookO)} /s`, map: '' },
  { what: 'lookup hit, reply direction', table: `${fmt(lookR)} /s`, map: '' },
  { what: 'lookup miss', table: `${fmt(lookMiss)} /s`, map: '' },
  { what: 'hit path: lookup + count + setExpires', table: `${fmt(hit)} /s`, map: '' },
  { what: 'remove + create at a full table', table: `${fmt((N / tChurn) * 1000)} pairs/s`, map: '' },
  {
    what: `expire all (${calls} calls of 100 ms, 1 re-file each)`,
    table: `${fmt((expired / tExpire) * 1000)} /s`,
    map: '',
  },
  { what: 'expire() with nothing due, full table', table: `${emptyCallUs.toFixed(2)} us/call`, map: '' },
  { what: 'RSS per session', table: `${perSession(before.rss, after.rss)} B`, map: '' },
  { what: 'heap (JS objects) per session', table: `${perSession(before.heapUsed, after.heapUsed)} B`, map: '' },
  { what: 'array buffers per session', table: `${perSession(before.arrayBuffers, after.arrayBuffers)} B`, map: '' },
  { what: 'allocated by the table (bytesAllocated) per session', table: `${(table.bytesAllocated / N).toFixed(1)} B`, map: '' },
  { what: `full GC with ${fmt(N)} sessions live`, table: `${tGc.toFixed(0)} ms`, map: '' },
);
const allocNote = `table allocation ${tAlloc.toFixed(0)} ms; index ${fmt(table.indexBuckets)} buckets; total ${MB(table.bytesAllocated)} MiB`;

// ---- baseline: Map<string, object>, both tuples as string keys ----
if (baseline) {
  interface Sess {
    proto: number;
    state: number;
    expiresMs: number;
    o: number[];
    r: number[];
    packets: number[];
    bytes: number[];
  }
  const key = (p: number, a: number, ap: number, b: number, bp: number) => `${p}/${a}/${ap}/${b}/${bp}`;
  const b0 = mem();
  const map = new Map<string, { s: Sess; dir: number }>();
  t1 = performance.now();
  for (let i = 0; i < N; i++) {
    const ss: Sess = {
      proto: 6,
      state: 3,
      expiresMs: NOW + 1 + (i % 60_000),
      o: [oSrc[i], oSp[i], oDst[i], 443],
      r: [oDst[i], 443, oSrc[i], oSp[i]],
      packets: [0, 0],
      bytes: [0, 0],
    };
    map.set(key(6, oSrc[i], oSp[i], oDst[i], 443), { s: ss, dir: 0 });
    map.set(key(6, oDst[i], 443, oSrc[i], oSp[i]), { s: ss, dir: 1 });
  }
  const mInsert = performance.now() - t1;
  const b1 = mem();
  let found = 0;
  t1 = performance.now();
  for (let k = 0; k < N; k++) {
    const i = order[k];
    if (map.get(key(6, oSrc[i], oSp[i], oDst[i], 443)) !== undefined) found++;
  }
  const mLook = performance.now() - t1;
  if (found !== N) throw new Error('map lookups');
  // a full GC of the million-object heap: the pause the session table avoids
  t1 = performance.now();
  gc();
  const mGc = performance.now() - t1;
  rows[0].map = `${fmt((N / mInsert) * 1000)} /s`;
  rows[1].map = `${fmt((N / mLook) * 1000)} /s`;
  rows[8].map = `${perSession(b0.rss, b1.rss)} B`;
  rows[9].map = `${perSession(b0.heapUsed, b1.heapUsed)} B`;
  rows[12].map = `${mGc.toFixed(0)} ms`;
  map.clear();
}

console.log(`session-table bench: ${fmt(N)} sessions, Node ${process.version}`);
console.log(allocNote);
console.log('');
console.log('| measure | SessionTable (typed arrays) | Map<string, object> baseline |');
console.log('| --- | --- | --- |');
for (const r of rows) console.log(`| ${r.what} | ${r.table} | ${r.map || '-'} |`);
