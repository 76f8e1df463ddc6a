// The long fuzz run (test/fuzz holds the bounded CI version): 1,000,000 mutated frames through the
// in-process packet path, then HA1/HA2 messages (raw and authenticated with malformed content)
// (both wire formats: HMAC trailer and AES-256-GCM) and config mutations. Prints the outcome counts by reason, inputs/s, crashes and the longest
// time one input took (a hang shows there). Exit code 1 on any crash, unaccounted frame or lost state.
//   npm run bench:fuzz -- [--frames 1000000] [--busy-frames 200000] [--ha 100000] [--config 10000] [--seed N]
import { ConfigError } from '../src/config/errors.js';
import { parseConfig } from '../src/config/load.js';
import { HA2_CHANNEL, HA2_MAX_MESSAGE_BYTES, Ha2Opener, Opener } from '../src/wire/auth.js';
import { isWireError } from '../src/wire/errors.js';
import { FrameDecoder } from '../src/wire/framing.js';
import { RecordRing } from '../src/wire/record-ring.js';
import { ROLE_ACTIVE } from '../src/wire/shared-state.js';
import { exampleConfigs, mutateConfig } from '../test/fuzz/lib/config.js';
import { busyLabConfig, FrameRig } from '../test/fuzz/lib/frame-rig.js';
import { runFrameStorm } from '../test/fuzz/lib/frame-storm.js';
import { ha1EnvelopeBytes, ha1Violations, ha2EnvelopeBytes, ha2Violations, RawSealer } from '../test/fuzz/lib/ha.js';
import { Prng } from '../test/fuzz/lib/prng.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer`);
  return v;
};
const FRAMES = num('frames', 1_000_000);
const BUSY_FRAMES = num('busy-frames', 200_000);
const HA = num('ha', 100_000);
const CONFIGS = num('config', 10_000);
const SEED = num('seed', 20261125);

const KEY = Buffer.from('bench-fuzz-key-0123456789abcdef0123');
let failed = false;

function table(title: string, counts: Record<string, number>): void {
  console.log(`  ${title}:`);
  for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`    ${k.padEnd(24)} ${v}`);
}

function frames(busy: boolean): void {
  const n = busy ? BUSY_FRAMES : FRAMES;
  const what = busy ? 'lab config + a reject rule, a published service, a 100-session table' : 'lab config';
  console.log(`frames: ${n} mutated frames through the packet path (${what}, active, 3 sessions open), seed ${SEED}`);
  const r = runFrameStorm({ seed: SEED, frames: n, maxFailures: 20, ...(busy ? { config: busyLabConfig() } : {}) });
  table('outcome (counter)', r.outcomes);
  console.log(
    `  frames/s ${Math.round(r.frames / (r.elapsedMs / 1000))}, crashes ${r.crashes}, unaccounted ${r.unaccounted}, protected-flow losses ${r.stateLost}, max ms per frame ${r.maxFrameMs.toFixed(2)}`,
  );
  for (const f of r.failures) console.log(`  FAILURE ${f.slice(0, 2000)}`);
  if (r.crashes + r.unaccounted + r.stateLost > 0) failed = true;
}

function ha(): void {
  console.log(`ha: ${HA} HA1 and ${HA} HA2 authenticated messages with edge-value content, ${HA / 10} framer streams, seed ${SEED}`);
  const rng = new Prng(SEED + 1);
  let crashes = 0;
  let violations = 0;
  let maxMs = 0;
  let slowest = '';
  const timed = <T>(fn: () => T, what: () => string): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const ms = performance.now() - t0;
      if (ms > maxMs) {
        maxMs = ms;
        slowest = what();
      }
    }
  };
  // HA1
  const ha1: Record<string, number> = {};
  const sealer1 = new RawSealer({ key: KEY, sender: 1, groupId: 1, epoch: 1, channel: 'ha1-session-0' });
  let opener1 = new Opener({ key: KEY, expectedSender: 1, groupId: 1, channel: 'ha1-session-0', maxBytes: 4 * 1024 * 1024 });
  const t1 = performance.now();
  for (let i = 0; i < HA; i++) {
    sealer1.setEncryption(rng.chance(0.5) ? 'aes-256-gcm' : 'none'); // both wire formats
    const payload = ha1EnvelopeBytes(rng, { sender: 1, groupId: 1, epoch: 1, seq: sealer1.lastSeq + 1 });
    try {
      const r = timed(
        () => opener1.open(sealer1.seal(payload.length ? payload : Buffer.from([0]))),
        () => `HA1 case ${i}, ${payload.length} bytes`,
      );
      if (r.ok) {
        if (ha1Violations(r.envelope).length) violations++;
        ha1[`accepted ${r.envelope.body.kind}`] = (ha1[`accepted ${r.envelope.body.kind}`] ?? 0) + 1;
      } else {
        ha1[r.reason] = (ha1[r.reason] ?? 0) + 1;
        if (r.reason === 'stale-epoch') opener1 = new Opener({ key: KEY, expectedSender: 1, groupId: 1, channel: 'ha1-session-0', maxBytes: 4 * 1024 * 1024 });
      }
    } catch (err) {
      crashes++;
      console.log(`  CRASH HA1 seed ${SEED + 1} case ${i}: ${String(err)} input ${Buffer.from(payload).toString('hex').slice(0, 2000)}`);
    }
  }
  table('HA1 (opener result)', ha1);
  console.log(`  HA1 messages/s ${Math.round(HA / ((performance.now() - t1) / 1000))}`);
  // HA2, applied by a dataplane that is active
  const ha2: Record<string, number> = {};
  const out = new RecordRing(1 << 16);
  const inRing = new RecordRing(1 << 16);
  const rig = new FrameRig({ sync: { out, in: inRing } });
  rig.shared.setRole(ROLE_ACTIVE);
  const sealer2 = new RawSealer({ key: KEY, sender: 1, groupId: 1, epoch: 1, channel: HA2_CHANNEL });
  const newOpener2 = () => new Ha2Opener({ key: KEY, expectedSender: 1, groupId: 1, channel: HA2_CHANNEL, maxBytes: HA2_MAX_MESSAGE_BYTES });
  let opener2 = newOpener2();
  let records = 0;
  let refused = 0;
  const t2 = performance.now();
  for (let i = 0; i < HA; i++) {
    sealer2.setEncryption(rng.chance(0.5) ? 'aes-256-gcm' : 'none');
    const payload = ha2EnvelopeBytes(rng, { sender: 1, groupId: 1, epoch: 1, seq: sealer2.lastSeq + 1 });
    try {
      timed(
        () => {
          const r = opener2.open(sealer2.seal(payload.length ? payload : Buffer.from([0])));
          if (!r.ok) {
            ha2[r.reason] = (ha2[r.reason] ?? 0) + 1;
            if (r.reason === 'stale-epoch') opener2 = newOpener2();
            return;
          }
          if (ha2Violations(r.envelope).length) violations++;
          ha2[`accepted ${r.envelope.body.kind}`] = (ha2[`accepted ${r.envelope.body.kind}`] ?? 0) + 1;
          if (r.envelope.body.kind !== 'batch') return;
          for (const rec of r.envelope.body.batch.records) {
            try {
              if (inRing.push(rec)) records++;
            } catch {
              refused++;
            }
          }
          rig.advance(1);
          out.drain(1 << 20, () => undefined);
        },
        () => `HA2 case ${i}, ${payload.length} bytes`,
      );
    } catch (err) {
      crashes++;
      console.log(`  CRASH HA2 seed ${SEED + 1} case ${i}: ${(err as Error).stack} input ${Buffer.from(payload).toString('hex').slice(0, 2000)}`);
    }
  }
  table('HA2 (opener result)', ha2);
  console.log(
    `  HA2 messages/s ${Math.round(HA / ((performance.now() - t2) / 1000))}, records applied ${records}, refused by the ring ${refused}, sessions left ${rig.engine.pipeline.firewall!.table.size}`,
  );
  // framer
  const fr: Record<string, number> = {};
  for (let i = 0; i < HA / 10; i++) {
    const d = new FrameDecoder(64 * 1024);
    const stream = rng.bytes(rng.int(4096));
    try {
      timed(
        () => {
          for (let off = 0; off < stream.length; off += 1 + rng.int(100)) d.push(stream.subarray(off, off + 1 + rng.int(100)));
        },
        () => `framer case ${i}`,
      );
      fr.ok = (fr.ok ?? 0) + 1;
    } catch (err) {
      if (isWireError(err)) fr[err.code] = (fr[err.code] ?? 0) + 1;
      else {
        crashes++;
        console.log(`  CRASH framer case ${i}: ${String(err)}`);
      }
    }
  }
  table('framer (random streams)', fr);
  console.log(`  crashes ${crashes}, accepted out-of-range ${violations}, max ms per input ${maxMs.toFixed(2)} (${slowest})`);
  if (crashes + violations > 0) failed = true;
}

function configs(): void {
  console.log(`config: ${CONFIGS} mutations of deploy/*.yaml and deploy/lab/*.yaml, seed ${SEED}`);
  const examples = exampleConfigs();
  const corpus = examples.map((e) => e.text);
  const rng = new Prng(SEED + 2);
  const res: Record<string, number> = {};
  let crashes = 0;
  let maxMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < CONFIGS; i++) {
    const e = rng.pick(examples);
    const text = mutateConfig(rng, e.text, corpus);
    const t = performance.now();
    try {
      parseConfig(text, { source: e.name, baseDir: '/etc/tandem' });
      res.loaded = (res.loaded ?? 0) + 1;
    } catch (err) {
      if (err instanceof ConfigError && err.issues.length > 0) {
        const p = err.issues[0].path;
        const k = p.startsWith('line ') || p === '(yaml)' ? 'refused: yaml' : p.startsWith('(') ? `refused: ${p}` : 'refused: schema';
        res[k] = (res[k] ?? 0) + 1;
      } else {
        crashes++;
        console.log(`  CRASH config seed ${SEED + 2} case ${i}: ${String(err)} input ${JSON.stringify(text).slice(0, 2000)}`);
      }
    }
    maxMs = Math.max(maxMs, performance.now() - t);
  }
  table('result', res);
  console.log(`  configs/s ${Math.round(CONFIGS / ((performance.now() - t0) / 1000))}, crashes ${crashes}, max ms per config ${maxMs.toFixed(1)}`);
  if (crashes > 0) failed = true;
}

// the yaml library warns on collection keys (a mutation makes some): noise here, not a failure
process.removeAllListeners('warning');
const started = performance.now();
if (FRAMES > 0) frames(false);
if (BUSY_FRAMES > 0) frames(true);
if (HA > 0) ha();
if (CONFIGS > 0) configs();
console.log(
  `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${failed ? 'FAILURES (see above)' : '0 crashes, 0 hangs, every input accounted for'}`,
);
process.exit(failed ? 1 : 0);
