// The frame I/O boundary. The engine sees only these types; two backends sit behind them
// (docs/packet-io.md):
// - `ring` (io-ring.ts): tandem's own addon (native/packet-ring): AF_PACKET with a TPACKET_V3
//   receive ring handed over one block per call, transmit batched with sendmmsg, every socket
//   error reported as an event, loads in any thread.
// - `pcap` (io-pcap.ts): libpcap through the `cap` binding, patched at install so that a capture
//   error is an event rather than an abort.
// Only io-ring.ts and io-pcap.ts load native code; nothing else in the dataplane does I/O.
import type { DataplaneIoKind } from '../config/types.js';
import type { DeviceFacts } from '../net/link.js';

/** Why a handle stopped delivering frames. The engine closes it and opens the device again. */
export interface PortError {
  /** errno name where the kernel gave one (ENETDOWN, ENXIO, ...), else a short tag. */
  code: string;
  message: string;
}

/** One open handle on a traffic device. */
export interface Port {
  /**
   * Queues frame[0..len] for sending (the ring backend batches until flush(); pcap sends at once).
   * `tci` non-zero: the frame leaves with an 802.1Q tag of that TCI after its MACs, written as the
   * backend copies it (vlan.ts writeTagged); frame itself is not changed. false when the frame was
   * refused (handle closed, queue full, device refused it).
   */
  send(frame: Uint8Array, len: number, tci?: number): boolean;
  /** Sends what send() queued (backends that batch). Returns how many queued frames the device refused. */
  flush?(): number;
  /** Backend counters since open (ring drops, freezes, ...), for the dataplane's counters. */
  stats?(): PortStats;
  close(): void;
}

export interface PortStats {
  /** Frames the kernel dropped because the receive ring was full (PACKET_STATISTICS tp_drops). */
  ringDrops: number;
  /** Times the receive queue froze for lack of a free block (TPACKET_V3 tp_freeze_q_cnt). */
  ringFreezes: number;
  /** Frames the device refused when a batch was sent (ENOBUFS, ENETDOWN, ...). */
  txRefused: number;
  /** Backends that batch: frames and batches received, frames sent, flushes that waited for the sender. */
  rxFrames?: number;
  rxBatches?: number;
  txSent?: number;
  txWaits?: number;
}

export interface OpenOptions {
  /**
   * Frames from these sources are ours (sent by us or the kernel): not delivered, except ARP from
   * sharedMacs (MACs the peer sends from too: the virtual MAC). The ring backend needs no filter
   * (PACKET_IGNORE_OUTGOING); pcap compiles one from them.
   */
  ownMacs?: readonly Uint8Array[];
  sharedMacs?: readonly Uint8Array[];
  /** MACs the device must accept besides its own (the virtual MAC): the backend makes it listen for them. */
  extraMacs?: readonly Uint8Array[];
  /** The handle hit an error it does not read past. Called at most once per handle, never re-entrantly from send. */
  onError?: (err: PortError) => void;
  /**
   * For backends that stage frames and send them later (the ring, at the end of a batch): the
   * decisions taken when a frame was staged may no longer hold when it leaves (the box stopped
   * being active, or a hand-over began, between the two). Asked once per flush; when it answers
   * true, `fix` is asked for every staged frame: it may rewrite the frame in place and returns
   * false to drop it.
   */
  sendGate?: SendGate;
}

export interface SendGate {
  changed(): boolean;
  fix(buf: Uint8Array, off: number, len: number): boolean;
}

/** Called once per received frame (see DataplaneIo.open). */
export type FrameHandler = (frame: Uint8Array, len: number, truncated: boolean, vlan?: number) => void;

/** The I/O the engine needs. */
export interface DataplaneIo {
  readonly kind?: DataplaneIoKind;
  /**
   * Opens a handle on `device`. onFrame gets a buffer the backend reuses (at least 64 KiB, so the
   * pipeline may build a longer answer in place), valid until it returns; `len` bytes are the frame.
   * `vlan`: a VLAN tag the kernel took out of the frame (vlan.ts AUX_TAG_PRESENT | TCI), 0 when none
   * or when the backend leaves tags in the frame (pcap). Throws when the device does not exist or
   * cannot be opened.
   */
  open(device: string, onFrame: FrameHandler, opts?: OpenOptions): Port;
  macOf(device: string): Uint8Array;
  mtuOf(device: string): number;
  /**
   * The kernel's facts on the device (ifindex, admin state, MTU, MAC), null when it does not
   * exist. Absent in test doubles: then nothing watches for devices that change under a handle.
   */
  device?(name: string): DeviceFacts | null;
}
