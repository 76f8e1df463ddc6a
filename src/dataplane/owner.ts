// Active/active: which box sets a new session up and which box owns it (PAN-OS's "session setup"
// and "session owner"). The box a packet reaches forwards it over HA3 when the answer is the peer.
// Both boxes must reach the same answer for the same packet, so every input is either in the
// packet, in the shared config, or in the pair's view both boxes hold (who is primary, whether the
// peer is up); a peer that is down never owns or sets anything up.
//
// Setup methods (docs/active-active.md):
//   first-packet  the box the first packet reached
//   ip-modulo     the parity of the source address: even -> device 0, odd -> device 1
//   ip-hash       a seeded hash of the source address (or source and destination) -> device
//   primary       the active-primary
// Owner: first-packet (the box the first packet reached) or primary.
import type { ActiveActiveConfig } from '../config/types.js';

export type DeviceId = 0 | 1;

/** What this box knows of the pair when a packet arrives. */
export interface PairView {
  me: DeviceId;
  /** The peer is alive and forwarding (active-primary or active-secondary). */
  peerUp: boolean;
  primary: DeviceId;
}

/** murmur3's 32-bit finalizer (fmix32): every input bit moves every output bit, cheaply. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * An IPv6 address (4 words at `off`) as the 32-bit input setupDevice takes: the high 96 bits mixed
 * into the low word, its lowest bit kept, so ip-modulo's parity is the address's own and ip-hash
 * sees every bit (hosts of one /64 differ in the low words, sites in the high ones).
 */
export function fold6(words: ArrayLike<number>, off: number): number {
  const high = mix32((words[off] ^ words[off + 1] ^ words[off + 2]) >>> 0);
  return (words[off + 3] ^ (high & ~1)) >>> 0;
}

/** The device ip-hash picks for a flow, from the seed and the addresses it hashes. */
export function ipHashDevice(seed: number, key: ActiveActiveConfig['ipHash']['key'], src: number, dst: number): DeviceId {
  let h = mix32((src ^ seed) >>> 0);
  if (key === 'source-and-destination') h = mix32((h ^ dst) >>> 0);
  return (h & 1) as DeviceId;
}

/** Where a device that is down stands: the box that is up does its work. */
function alive(view: PairView, d: DeviceId): DeviceId {
  return d === view.me || view.peerUp ? d : view.me;
}

/**
 * The device that sets up a new flow whose first packet reached `reachedBy` (this box, or the peer
 * that forwarded it over HA3).
 */
export function setupDevice(cfg: ActiveActiveConfig, view: PairView, reachedBy: DeviceId, src: number, dst: number): DeviceId {
  switch (cfg.sessionSetup) {
    case 'first-packet':
      return alive(view, reachedBy);
    case 'ip-modulo':
      return alive(view, (src & 1) as DeviceId);
    case 'ip-hash':
      return alive(view, ipHashDevice(cfg.ipHash.seed, cfg.ipHash.key, src >>> 0, dst >>> 0));
    case 'primary':
      return alive(view, view.primary);
  }
}

/** The device that owns a new session (processes its packets), first packet having reached `reachedBy`. */
export function ownerDevice(cfg: ActiveActiveConfig, view: PairView, reachedBy: DeviceId): DeviceId {
  return alive(view, cfg.sessionOwner === 'primary' ? view.primary : reachedBy);
}

/** Source ports each device hands out for a translated address both may use: disjoint halves. */
export function natPortRange(device: DeviceId, lo: number, hi: number): { lo: number; hi: number } {
  const half = Math.floor((hi - lo + 1) / 2);
  return device === 0 ? { lo, hi: lo + half - 1 } : { lo: lo + half, hi };
}
