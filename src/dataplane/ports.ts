// The dataplane's handles on its traffic devices, kept open whatever the devices do.
//
// A handle fails when its device goes administratively down, is deleted, or the backend reports
// any other error (io.ts: onError). Then it is closed, counted (io-error) and logged once, and
// opened again as soon as the device exists and is administratively up (checked every
// REOPEN_CHECK_MS from the engine's tick): frames for it meanwhile are refused (send-failed).
// An open handle's device is checked every DEVICE_CHECK_MS: another ifindex (the device was
// deleted and created again between two looks) means the handle is bound to a device that is
// gone, so it is reopened; a changed MTU or MAC is handed to the pipeline, and a changed MTU also
// reopens the handle (a ring's slots are sized for the MTU). Carrier loss is no error here: the
// handle stays open and the link monitor decides what it means for the pair.
//
// The kernel's view of a device comes from net/link.ts, the same reader the link monitor uses.
import type { Logger } from '../log.js';
import { adminUp, type DeviceFacts } from '../net/link.js';
import type { DropReason, EventCounter } from '../wire/dataplane-counters.js';
import type { DataplaneIo, FrameHandler, OpenOptions, Port, PortError, PortStats } from './io.js';

/**
 * How often a failed handle's device is looked at (two sysfs reads: microseconds). Short, because
 * the link monitor holds the link down until the handle is open again.
 */
export const REOPEN_CHECK_MS = 20;
/** How often an open handle's device is checked for a new ifindex, MTU or MAC. */
export const DEVICE_CHECK_MS = 500;
/** How often the backends' own counters (ring drops, refused sends) are carried into ours. */
export const STATS_MS = 1000;

/** One handle per kernel device: a trunk's VLAN interfaces share it (the engine demultiplexes). */
export interface PortSpec {
  /** Logical name (lan, wan; a trunk's interfaces joined by "+"), for logs. */
  name: string;
  device: string;
  onFrame: FrameHandler;
  /** Asked at every open: a device created again has another MAC, which a capture filter names. */
  opts: () => Omit<OpenOptions, 'onError'>;
}

export interface PortsSink {
  event(name: EventCounter, n?: number): void;
  drop(reason: DropReason, n: number): void;
  /** A failed handle is open again (the engine re-announces the floating IPs if active). */
  reopened(index: number): void;
  /** Handle i is closed (false) or open again (true): the link monitor holds the link down meanwhile. */
  captureOpen(index: number, open: boolean): void;
  /** The device's MTU or MAC is not what it was. */
  deviceChanged(index: number, facts: DeviceFacts): void;
}

interface Slot {
  spec: PortSpec;
  port: Port | null;
  /** What the device was when the handle was opened (null: the io cannot tell). */
  facts: DeviceFacts | null;
  /** Why the handle is closed, while it is. */
  error: PortError | null;
  downSinceMs: number;
  /** The backend's counters at the last carry, for deltas (reset when a handle is reopened). */
  seen: PortStats;
}

const ZERO_STATS: PortStats = { ringDrops: 0, ringFreezes: 0, txRefused: 0 };

export class DevicePorts {
  private readonly slots: Slot[];
  /** What the pipeline knows of each device (MTU, MAC): the facts at the first open, then what it was told. */
  private readonly lastTold: (DeviceFacts | null)[] = [];
  private nextDeviceCheckMs: number;
  private nextReopenCheckMs = 0;
  private nextStatsMs: number;

  /** Opens every handle; throws (after closing those opened) when one cannot be opened at start. */
  constructor(
    private readonly io: DataplaneIo,
    specs: readonly PortSpec[],
    private readonly sink: PortsSink,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {
    const nowMs = clock();
    this.slots = specs.map((spec) => ({ spec, port: null, facts: null, error: null, downSinceMs: 0, seen: ZERO_STATS }));
    this.nextDeviceCheckMs = nowMs + DEVICE_CHECK_MS;
    this.nextStatsMs = nowMs + STATS_MS;
    try {
      this.slots.forEach((_, i) => this.open(i));
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Sends on handle i (with an 802.1Q tag of `tci` unless 0); false when it is closed (device down or gone) or refused the frame. */
  send(i: number, frame: Uint8Array, len: number, tci = 0): boolean {
    const port = this.slots[i].port;
    return port !== null && port.send(frame, len, tci);
  }

  /** True when handle i is open. */
  isOpen(i: number): boolean {
    return this.slots[i].port !== null;
  }

  /** Per handle: open, or why not and since when; the open handle's own counters. */
  status(nowMs: number): { open: boolean; error: string | null; downMs: number | null; stats: PortStats | null }[] {
    return this.slots.map((s) => ({
      open: s.port !== null,
      error: s.error ? `${s.error.code}: ${s.error.message}` : null,
      downMs: s.port === null ? Math.round(nowMs - s.downSinceMs) : null,
      stats: s.port?.stats?.() ?? null,
    }));
  }

  /** Timer work: reopen failed handles, check devices, carry counters. Cheap when nothing is due. */
  tick(nowMs: number): void {
    if (nowMs >= this.nextReopenCheckMs) {
      this.nextReopenCheckMs = nowMs + REOPEN_CHECK_MS;
      this.slots.forEach((s, i) => {
        if (s.port === null) this.tryReopen(i, nowMs);
      });
    }
    if (nowMs >= this.nextDeviceCheckMs) {
      this.nextDeviceCheckMs = nowMs + DEVICE_CHECK_MS;
      this.slots.forEach((s, i) => {
        if (s.port !== null) this.checkDevice(i, nowMs);
      });
    }
    if (nowMs >= this.nextStatsMs) {
      this.nextStatsMs = nowMs + STATS_MS;
      this.slots.forEach((_, i) => this.carryStats(i));
    }
  }

  close(): void {
    for (const s of this.slots) {
      const port = s.port;
      s.port = null;
      try {
        port?.close();
      } catch (err) {
        this.log.warn({ err, device: s.spec.device }, 'closing a capture handle failed');
      }
    }
  }

  private open(i: number): void {
    const s = this.slots[i];
    s.facts = this.io.device?.(s.spec.device) ?? null;
    this.lastTold[i] ??= s.facts;
    let port: Port | null = null;
    port = this.io.open(s.spec.device, s.spec.onFrame, {
      ...s.spec.opts(),
      // the backend calls this from its poll, never from inside send(): closing here is safe
      onError: (err) => {
        if (this.slots[i].port === port && port !== null) this.fail(i, err, this.clock());
      },
    });
    s.port = port;
    s.error = null;
    s.seen = port.stats?.() ?? ZERO_STATS;
  }

  private fail(i: number, err: PortError, nowMs: number): void {
    const s = this.slots[i];
    if (s.port === null) return;
    this.carryStats(i);
    const port = s.port;
    s.port = null;
    s.error = err;
    s.downSinceMs = nowMs;
    this.sink.captureOpen(i, false);
    this.sink.event('io-error');
    this.log.warn(
      { interface: s.spec.name, device: s.spec.device, code: err.code, error: err.message },
      'capture handle failed; it is opened again when the device is up',
    );
    try {
      port.close();
    } catch (closeErr) {
      this.log.warn({ err: closeErr, device: s.spec.device }, 'closing a failed capture handle failed');
    }
    this.nextReopenCheckMs = 0;
  }

  private tryReopen(i: number, nowMs: number): void {
    const s = this.slots[i];
    const facts = this.io.device ? this.io.device(s.spec.device) : null;
    if (this.io.device && !adminUp(facts)) return;
    // the pipeline learns a new MTU or MAC first: the open below asks it for the MACs to filter on
    if (facts !== null) this.compareDevice(i, facts);
    try {
      this.open(i);
    } catch (err) {
      // the device went away again between the look and the open: try again on the next check
      const error = err instanceof Error ? err.message : String(err);
      if (s.error?.message !== error) this.log.warn({ interface: s.spec.name, device: s.spec.device, error }, 'capture handle could not be opened again yet');
      s.error = { code: (err as { code?: string }).code ?? 'EOPEN', message: error };
      return;
    }
    this.sink.captureOpen(i, true);
    this.sink.event('io-reopened');
    this.log.info(
      { interface: s.spec.name, device: s.spec.device, ifindex: s.facts?.ifindex, downMs: Math.round(nowMs - s.downSinceMs) },
      'capture handle open again',
    );
    this.sink.reopened(i);
  }

  /** The device behind an open handle: still the same one, with the same MTU and MAC? */
  private checkDevice(i: number, nowMs: number): void {
    const s = this.slots[i];
    if (!this.io.device || s.facts === null) return;
    const now = this.io.device(s.spec.device);
    if (now === null) return this.fail(i, { code: 'ENODEV', message: `device ${s.spec.device} no longer exists` }, nowMs);
    if (now.ifindex !== s.facts.ifindex) {
      return this.fail(i, { code: 'EIFINDEX', message: `device ${s.spec.device} was created again (ifindex ${s.facts.ifindex} -> ${now.ifindex})` }, nowMs);
    }
    if (now.mtu !== s.facts.mtu) {
      // the handle is reopened for the new MTU (a ring's slots are sized for it) and the pipeline told
      this.fail(i, { code: 'EMTU', message: `device ${s.spec.device} MTU ${s.facts.mtu} -> ${now.mtu}` }, nowMs);
      return this.tryReopen(i, nowMs);
    }
    this.compareDevice(i, now);
  }

  private compareDevice(i: number, now: DeviceFacts): void {
    const s = this.slots[i];
    const told = this.lastTold[i];
    if (told === null || (told.mtu === now.mtu && told.address === now.address)) {
      this.lastTold[i] ??= now;
      return;
    }
    this.lastTold[i] = now;
    this.sink.event('device-changed');
    this.log.info({ interface: s.spec.name, device: s.spec.device, mtu: now.mtu, mac: now.address }, 'device MTU or MAC changed');
    this.sink.deviceChanged(i, now);
  }

  private carryStats(i: number): void {
    const s = this.slots[i];
    const st = s.port?.stats?.();
    if (!st) return;
    const drops = st.ringDrops - s.seen.ringDrops;
    const freezes = st.ringFreezes - s.seen.ringFreezes;
    const refused = st.txRefused - s.seen.txRefused;
    if (drops > 0) this.sink.drop('ring-full', drops);
    if (freezes > 0) this.sink.event('ring-freeze', freezes);
    // an event, not a drop: these frames already have their outcome (forwarded, ...) counted
    if (refused > 0) this.sink.event('tx-refused', refused);
    s.seen = st;
  }
}
