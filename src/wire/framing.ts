// Length-prefixed frames on the HA TCP streams (HA1 sessions, HA2).
//
//   +----------------------------+---------------------------+
//   | length (uint32 big-endian) | payload (length bytes)    |
//   +----------------------------+---------------------------+
//
// The payload is a sealed message (src/wire/auth.ts). FrameDecoder is pure and incremental: the
// socket driver feeds it whatever chunks TCP delivers and gets whole frames back. The length
// prefix is checked against the limit as soon as its 4 bytes arrive, before any payload is
// buffered, so a hostile or broken peer cannot make us hold more than maxFrameBytes.
import { WireError } from './errors.js';

/** Size of the big-endian length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** The largest length a 4-byte prefix can express. */
export const MAX_FRAME_PAYLOAD_BYTES = 0xffff_ffff;

const EMPTY = Buffer.alloc(0);

/** Prefixes payload with its length. An empty payload is refused: the decoder would reject it. */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length === 0) throw new WireError('empty-frame', 'refusing to send an empty frame');
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new WireError('oversize', 'frame payload does not fit a 4-byte length', { bytes: payload.length });
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental decoder of one stream. push() returns the frames completed by that chunk (possibly
 * none) and throws WireError 'oversize' or 'empty-frame' on a bad length prefix. After an error
 * the stream has lost its framing for good: every later push() throws the same error, and the
 * caller closes the connection.
 *
 * A returned frame may share memory with a pushed chunk (no copy when the frame lies within
 * one chunk): do not reuse a chunk's buffer after pushing it. Node's sockets never do.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  /** Bytes received but not yet returned, in order, from index `head` (an index, not shift(), so
   * a frame arriving in many tiny chunks costs linear time); the head chunk may be partly consumed. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** Payload length of the frame in progress, once its header is read; null while reading a header. */
  private pendingLength: number | null = null;
  private failed: WireError | null = null;

  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_PAYLOAD_BYTES) {
      throw new RangeError(`FrameDecoder: maxFrameBytes must be an integer in 1..${MAX_FRAME_PAYLOAD_BYTES} (got ${maxFrameBytes})`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for a frame not yet complete (for tests and a backlog gauge). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.pendingLength === null) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) this.fail(new WireError('empty-frame', 'peer sent a zero-length frame'));
        if (length > this.maxFrameBytes) {
          this.fail(
            new WireError('oversize', `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`, {
              bytes: length,
              maxFrameBytes: this.maxFrameBytes,
            }),
          );
        }
        this.pendingLength = length;
      }
      if (this.buffered < this.pendingLength) break;
      frames.push(this.take(this.pendingLength));
      this.pendingLength = null;
    }
    return frames;
  }

  private fail(err: WireError): never {
    this.failed = err;
    // Nothing buffered can be interpreted any more; do not hold it.
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    throw err;
  }

  /** Removes exactly n (<= buffered) bytes from the front. */
  private take(n: number): Buffer {
    const first = this.chunks[this.head];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.dropHead();
      else this.chunks[this.head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.head];
        const want = n - filled;
        if (chunk.length <= want) {
          chunk.copy(out, filled);
          filled += chunk.length;
          this.dropHead();
        } else {
          chunk.copy(out, filled, 0, want);
          filled += want;
          this.chunks[this.head] = chunk.subarray(want);
        }
      }
    }
    this.buffered -= n;
    return out;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY; // release the consumed chunk now, not at compaction
    this.head += 1;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
