// Two engines of an active/active pair in one process: each behind a fake capture I/O (lan0, wan0
// and the HA3 device), the HA3 devices joined by an in-memory link, HA2 stood in for by moving
// records from one box's `out` ring to the other's `in`, each box's SharedState as the pair view
// its control plane would write. Frames on a link wait for deliver(), as on a wire: a box never
// handles a frame from inside the handling of another.
import type { ActiveActiveConfig, TandemConfig } from '../../../src/config/types.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import type { DeviceId } from '../../../src/dataplane/owner.js';
import { createLogger } from '../../../src/log.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import type { SessionRecord } from '../../../src/wire/session-record.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE, SharedState } from '../../../src/wire/shared-state.js';
import { aaConfig } from './aa-helpers.js';
import { CLIENT, CLIENT2, CLIENT2_MAC, CLIENT_MAC, LAN, SERVER, SERVER_MAC, WAN } from './firewall-helpers.js';

export const HA_KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const NAMES: string[] = [...EVENT_COUNTERS, ...DROP_REASONS];
/** ha3MtuNeeded(1500) */
export const HA3_MTU = 1550;

export interface Box {
  me: DeviceId;
  engine: Engine;
  shared: SharedState;
  /** Frames the box sent, per device. */
  out: Record<string, Buffer[]>;
  /** Hands a frame to the box as if it arrived on `device`. */
  rx(device: string, frame: Uint8Array): void;
  counter(name: string): number;
  ha2Out: RecordRing;
  ha2In: RecordRing;
  /** The (virtual) MAC a host sends to on interface i. */
  macOf(i: number): Uint8Array;
  /** The devices the engine opened. */
  opened: string[];
}

export interface BoxOptions {
  config?: TandemConfig;
  /** MTU of the HA3 device (default HA3_MTU). */
  ha3Mtu?: number;
  /** The HA3 handle refuses every frame (as a closed one does). */
  ha3Refuses?: boolean;
}

/** One box: an Engine on a fake I/O whose sends are recorded. */
export function makeBox(me: DeviceId, clock: () => number, aa: Partial<ActiveActiveConfig> = {}, opts: BoxOptions = {}): Box {
  const config = opts.config ?? aaConfig(me, aa);
  const shared = new SharedState(COUNTER_COUNT);
  shared.setPairView(me === 0 ? CLASS_DEVICE0 | CLASS_PRIMARY : CLASS_DEVICE1, true, 0);
  shared.setRole(ROLE_ACTIVE);
  shared.renewLease(1e15);
  const rxs: Record<string, (f: Uint8Array, len: number, truncated: boolean) => void> = {};
  const out: Record<string, Buffer[]> = { lan0: [], wan0: [], ha3: [] };
  const opened: string[] = [];
  const macs: Record<string, string> = { lan0: `0a:00:00:0${me}:01:02`, wan0: `0a:00:00:0${me}:02:02`, ha3: `0a:00:00:0${me}:03:02` };
  const io: DataplaneIo = {
    open: (device, onFrame) => {
      opened.push(device);
      rxs[device] = onFrame;
      if (device === 'ha3' && opts.ha3Refuses) return { send: () => false, close: () => undefined };
      return { send: (f, len) => (out[device].push(Buffer.from(f.subarray(0, len))), true), close: () => undefined };
    },
    macOf: (device) => parseMac(macs[device]),
    mtuOf: (device) => (device === 'ha3' ? (opts.ha3Mtu ?? HA3_MTU) : 1500),
  };
  const ha2Out = new RecordRing(1024);
  const ha2In = new RecordRing(1024);
  const stats = new FirewallStats(config.shared.policy.rules.length, config.shared.nat.length);
  const engine = new Engine(config, shared, io, clock, createLogger({ level: 'fatal', name: `pair-${me}` }), {
    garpOnStart: false,
    neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
    firewall: { shared: config.shared, stats, seed: 11 + me },
    sync: { out: ha2Out, in: ha2In },
    ha3: { key: HA_KEY, epochMs: 1_700_000_000_000 + me },
  });
  const n = engine.pipeline.neighbours;
  n[LAN].learn(parseIpv4(CLIENT), parseMac(CLIENT_MAC), 0, 0);
  n[LAN].learn(parseIpv4(CLIENT2), parseMac(CLIENT2_MAC), 0, 0);
  n[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
  const counters = shared.counters();
  return {
    me,
    engine,
    shared,
    out,
    rx: (device, frame) => rxs[device](frame, frame.length, false),
    counter: (name) => counters[NAMES.indexOf(name)],
    ha2Out,
    ha2In,
    macOf: (i) => engine.pipeline.interfaces[i].mac,
    opened,
  };
}

/** Two boxes, their HA3 link and HA2 stand-in, one clock. */
export function makePair(aa: Partial<ActiveActiveConfig> = {}, configs?: [TandemConfig, TandemConfig]) {
  let now = 1_000_000;
  const clock = () => now;
  const a = makeBox(0, clock, aa, { config: configs?.[0] });
  const b = makeBox(1, clock, aa, { config: configs?.[1] });
  const link = { cut: false, carried: 0 };

  /** Carries the HA3 frames waiting in either direction until none are left (the answers too). */
  function deliver(): void {
    for (let round = 0; round < 100; round++) {
      const fromA = a.out.ha3.splice(0);
      const fromB = b.out.ha3.splice(0);
      if (fromA.length + fromB.length === 0) return;
      if (link.cut) continue;
      link.carried += fromA.length + fromB.length;
      for (const f of fromA) b.rx('ha3', f);
      for (const f of fromB) a.rx('ha3', f);
    }
    throw new Error('HA3 frames still flowing after 100 rounds');
  }

  /** HA2 stand-in: every record each box put out reaches the other, applied at its next tick. */
  function ha2(): void {
    const move = (from: Box, to: Box) => from.ha2Out.drain(1 << 20, (r: SessionRecord) => to.ha2In.push(r));
    move(a, b);
    move(b, a);
  }

  /** Time passes in 2 ms ticks (the dataplane's), the HA3 link carrying what they send. */
  function advance(ms: number): void {
    for (let t = 0; t < ms; t += 2) {
      now += 2;
      a.engine.tick();
      b.engine.tick();
      deliver();
    }
  }

  return {
    a,
    b,
    link,
    deliver,
    ha2,
    advance,
    now: () => now,
    step: (ms = 1) => (now += ms),
  };
}
