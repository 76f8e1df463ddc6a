// Active/active ARP load sharing (PAN-OS's; docs/active-active.md "ARP load sharing"): a floating
// IP with `owner: shared` is answered by both boxes, each for its share of the hosts. A requester's
// address (the ARP sender protocol address) picks a device; the box serving that device's class
// answers, with the class's MAC, so the host's traffic to the shared address goes to that box.
//
// Both boxes must pick the same device for the same requester, or a host would get two answers or
// none: the pick depends only on the address and the shared config (method, seed). Who serves a
// device class is the pair view's rule (control/core/pair-view.ts): each box its own class while
// both forward, so exactly one box answers each requester; the survivor both classes, so it
// answers all, each host still with the MAC it was given before (no host's cache changes).
import type { ArpLoadSharingConfig } from '../config/types.js';
import { ipHashDevice, type DeviceId } from './owner.js';
import { deviceClass } from './vmac.js';

/** The device whose class's MAC answers `requester`'s ARP for a shared address. */
export function arpShareDevice(cfg: ArpLoadSharingConfig, requester: number): DeviceId {
  if (cfg.method === 'ip-modulo') return (requester & 1) as DeviceId;
  return ipHashDevice(cfg.seed, 'source', requester >>> 0, 0);
}

/** Does a box serving the classes `served` (SharedState.servedClasses) serve `device`'s class? */
export function servesDevice(served: number, device: DeviceId): boolean {
  return (served & deviceClass(device)) !== 0;
}

/**
 * Does a box serving the classes `served` answer `requester`'s broadcast ARP request for a shared
 * address? Only when it serves the picked device's class (the pipeline's rule, pipeline.ts arpShared).
 */
export function answersShared(cfg: ArpLoadSharingConfig, served: number, requester: number): boolean {
  return servesDevice(served, arpShareDevice(cfg, requester));
}
