// Inputs for the HA1/HA2 fuzzers: protobuf messages built field by field with values at and
// beyond every range the codecs check (bad enums, numbers past uint32 and 2^53, missing bodies,
// long strings, huge repeated fields), and a sealer that authenticates any bytes, so that
// malformed content reaches the decoders and handlers behind the MAC check as a real peer's would.
import { tandem } from '../../../generated/ha1.js';
import { tandem as tandem2 } from '../../../generated/ha2.js';
import { BaseSealer } from '../../../src/wire/auth.js';
import { BODY_KINDS, CONFIG_LINEAGE_MAX, type Envelope } from '../../../src/wire/codec.js';
import { MAX_BATCH_RECORDS, MAX_BULK_REASON_BYTES, type Ha2Envelope } from '../../../src/wire/ha2-codec.js';
import type { Prng } from './prng.js';

/** Seals whatever bytes it is given with the real key and channel (the MAC a peer would compute). */
export class RawSealer extends BaseSealer<Uint8Array> {
  protected override encode(_header: unknown, body: Uint8Array): Buffer {
    return Buffer.from(body);
  }
}

/** A uint64 past 2^53 as protobufjs takes it (low/high words). */
const U64_MAX = { low: 0xffff_ffff | 0, high: 0xffff_ffff | 0, unsigned: true };
const U53_PLUS_1 = { low: 0, high: 0x0020_0000, unsigned: true };

function u32(rng: Prng): number {
  return rng.pick([0, 1, 2, 3, 4, 5, 254, 255, 256, 1000, 0x7fff_ffff, 0xffff_ffff, rng.u32()]);
}

function u64(rng: Prng): number | typeof U64_MAX {
  return rng.pick<number | typeof U64_MAX>([0, 1, 1_000_000, Number.MAX_SAFE_INTEGER, U53_PLUS_1, U64_MAX, rng.u32() * 1000]);
}

function enumValue(rng: Prng): number {
  return rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 42, 0x7fff_ffff, -1]);
}

function str(rng: Prng): string {
  switch (rng.int(7)) {
    case 0:
      return '';
    case 1:
      return 'x'.repeat(rng.range(1, 70_000));
    case 2:
      return '\u0000\uffff\ud800 é 中 🙂';
    case 3:
      return '{"zones":';
    case 4:
      return 'a'.repeat(MAX_BULK_REASON_BYTES + 1);
    case 5:
      return rng.bytes(rng.int(64)).toString('latin1');
    default:
      return 'passive';
  }
}

/** Half the fields present, each with an edge value. */
function fields(rng: Prng, make: Record<string, () => unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(make)) if (rng.chance(0.6)) out[k] = v();
  return out;
}

/** An HA1 envelope's bytes with a random body of edge values (sender/group right, or not). */
export function ha1EnvelopeBytes(rng: Prng, head: { sender: number; groupId: number; epoch: number; seq: number }): Uint8Array {
  const kind = rng.int(BODY_KINDS.length + 1); // + none
  const body: Record<string, unknown> = {};
  switch (kind) {
    case 0:
      body.heartbeat = fields(rng, {
        state: () => enumValue(rng),
        priority: () => u32(rng),
        preempt: () => rng.chance(0.5),
        sentNs: () => u64(rng),
        echoNs: () => u64(rng),
        echoDelayNs: () => u64(rng),
        link: () => u32(rng),
      });
      break;
    case 1:
      body.hello = fields(rng, {
        name: () => str(rng),
        priority: () => u32(rng),
        preempt: () => true,
        state: () => enumValue(rng),
        stateReason: () => str(rng),
        softwareVersion: () => str(rng),
        groupId: () => u32(rng),
        mode: () => str(rng),
        heartbeatIntervalMs: () => u32(rng),
        heartbeatMissed: () => u32(rng),
        configVersion: () => u64(rng),
        configHash: () => str(rng),
        uptimeMs: () => u64(rng),
      });
      break;
    case 2:
      body.stateUpdate = fields(rng, { state: () => enumValue(rng), reason: () => str(rng) });
      break;
    case 3:
      body.command = fields(rng, { type: () => enumValue(rng), reason: () => str(rng), id: () => u64(rng) });
      break;
    case 4:
      body.goodbye = fields(rng, { reason: () => str(rng) });
      break;
    case 5:
      body.configPush = fields(rng, {
        version: () => u64(rng),
        hash: () => str(rng),
        sharedJson: () => rng.pick(['', '{}', 'null', '[]', '{"zones":{}}', '['.repeat(50_000), str(rng)]),
        lineage: () => Array.from({ length: rng.pick([0, 1, CONFIG_LINEAGE_MAX, CONFIG_LINEAGE_MAX + 1, 5000]) }, () => 'h'),
        committedAtMs: () => u64(rng),
        committedBy: () => str(rng),
        requestId: () => rng.pick([0, 0, 1, 7]),
      });
      break;
    case 6:
      body.configAck = fields(rng, {
        version: () => u64(rng),
        hash: () => str(rng),
        applied: () => rng.chance(0.5),
        error: () => str(rng),
        keptAside: () => str(rng),
      });
      break;
    case 7:
      body.configRequest = fields(rng, { requestId: () => u64(rng) });
      break;
    default:
      break; // no body at all
  }
  const env = {
    sender: rng.chance(0.9) ? head.sender : u32(rng),
    groupId: rng.chance(0.9) ? head.groupId : u32(rng),
    epoch: head.epoch,
    seq: head.seq,
    ...body,
  };
  return tandem.ha1.Envelope.encode(env).finish();
}

function record(rng: Prng): Record<string, unknown> {
  return fields(rng, {
    // mostly upserts and updates (a clear in every batch would leave nothing to exercise)
    op: () => (rng.chance(0.7) ? rng.pick([1, 2]) : rng.pick([0, 3, 4, 5, 6, 7, 8, 255, 256, 0xffff_ffff])),
    proto: () => rng.pick([0, 1, 6, 17, 255, 256, 0xffff]),
    state: () => rng.pick([0, 1, 3, 4, 9, 10, 11, 255, 256, 0xffff_ffff]),
    flags: () => u32(rng),
    origSrc: () => rng.pick([0x0a00_010a, 0x0a00_020a, 0, 0xffff_ffff, rng.u32()]),
    origSrcPort: () => rng.pick([0, 80, 40000, 65535, 65536, 0xffff_ffff]),
    origDst: () => rng.pick([0x0a00_020a, 0x0a00_0201, 0x0a00_0101, rng.u32()]),
    origDstPort: () => rng.pick([0, 80, 5003, 65535, 65536]),
    replySrc: () => rng.pick([0x0a00_020a, 0x0a00_010a, rng.u32()]),
    replySrcPort: () => rng.pick([0, 80, 5003, 65535, 65536]),
    replyDst: () => rng.pick([0x0a00_0201, 0x0a00_010a, rng.u32()]),
    replyDstPort: () => rng.pick([0, 1024, 40000, 65535, 70000]),
    ruleId: () => rng.pick([-1, 0, 1, 2, 3, 100, -2, 0x7fff_ffff, -0x8000_0000]),
    natRuleId: () => rng.pick([-1, 0, 1, 5, -7, 0x7fff_ffff]),
    ingress: () => rng.pick([0, 1, 2, 7, 65535, 65536, 0xffff_ffff]),
    egress: () => rng.pick([0, 1, 2, 9, 65536, 0xffff_ffff]),
    timeoutMs: () => u32(rng),
    eventMs: () => u64(rng),
  });
}

/** An HA2 envelope's bytes: a batch of records of edge values (sometimes far too many), an ack, a bulk request, or nothing. */
export function ha2EnvelopeBytes(rng: Prng, head: { sender: number; groupId: number; epoch: number; seq: number }): Uint8Array {
  const body: Record<string, unknown> = {};
  switch (rng.int(4)) {
    case 0: {
      const n = rng.chance(0.01) ? MAX_BATCH_RECORDS + 1 : rng.int(40);
      const one = rng.chance(0.5) ? record(rng) : null;
      body.batch = fields(rng, { seq: () => u64(rng), sentMs: () => u64(rng), records: () => Array.from({ length: n }, () => one ?? record(rng)) });
      break;
    }
    case 1:
      body.ack = fields(rng, { seq: () => u64(rng), echoSentMs: () => u64(rng) });
      break;
    case 2:
      body.bulkRequest = fields(rng, { reason: () => str(rng) });
      break;
    default:
      break;
  }
  const env = {
    sender: rng.chance(0.9) ? head.sender : u32(rng),
    groupId: rng.chance(0.9) ? head.groupId : u32(rng),
    epoch: head.epoch,
    seq: head.seq,
    ...body,
  };
  return tandem2.ha2.Ha2Envelope.encode(env).finish();
}

const HA_STATES = new Set(['initial', 'passive', 'active', 'suspended', 'non-functional', 'tentative', 'active-primary', 'active-secondary']);
const isUint = (v: unknown, max = Number.MAX_SAFE_INTEGER) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;

/** What a decoded (accepted) HA1 envelope must be, whatever the peer sent. Returns the violations. */
export function ha1Violations(env: Envelope): string[] {
  const bad: string[] = [];
  const b = env.body as Record<string, any> & { kind: string };
  if (!BODY_KINDS.includes(b.kind as never)) bad.push(`kind ${b.kind}`);
  const inner = b[b.kind] as Record<string, unknown> | undefined;
  if (!inner) return [...bad, 'no body object'];
  for (const [k, v] of Object.entries(inner)) {
    if (typeof v === 'number' && !isUint(v)) bad.push(`${b.kind}.${k} = ${v}`);
    if (k === 'state' && !HA_STATES.has(v as string)) bad.push(`${b.kind}.state = ${String(v)}`);
  }
  if (b.kind === 'heartbeat' && !(isUint(inner.priority, 255) && isUint(inner.link, 2))) bad.push('heartbeat priority/link out of range');
  if (b.kind === 'hello' && !isUint(inner.priority, 255)) bad.push('hello.priority out of range');
  if (b.kind === 'command' && !['take-over', 'take-over-ack'].includes(inner.type as string)) bad.push(`command.type ${String(inner.type)}`);
  if (b.kind === 'configPush' && !(Array.isArray(inner.lineage) && inner.lineage.length <= CONFIG_LINEAGE_MAX)) bad.push('configPush.lineage too long');
  return bad;
}

/** What a decoded (accepted) HA2 envelope must be. */
export function ha2Violations(env: Ha2Envelope): string[] {
  const bad: string[] = [];
  const b = env.body;
  if (b.kind === 'batch') {
    if (b.batch.records.length > MAX_BATCH_RECORDS) bad.push(`${b.batch.records.length} records`);
    for (const r of b.batch.records) {
      for (const [k, v] of Object.entries(r)) {
        const min = k === 'ruleId' || k === 'natRuleId' ? -1 : 0;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad.push(`record.${k} = ${String(v)}`);
      }
      if (r.op > 0xff || r.proto > 0xff || r.origSrcPort > 0xffff || r.origDstPort > 0xffff || r.replySrcPort > 0xffff || r.replyDstPort > 0xffff)
        bad.push('record field past its wire range');
    }
  } else if (b.kind === 'bulkRequest') {
    if (Buffer.byteLength(b.bulkRequest.reason) > MAX_BULK_REASON_BYTES) bad.push('bulkRequest.reason too long');
  } else if (b.kind !== 'ack') bad.push(`kind ${(b as { kind: string }).kind}`);
  return bad;
}
