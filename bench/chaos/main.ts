// bench/chaos: N consecutive failovers of the active box (or, active/active, of either box) in one lab, cycling kill -9 (and
// restart), SIGSTOP/SIGCONT, WAN link down/up, HA1 cut, HA2 cut, path target loss and a graceful
// restart, with TCP and UDP flows running throughout (run.ts). Prints a table per failure kind;
// exits 1 when a target is missed (a dual-active frame on the switch, a lost established session).
//
//   npm run bench:chaos -- [--failovers 100] [--kinds kill,stop,link,ha1,ha2,path,restart] [--seed S]
//       [--conns 500] [--interval-ms 100] [--window-ms 1] [--timers INTERVAL,MISSED,HOLD] [--io ring|ring-thread|ring-v3|pcap] [--out DIR]
//       [--lab-mode active-passive|active-active] [--fail alternate|primary|secondary] [--name LAB]
//
// --lab-mode active-active: the active/active lab; --conns TCP connections and a 1 ms UDP probe
// from each of client (device 0) and client2 (device 1), routed, the answers through the other
// box; each iteration fails the primary or the secondary (--fail, default alternate); the
// switch's frames are judged per virtual MAC class (a class answered by both boxes at once).
//
// --failovers 9 is one of each kind (the quick mode).
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { KINDS, parseKinds } from './analyse.js';
import { formatReport, verdict } from './report.js';
import { runChaos } from './run.js';
import { FAIL_WHICH, type FailWhich } from './pair.js';
import { LAB_MODES, type LabMode } from '../../src/lab/topology.js';
import { parseIoVariants } from '../lib/io-variants.js';

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i];
  if (!key.startsWith('--') || process.argv[i + 1] === undefined) {
    process.stderr.write(`bench:chaos: expected --option value pairs, got ${JSON.stringify(key)}\n`);
    process.exit(2);
  }
  argv.set(key.slice(2), process.argv[i + 1]);
}
const known = new Set(['failovers', 'kinds', 'seed', 'conns', 'interval-ms', 'window-ms', 'timers', 'io', 'out', 'name', 'lab-mode', 'fail']);
for (const k of argv.keys()) {
  if (!known.has(k)) {
    process.stderr.write(`bench:chaos: unknown option --${k} (known: ${[...known].map((x) => `--${x}`).join(' ')})\n`);
    process.exit(2);
  }
}

function int(key: string, fallback: number, min: number, max: number): number {
  const text = argv.get(key);
  const v = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`bench:chaos: --${key}: got ${JSON.stringify(text)}, expected a whole number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return v;
}

const labName = argv.get('name') ?? `ch${randomBytes(3).toString('hex')}`;
const windowMs = Number(argv.get('window-ms') ?? '1');
if (!(windowMs > 0 && windowMs <= 1000)) {
  process.stderr.write('bench:chaos: --window-ms: expected a number of ms above 0, at most 1000\n');
  process.exit(2);
}
let kinds;
try {
  kinds = parseKinds(argv.get('kinds') ?? KINDS.join(','));
} catch (err) {
  process.stderr.write(`bench:chaos: ${(err as Error).message}\n`);
  process.exit(2);
}
const labMode = (argv.get('lab-mode') ?? 'active-passive') as LabMode;
const fail = (argv.get('fail') ?? 'alternate') as FailWhich;
if (!LAB_MODES.includes(labMode) || !FAIL_WHICH.includes(fail) || (argv.has('fail') && labMode !== 'active-active')) {
  process.stderr.write(`bench:chaos: --lab-mode ${LAB_MODES.join('|')}; --fail ${FAIL_WHICH.join('|')} (active-active only)\n`);
  process.exit(2);
}
const result = await runChaos({
  labMode,
  fail,
  failovers: int('failovers', 100, 1, 100_000),
  kinds,
  seed: int('seed', randomInt(0, 2 ** 31 - 1), 0, 2 ** 31 - 1),
  conns: int('conns', 500, 1, 5000),
  intervalMs: int('interval-ms', 100, 1, 10_000),
  windowUs: Math.round(windowMs * 1000),
  timers: argv.get('timers'),
  io: argv.get('io') === undefined ? undefined : parseIoVariants(argv.get('io')!)[0],
  outDir: argv.get('out') ?? join(tmpdir(), `tandem-chaos-${labName}`),
  labName,
  log: (line) => process.stderr.write(`${line}\n`),
});
console.log(`\n${formatReport(result)}`);
console.log(`\nresults: ${join(argv.get('out') ?? join(tmpdir(), `tandem-chaos-${labName}`), 'result.json')}`);
process.exit(verdict(result).missed.length === 0 ? 0 : 1);
