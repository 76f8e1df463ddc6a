// What the kernel says of a network device, read from sysfs, and whether it is up. The one source
// of truth for link state: the link monitor (control plane) decides failover on it, and the
// dataplane decides when a capture handle that failed can be opened again and notices a device
// that was deleted and created again (new ifindex) or whose MTU or MAC changed.
//
// Synchronous on purpose: a sysfs attribute is generated in memory and read in microseconds (see
// control/monitor/link-watch.ts for what the asynchronous path cost).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SYS_CLASS_NET = '/sys/class/net';

/** What the kernel says of a device (sysfs), null for a file that could not be read. */
export interface KernelLink {
  /** /sys/class/net/<dev>/flags (IFF_* bits). */
  flags: number | null;
  /** /sys/class/net/<dev>/carrier: "1" or "0" (unreadable while admin down). */
  carrier: string | null;
  /** /sys/class/net/<dev>/operstate (RFC 2863 words: up, down, lowerlayerdown, unknown, ...). */
  operstate: string | null;
}

export interface LinkVerdict {
  up: boolean;
  /**
   * Why it is down: missing, admin-down, no-carrier, oper-<state>; "up" when up. The link monitor
   * adds capture-closed: up for the kernel, but the dataplane's handle is not open again yet.
   */
  why: string;
}

/** IFF_UP, include/uapi/linux/if.h: the administrative state. */
export const IFF_UP = 0x1;
/** Operational states that mean no traffic passes even with carrier (RFC 2863 ifOperStatus). */
const OPER_DOWN: ReadonlySet<string> = new Set(['down', 'lowerlayerdown', 'notpresent']);

/** A link is up when it is administratively up, has carrier, and is not operationally down. */
export function linkVerdict(k: KernelLink): LinkVerdict {
  if (k.flags === null && k.carrier === null && k.operstate === null) return { up: false, why: 'missing' };
  if (k.flags !== null && (k.flags & IFF_UP) === 0) return { up: false, why: 'admin-down' };
  if (k.carrier !== '1') return { up: false, why: 'no-carrier' };
  if (k.operstate !== null && OPER_DOWN.has(k.operstate)) return { up: false, why: `oper-${k.operstate}` };
  return { up: true, why: 'up' };
}

/** Everything the dataplane needs to know about a device, or null when it does not exist. */
export interface DeviceFacts extends KernelLink, LinkVerdict {
  device: string;
  ifindex: number;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff" as the kernel prints it. */
  address: string;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** flags, carrier and operstate of `device` (each null when unreadable). */
export function readKernelLink(device: string, sysRoot = SYS_CLASS_NET): KernelLink {
  const dir = join(sysRoot, device);
  const flagsText = readOrNull(join(dir, 'flags'));
  const flags = flagsText === null ? null : Number.parseInt(flagsText, 16);
  return { flags: Number.isFinite(flags) ? flags : null, carrier: readOrNull(join(dir, 'carrier')), operstate: readOrNull(join(dir, 'operstate')) };
}

async function readOrNullAsync(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

/**
 * readKernelLink off the calling thread (libuv's pool). A sysfs read of a device waits for the
 * kernel's global rtnl lock, which another namespace's `ip` or a namespace being deleted can hold
 * for milliseconds (measured: up to 8.5 ms while namespaces come and go): the control thread
 * must not wait for it between two heartbeats.
 */
export async function readKernelLinkAsync(device: string, sysRoot = SYS_CLASS_NET): Promise<KernelLink> {
  const dir = join(sysRoot, device);
  const [flagsText, carrier, operstate] = await Promise.all(['flags', 'carrier', 'operstate'].map((f) => readOrNullAsync(join(dir, f))));
  const flags = flagsText === null ? null : Number.parseInt(flagsText, 16);
  return { flags: Number.isFinite(flags) ? flags : null, carrier, operstate };
}

/** The device's facts, or null when it does not exist (or vanished between two reads). */
export function readDevice(device: string, sysRoot = SYS_CLASS_NET): DeviceFacts | null {
  const dir = join(sysRoot, device);
  const ifindex = Number.parseInt(readOrNull(join(dir, 'ifindex')) ?? '', 10);
  const mtu = Number.parseInt(readOrNull(join(dir, 'mtu')) ?? '', 10);
  const address = readOrNull(join(dir, 'address'));
  if (!Number.isInteger(ifindex) || !Number.isInteger(mtu) || address === null) return null;
  const k = readKernelLink(device, sysRoot);
  return { device, ifindex, mtu, address, ...k, ...linkVerdict(k) };
}

/** Admin state alone (IFF_UP): a handle can be bound and receive once this holds, carrier or not. */
export function adminUp(facts: DeviceFacts | null): boolean {
  return facts !== null && facts.flags !== null && (facts.flags & IFF_UP) !== 0;
}
