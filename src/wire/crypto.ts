// Optional encryption of HA messages (shared.ha.encryption: aes-256-gcm): AES-256-GCM in place
// of the HMAC trailer of src/wire/auth.ts. The Envelope inside is unchanged, and so are the
// checks after it (sender, group, epoch, replay window).
//
//   +-------+---------------+---------------+--------------------------+-------------+
//   | magic | salt          | seq           | ciphertext (Envelope)    | GCM tag     |
//   | 0xE5  | 16 bytes      | uint64 BE     | N bytes                  | 16 bytes    |
//   +-------+---------------+---------------+--------------------------+-------------+
//   key   = HKDF-SHA256(ikm = HA key, salt, info = "tandem-aes-256-gcm\0" + channel + "\0" + sender uint32 BE)
//   nonce = 0x00000000 || seq (uint64 BE)        (RFC 5116 section 3.2: a 12-byte counter nonce)
//   AAD   = magic || salt || seq
//
// Why nonces never repeat under one key (NIST SP 800-38D section 8: a repeat under GCM reveals
// the XOR of two plaintexts and lets anyone forge tags):
// - every sealer draws a fresh random 128-bit salt when it is created, so every process, every
//   channel and every direction gets its own derived key. A restarted box (even one whose clock
//   went backwards, which would repeat its epoch) derives a new key; two salts collide with
//   probability ~n^2/2^129 after n sealers, never in practice.
// - within one sealer the nonce is the envelope's seq, strictly increasing (auth.ts BaseSealer),
//   and it keeps increasing when the mode is switched off and on again, so no value is sealed twice.
// - the sender id is in the info: the two boxes never share a key even if salts were equal.
// The salt travels in every message because heartbeats are independent datagrams: any one of them
// must be openable alone.
//
// The magic byte tells the two formats apart: an HMAC-format message starts with its Envelope's
// first protobuf tag, which is 0x08, 0x10 or 0x18 (fields 1-3, varint: seq is never 0, so field 3
// is always present). 0xE5 would be a multi-byte tag of wire type 5 (fixed32), which no HA1 or HA2
// Envelope has.
//
// Pure: randomness is injectable (tests), no I/O, no clock.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export type HaEncryption = 'none' | 'aes-256-gcm';
export const HA_ENCRYPTIONS: readonly HaEncryption[] = ['none', 'aes-256-gcm'];

export const AEAD_MAGIC = 0xe5;
export const AEAD_SALT_BYTES = 16;
export const AEAD_SEQ_BYTES = 8;
export const AEAD_HEADER_BYTES = 1 + AEAD_SALT_BYTES + AEAD_SEQ_BYTES;
/** GCM tag length: the full 128 bits (SP 800-38D section 5.2.1.2; shorter tags weaken forgery bounds). */
export const AEAD_TAG_BYTES = 16;
/** Bytes an encrypted message adds to its Envelope. */
export const AEAD_OVERHEAD_BYTES = AEAD_HEADER_BYTES + AEAD_TAG_BYTES;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;

/** True when the bytes are in the encrypted format (judged by the magic byte only). */
export function isAeadMessage(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === AEAD_MAGIC;
}

/** The per-sealer key: HKDF-SHA256 (RFC 5869) of the HA key, bound to salt, channel and sender. */
export function deriveAeadKey(key: Buffer, salt: Uint8Array, channel: string, sender: number): Buffer {
  const info = Buffer.concat([Buffer.from(`tandem-aes-256-gcm\0${channel}\0`, 'ascii'), u32(sender)]);
  return Buffer.from(hkdfSync('sha256', key, salt, info, KEY_BYTES));
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

function nonceOf(seq: number): Buffer {
  const n = Buffer.alloc(NONCE_BYTES);
  n.writeBigUInt64BE(BigInt(seq), NONCE_BYTES - AEAD_SEQ_BYTES);
  return n;
}

/** Encrypts the messages of one sender on one channel. One instance = one salt = one key. */
export class AeadSealer {
  private readonly key: Buffer;
  private readonly header: Buffer;
  private lastSeq = 0;

  constructor(opts: { key: Buffer; channel: string; sender: number; salt?: Buffer }) {
    const salt = opts.salt ?? randomBytes(AEAD_SALT_BYTES);
    if (salt.length !== AEAD_SALT_BYTES) throw new RangeError(`crypto: salt must be ${AEAD_SALT_BYTES} bytes (got ${salt.length})`);
    this.key = deriveAeadKey(opts.key, salt, opts.channel, opts.sender);
    this.header = Buffer.alloc(AEAD_HEADER_BYTES);
    this.header[0] = AEAD_MAGIC;
    salt.copy(this.header, 1);
  }

  /** The salt this sealer's key is derived with (public: it is in every message). */
  get salt(): Buffer {
    return Buffer.from(this.header.subarray(1, 1 + AEAD_SALT_BYTES));
  }

  /** Encrypts plaintext under nonce = seq; seq must be larger than every seq sealed before. */
  seal(seq: number, plaintext: Uint8Array): Buffer {
    // The one rule GCM cannot survive breaking: refuse rather than ever reuse a nonce.
    if (!Number.isSafeInteger(seq) || seq <= this.lastSeq) throw new RangeError(`crypto: seq ${seq} is not above the last sealed ${this.lastSeq}`);
    this.lastSeq = seq;
    const out = Buffer.allocUnsafe(AEAD_OVERHEAD_BYTES + plaintext.length);
    this.header.copy(out, 0);
    out.writeBigUInt64BE(BigInt(seq), 1 + AEAD_SALT_BYTES);
    const aad = out.subarray(0, AEAD_HEADER_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceOf(seq), { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    body.copy(out, AEAD_HEADER_BYTES);
    // GCM is a stream mode: update() returns every byte and final() returns none.
    cipher.final();
    cipher.getAuthTag().copy(out, AEAD_HEADER_BYTES + plaintext.length);
    return out;
  }
}

export type AeadOpenResult = { ok: true; seq: number; plaintext: Buffer } | { ok: false; reason: 'short' | 'bad-mac' | 'malformed' };

/**
 * Decrypts the messages of one peer sender on one channel. Keeps the key of the salt last
 * authenticated, so a steady peer costs no key derivation; a new salt (the peer restarted) is
 * derived once and kept only when its message authenticates, so forged salts cannot evict it.
 */
export class AeadOpener {
  private readonly key: Buffer;
  private readonly channel: string;
  private readonly sender: number;
  private cached: { salt: Buffer; key: Buffer } | null = null;

  constructor(opts: { key: Buffer; channel: string; expectedSender: number }) {
    this.key = opts.key;
    this.channel = opts.channel;
    this.sender = opts.expectedSender;
  }

  open(bytes: Uint8Array): AeadOpenResult {
    if (bytes.length <= AEAD_OVERHEAD_BYTES) return { ok: false, reason: 'short' };
    if (bytes[0] !== AEAD_MAGIC) return { ok: false, reason: 'malformed' };
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const salt = buf.subarray(1, 1 + AEAD_SALT_BYTES);
    const seqBig = buf.readBigUInt64BE(1 + AEAD_SALT_BYTES);
    // Above 2^53 no sealer of ours ever goes; decrypting would only cost time.
    if (seqBig > BigInt(Number.MAX_SAFE_INTEGER) || seqBig === 0n) return { ok: false, reason: 'bad-mac' };
    const seq = Number(seqBig);
    const fresh = this.cached === null || !this.cached.salt.equals(salt);
    const key = fresh ? deriveAeadKey(this.key, salt, this.channel, this.sender) : this.cached!.key;
    const tagAt = buf.length - AEAD_TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(seq), { authTagLength: AEAD_TAG_BYTES });
    decipher.setAAD(buf.subarray(0, AEAD_HEADER_BYTES));
    decipher.setAuthTag(buf.subarray(tagAt));
    const plaintext = decipher.update(buf.subarray(AEAD_HEADER_BYTES, tagAt));
    try {
      decipher.final(); // checks the tag (in constant time, inside OpenSSL)
    } catch {
      return { ok: false, reason: 'bad-mac' };
    }
    if (fresh) this.cached = { salt: Buffer.from(salt), key };
    return { ok: true, seq, plaintext };
  }
}
