// The virtual MAC of each logical interface: the address floating IPs answer ARP with, the same
// on both boxes, so a takeover changes no host's ARP cache (DESIGN.md "Floating addresses").
// Format, after VRRP (RFC 5798 7.3, 00:00:5e:00:01:<vrid>) and PAN-OS (a fixed prefix, group,
// interface): 02:74:64:<c>:<group>:<n>. 0x02 sets the locally-administered bit and clears the
// group bit; 0x74 0x64 is "td". c is 0 in active/passive; in active/active each owner class has
// its own MAC (docs/active-active.md): c = 1 for device 0's class, 2 for device 1's, 3 for the
// primary's, so that each class can move between the boxes on its own.
import type { FloatingIpConfig, FloatingOwner, SharedConfig } from '../config/types.js';
import { parseCidr } from '../net/ipv4.js';
import { parseCidr6 } from '../net/ipv6.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY } from '../wire/shared-state.js';
import type { ArpSharing, FloatingClass, PipelineInterface } from './pipeline-interface.js';
import { isIpv4Text } from '../net/family.js';

export const VMAC_PREFIX = [0x02, 0x74, 0x64, 0x00] as const;

/** Active/active: the owner classes (servedClasses bits), in the order of their MAC's class code. */
export const FLOATING_CLASSES = [CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY] as const;

/**
 * Logical interface names carrying floating IPs, sorted and distinct; an interface's number n
 * is 1 + its position here. Depends on shared config only, so both boxes derive the same n.
 */
export function floatingInterfaceOrder(shared: Pick<SharedConfig, 'floatingIps'>): string[] {
  return [...new Set(shared.floatingIps.map((f) => f.interface))].sort();
}

/** 02:74:64:<classCode>:<groupId>:<n>; classCode 0 is active/passive's one MAC per interface. */
export function virtualMacFor(groupId: number, n: number, classCode = 0): Uint8Array {
  if (!Number.isInteger(groupId) || groupId < 0 || groupId > 255) throw new Error(`group id out of range: ${groupId}`);
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new Error(`virtual MAC interface number out of range: ${n}`);
  if (!Number.isInteger(classCode) || classCode < 0 || classCode > 3) throw new Error(`virtual MAC class code out of range: ${classCode}`);
  return new Uint8Array([VMAC_PREFIX[0], VMAC_PREFIX[1], VMAC_PREFIX[2], classCode, groupId, n]);
}

/** The class code (the MAC's fourth byte) of a class bit: 1, 2 or 3. */
export function classCode(bit: number): number {
  const i = FLOATING_CLASSES.indexOf(bit as (typeof FLOATING_CLASSES)[number]);
  if (i < 0) throw new Error(`not a floating-address class: ${bit}`);
  return i + 1;
}

/**
 * ARP load sharing: an `owner: shared` address is in both device classes at once, each answering
 * its share of the requesters (arp-share.ts). Not a bit of its own: what serves it is the device
 * classes' bits.
 */
export const CLASS_SHARED = CLASS_DEVICE0 | CLASS_DEVICE1;

/** The class (bits) a floating IP's owner puts it in: one class, or CLASS_SHARED. */
export function ownerClass(owner: FloatingOwner): number {
  if (owner === 0) return CLASS_DEVICE0;
  if (owner === 1) return CLASS_DEVICE1;
  if (owner === 'primary') return CLASS_PRIMARY;
  return CLASS_SHARED;
}

/** The class of device `id`'s own addresses. */
export function deviceClass(id: 0 | 1): number {
  return id === 0 ? CLASS_DEVICE0 : CLASS_DEVICE1;
}

/** A name for a class (ownerClass's bits) in status output. */
export function className(bit: number): 'device0' | 'device1' | 'primary' | 'shared' {
  if (bit === CLASS_SHARED) return 'shared';
  return ownerClassName(bit);
}

/** The name of one of the owner classes (FLOATING_CLASSES: never the shared pseudo-class). */
export function ownerClassName(bit: number): 'device0' | 'device1' | 'primary' {
  return bit === CLASS_DEVICE0 ? 'device0' : bit === CLASS_DEVICE1 ? 'device1' : 'primary';
}

/**
 * The MAC of class `bit` (0: active/passive's one MAC) on `iface`: the virtual MAC when
 * shared.ha.virtualMac is on and the interface has floating IPs, otherwise the real MAC.
 */
function macOf(shared: Pick<SharedConfig, 'floatingIps' | 'ha'>, iface: string, realMac: Uint8Array, bit: number): Uint8Array {
  if (!shared.ha.virtualMac) return realMac;
  const n = floatingInterfaceOrder(shared).indexOf(iface) + 1;
  if (n === 0) return realMac;
  return virtualMacFor(shared.ha.groupId, n, bit === 0 ? 0 : classCode(bit));
}

/**
 * The MAC the dataplane uses as its own on `iface` (the source of the frames it forwards): in
 * active/passive the interface's virtual MAC; in active/active (give `deviceId`) the virtual MAC
 * of that device's own class, so that the switches never learn a class on the box that does not
 * serve it. The real MAC when virtual MACs are off or the interface has no floating IPs.
 */
export function interfaceVirtualMac(shared: Pick<SharedConfig, 'floatingIps' | 'ha'>, iface: string, realMac: Uint8Array, deviceId?: 0 | 1): Uint8Array {
  const activeActive = shared.ha.mode === 'active-active' && deviceId !== undefined;
  return macOf(shared, iface, realMac, activeActive ? deviceClass(deviceId) : 0);
}

/**
 * Active/active: every owner class of `iface`, each with its MAC and its floating IPs there (a
 * class with no address here still has its MAC: the box serving it accepts frames sent to it).
 * Empty in active/passive and on interfaces without floating IPs.
 */
export function interfaceClasses(shared: Pick<SharedConfig, 'floatingIps' | 'ha'>, iface: string, realMac: Uint8Array): FloatingClass[] {
  if (shared.ha.mode !== 'active-active') return [];
  // the class MACs are for every interface with floating addresses, of either family
  const here = shared.floatingIps.filter((f) => f.interface === iface);
  if (here.length === 0) return [];
  return FLOATING_CLASSES.map((bit) => ({ bit, mac: macOf(shared, iface, realMac, bit), ...classAddresses(here, bit) }));
}

/** A class's floating addresses among `here` (one interface's), by family. */
export function classAddresses(here: readonly FloatingIpConfig[], bit: number): Pick<FloatingClass, 'floating' | 'floating6'> {
  const mine = here.filter((f) => ownerClass(f.owner) === bit);
  return {
    floating: mine.filter((f) => isIpv4Text(f.address)).map((f) => parseCidr(f.address).address),
    floating6: mine.filter((f) => !isIpv4Text(f.address)).map((f) => parseCidr6(f.address).address),
  };
}

/**
 * Active/active: the `owner: shared` addresses of `iface` and how their requesters are split
 * (undefined when it has none, and in active/passive, whose check refuses the owner).
 */
export function interfaceArpSharing(shared: Pick<SharedConfig, 'floatingIps' | 'ha'>, iface: string): ArpSharing | undefined {
  if (shared.ha.mode !== 'active-active') return undefined;
  // ARP load sharing is IPv4's: IPv6 shared addresses are the IPv6 path's
  const addresses = shared.floatingIps
    .filter((f) => f.interface === iface && f.owner === 'shared' && isIpv4Text(f.address))
    .map((f) => parseCidr(f.address).address);
  if (addresses.length === 0) return undefined;
  const { method, seed } = shared.ha.activeActive.arpLoadSharing;
  return { addresses, assign: { method, seed } };
}

/**
 * The MACs the dataplane answers to on `itf` besides the real one: its own MAC when virtual, and
 * (active/active) every class's, each once. The capture must receive frames sent to them.
 */
export function virtualMacsOf(itf: Pick<PipelineInterface, 'mac' | 'realMac' | 'classes'>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const add = (m: Uint8Array): void => {
    if (!sameMac(m, itf.realMac) && !out.some((o) => sameMac(o, m))) out.push(m);
  };
  add(itf.mac);
  for (const c of itf.classes ?? []) add(c.mac);
  return out;
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
