// Active/active: the dataplane's end of HA3, the packet link to the peer (docs/active-active.md
// "HA3"; the envelope is src/wire/ha3.ts, the INSERT and ACK payloads src/wire/ha3-record.ts).
// The driver: it seals what the pipeline sends the peer, opens what arrives on the HA3 device,
// and keeps the timers (HELLO, held first packets). What goes where is decided elsewhere
// (aa-path.ts through the firewall; defer.ts holds).
//
//   out  DATA    a frame for the peer to process (its session, its setup, a miss), as it arrived
//        INSERT  a session just created, while its first packet is held (defer)
//        ACK     the key of a session an INSERT installed here
//        HELLO   every HELLO_INTERVAL_MS: the peer learns our MAC and that HA3 carries
//   in   every frame through Ha3Opener: a refused one is a drop counted by its reason; an
//        accepted one teaches the peer's MAC (frames go to broadcast until then) and that the
//        peer is heard
//
// Frames the peer carries here are never sent back (Pipeline.handlePeer), so nothing loops.
import type { DropReason, EventCounter } from '../wire/dataplane-counters.js';
import { HA3_ACK, HA3_DATA, HA3_HELLO, HA3_INSERT, Ha3Opener, Ha3Sealer, isHa3Frame, type Ha3Kind } from '../wire/ha3.js';
import { decodeHa3Key, decodeHa3Record, emptyHa3Key, encodeHa3Key, encodeHa3Record, HA3_KEY6_BYTES, HA3_RECORD6_BYTES } from '../wire/ha3-record.js';
import { emptyRecord, REC_UPSERT, type SessionRecord } from '../wire/session-record.js';
import type { Ha3Status } from '../wire/pair-status.js';
import { DeferQueue, type HeldFrame } from './defer.js';
import type { DeviceId } from './owner.js';
import { formatMac } from './packet.js';
import type { PeerLink, Pipeline } from './pipeline.js';
import { DIR_ORIGINAL } from './session-table.js';

/** How often a HELLO goes out, whatever else does. */
export const HELLO_INTERVAL_MS = 100;
/**
 * The peer counts as heard for this long after its last accepted frame: ten HELLOs, so that a
 * dataplane whose tick runs late under load (its batches come first) is not taken for a cut
 * link. Past it, packets for the peer are dropped as ha3-down rather than sent into a dead link.
 */
export const HA3_SILENT_MS = 1000;

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const EMPTY = new Uint8Array(0);

export interface Ha3PortDeps {
  /** The HA key (HA3 frames are authenticated with it, like HA1 and HA2). */
  key: Buffer;
  me: DeviceId;
  /** This run's epoch: the process start time in ms (a restart is always newer to the peer). */
  epochMs: number;
  /** The HA3 device's MAC: the source of our frames. */
  mac: Uint8Array;
  /** Sends on the HA3 device; false when refused or its handle is closed. */
  send(frame: Uint8Array, len: number): boolean;
  pipeline: Pipeline;
  /** Installs a session the peer created, as one synced over HA2 would be (sync-port.ts). */
  install(r: SessionRecord): void;
  event(name: EventCounter): void;
  drop(reason: DropReason): void;
}

/** The HA3 link's status (one shape for the dataplane, the API and the tools: wire/pair-status.ts). */
export type { Ha3Status };

export class Ha3Port implements PeerLink {
  private readonly sealer: Ha3Sealer;
  private readonly opener: Ha3Opener;
  private readonly peerMac = BROADCAST.slice();
  private peerMacLearned = false;
  private lastHeardMs = -Infinity;
  private nextHelloMs = -Infinity;
  private readonly queue = new DeferQueue();
  private readonly rec: SessionRecord = emptyRecord();
  private readonly key = emptyHa3Key();
  private readonly recBytes = new Uint8Array(HA3_RECORD6_BYTES);
  private readonly keyBytes = new Uint8Array(HA3_KEY6_BYTES);
  private readonly rx = { frames: 0, bytes: 0 };
  private readonly tx = { frames: 0, bytes: 0 };

  /** HA3 bytes received (authenticated) and sent so far. */
  get bytes(): { rx: number; tx: number } {
    return { rx: this.rx.bytes, tx: this.tx.bytes };
  }
  private readonly releaseFn: (h: HeldFrame) => void;
  private releaseNowMs = 0;

  constructor(private readonly deps: Ha3PortDeps) {
    this.sealer = new Ha3Sealer(deps.key, deps.me, deps.epochMs);
    this.opener = new Ha3Opener(deps.key, deps.me === 0 ? 1 : 0);
    this.releaseFn = (h) => {
      this.deps.event('defer-timeout');
      this.deps.pipeline.releaseHeld(h.egress, h.nextHop, h.frame, h.frame.length, this.releaseNowMs, h.nextHop6);
    };
  }

  /** Has an authenticated frame come from the peer lately? */
  hearsPeer(nowMs: number): boolean {
    return nowMs - this.lastHeardMs <= HA3_SILENT_MS;
  }

  // ---- out (PeerLink) ----

  forward(flags: number, ingress: number, frame: Uint8Array, len: number, nowMs: number): boolean {
    if (!this.hearsPeer(nowMs)) {
      this.deps.drop('ha3-down');
      return false;
    }
    if (this.seal(HA3_DATA, flags, ingress, len === frame.length ? frame : frame.subarray(0, len))) return true;
    // the packet's outcome; a HELLO, INSERT or ACK that did not leave is no packet lost
    this.deps.drop('send-failed');
    return false;
  }

  defer(slot: number, egress: number, nextHop: number, frame: Uint8Array, len: number, nowMs: number, nextHop6: Uint32Array | null = null): boolean {
    const fw = this.deps.pipeline.firewall!;
    const n = encodeHa3Record(fw.table.toRecord(slot, REC_UPSERT, nowMs, this.rec), this.recBytes);
    // an INSERT that did not leave is never answered: the frame would only wait out deferMs
    if (!this.seal(HA3_INSERT, 0, 0, this.recBytes.subarray(0, n))) return false;
    if (this.queue.full) {
      this.deps.event('defer-full');
      return false;
    }
    const untilMs = nowMs + (fw.activeActive?.deferMs ?? 0);
    const hop6 = nextHop6 === null ? null : Uint32Array.from(nextHop6);
    const displaced = this.queue.hold({ slot, egress, nextHop, nextHop6: hop6, frame: frame.slice(0, len), untilMs });
    if (displaced !== null) this.release(displaced, nowMs);
    return true;
  }

  /** Sends one frame to the peer; false when the HA3 handle refused it (closed: the device is down or gone). */
  private seal(kind: Ha3Kind, flags: number, ingress: number, payload: Uint8Array): boolean {
    const out = this.sealer.seal(kind, flags, ingress, payload, this.peerMac, this.deps.mac);
    if (!this.deps.send(out, out.length)) return false;
    this.deps.event('ha3-tx');
    this.tx.frames++;
    this.tx.bytes += out.length;
    return true;
  }

  // ---- in ----

  /** A frame from the HA3 device (`frame` is the capture buffer: the pipeline may rewrite it). */
  receive(frame: Uint8Array, len: number, nowMs: number): void {
    // the kernel's own traffic on the link (IPv6 neighbour discovery, LLDP): not ours to judge
    if (!isHa3Frame(frame, len)) return this.deps.event('to-kernel');
    const opened = this.opener.open(frame, len);
    if (!opened.ok) return this.deps.drop(opened.reason);
    this.deps.event('ha3-rx');
    this.rx.frames++;
    this.rx.bytes += len;
    this.heard(frame, nowMs);
    const { kind, flags, ingress } = opened.header;
    const payload = opened.payload;
    if (kind === HA3_DATA) return this.deps.pipeline.handlePeer(ingress, flags, payload, payload.length, nowMs);
    if (kind === HA3_INSERT) return this.inserted(payload, nowMs);
    if (kind === HA3_ACK) return this.acked(payload, nowMs);
    // HELLO: heard, nothing more
  }

  /** An authenticated frame: the peer is heard, and its MAC is where our frames go. */
  private heard(frame: Uint8Array, nowMs: number): void {
    this.lastHeardMs = nowMs;
    if ((frame[6] & 1) !== 0) return; // a group source MAC is no address to send to
    for (let i = 0; i < 6; i++) this.peerMac[i] = frame[6 + i];
    this.peerMacLearned = true;
  }

  /** INSERT: install the session as a synced one, and answer with its key once it is here. */
  private inserted(payload: Uint8Array, nowMs: number): void {
    const r = this.rec;
    const fw = this.deps.pipeline.firewall!;
    const nIf = this.deps.pipeline.interfaces.length;
    if (!decodeHa3Record(payload, r) || r.op !== REC_UPSERT || r.proto > 0xff || r.ingress >= nIf || r.egress >= nIf) {
      return this.deps.drop('ha3-bad-payload');
    }
    this.deps.install(r);
    const h = fw.table.lookupOriginal(r);
    // not installed (table full, a conflicting session; counted there): no answer, the peer's wait runs out
    if (h < 0 || (h & 1) !== DIR_ORIGINAL) return;
    fw.ownerOfInserted(h >> 1, nowMs);
    this.seal(HA3_ACK, 0, 0, this.keyBytes.subarray(0, encodeHa3Key(r, this.keyBytes)));
  }

  /** ACK: the peer holds the session; its first packet goes now. */
  private acked(payload: Uint8Array, nowMs: number): void {
    const k = this.key;
    if (!decodeHa3Key(payload, k)) return this.deps.drop('ha3-bad-payload');
    const table = this.deps.pipeline.firewall!.table;
    const h = k.v6 ? table.lookup6(k.proto, k.addrs, k.origSrcPort, k.origDstPort) : table.lookup(k.proto, k.origSrc, k.origSrcPort, k.origDst, k.origDstPort);
    if (h < 0 || (h & 1) !== DIR_ORIGINAL) return;
    const held = this.queue.take(h >> 1);
    if (held === null) return; // sent already (deferMs passed)
    this.deps.event('defer-acked');
    this.deps.pipeline.releaseHeld(held.egress, held.nextHop, held.frame, held.frame.length, nowMs, held.nextHop6);
  }

  // ---- timers ----

  /** The engine's tick: a HELLO when due, held first packets whose wait is over. */
  tick(nowMs: number): void {
    if (nowMs >= this.nextHelloMs) {
      this.nextHelloMs = nowMs + HELLO_INTERVAL_MS;
      this.seal(HA3_HELLO, 0, 0, EMPTY);
    }
    this.releaseNowMs = nowMs;
    this.queue.due(nowMs, this.releaseFn);
  }

  private release(h: HeldFrame, nowMs: number): void {
    this.releaseNowMs = nowMs;
    this.releaseFn(h);
  }

  status(nowMs: number): Ha3Status {
    const heard = this.lastHeardMs > -Infinity;
    return {
      mac: formatMac(this.deps.mac),
      peerMac: this.peerMacLearned ? formatMac(this.peerMac) : null,
      hearsPeer: this.hearsPeer(nowMs),
      lastHeardAgoMs: heard ? Math.round(nowMs - this.lastHeardMs) : null,
      rx: { ...this.rx },
      tx: { ...this.tx },
      held: this.queue.size,
    };
  }
}
