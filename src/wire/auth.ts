// Authentication of every HA message (HA1 heartbeats and session frames, HA2 sync frames).
//
//   +------------------------------+----------------------------------+
//   | Envelope (protobuf, N bytes) | HMAC-SHA256 trailer (32 bytes)   |
//   +------------------------------+----------------------------------+
//   trailer = HMAC-SHA256(key, "tandem-" + channel + "\0" + Envelope bytes)
//
// The Envelope is HA1's (proto/ha1.proto: Sealer, Opener) or HA2's (proto/ha2.proto:
// Ha2Sealer, Ha2Opener). Both carry sender, epoch, seq and group_id as fields 1-4, and both
// pairs share one implementation (BaseSealer, BaseOpener) that differs only in the codec.
//
// The channel label (e.g. "ha1-heartbeat-0", "ha1-session-0", "ha2") binds a message to the
// channel it was sealed for: sequence numbers are per channel, so without the label a captured
// heartbeat could be replayed into a session whose window has not seen that seq. The NUL ends
// the label so that no channel name is a prefix trick on another.
//
// Sealer and Opener are pure: no clock, no I/O. The Opener checks, in this order: size, MAC
// (constant time, before a single byte is parsed, so an unauthenticated peer cannot reach the
// protobuf decoder), decode, sender, group, epoch, then the replay window; the sequence number
// is recorded only once every check has passed.
//
// With encryption on (src/wire/crypto.ts) an AES-256-GCM layer takes the trailer's place: the
// sealer encrypts the same Envelope, and the opener decrypts (which authenticates) before the
// same checks. An opener accepts both formats whatever its own setting: both are authenticated
// with the same key, so accepting either gives an attacker nothing, and a commit that switches
// encryption on or off reaches the two boxes at slightly different times without a dropped
// heartbeat. What a box sends follows its own setting only.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeEnvelope, encodeEnvelope, type Envelope, type EnvelopeBody } from './codec.js';
import { decodeHa2, encodeHa2, HA2_MAX_ENVELOPE_BYTES, type Ha2Body, type Ha2Envelope } from './ha2-codec.js';
import { ReplayWindow } from './replay-window.js';
import { isWireError } from './errors.js';
import type { EnvelopeHeaderFields } from './numbers.js';
import { AEAD_OVERHEAD_BYTES, AeadOpener, AeadSealer, isAeadMessage, type HaEncryption } from './crypto.js';

/** HMAC-SHA256 output size (RFC 2104 with SHA-256, FIPS 180-4: 256 bits). */
export const MAC_BYTES = 32;

/**
 * Shortest key accepted: 16 bytes (128 bits), the same floor as src/wire/keyfile.ts; RFC 2104
 * section 3 advises at least the hash output length, which a 32+ byte key file gives.
 */
export const MIN_KEY_BYTES = 16;

/** Why a message was refused. The values are metric labels: keep them stable. */
export type RejectReason =
  /** Larger than the channel's maxBytes (checked before any work). */
  | 'oversize'
  /** Too short to hold a MAC trailer and an envelope. */
  | 'short'
  /** The MAC (HMAC trailer, or GCM tag when encrypted) does not match: wrong key, corrupted or forged. */
  | 'bad-mac'
  /** Authentic but not a valid Envelope (a peer bug or a version we do not understand). */
  | 'malformed'
  /** Authentic, but from a device id other than our peer's (e.g. a copied config). */
  | 'wrong-sender'
  /** Authentic, but for another HA group sharing the key. */
  | 'wrong-group'
  /** From an epoch older than the peer's current one: a replay of a previous run. */
  | 'stale-epoch'
  /** A seq already accepted, or older than the replay window. */
  | 'replay';

export const REJECT_REASONS: readonly RejectReason[] = ['oversize', 'short', 'bad-mac', 'malformed', 'wrong-sender', 'wrong-group', 'stale-epoch', 'replay'];

/** What an opener returns for an envelope type E (HA1: Envelope, HA2: Ha2Envelope). */
export type OpenResultOf<E> = { ok: true; envelope: E } | { ok: false; reason: RejectReason };

export type OpenResult = OpenResultOf<Envelope>;
export type Ha2OpenResult = OpenResultOf<Ha2Envelope>;

/** The HA2 channel label (one TCP stream per pair, so one channel). */
export const HA2_CHANNEL = 'ha2';

/** The most a sealed message adds to its Envelope, in either format. */
export const MAX_SEAL_OVERHEAD_BYTES = Math.max(MAC_BYTES, AEAD_OVERHEAD_BYTES);

/** Largest sealed HA2 message (a full Batch plus the trailer): the HA2 frame and Ha2Opener limit. */
export const HA2_MAX_MESSAGE_BYTES = HA2_MAX_ENVELOPE_BYTES + MAX_SEAL_OVERHEAD_BYTES;

export interface SealerOptions {
  key: Buffer;
  sender: number;
  groupId: number;
  epoch: number;
  channel: string;
  /** How messages leave: 'none' (HMAC trailer, the default) or encrypted; see setEncryption. */
  encryption?: HaEncryption;
}

export interface OpenerOptions {
  key: Buffer;
  expectedSender: number;
  groupId: number;
  channel: string;
  maxBytes: number;
}

const CHANNEL_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

function domainLabel(channel: string): Buffer {
  if (!CHANNEL_RE.test(channel)) {
    throw new RangeError(`auth: channel must match ${CHANNEL_RE} (got ${JSON.stringify(channel)})`);
  }
  return Buffer.from(`tandem-${channel}\0`, 'ascii');
}

function checkKey(key: Buffer): Buffer {
  if (!Buffer.isBuffer(key) || key.length < MIN_KEY_BYTES) {
    throw new RangeError(`auth: key must be at least ${MIN_KEY_BYTES} bytes (got ${Buffer.isBuffer(key) ? key.length : typeof key})`);
  }
  // A private copy: a caller zeroing or reusing its buffer must not change our key.
  return Buffer.from(key);
}

function mac(key: Buffer, label: Buffer, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(label).update(payload).digest();
}

function checkId(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`auth: ${what} must be a uint32 (got ${value})`);
  return value;
}

/**
 * Seals outgoing messages of one channel: assigns epoch and a strictly increasing seq, appends
 * the MAC. The protocol (HA1 or HA2) supplies only the envelope encoder.
 */
export abstract class BaseSealer<Body> {
  private readonly key: Buffer;
  private readonly label: Buffer;
  private readonly sender: number;
  private readonly groupId: number;
  private readonly epoch: number;
  private readonly channel: string;
  private seq = 0;
  private encryption: HaEncryption = 'none';
  /** Created on first use and kept: one salt for this sealer's life, nonces from its one seq. */
  private aead: AeadSealer | null = null;

  constructor(opts: SealerOptions) {
    this.key = checkKey(opts.key);
    this.label = domainLabel(opts.channel);
    this.channel = opts.channel;
    this.sender = checkId(opts.sender, 'sender');
    this.groupId = checkId(opts.groupId, 'groupId');
    if (!Number.isSafeInteger(opts.epoch) || opts.epoch < 0) throw new RangeError(`auth: epoch must be a safe non-negative integer (got ${opts.epoch})`);
    this.epoch = opts.epoch;
    this.setEncryption(opts.encryption ?? 'none');
  }

  /**
   * Switches the format of the next messages (a committed shared.ha.encryption). The seq goes on
   * from where it was, so the receiver's replay window and the GCM nonces both stay unbroken.
   */
  setEncryption(mode: HaEncryption): void {
    if (mode !== 'none' && mode !== 'aes-256-gcm') throw new RangeError(`auth: unknown encryption ${JSON.stringify(mode)}`);
    this.encryption = mode;
  }

  get encryptionMode(): HaEncryption {
    return this.encryption;
  }

  /** Encodes one envelope of this protocol (throws for values the wire cannot carry). */
  protected abstract encode(header: EnvelopeHeaderFields, body: Body): Buffer;

  /** The seq of the last sealed message (0 before the first; the first is 1). */
  get lastSeq(): number {
    return this.seq;
  }

  seal(body: Body): Buffer {
    // Encode before committing the seq: a message that cannot be encoded must not leave a gap.
    const seq = this.seq + 1;
    const payload = this.encode({ sender: this.sender, epoch: this.epoch, seq, groupId: this.groupId }, body);
    this.seq = seq;
    if (this.encryption === 'aes-256-gcm') {
      this.aead ??= new AeadSealer({ key: this.key, channel: this.channel, sender: this.sender });
      return this.aead.seal(seq, payload);
    }
    const out = Buffer.allocUnsafe(payload.length + MAC_BYTES);
    payload.copy(out, 0);
    mac(this.key, this.label, payload).copy(out, payload.length);
    return out;
  }
}

/**
 * Opens incoming messages of one channel from one peer; keeps that peer's epoch and replay
 * window. The protocol (HA1 or HA2) supplies only the envelope decoder.
 */
export abstract class BaseOpener<E extends EnvelopeHeaderFields> {
  private readonly key: Buffer;
  private readonly label: Buffer;
  private readonly expectedSender: number;
  private readonly groupId: number;
  private readonly maxBytes: number;
  private peerEpoch: number | null = null;
  private readonly window = new ReplayWindow();
  private readonly aead: AeadOpener;
  private encryptedSeen = 0;
  private plainSeen = 0;

  constructor(opts: OpenerOptions) {
    this.key = checkKey(opts.key);
    this.label = domainLabel(opts.channel);
    this.expectedSender = checkId(opts.expectedSender, 'expectedSender');
    this.aead = new AeadOpener({ key: this.key, channel: opts.channel, expectedSender: this.expectedSender });
    this.groupId = checkId(opts.groupId, 'groupId');
    if (!Number.isInteger(opts.maxBytes) || opts.maxBytes <= MAC_BYTES) {
      throw new RangeError(`auth: maxBytes must be an integer > ${MAC_BYTES} (got ${opts.maxBytes})`);
    }
    this.maxBytes = opts.maxBytes;
  }

  /** Decodes one envelope of this protocol; throws WireError for bytes that are not one. */
  protected abstract decode(payload: Uint8Array): E;

  /** The peer epoch the window belongs to; null until the first accepted message. */
  get currentEpoch(): number | null {
    return this.peerEpoch;
  }

  /** The highest seq accepted in the current epoch (-1 before any). */
  get highestSeq(): number {
    return this.window.highest;
  }

  /** Messages accepted in each format (what the peer sends: its shared.ha.encryption). */
  get accepted(): { encrypted: number; plain: number } {
    return { encrypted: this.encryptedSeen, plain: this.plainSeen };
  }

  /** Checks one sealed message (datagram or frame: envelope + trailer, maxBytes in total). */
  open(bytes: Uint8Array): OpenResultOf<E> {
    if (bytes.length > this.maxBytes) return { ok: false, reason: 'oversize' };
    // An envelope needs at least its body's tag: a bare trailer cannot be a message.
    if (bytes.length <= MAC_BYTES) return { ok: false, reason: 'short' };

    let payload: Uint8Array;
    let clearSeq: number | null = null;
    const encrypted = isAeadMessage(bytes);
    if (encrypted) {
      const r = this.aead.open(bytes);
      if (!r.ok) return r;
      payload = r.plaintext;
      clearSeq = r.seq;
    } else {
      const payloadEnd = bytes.length - MAC_BYTES;
      payload = bytes.subarray(0, payloadEnd);
      const trailer = bytes.subarray(payloadEnd);
      if (!timingSafeEqual(mac(this.key, this.label, payload), trailer)) return { ok: false, reason: 'bad-mac' };
    }

    let envelope: E;
    try {
      envelope = this.decode(payload);
    } catch (err) {
      if (isWireError(err)) return { ok: false, reason: 'malformed' };
      throw err;
    }
    // The nonce's seq is authenticated too; one that differs from the Envelope's is a sender bug.
    if (clearSeq !== null && envelope.seq !== clearSeq) return { ok: false, reason: 'malformed' };
    if (envelope.sender !== this.expectedSender) return { ok: false, reason: 'wrong-sender' };
    if (envelope.groupId !== this.groupId) return { ok: false, reason: 'wrong-group' };

    // A higher epoch is the peer restarted (its seq starts again): a fresh window. It is safe to
    // believe because the MAC has already proven the key holder sent it.
    if (this.peerEpoch !== null && envelope.epoch < this.peerEpoch) return { ok: false, reason: 'stale-epoch' };
    const newEpoch = this.peerEpoch === null || envelope.epoch > this.peerEpoch;
    if (!newEpoch && this.window.check(envelope.seq) === 'replay') return { ok: false, reason: 'replay' };

    if (newEpoch) {
      this.peerEpoch = envelope.epoch;
      this.window.reset();
    }
    this.window.record(envelope.seq);
    if (encrypted) this.encryptedSeen += 1;
    else this.plainSeen += 1;
    return { ok: true, envelope };
  }
}

/** Seals HA1 messages (heartbeats, session frames) of one channel. */
export class Sealer extends BaseSealer<EnvelopeBody> {
  protected override encode(header: EnvelopeHeaderFields, body: EnvelopeBody): Buffer {
    return encodeEnvelope({ ...header, body });
  }
}

/** Opens HA1 messages of one channel from one peer. */
export class Opener extends BaseOpener<Envelope> {
  protected override decode(payload: Uint8Array): Envelope {
    return decodeEnvelope(payload);
  }
}

/** Seals HA2 messages (batches, acks, bulk requests); channel HA2_CHANNEL. */
export class Ha2Sealer extends BaseSealer<Ha2Body> {
  protected override encode(header: EnvelopeHeaderFields, body: Ha2Body): Buffer {
    return encodeHa2({ ...header, body });
  }
}

/** Opens HA2 messages from the peer; maxBytes normally HA2_MAX_MESSAGE_BYTES. */
export class Ha2Opener extends BaseOpener<Ha2Envelope> {
  protected override decode(payload: Uint8Array): Ha2Envelope {
    return decodeHa2(payload);
  }
}
