// The virtual MAC of each logical interface: the address floating IPs answer ARP with, the same
// on both boxes, so a takeover changes no host's ARP cache (DESIGN.md "Floating addresses").
// Format, after VRRP (RFC 5798 7.3, 00:00:5e:00:01:<vrid>) and PAN-OS (a fixed prefix, group,
// interface): 02:74:64:00:<group>:<n>. 0x02 sets the locally-administered bit and clears the
// group bit; 0x74 0x64 is "td".
import type { SharedConfig } from '../config/types.js';

export const VMAC_PREFIX = [0x02, 0x74, 0x64, 0x00] as const;

/**
 * Logical interface names carrying floating IPs, sorted and distinct; an interface's number n
 * is 1 + its position here. Depends on shared config only, so both boxes derive the same n.
 */
export function floatingInterfaceOrder(shared: Pick<SharedConfig, 'floatingIps'>): string[] {
  return [...new Set(shared.floatingIps.map((f) => f.interface))].sort();
}

export function virtualMacFor(groupId: number, n: number): Uint8Array {
  if (!Number.isInteger(groupId) || groupId < 0 || groupId > 255) throw new Error(`group id out of range: ${groupId}`);
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new Error(`virtual MAC interface number out of range: ${n}`);
  return new Uint8Array([...VMAC_PREFIX, groupId, n]);
}

/**
 * The MAC the dataplane uses as its own on `iface`: the virtual MAC when shared.ha.virtualMac is
 * on and the interface has floating IPs, otherwise the interface's real MAC.
 */
export function interfaceVirtualMac(shared: Pick<SharedConfig, 'floatingIps' | 'ha'>, iface: string, realMac: Uint8Array): Uint8Array {
  if (!shared.ha.virtualMac) return realMac;
  const n = floatingInterfaceOrder(shared).indexOf(iface) + 1;
  if (n === 0) return realMac;
  return virtualMacFor(shared.ha.groupId, n);
}
