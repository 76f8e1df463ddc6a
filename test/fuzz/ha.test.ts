// HA1 and HA2 input fuzzing: raw bytes into the stream framer and the openers (a peer without
// the key), then authenticated messages (right key, fresh sequence) with malformed content into
// the decoders and the handlers behind them: ConfigSync for HA1's config messages, the HA2 ring
// and a dataplane that applies the records, takes over and forwards. Never a throw of a
// non-domain error, every refusal counted by reason, nothing held for a length only claimed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileRecord } from '../../src/config/commit.js';
import { ConfigStore } from '../../src/config/store.js';
import { ConfigSync } from '../../src/control/config-sync.js';
import { ROLE_ACTIVE, ROLE_PASSIVE } from '../../src/wire/shared-state.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/registry.js';
import { emptyRecord, REC_UPSERT, type SessionRecord } from '../../src/wire/session-record.js';
import { RecordRing } from '../../src/wire/record-ring.js';
import { HA2_MAX_FRAME_BYTES } from '../../src/sync/stream.js';
import { HA2_CHANNEL, HA2_MAX_MESSAGE_BYTES, Ha2Opener, Opener, REJECT_REASONS } from '../../src/wire/auth.js';
import { encodeEnvelope, type EnvelopeBody } from '../../src/wire/codec.js';
import { AEAD_MAGIC } from '../../src/wire/crypto.js';
import { isWireError } from '../../src/wire/errors.js';
import { encodeFrame, FrameDecoder } from '../../src/wire/framing.js';
import { encodeHa2 } from '../../src/wire/ha2-codec.js';
import { FrameRig, labConfig, LAN, WAN } from './lib/frame-rig.js';
import { ipv4Frame, icmpMessage, tcpSegment, udpDatagram } from './lib/frames.js';
import { ha1EnvelopeBytes, ha1Violations, ha2EnvelopeBytes, ha2Violations, RawSealer } from './lib/ha.js';
import { mutateBytes } from './lib/mutate.js';
import { describeInput, Prng, seedFromEnv } from './lib/prng.js';
import { formatIpv4 } from '../../src/net/ipv4.js';

const SEED = seedFromEnv(0x4a11);
const KEY = Buffer.from('fuzz-key-0123456789abcdef0123456789');
const PEER = 1;
const GROUP = 1;
const HB_MAX = 16 * 1024;
const SESSION_MAX = 4 * 1024 * 1024;
const log = createLogger({ level: 'fatal', name: 'fuzz' });

function tally(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

describe(`HA fuzzing (seed ${SEED})`, () => {
  it('the stream framer: random bytes in random chunks give frames or a WireError, and never hold a claimed length', () => {
    const rng = new Prng(SEED);
    const max = 64 * 1024;
    const results: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      const parts: Buffer[] = [];
      for (let k = rng.int(6); k >= 0; k--) {
        const kind = rng.int(4);
        if (kind === 0) parts.push(encodeFrame(rng.bytes(rng.range(1, 300))));
        else if (kind === 1) parts.push(rng.bytes(rng.int(200)));
        else if (kind === 2) parts.push(Buffer.from([0xff, 0xff, 0xff, rng.int(256)]));
        else parts.push(Buffer.from([0, 0, 0, 0]));
      }
      const stream = Buffer.concat(parts);
      const d = new FrameDecoder(max);
      let failed: unknown = null;
      let frames = 0;
      for (let off = 0; off < stream.length;) {
        const n = rng.range(1, 64);
        const chunk = stream.subarray(off, off + n);
        off += n;
        try {
          for (const f of d.push(chunk)) {
            frames++;
            expect(f.length).toBeGreaterThan(0);
            expect(f.length).toBeLessThanOrEqual(max);
          }
        } catch (err) {
          if (!isWireError(err) || !(err.code === 'oversize' || err.code === 'empty-frame'))
            throw new Error(describeInput(`framer threw ${String(err)}`, SEED, i, stream), { cause: err });
          if (failed !== null) expect(err).toBe(failed); // a broken stream stays broken, with the same error
          failed = err;
        }
        // never more than one frame's worth plus a header and the chunk in hand
        expect(d.bufferedBytes, describeInput('framer held too much', SEED, i, stream)).toBeLessThanOrEqual(max + 4 + 64);
      }
      tally(results, failed === null ? (frames > 0 ? 'frames' : 'partial') : (failed as { code: string }).code);
    }
    expect(results.oversize).toBeGreaterThan(0);
    expect(results['empty-frame']).toBeGreaterThan(0);
    expect(results.frames).toBeGreaterThan(0);
  });

  it('HA1 and HA2 openers: random bytes without the key are refused by reason, never thrown', () => {
    const rng = new Prng(SEED + 1);
    const openers = [
      new Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: 'ha1-heartbeat-0', maxBytes: HB_MAX }),
      new Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: 'ha1-session-0', maxBytes: SESSION_MAX }),
      new Ha2Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: HA2_CHANNEL, maxBytes: HA2_MAX_MESSAGE_BYTES }),
    ];
    const reasons: Record<string, number> = {};
    for (let i = 0; i < 6000; i++) {
      const len = rng.pick([0, 1, 31, 32, 33, 64, 200, 1400, HB_MAX, HB_MAX + 1, rng.int(20_000)]);
      const bytes = rng.bytes(len);
      if (len > 0 && rng.chance(0.3)) bytes[0] = AEAD_MAGIC; // looks encrypted: the AES-GCM path
      const r = rng.pick(openers).open(bytes);
      if (r.ok) throw new Error(describeInput('random bytes were accepted', SEED + 1, i, bytes));
      expect(REJECT_REASONS).toContain(r.reason);
      tally(reasons, r.reason);
    }
    expect(Object.keys(reasons).sort()).toEqual(['bad-mac', 'oversize', 'short']);
  });

  it('HA1: authenticated messages with malformed content are refused as malformed or decode to in-range values', () => {
    const rng = new Prng(SEED + 2);
    const sealer = new RawSealer({ key: KEY, sender: PEER, groupId: GROUP, epoch: 1, channel: 'ha1-session-0' });
    const newOpener = () => new Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: 'ha1-session-0', maxBytes: SESSION_MAX });
    let opener = newOpener();
    const reasons: Record<string, number> = {};
    const acceptedAs = { encrypted: 0, plain: 0 };
    for (let i = 0; i < 4000; i++) {
      // plain (HMAC trailer) or encrypted (AES-256-GCM): the opener takes both
      const encrypted = rng.chance(0.5);
      sealer.setEncryption(encrypted ? 'aes-256-gcm' : 'none');
      const head = { sender: PEER, groupId: GROUP, epoch: 1, seq: sealer.lastSeq + 1 };
      let payload: Uint8Array;
      const kind = rng.int(10);
      if (kind === 0) payload = rng.bytes(rng.range(1, 300));
      else if (kind <= 3) {
        const good = encodeEnvelope({ ...head, body: { kind: 'stateUpdate', stateUpdate: { state: 'passive', reason: 'fuzz' } } });
        payload = mutateBytes(rng, good, { maxLen: 4096 });
      } else payload = ha1EnvelopeBytes(rng, head);
      if (payload.length === 0) payload = Buffer.from([0]);
      const sealed = sealer.seal(payload);
      let r;
      try {
        r = opener.open(sealed);
      } catch (err) {
        throw new Error(describeInput(`HA1 opener threw ${String(err)}`, SEED + 2, i, payload), { cause: err });
      }
      if (r.ok) {
        const bad = ha1Violations(r.envelope);
        if (bad.length > 0) throw new Error(describeInput(`HA1 accepted out-of-range content: ${bad.join(', ')}`, SEED + 2, i, payload));
        tally(reasons, `ok:${r.envelope.body.kind}`);
        acceptedAs[encrypted ? 'encrypted' : 'plain']++;
      } else {
        expect(REJECT_REASONS).toContain(r.reason);
        tally(reasons, r.reason);
        // a mutated epoch moved the window past the rest: start over, as after a peer restart
        if (r.reason === 'stale-epoch') opener = newOpener();
      }
    }
    expect(reasons.malformed).toBeGreaterThan(500);
    // both formats reached the decoder and were accepted when in range
    expect(acceptedAs.encrypted).toBeGreaterThan(50);
    expect(acceptedAs.plain).toBeGreaterThan(50);
    expect(Object.keys(reasons).filter((k) => k.startsWith('ok:')).length).toBeGreaterThanOrEqual(5);
    expect(reasons['wrong-sender']).toBeGreaterThan(0);
  });

  describe('HA1 config messages into a passive box', () => {
    const dirs: string[] = [];
    afterAll(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('ConfigSync refuses every malformed push, by reason, and keeps its config', async () => {
      const rng = new Prng(SEED + 3);
      const cfg = labConfig();
      const dir = mkdtempSync(join(tmpdir(), 'tandem-fuzz-cs-'));
      dirs.push(dir);
      const metrics = new Metrics({ defaultMetrics: false });
      const sync = new ConfigSync({
        device: cfg.device,
        record: fileRecord(cfg.shared, cfg.device.name, new Date()),
        store: new ConfigStore(dir),
        metrics,
        log,
        apply: async () => ({ restartRequired: [], sessionsRemoved: 0 }),
      });
      const sent: EnvelopeBody[] = [];
      sync.attach({ view: () => ({ state: 'passive', peerUp: true, peerName: 'fw-b' }), send: (b) => (sent.push(b), true), announce: () => undefined });
      const before = { version: sync.version, hash: sync.hash };
      const opener = new Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: 'ha1-session-0', maxBytes: SESSION_MAX });
      const sealer = new RawSealer({ key: KEY, sender: PEER, groupId: GROUP, epoch: 1, channel: 'ha1-session-0' });
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      let fed = 0;
      const goodJson = JSON.stringify(cfg.shared);
      try {
        for (let i = 0; fed < 600 && i < 20_000; i++) {
          const payload = ha1EnvelopeBytes(rng, { sender: PEER, groupId: GROUP, epoch: 1, seq: i + 1 });
          const r = opener.open(sealer.seal(payload));
          if (!r.ok) continue;
          let body = r.envelope.body;
          if (body.kind !== 'configPush' && body.kind !== 'configAck' && body.kind !== 'configRequest') continue;
          // half the pushes carry a real config, cut or mutated, under a hash that does not match
          if (body.kind === 'configPush' && rng.chance(0.5)) {
            const text = rng.chance(0.5)
              ? goodJson.slice(0, rng.int(goodJson.length))
              : mutateBytes(rng, Buffer.from(goodJson), { maxLen: 100_000 }).toString('utf8');
            body = { kind: 'configPush', configPush: { ...body.configPush, sharedJson: text, requestId: 0 } };
          }
          try {
            sync.onMessage(body, performance.now());
          } catch (err) {
            throw new Error(describeInput(`ConfigSync.onMessage threw ${String(err)}`, SEED + 3, i, payload), { cause: err });
          }
          fed++;
        }
        // pushes are handled one after another, asynchronously: let them all finish
        await new Promise((res) => setTimeout(res, 200));
        for (let k = 0; k < 50 && sent.filter((b) => b.kind === 'configAck').length < 1; k++) await new Promise((res) => setTimeout(res, 50));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).toEqual([]);
      expect(fed).toBe(600);
      expect({ version: sync.version, hash: sync.hash }).toEqual(before);
      const acks = sent.filter((b): b is Extract<EnvelopeBody, { kind: 'configAck' }> => b.kind === 'configAck');
      expect(acks.length).toBeGreaterThan(0);
      expect(acks.every((a) => !a.configAck.applied)).toBe(true);
      const text = await metrics.text();
      const refused = [...text.matchAll(/^tandem_config_pushes_total\{direction="rx",result="([^"]+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]);
      expect(Object.fromEntries(refused).invalid ?? 0).toBeGreaterThan(0);
      expect(refused.every(([result]) => result !== 'applied' && result !== 'same')).toBe(true);
    });
  });

  it('HA2: authenticated batches with malformed content are refused or decode in range; what decodes is applied by a dataplane that then takes over and forwards', () => {
    const rng = new Prng(SEED + 4);
    const sealer = new RawSealer({ key: KEY, sender: PEER, groupId: GROUP, epoch: 1, channel: HA2_CHANNEL });
    const newOpener = () => new Ha2Opener({ key: KEY, expectedSender: PEER, groupId: GROUP, channel: HA2_CHANNEL, maxBytes: HA2_MAX_MESSAGE_BYTES });
    let opener = newOpener();
    const out = new RecordRing(4096);
    const inRing = new RecordRing(4096);
    const rig = new FrameRig({ sync: { out, in: inRing } });
    rig.shared.setRole(ROLE_PASSIVE);
    rig.advance(1);
    const reasons: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    const takeOver = () => {
      rig.shared.setRole(ROLE_ACTIVE);
      rig.shared.renewLease(1e15);
      rig.advance(1);
    };
    const applied: SessionRecord[] = [];
    let invalid = 0; // records the ring refuses (SyncChannel's 'invalid'): the codec's ranges should leave none
    const drainOut = () => out.drain(1 << 20, () => undefined);
    for (let i = 0; i < 3000; i++) {
      // second half: the box has taken over; frames of the tuples just synced go through their sessions
      if (i === 1500) takeOver();
      sealer.setEncryption(rng.chance(0.5) ? 'aes-256-gcm' : 'none');
      const head = { sender: PEER, groupId: GROUP, epoch: 1, seq: sealer.lastSeq + 1 };
      let payload: Uint8Array;
      if (rng.chance(0.15)) {
        const r: SessionRecord = {
          ...emptyRecord(),
          op: REC_UPSERT,
          proto: 6,
          origSrc: 0x0a00_010a,
          origSrcPort: 50_000 + i,
          origDst: 0x0a00_020a,
          origDstPort: 80,
          replySrc: 0x0a00_020a,
          replySrcPort: 80,
          replyDst: 0x0a00_0201,
          replyDstPort: 20_000 + i,
          state: 3,
        };
        payload = mutateBytes(rng, encodeHa2({ ...head, body: { kind: 'batch', batch: { seq: head.seq, records: [r], sentMs: 1 } } }), { maxLen: 4096 });
      } else payload = ha2EnvelopeBytes(rng, head);
      if (payload.length === 0) payload = Buffer.from([0]);
      if (payload.length + 32 > HA2_MAX_FRAME_BYTES) {
        tally(reasons, 'frame-oversize');
        continue;
      }
      let r;
      try {
        r = opener.open(sealer.seal(payload));
      } catch (err) {
        throw new Error(describeInput(`HA2 opener threw ${String(err)}`, SEED + 4, i, payload), { cause: err });
      }
      if (!r.ok) {
        expect(REJECT_REASONS).toContain(r.reason);
        tally(reasons, r.reason);
        // a mutated epoch moved the window past the rest: start over, as after a peer restart
        if (r.reason === 'stale-epoch') opener = newOpener();
        continue;
      }
      const bad = ha2Violations(r.envelope);
      if (bad.length > 0) throw new Error(describeInput(`HA2 accepted out-of-range content: ${bad.slice(0, 5).join(', ')}`, SEED + 4, i, payload));
      tally(reasons, `ok:${r.envelope.body.kind}`);
      if (r.envelope.body.kind !== 'batch') continue;
      // as SyncChannel does: a record the ring refuses is skipped alone and counted
      for (const rec of r.envelope.body.batch.records) {
        try {
          if (inRing.push(rec)) applied.push(rec);
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          invalid++;
        }
      }
      try {
        rig.advance(1); // the dataplane's tick applies what is in the ring
        drainOut();
      } catch (err) {
        throw new Error(describeInput(`applying HA2 records threw ${(err as Error).stack}`, SEED + 4, i, payload), { cause: err });
      }
      if (i > 1500) {
        for (const rec of r.envelope.body.batch.records) {
          for (const [ifIndex, frame] of framesOf(rec)) {
            const res = rig.feed(ifIndex, frame);
            if (res.error !== null) throw new Error(describeInput(`a frame of a synced session: ${res.error}`, SEED + 4, i, frame));
            tally(outcomes, res.outcome);
          }
        }
      }
    }
    expect(reasons.malformed).toBeGreaterThan(300);
    expect(reasons['ok:batch']).toBeGreaterThan(50);
    expect(applied.length).toBeGreaterThan(100);
    expect(invalid).toBe(0);

    // every record that went in, through whatever the table holds now
    const fw = rig.engine.pipeline.firewall!;
    expect(fw.table.size).toBeLessThanOrEqual(fw.table.capacity);
    expect(() => fw.sessions({}, 0, rig.now)).not.toThrow();
    for (let i = 0; i < applied.length; i++) {
      const rec = applied[i];
      for (const [ifIndex, frame] of framesOf(rec)) {
        const res = rig.feed(ifIndex, frame);
        if (res.error !== null) throw new Error(describeInput(`a frame of a synced session: ${res.error}`, SEED + 4, i, frame));
        tally(outcomes, res.outcome);
      }
      if (i % 50 === 0) {
        rig.advance(1);
        drainOut();
      }
    }
    expect(Object.keys(outcomes).length).toBeGreaterThan(3);
    // frames went through sessions the peer's records made (translated as the records said)
    expect(outcomes.forwarded ?? 0).toBeGreaterThan(0);
    expect(outcomes['wrong-interface'] ?? 0).toBeGreaterThan(0);
    // a commit re-matches every session (rule ids and interfaces as the peer sent them)
    const result = rig.engine.applyShared(labConfig().shared);
    expect(result.ok).toBe(true);
    rig.advance(120_000); // and they all expire on time
    drainOut();
    expect(() => fw.sessions({}, 100, rig.now)).not.toThrow();
    expect(rig.checkFlows().filter((p) => !p.includes('session gone'))).toEqual([]);
  });
});

/** Frames of a synced record's tuple, both ways, on both interfaces. */
function framesOf(r: SessionRecord): [number, Buffer][] {
  const proto = r.proto === 6 || r.proto === 17 || r.proto === 1 ? r.proto : 6;
  const l4 = (sp: number, dp: number) =>
    proto === 6 ? tcpSegment(sp, dp, 0x10) : proto === 17 ? udpDatagram(sp, dp) : icmpMessage(sp ? 8 : 0, 0, ((sp || dp) << 16) | 1);
  const a = { dstMac: '02:74:64:00:01:01', srcMac: '22:00:00:00:01:0a', src: formatIpv4(r.origSrc), dst: formatIpv4(r.origDst) };
  const b = { dstMac: '02:74:64:00:01:02', srcMac: '22:00:00:00:02:0a', src: formatIpv4(r.replySrc), dst: formatIpv4(r.replyDst) };
  return [
    [LAN, ipv4Frame(a, proto, l4(r.origSrcPort, r.origDstPort))],
    [WAN, ipv4Frame(b, proto, l4(r.replySrcPort, r.replyDstPort))],
    [WAN, ipv4Frame({ ...a, dstMac: b.dstMac }, proto, l4(r.origSrcPort, r.origDstPort))],
  ];
}
