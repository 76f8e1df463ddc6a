// HA3: the active/active packet link. A frame that reaches the box not owning its session (or not
// setting a new one up) travels to the peer whole, in an authenticated layer-2 envelope:
//
//   | outer Ethernet (14) | HA3 header (20) | payload (N) | tag (16) |
//   outer ethertype 0x88b5 (IEEE 802 local experimental 1): HA3 is a dedicated link, never routed
//   header: version u8, kind u8, sender u8, flags u8, ingress u8, reserved u8, payload length u16,
//           epoch u64 (the sender's start time in ms: a restart is always newer), seq u32 (big endian)
//   tag = HMAC-SHA256(key, "tandem-ha3\0" + header + payload), first 16 bytes
//
// The payload is a whole Ethernet frame as it arrived (DATA), a 64-byte session record (INSERT: the
// peer should hold this session now), or the record's key echoed (ACK). HELLO keeps the link's
// liveness and the peer's MAC known when nothing else flows. A 128-bit tag is the truncation
// RFC 2104 section 5 allows (at least half the hash, at least 80 bits); the whole frame is
// authenticated before any field but the lengths is believed, as in wire/auth.ts.
//
// Pure: no clock, no I/O. The opener is the only door for HA3 input: a frame it refuses carries a
// reason the dataplane counts and drops.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ReplayWindow } from './replay-window.js';

export const HA3_ETHERTYPE = 0x88b5;
export const HA3_VERSION = 1;
export const HA3_HEADER_BYTES = 20;
export const HA3_TAG_BYTES = 16;
const ETH_BYTES = 14;
/** What HA3 adds around a frame it carries, outer Ethernet header included. */
export const HA3_OVERHEAD_BYTES = ETH_BYTES + HA3_HEADER_BYTES + HA3_TAG_BYTES;

export const HA3_DATA = 1;
export const HA3_INSERT = 2;
export const HA3_ACK = 3;
export const HA3_HELLO = 4;
export type Ha3Kind = typeof HA3_DATA | typeof HA3_INSERT | typeof HA3_ACK | typeof HA3_HELLO;

/** DATA: the receiver sets the new flow up (it is the setup device). */
export const HA3_FLAG_SETUP = 1;
/** DATA: the sender had no session; the receiver processes it if it has one, and never sends it back. */
export const HA3_FLAG_MISS = 2;

/** Why an HA3 frame was refused. The values are drop reasons: keep them stable. */
export type Ha3Reject = 'ha3-short' | 'ha3-version' | 'ha3-kind' | 'ha3-length' | 'ha3-bad-mac' | 'ha3-wrong-sender' | 'ha3-stale-epoch' | 'ha3-replay';
export const HA3_REJECTS: readonly Ha3Reject[] = [
  'ha3-short',
  'ha3-version',
  'ha3-kind',
  'ha3-length',
  'ha3-bad-mac',
  'ha3-wrong-sender',
  'ha3-stale-epoch',
  'ha3-replay',
];

const LABEL = Buffer.from('tandem-ha3\0', 'latin1');

export interface Ha3Header {
  kind: Ha3Kind;
  sender: number;
  flags: number;
  /** The logical interface the carried frame arrived on (DATA), as an index both boxes share. */
  ingress: number;
  epoch: number;
  seq: number;
}

/** The smallest HA3 device MTU that carries any frame of a traffic link with this MTU. */
export function ha3MtuNeeded(trafficMtu: number): number {
  // the carried frame is trafficMtu + its 14-byte header; the outer header is not part of an MTU
  return trafficMtu + ETH_BYTES + HA3_HEADER_BYTES + HA3_TAG_BYTES;
}

function tagOf(key: Buffer, frame: Uint8Array, from: number, to: number): Buffer {
  return createHmac('sha256', key).update(LABEL).update(frame.subarray(from, to)).digest().subarray(0, HA3_TAG_BYTES);
}

export class Ha3Sealer {
  private seq = 0;

  constructor(
    private readonly key: Buffer,
    private readonly sender: number,
    private epoch: number,
  ) {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`HA3 epoch ${epoch}: a non-negative integer (ms)`);
  }

  /** The whole outer frame, addressed dst <- src, carrying payload. */
  seal(kind: Ha3Kind, flags: number, ingress: number, payload: Uint8Array, dst: Uint8Array, src: Uint8Array): Uint8Array {
    const len = payload.length;
    if (len > 0xffff) throw new RangeError(`HA3 payload of ${len} bytes: at most 65535`);
    const out = new Uint8Array(HA3_OVERHEAD_BYTES + len);
    const v = new DataView(out.buffer);
    out.set(dst.subarray(0, 6), 0);
    out.set(src.subarray(0, 6), 6);
    v.setUint16(12, HA3_ETHERTYPE);
    const h = ETH_BYTES;
    out[h] = HA3_VERSION;
    out[h + 1] = kind;
    out[h + 2] = this.sender;
    out[h + 3] = flags;
    out[h + 4] = ingress;
    v.setUint16(h + 6, len);
    // 2^32 frames is 5 days at 10k frames/s: the sender moves to a newer epoch rather than wrap
    if (this.seq === 0xffffffff) {
      this.epoch++;
      this.seq = 0;
    }
    this.seq++;
    v.setBigUint64(h + 8, BigInt(this.epoch));
    v.setUint32(h + 16, this.seq);
    out.set(payload, h + HA3_HEADER_BYTES);
    const end = h + HA3_HEADER_BYTES + len;
    out.set(tagOf(this.key, out, h, end), end);
    return out;
  }
}

export type Ha3Opened = { ok: true; header: Ha3Header; payload: Uint8Array } | { ok: false; reason: Ha3Reject };

export class Ha3Opener {
  private epoch = -1;
  private readonly window = new ReplayWindow();

  constructor(
    private readonly key: Buffer,
    private readonly peer: number,
  ) {}

  /** Checks a received outer frame (the first len bytes of frame), in order: lengths, tag, sender, epoch, replay. */
  open(frame: Uint8Array, len: number = frame.length): Ha3Opened {
    if (len < HA3_OVERHEAD_BYTES) return { ok: false, reason: 'ha3-short' };
    const h = ETH_BYTES;
    const v = new DataView(frame.buffer, frame.byteOffset, len);
    if (frame[h] !== HA3_VERSION) return { ok: false, reason: 'ha3-version' };
    const payloadLen = v.getUint16(h + 6);
    const end = h + HA3_HEADER_BYTES + payloadLen;
    // the frame may be padded to Ethernet's minimum, never shorter than it says
    if (end + HA3_TAG_BYTES > len) return { ok: false, reason: 'ha3-length' };
    const tag = frame.subarray(end, end + HA3_TAG_BYTES);
    if (!timingSafeEqual(tagOf(this.key, frame, h, end), tag)) return { ok: false, reason: 'ha3-bad-mac' };
    const kind = frame[h + 1];
    if (kind < HA3_DATA || kind > HA3_HELLO) return { ok: false, reason: 'ha3-kind' };
    if (frame[h + 2] !== this.peer) return { ok: false, reason: 'ha3-wrong-sender' };
    const epoch = Number(v.getBigUint64(h + 8));
    const seq = v.getUint32(h + 16);
    if (epoch < this.epoch) return { ok: false, reason: 'ha3-stale-epoch' };
    if (epoch > this.epoch) {
      // the peer restarted: its sequence starts again
      this.epoch = epoch;
      this.window.reset();
    }
    if (this.window.check(seq) === 'replay') return { ok: false, reason: 'ha3-replay' };
    this.window.record(seq);
    const header: Ha3Header = { kind: kind as Ha3Kind, sender: frame[h + 2], flags: frame[h + 3], ingress: frame[h + 4], epoch, seq };
    return { ok: true, header, payload: frame.subarray(h + HA3_HEADER_BYTES, end) };
  }
}

/** Is this received frame HA3's (by its outer ethertype)? */
export function isHa3Frame(frame: Uint8Array, len: number): boolean {
  return len >= ETH_BYTES && frame[12] === HA3_ETHERTYPE >> 8 && frame[13] === (HA3_ETHERTYPE & 0xff);
}
