// A single-producer single-consumer ring of SessionRecords (src/wire/session-record.ts) in a
// SharedArrayBuffer: the dataplane (main thread) and the control worker exchange session
// changes through two of these without a message per record and without garbage (the
// DESIGN.md rule: keep the session table out of the garbage collector's way).
//
// Layout of the buffer (every offset in bytes):
//
//   0    magic 'TRNG' | layout version | RECORD_BYTES | capacity     (Int32 words, written once)
//   64   head: records ever pushed, mod 2^32   (written by the producer only)
//   128  tail: records ever drained, mod 2^32  (written by the consumer only)
//   192  capacity slots of RECORD_BYTES each
//
// head and tail live on their own 64-byte cache lines so the two threads do not false-share.
// Both are free-running int32 counters; (head - tail) | 0 is the number of records waiting, and
// slot = counter & (capacity - 1), which stays right across the 2^32 wrap because capacity is a
// power of two. Publication follows the usual SPSC protocol: the producer writes the slot with
// plain stores, then Atomics.store(head) (release); the consumer Atomics.load(head) (acquire)
// before reading slots, and Atomics.store(tail) only after copying them out, which is what lets
// the producer reuse those slots. JS Atomics are sequentially consistent, stronger than needed.
//
// One slot (192 bytes = 37 uint32/int32 words + 1 float64, the rest spare; three cache lines):
//
//   word 0   op (bits 0-15) | proto (bits 16-31)
//   word 1   state                      word 8   replyDst
//   word 2   flags                      word 9   ruleId (int32)
//   word 3   origSrc                    word 10  natRuleId (int32)
//   word 4   origSrcPort | origDstPort << 16     word 11  ingress
//   word 5   origDst                    word 12  egress
//   word 6   replySrc                   word 13  timeoutMs
//   word 7   replySrcPort | replyDstPort << 16   bytes 56-63  eventMs (float64)
//   TCP window (layout 2):
//   word 16  origSeqEnd                 word 20  replySeqEnd
//   word 17  origSeqMaxEnd              word 21  replySeqMaxEnd
//   word 18  origMaxWin                 word 22  replyMaxWin
//   word 19  origMaxAck                 word 23  replyMaxAck
//   word 24  origWinFlags (bits 0-7) | replyWinFlags (bits 8-15)
//   IPv6 addresses' high words (layout 3; 0 for IPv4):
//   words 25-27  origSrcW0-2             words 31-33  replySrcW0-2
//   words 28-30  origDstW0-2             words 34-36  replyDstW0-2
//
// Each field is at least as wide as src/wire/ha2-codec.ts allows on the wire (op and proto 8
// bits there), so anything HA2 decodes fits a ring, and anything a ring holds can be encoded
// (eventMs is stored in whole ms, see push).
import { emptyRecord, type SessionRecord } from './session-record.js';

/** Bytes per record slot: three cache lines (one until the TCP window fields, layout 1; two until IPv6, layout 2). */
export const RECORD_BYTES = 192;

/**
 * Largest capacity: 2^24 records (1 GiB of slots). Far above any sane backlog, and it keeps
 * (head - tail) | 0 exact (capacity must stay below 2^31).
 */
export const MAX_RING_CAPACITY = 1 << 24;

/** Bytes before the first slot: the constants' line, head's line, tail's line. */
export const RING_HEADER_BYTES = 192;

/** 'TRNG' in ASCII: marks a buffer made by RecordRing. */
const MAGIC = 0x54_52_4e_47;
/** Bumped whenever the slot layout above changes, so two builds never share a ring silently. */
const LAYOUT_VERSION = 3;

// Int32 indexes of the header words.
const H_MAGIC = 0;
const H_VERSION = 1;
const H_RECORD_BYTES = 2;
const H_CAPACITY = 3;
const H_HEAD = 64 / 4;
const H_TAIL = 128 / 4;

const WORDS_PER_RECORD = RECORD_BYTES / 4;
const HEADER_WORDS = RING_HEADER_BYTES / 4;
/** eventMs's index within a slot, counted in float64s. */
const EVENT_F64 = 7;

const U16_MAX = 0xffff;
const U8_MAX = 0xff;
const RULE_ID_MIN = -1;

/** How many records drain() copies before it publishes tail early, freeing slots for the producer. */
const DRAIN_PUBLISH_EVERY = 64;

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_RING_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`RecordRing: capacity must be a power of two in 1..${MAX_RING_CAPACITY} (got ${capacity})`);
  }
  return capacity;
}

function bufferBytes(capacity: number): number {
  return RING_HEADER_BYTES + capacity * RECORD_BYTES;
}

function badField(field: string, value: number, expected: string): never {
  throw new RangeError(`RecordRing.push: ${field} must be ${expected} (got ${value})`);
}

export class RecordRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly mask: number;
  /** Header words (Atomics) and the signed slot words (rule ids). */
  private readonly i32: Int32Array;
  /** The unsigned slot words. */
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  /** The one object drain() hands to its callback, refilled for every record. */
  private readonly scratch: SessionRecord = emptyRecord();
  private draining = false;

  /**
   * capacity: records, a power of two; buffer: an existing ring's buffer (the other thread's
   * end). Throws RangeError for a bad capacity, or a buffer that is not a ring of exactly this
   * capacity and layout.
   */
  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    this.capacity = checkCapacity(capacity);
    this.mask = capacity - 1;
    const bytes = bufferBytes(capacity);
    if (buffer === undefined) {
      this.buffer = new SharedArrayBuffer(bytes);
      // Touch every page now: the kernel maps a fresh buffer lazily, so a ring cycling through its
      // slots grew the daemon's RSS by ~50 MiB/h for an hour under steady churn (the soak bench,
      // session 3; /proc/PID/smaps showed the rings' region growing while the JS heaps stayed
      // flat). Reserved at start, its memory is what it is from the first second.
      new Uint8Array(this.buffer).fill(0);
      this.i32 = new Int32Array(this.buffer);
      this.i32[H_MAGIC] = MAGIC;
      this.i32[H_VERSION] = LAYOUT_VERSION;
      this.i32[H_RECORD_BYTES] = RECORD_BYTES;
      // Published with a store that orders the header before the buffer is posted anywhere.
      Atomics.store(this.i32, H_CAPACITY, capacity);
    } else {
      if (!(buffer instanceof SharedArrayBuffer)) throw new RangeError('RecordRing: buffer must be a SharedArrayBuffer');
      if (buffer.byteLength < RING_HEADER_BYTES) throw new RangeError(`RecordRing: buffer of ${buffer.byteLength} bytes is not a ring`);
      const header = new Int32Array(buffer, 0, HEADER_WORDS);
      if (header[H_MAGIC] !== MAGIC) throw new RangeError('RecordRing: buffer is not a RecordRing (bad magic)');
      if (header[H_VERSION] !== LAYOUT_VERSION || header[H_RECORD_BYTES] !== RECORD_BYTES) {
        throw new RangeError(`RecordRing: buffer has layout ${header[H_VERSION]}/${header[H_RECORD_BYTES]} bytes, expected ${LAYOUT_VERSION}/${RECORD_BYTES}`);
      }
      const theirs = Atomics.load(header, H_CAPACITY);
      if (theirs !== capacity) throw new RangeError(`RecordRing: buffer holds a ring of capacity ${theirs}, not ${capacity}`);
      if (buffer.byteLength !== bytes) throw new RangeError(`RecordRing: buffer is ${buffer.byteLength} bytes, expected ${bytes}`);
      this.buffer = buffer;
      this.i32 = new Int32Array(buffer);
    }
    this.u32 = new Uint32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** The other thread's end of a ring, its capacity read from the buffer's header. */
  static attach(buffer: SharedArrayBuffer): RecordRing {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < RING_HEADER_BYTES) {
      throw new RangeError('RecordRing.attach: buffer is not a RecordRing');
    }
    return new RecordRing(Atomics.load(new Int32Array(buffer, 0, HEADER_WORDS), H_CAPACITY), buffer);
  }

  /**
   * Producer: copies r into the ring; false when full (nothing written). Zero allocation.
   * Throws RangeError (nothing written) for a value the slot cannot hold exactly: op, proto and
   * ports must be integers in 0..65535; state, flags, addresses, ingress, egress and timeoutMs
   * uint32; rule ids -1..2^31-1; eventMs finite in 0..2^53-1. eventMs is stored floored to
   * whole ms (HA2 carries uint64 ms, and a performance.now()-based clock is fractional).
   * Only one thread may push to a ring.
   */
  push(r: SessionRecord): boolean {
    // Validate everything before touching the slot: a refused record leaves no trace.
    validate(r);
    const eventMs = Math.floor(r.eventMs);
    // Written so that NaN fails too.
    if (!(eventMs >= 0 && eventMs <= Number.MAX_SAFE_INTEGER)) badField('eventMs', r.eventMs, 'a number in 0..2^53-1');

    const i32 = this.i32;
    const head = Atomics.load(i32, H_HEAD);
    // Acquire: slots up to tail have been copied out by the consumer and may be overwritten.
    const tail = Atomics.load(i32, H_TAIL);
    if (((head - tail) | 0) >= this.capacity) return false;

    const slot = head & this.mask;
    const w = HEADER_WORDS + slot * WORDS_PER_RECORD;
    const u32 = this.u32;
    u32[w] = (r.op | (r.proto << 16)) >>> 0;
    u32[w + 1] = r.state;
    u32[w + 2] = r.flags;
    u32[w + 3] = r.origSrc;
    u32[w + 4] = (r.origSrcPort | (r.origDstPort << 16)) >>> 0;
    u32[w + 5] = r.origDst;
    u32[w + 6] = r.replySrc;
    u32[w + 7] = (r.replySrcPort | (r.replyDstPort << 16)) >>> 0;
    u32[w + 8] = r.replyDst;
    i32[w + 9] = r.ruleId;
    i32[w + 10] = r.natRuleId;
    u32[w + 11] = r.ingress;
    u32[w + 12] = r.egress;
    u32[w + 13] = r.timeoutMs;
    this.f64[(w >> 1) + EVENT_F64] = eventMs;
    u32[w + 16] = r.origSeqEnd;
    u32[w + 17] = r.origSeqMaxEnd;
    u32[w + 18] = r.origMaxWin;
    u32[w + 19] = r.origMaxAck;
    u32[w + 20] = r.replySeqEnd;
    u32[w + 21] = r.replySeqMaxEnd;
    u32[w + 22] = r.replyMaxWin;
    u32[w + 23] = r.replyMaxAck;
    u32[w + 24] = r.origWinFlags | (r.replyWinFlags << 8);
    u32[w + 25] = r.origSrcW0;
    u32[w + 26] = r.origSrcW1;
    u32[w + 27] = r.origSrcW2;
    u32[w + 28] = r.origDstW0;
    u32[w + 29] = r.origDstW1;
    u32[w + 30] = r.origDstW2;
    u32[w + 31] = r.replySrcW0;
    u32[w + 32] = r.replySrcW1;
    u32[w + 33] = r.replySrcW2;
    u32[w + 34] = r.replyDstW0;
    u32[w + 35] = r.replyDstW1;
    u32[w + 36] = r.replyDstW2;
    // Release: the slot's words are visible to whoever loads this head.
    Atomics.store(i32, H_HEAD, (head + 1) | 0);
    return true;
  }

  /**
   * Consumer: up to `max` records, each copied into one reused object passed to fn. Returns how
   * many. fn must copy what it keeps (the object is refilled for the next record) and must not
   * call drain on this ring (throws). A record whose fn throws counts as consumed: the error
   * propagates after the records handed out so far are released, so a poison record is never
   * delivered twice. Only one thread may drain a ring.
   */
  drain(max: number, fn: (r: SessionRecord) => void): number {
    if (this.draining) throw new Error('RecordRing.drain: re-entered from its own callback');
    if (!(max >= 1)) return 0;
    const i32 = this.i32;
    const tail = Atomics.load(i32, H_TAIL);
    // Acquire: every slot before this head is fully written.
    const head = Atomics.load(i32, H_HEAD);
    const waiting = (head - tail) | 0;
    const n = waiting < max ? waiting : Math.floor(max);
    if (n <= 0) return 0;

    const u32 = this.u32;
    const f64 = this.f64;
    const r = this.scratch;
    let done = 0;
    this.draining = true;
    try {
      while (done < n) {
        const w = HEADER_WORDS + ((tail + done) & this.mask) * WORDS_PER_RECORD;
        const w0 = u32[w];
        r.op = w0 & U16_MAX;
        r.proto = w0 >>> 16;
        r.state = u32[w + 1];
        r.flags = u32[w + 2];
        r.origSrc = u32[w + 3];
        const w4 = u32[w + 4];
        r.origSrcPort = w4 & U16_MAX;
        r.origDstPort = w4 >>> 16;
        r.origDst = u32[w + 5];
        r.replySrc = u32[w + 6];
        const w7 = u32[w + 7];
        r.replySrcPort = w7 & U16_MAX;
        r.replyDstPort = w7 >>> 16;
        r.replyDst = u32[w + 8];
        r.ruleId = i32[w + 9];
        r.natRuleId = i32[w + 10];
        r.ingress = u32[w + 11];
        r.egress = u32[w + 12];
        r.timeoutMs = u32[w + 13];
        r.eventMs = f64[(w >> 1) + EVENT_F64];
        r.origSeqEnd = u32[w + 16];
        r.origSeqMaxEnd = u32[w + 17];
        r.origMaxWin = u32[w + 18];
        r.origMaxAck = u32[w + 19];
        r.replySeqEnd = u32[w + 20];
        r.replySeqMaxEnd = u32[w + 21];
        r.replyMaxWin = u32[w + 22];
        r.replyMaxAck = u32[w + 23];
        const w24 = u32[w + 24];
        r.origWinFlags = w24 & U8_MAX;
        r.replyWinFlags = (w24 >>> 8) & U8_MAX;
        r.origSrcW0 = u32[w + 25];
        r.origSrcW1 = u32[w + 26];
        r.origSrcW2 = u32[w + 27];
        r.origDstW0 = u32[w + 28];
        r.origDstW1 = u32[w + 29];
        r.origDstW2 = u32[w + 30];
        r.replySrcW0 = u32[w + 31];
        r.replySrcW1 = u32[w + 32];
        r.replySrcW2 = u32[w + 33];
        r.replyDstW0 = u32[w + 34];
        r.replyDstW1 = u32[w + 35];
        r.replyDstW2 = u32[w + 36];
        done++;
        // Free the slots copied so far now and then, so a long drain does not hold the producer off.
        if ((done & (DRAIN_PUBLISH_EVERY - 1)) === 0) Atomics.store(i32, H_TAIL, (tail + done) | 0);
        fn(r);
      }
    } finally {
      this.draining = false;
      Atomics.store(i32, H_TAIL, (tail + done) | 0);
    }
    return done;
  }

  /** Records waiting (approximate from the other thread). */
  get size(): number {
    const tail = Atomics.load(this.i32, H_TAIL);
    const head = Atomics.load(this.i32, H_HEAD);
    // The two loads are not one snapshot: clamp what a concurrent push or drain can skew.
    const n = (head - tail) | 0;
    return n < 0 ? 0 : n > this.capacity ? this.capacity : n;
  }
}

/** push()'s checks of every field but eventMs: throws RangeError for a value the slot cannot hold. */
function validate(r: SessionRecord): void {
  if ((r.op & U16_MAX) !== r.op) badField('op', r.op, 'an integer in 0..65535');
  if ((r.proto & U16_MAX) !== r.proto) badField('proto', r.proto, 'an integer in 0..65535');
  if (r.state >>> 0 !== r.state) badField('state', r.state, 'a uint32');
  if (r.flags >>> 0 !== r.flags) badField('flags', r.flags, 'a uint32');
  if (r.origSrc >>> 0 !== r.origSrc) badField('origSrc', r.origSrc, 'a uint32');
  if ((r.origSrcPort & U16_MAX) !== r.origSrcPort) badField('origSrcPort', r.origSrcPort, 'an integer in 0..65535');
  if (r.origDst >>> 0 !== r.origDst) badField('origDst', r.origDst, 'a uint32');
  if ((r.origDstPort & U16_MAX) !== r.origDstPort) badField('origDstPort', r.origDstPort, 'an integer in 0..65535');
  if (r.replySrc >>> 0 !== r.replySrc) badField('replySrc', r.replySrc, 'a uint32');
  if ((r.replySrcPort & U16_MAX) !== r.replySrcPort) badField('replySrcPort', r.replySrcPort, 'an integer in 0..65535');
  if (r.replyDst >>> 0 !== r.replyDst) badField('replyDst', r.replyDst, 'a uint32');
  if ((r.replyDstPort & U16_MAX) !== r.replyDstPort) badField('replyDstPort', r.replyDstPort, 'an integer in 0..65535');
  if ((r.ruleId | 0) !== r.ruleId || r.ruleId < RULE_ID_MIN) badField('ruleId', r.ruleId, 'an integer in -1..2^31-1');
  if ((r.natRuleId | 0) !== r.natRuleId || r.natRuleId < RULE_ID_MIN) badField('natRuleId', r.natRuleId, 'an integer in -1..2^31-1');
  if (r.ingress >>> 0 !== r.ingress) badField('ingress', r.ingress, 'a uint32');
  if (r.egress >>> 0 !== r.egress) badField('egress', r.egress, 'a uint32');
  if (r.timeoutMs >>> 0 !== r.timeoutMs) badField('timeoutMs', r.timeoutMs, 'a uint32');
  if (r.origSeqEnd >>> 0 !== r.origSeqEnd) badField('origSeqEnd', r.origSeqEnd, 'a uint32');
  if (r.origSeqMaxEnd >>> 0 !== r.origSeqMaxEnd) badField('origSeqMaxEnd', r.origSeqMaxEnd, 'a uint32');
  if (r.origMaxWin >>> 0 !== r.origMaxWin) badField('origMaxWin', r.origMaxWin, 'a uint32');
  if (r.origMaxAck >>> 0 !== r.origMaxAck) badField('origMaxAck', r.origMaxAck, 'a uint32');
  if ((r.origWinFlags & U8_MAX) !== r.origWinFlags) badField('origWinFlags', r.origWinFlags, 'an integer in 0..255');
  if (r.replySeqEnd >>> 0 !== r.replySeqEnd) badField('replySeqEnd', r.replySeqEnd, 'a uint32');
  if (r.replySeqMaxEnd >>> 0 !== r.replySeqMaxEnd) badField('replySeqMaxEnd', r.replySeqMaxEnd, 'a uint32');
  if (r.replyMaxWin >>> 0 !== r.replyMaxWin) badField('replyMaxWin', r.replyMaxWin, 'a uint32');
  if (r.replyMaxAck >>> 0 !== r.replyMaxAck) badField('replyMaxAck', r.replyMaxAck, 'a uint32');
  if ((r.replyWinFlags & U8_MAX) !== r.replyWinFlags) badField('replyWinFlags', r.replyWinFlags, 'an integer in 0..255');
  if (r.origSrcW0 >>> 0 !== r.origSrcW0) badField('origSrcW0', r.origSrcW0, 'a uint32');
  if (r.origSrcW1 >>> 0 !== r.origSrcW1) badField('origSrcW1', r.origSrcW1, 'a uint32');
  if (r.origSrcW2 >>> 0 !== r.origSrcW2) badField('origSrcW2', r.origSrcW2, 'a uint32');
  if (r.origDstW0 >>> 0 !== r.origDstW0) badField('origDstW0', r.origDstW0, 'a uint32');
  if (r.origDstW1 >>> 0 !== r.origDstW1) badField('origDstW1', r.origDstW1, 'a uint32');
  if (r.origDstW2 >>> 0 !== r.origDstW2) badField('origDstW2', r.origDstW2, 'a uint32');
  if (r.replySrcW0 >>> 0 !== r.replySrcW0) badField('replySrcW0', r.replySrcW0, 'a uint32');
  if (r.replySrcW1 >>> 0 !== r.replySrcW1) badField('replySrcW1', r.replySrcW1, 'a uint32');
  if (r.replySrcW2 >>> 0 !== r.replySrcW2) badField('replySrcW2', r.replySrcW2, 'a uint32');
  if (r.replyDstW0 >>> 0 !== r.replyDstW0) badField('replyDstW0', r.replyDstW0, 'a uint32');
  if (r.replyDstW1 >>> 0 !== r.replyDstW1) badField('replyDstW1', r.replyDstW1, 'a uint32');
  if (r.replyDstW2 >>> 0 !== r.replyDstW2) badField('replyDstW2', r.replyDstW2, 'a uint32');
}
