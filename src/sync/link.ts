// One box's HA2 conversation with its peer: messages sealed (src/wire/auth.ts) and sent on the
// stream (src/sync/stream.ts), frames opened and delivered, and the keepalive (src/sync/keepalive.ts)
// that notices a peer gone silent. What the messages mean is the channel's business
// (src/sync/channel.ts).
import { monotonicMs } from '../clock.js';
import type { Logger } from '../log.js';
import { Ha2Opener, Ha2Sealer } from '../wire/auth.js';
import type { HaEncryption } from '../wire/crypto.js';
import type { Ha2Body } from '../wire/ha2-codec.js';
import type { SessionRecord } from '../wire/session-record.js';
import { keepaliveDue } from './keepalive.js';
import type { SyncView } from './status.js';
import { HA2_MAX_FRAME_BYTES, Ha2Stream } from './stream.js';
import { warmUpCodec } from './warm-up.js';

export interface Ha2LinkOptions {
  deviceId: 0 | 1;
  groupId: number;
  key: Buffer;
  link: { local: string; peer: string; port: number };
  /** Format of what we send (shared.ha.encryption, default 'none'); the opener takes both. */
  encryption?: HaEncryption;
  reconnectMs?: number;
  view: SyncView;
  log: Logger;
  onBatch: (seq: number, records: SessionRecord[], sentMs: number) => void;
  onAck: (seq: number, echoSentMs: number) => void;
  /** `reason` comes from the wire: to be logged (the codec bounds it), never a metric label. */
  onBulkRequest: (reason: string, beginsSeen: number) => void;
  onUp: () => void;
  onDown: (closedByPeer: boolean, why: string) => void;
}

export class Ha2Link {
  private readonly stream: Ha2Stream;
  private readonly sealer: Ha2Sealer;
  private readonly opener: Ha2Opener;
  private readonly view: SyncView;
  private readonly log: Logger;
  // the current connection: when we last heard and spoke, and the last ack we sent (what a keepalive repeats)
  private lastRxMs = 0;
  private lastTxMs = 0;
  private lastAckSeq = 0;

  constructor(o: Ha2LinkOptions) {
    const { key, deviceId, groupId } = o;
    this.sealer = new Ha2Sealer({ key, sender: deviceId, groupId, epoch: Date.now(), channel: 'ha2', encryption: o.encryption });
    this.opener = new Ha2Opener({ key, expectedSender: 1 - deviceId, groupId, channel: 'ha2', maxBytes: HA2_MAX_FRAME_BYTES });
    this.view = o.view;
    this.log = o.log;
    this.stream = new Ha2Stream({
      ...o.link,
      role: deviceId === 0 ? 'dial' : 'listen',
      reconnectMs: o.reconnectMs,
      log: o.log,
      onFrame: (frame) => this.onFrame(frame, o),
      onUp: () => {
        this.lastRxMs = monotonicMs();
        this.lastTxMs = 0;
        this.lastAckSeq = 0;
        o.onUp();
      },
      onDown: o.onDown,
      onReject: (reason) => this.view.reject(reason),
    });
  }

  /** Connected (and onUp delivered). */
  get up(): boolean {
    return this.stream.up;
  }

  /** True when a batch would be accepted now. */
  canSend(): boolean {
    return this.stream.canSend();
  }

  start(): Promise<void> {
    warmUpCodec();
    return this.stream.start();
  }

  stop(): Promise<void> {
    return this.stream.stop();
  }

  /** What we send from now on; the seq (and so the GCM nonce) goes on unbroken. */
  setEncryption(mode: HaEncryption): void {
    this.sealer.setEncryption(mode);
  }

  /** Seals and sends one message. Batches respect the stream's buffer bound; acks and bulk
   * requests (a few bytes, and losing one would stall the peer) always go out while up. */
  send(body: Ha2Body): boolean {
    if (!this.stream.up) return false;
    const ok = this.stream.send(this.sealer.seal(body), body.kind !== 'batch');
    if (!ok) return false;
    this.lastTxMs = monotonicMs();
    if (body.kind === 'ack') this.lastAckSeq = body.ack.seq;
    this.view.message('tx', body.kind);
    return true;
  }

  /** On the pump, while connected: a keepalive when we have been quiet, or drop a silent peer. */
  keepalive(now: number): void {
    const due = keepaliveDue(now, this.lastRxMs, this.lastTxMs);
    if (due === 'keepalive') this.send({ kind: 'ack', ack: { seq: this.lastAckSeq, echoSentMs: 0 } });
    if (due !== 'drop') return;
    const silentMs = Math.round(now - this.lastRxMs);
    this.log.warn({ silentMs }, 'HA2 peer silent: dropping the connection');
    this.stream.reset(`HA2 peer silent for ${silentMs} ms`);
  }

  private onFrame(frame: Buffer, to: Ha2LinkOptions): void {
    const r = this.opener.open(frame);
    if (!r.ok) return this.view.reject(r.reason);
    this.lastRxMs = monotonicMs();
    const body = r.envelope.body;
    this.view.message('rx', body.kind);
    switch (body.kind) {
      case 'batch':
        return to.onBatch(body.batch.seq, body.batch.records, body.batch.sentMs);
      case 'ack':
        return to.onAck(body.ack.seq, body.ack.echoSentMs);
      case 'bulkRequest':
        return to.onBulkRequest(body.bulkRequest.reason, body.bulkRequest.beginsSeen);
      default: {
        const never: never = body;
        this.view.reject('unknown-body');
        return never;
      }
    }
  }
}
