// One traffic interface as the pipeline and the firewall see it (both read it; neither owns it).
import type { ArpLoadSharingConfig } from '../config/types.js';
import type { Prefix } from '../net/ipv4.js';
import type { Ipv6, Prefix6 } from '../net/ipv6.js';

/** One traffic interface as the pipeline sees it. Index in the list = ifIndex. */
export interface PipelineInterface {
  /** Logical name (lan, wan). */
  readonly name: string;
  /** Kernel device (a VLAN interface's: the trunk it is a VLAN of). */
  readonly device: string;
  /** The 802.1Q VLAN id of a VLAN interface (device.interfaces.*.vlan); absent: the device's untagged frames. */
  readonly vlan?: number;
  /** The device's own MAC: source of our ARP requests, the kernel's traffic. */
  readonly realMac: Uint8Array;
  /**
   * The dataplane's MAC here, the source of the frames it forwards: the virtual MAC (in
   * active/active its own device class's), or realMac when virtual MACs are off.
   */
  readonly mac: Uint8Array;
  /** The box's own (kernel) address on the interface. */
  readonly address: number;
  /** The connected subnet. */
  readonly prefix: Prefix;
  /** Floating IPs that live on this interface. */
  readonly floating: readonly number[];
  /** The box's own IPv6 address here (device.interfaces.*.address6) and its prefix; absent: none. */
  readonly address6?: Ipv6;
  readonly prefix6?: Prefix6;
  /** Floating IPv6 addresses that live on this interface, global and link-local (answered by neighbour discovery). */
  readonly floating6?: readonly Ipv6[];
  /** IP MTU of the device: frames longer than ETH_HLEN + mtu are not sent. */
  readonly mtu: number;
  /** TCP SYNs coming in or going out here get an MSS of at most this (device.interfaces.*.mssClamp); absent: none. */
  readonly mssClamp?: number;
  /**
   * Active/active only: the owner classes here, each with its MAC and addresses (their union is
   * `floating`). Absent or empty in active/passive, where `mac` answers for every floating IP.
   */
  readonly classes?: readonly FloatingClass[];
  /**
   * Active/active only: the `owner: shared` addresses here (also in `floating`, in no class's
   * list), answered by ARP load sharing. Absent when there are none.
   */
  readonly arpSharing?: ArpSharing;
}

/** Active/active: an interface's ARP load sharing (docs/active-active.md, arp-share.ts). */
export interface ArpSharing {
  /** The shared addresses: both boxes answer, each for the requesters assigned its device. */
  readonly addresses: readonly number[];
  /** How a requester's address picks the device whose class's MAC answers it. */
  readonly assign: ArpLoadSharingConfig;
}

/** Active/active: one owner class of floating IPs on an interface (docs/active-active.md). */
export interface FloatingClass {
  /** CLASS_DEVICE0, CLASS_DEVICE1 or CLASS_PRIMARY: its bit in SharedState.servedClasses. */
  readonly bit: number;
  /** Its MAC here: 02:74:64:<c>:<group>:<n> (the real MAC when virtual MACs are off). */
  readonly mac: Uint8Array;
  /** Its floating IPs on this interface. */
  readonly floating: readonly number[];
  /** Its floating IPv6 addresses on this interface (answered by neighbour discovery with `mac`); absent: none. */
  readonly floating6?: readonly Ipv6[];
}
