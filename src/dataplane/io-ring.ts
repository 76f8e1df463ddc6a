// The `ring` backend: tandem's own addon (native/packet-ring), AF_PACKET on Linux.
// - Receive: the addon calls back once per batch of frames (a TPACKET_V2 run of slots, or a
//   TPACKET_V3 block) with their offsets in the mmap'd ring. Each frame is copied into one scratch
//   buffer of 64 KiB (the pipeline rewrites in place and may build a longer answer there, as it
//   did in cap's buffer), then handed to onFrame.
// - Transmit: send() copies the frame into the port's staging buffer; everything staged during a
//   batch leaves with one sendmmsg per port when the batch ends (from this thread, or from the
//   addon's sender thread with `txThread`). A send outside a batch (the engine's tick: GARP, ARP
//   requests) goes at once.
// - Own frames: PACKET_IGNORE_OUTGOING, so no capture filter; the virtual MAC is added to the
//   device's unicast list (PACKET_MR_UNICAST), promiscuous only on a NIC that has no such filter.
// - Errors: the addon reports a socket error (ENETDOWN, ...) as onError; it never aborts.
// Why V2 slots by default rather than V3 blocks: docs/packet-io.md (V3 hands a block over when it
// is full or its timer fires, and the timer counts in jiffies: up to 4 ms of latency per frame at
// low rates on a HZ=250 kernel).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readDevice, type DeviceFacts } from '../net/link.js';
import type { DataplaneIo, FrameHandler, OpenOptions, Port, PortStats, SendGate } from './io.js';
import { parseMac } from './packet.js';
import { VLAN_HLEN, writeTagged } from './vlan.js';

interface NativeRingStats {
  frames: number;
  batches: number;
  drops: number;
  freezes: number;
  sent: number;
  txRefused: number;
  /** Flushes that waited for the sender thread (every segment still being sent). */
  txWaits: number;
  txBad: number;
  errors: number;
  lastTxError: string | null;
}

/** The addon's Ring (native/packet-ring/src/packet_ring.cc has the contract). */
export interface NativeRing {
  readonly ring: Uint8Array;
  /** (offset in ring, bytes captured, bytes on the wire, vlan) per frame of the current batch: descFields each. */
  readonly desc: Uint32Array;
  /** uint32 per frame in desc (4; an addon built before the vlan field had 3 and no descFields). */
  readonly descFields?: number;
  /** txSegments segments of txSegmentBytes: JavaScript fills one while the addon sends the others. */
  readonly tx: Uint8Array;
  /** (offset in tx, length) per staged frame: txSlots pairs per segment. */
  readonly txDesc: Uint32Array;
  readonly txSlots: number;
  readonly txSegments: number;
  readonly txSegmentBytes: number;
  readonly ifindex: number;
  readonly version: number;
  readonly closed: boolean;
  /**
   * Hands the current segment's first `count` frames over to be sent; returns the segment to fill
   * next. `inline`: send them from this thread, once the sender thread has sent what it holds.
   */
  flush(count: number, inline?: boolean): number;
  stats(): NativeRingStats;
  close(): void;
}

export interface RingOptions {
  version?: 2 | 3;
  blockSize?: number;
  blockCount?: number;
  frameSize?: number;
  blockTimeoutMs?: number;
  batchFrames?: number;
  maxBatchesPerWake?: number;
  txBytes?: number;
  txSlots?: number;
  txSegments?: number;
  /** Send from a thread of the addon's rather than from the dataplane's (the addon's default is true; the config's is false). */
  txThread?: boolean;
  /** With the thread: batches of at most this many frames go inline while the thread is idle. */
  txInlineMax?: number;
  qdiscBypass?: boolean;
  ignoreOutgoing?: boolean;
  promiscuous?: boolean;
  fanoutGroup?: number;
  fanoutMode?: 'hash' | 'lb' | 'cpu';
  macs?: Uint8Array[];
}

type RingCtor = new (device: string, opts: RingOptions, onBatch: (n: number) => void, onError: (code: string, message: string) => void) => NativeRing;

let ringCtor: RingCtor | undefined;
/**
 * Loads the addon (built by `npm run build:native`, which npm ci runs). It lives in the
 * repository's native/ folder: two levels up from src/dataplane, three from dist/src/dataplane.
 */
export function loadRing(): RingCtor {
  if (ringCtor) return ringCtor;
  const candidates = ['../../native/packet-ring/index.cjs', '../../../native/packet-ring/index.cjs'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`the packet-ring addon is missing (looked for ${candidates.join(', ')}); run npm run build:native`);
  ringCtor = (createRequire(import.meta.url)(found) as { Ring: RingCtor }).Ring;
  return ringCtor;
}

/** Largest frame the pipeline may build in the scratch buffer (a jumbo frame fits). */
export const SCRATCH_BYTES = 65_536;
/** Ring memory per handle: 32 blocks of 256 KiB (8 MiB; cap used 10 MB): ~4,000 frames of 1500 bytes. */
const BLOCK_BYTES = 1 << 18;
const BLOCK_COUNT = 32;
/**
 * With the sender thread: a batch of at most this many frames, the thread idle, is sent by the
 * dataplane's thread itself. Light load (probes, a takeover's first frames, ARP) then never waits
 * for the thread to wake; bulk batches (tens of frames under TCP load) still go to it.
 */
const TX_INLINE_MAX = 16;
/** TPACKET_V2 header, sockaddr_ll and alignment before the frame in a slot (measured: tp_mac = 66 for V2). */
const SLOT_OVERHEAD = 96;

/** Smallest power-of-two slot (>= 2 KiB) that holds a frame of this MTU with a VLAN tag. */
export function frameSlotBytes(mtu: number): number {
  const need = mtu + 14 + 4 + SLOT_OVERHEAD;
  let slot = 2048;
  while (slot < need) slot *= 2;
  return slot;
}

export class RingIo implements DataplaneIo {
  readonly kind = 'ring' as const;
  /** One scratch buffer: frames are handled one at a time, whatever port they came in on. */
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly ports = new Set<RingPort>();
  /** True while a batch runs: sends are staged and leave together when it ends. */
  private inBatch = false;

  constructor(private readonly ringOptions: RingOptions = {}) {}

  open(device: string, onFrame: FrameHandler, opts: OpenOptions = {}): Port {
    const Ring = loadRing();
    const scratch = this.scratch;
    const mtu = this.mtuOf(device);
    let port: RingPort | null = null;
    let ring: NativeRing | null = null;
    const onBatch = (n: number): void => {
      const r = ring;
      if (r === null) return;
      const frames = r.ring;
      const desc = r.desc;
      const stride = r.descFields ?? 3;
      this.inBatch = true;
      try {
        for (let i = 0, d = 0; i < n; i++, d += stride) {
          const off = desc[d];
          const caplen = desc[d + 1] > SCRATCH_BYTES ? SCRATCH_BYTES : desc[d + 1];
          scratch.set(frames.subarray(off, off + caplen));
          onFrame(scratch, caplen, caplen < desc[d + 2], stride > 3 ? desc[d + 3] : 0);
        }
      } finally {
        this.inBatch = false;
        this.flushAll();
      }
    };
    let errored = false;
    const onError = (code: string, message: string): void => {
      if (errored) return;
      errored = true;
      opts.onError?.({ code, message });
    };
    ring = new Ring(
      device,
      {
        version: 2,
        blockSize: BLOCK_BYTES,
        blockCount: BLOCK_COUNT,
        frameSize: frameSlotBytes(mtu),
        txInlineMax: TX_INLINE_MAX,
        ...this.ringOptions,
        macs: [...(opts.extraMacs ?? [])],
      },
      onBatch,
      onError,
    );
    port = new RingPort(
      ring,
      () => this.inBatch,
      () => this.ports.delete(port!),
      opts.sendGate,
    );
    this.ports.add(port);
    return port;
  }

  private flushAll(): void {
    for (const p of this.ports) p.flush();
  }

  macOf(device: string): Uint8Array {
    const facts = readDevice(device);
    if (facts === null) throw new Error(`cannot read the MAC address of device ${device}`);
    return parseMac(facts.address);
  }

  mtuOf(device: string): number {
    return readDevice(device)?.mtu ?? 1500;
  }

  device(name: string): DeviceFacts | null {
    return readDevice(name);
  }
}

/** One device's ring: staged sends and the counters the engine reads. */
class RingPort implements Port {
  private staged = 0;
  private stagedBytes = 0;
  /** The segment being filled: where its bytes and its descriptors start. */
  private segBase = 0;
  private descBase = 0;

  constructor(
    private readonly ring: NativeRing,
    private readonly inBatch: () => boolean,
    private readonly onClose: () => void,
    private readonly gate?: SendGate,
  ) {}

  send(frame: Uint8Array, len: number, tci = 0): boolean {
    const r = this.ring;
    if (r.closed || len > frame.length) return false;
    const wire = tci === 0 ? len : len + VLAN_HLEN;
    if (wire > r.txSegmentBytes) return false;
    if (this.staged === r.txSlots || this.stagedBytes + wire > r.txSegmentBytes) this.flush();
    const off = this.segBase + this.stagedBytes;
    // a VLAN interface's frames get their tag here, in the copy the staging makes anyway
    if (tci !== 0) len = writeTagged(r.tx, off, frame, len, tci);
    else r.tx.set(len === frame.length ? frame : frame.subarray(0, len), off);
    const d = this.descBase + this.staged * 2;
    r.txDesc[d] = off;
    r.txDesc[d + 1] = len;
    this.staged++;
    // 8-byte aligned starts keep the copies fast
    this.stagedBytes = (this.stagedBytes + len + 7) & ~7;
    if (!this.inBatch()) this.flush();
    return true;
  }

  /** Hands the staged frames to the addon. Refusals happen later and are counted in stats(). */
  flush(): number {
    if (this.staged === 0) return 0;
    let n = this.staged;
    this.staged = 0;
    this.stagedBytes = 0;
    if (this.ring.closed) return n;
    // re-judged frames leave now, from this thread, after whatever the sender thread still holds
    const regated = this.gate?.changed() === true;
    if (regated) n = this.regate(n);
    const seg = n === 0 ? this.segBase / this.ring.txSegmentBytes : this.ring.flush(n, regated);
    this.segBase = seg * this.ring.txSegmentBytes;
    this.descBase = seg * this.ring.txSlots * 2;
    return 0;
  }

  /**
   * The send gate's verdict on each staged frame (rewritten in place, or dropped): the kept ones
   * are packed to the front of the segment's descriptors. Returns how many are kept.
   */
  private regate(n: number): number {
    const r = this.ring;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const d = this.descBase + i * 2;
      const off = r.txDesc[d];
      const len = r.txDesc[d + 1];
      if (!this.gate!.fix(r.tx, off, len)) continue;
      const k = this.descBase + kept * 2;
      r.txDesc[k] = off;
      r.txDesc[k + 1] = len;
      kept++;
    }
    return kept;
  }

  stats(): PortStats {
    const s = this.ring.stats();
    return { ringDrops: s.drops, ringFreezes: s.freezes, txRefused: s.txRefused, rxFrames: s.frames, rxBatches: s.batches, txSent: s.sent, txWaits: s.txWaits };
  }

  close(): void {
    if (this.ring.closed) return;
    this.staged = 0;
    this.ring.close();
    this.onClose();
  }
}
