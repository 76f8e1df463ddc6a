// One traffic interface as the pipeline and the firewall see it (both read it; neither owns it).
import type { Prefix } from '../net/ipv4.js';

/** One traffic interface as the pipeline sees it. Index in the list = ifIndex. */
export interface PipelineInterface {
  /** Logical name (lan, wan). */
  readonly name: string;
  /** Kernel device. */
  readonly device: string;
  /** The device's own MAC: source of our ARP requests, the kernel's traffic. */
  readonly realMac: Uint8Array;
  /** The dataplane's MAC here: the virtual MAC (or realMac when virtual MACs are off). */
  readonly mac: Uint8Array;
  /** The box's own (kernel) address on the interface. */
  readonly address: number;
  /** The connected subnet. */
  readonly prefix: Prefix;
  /** Floating IPs that live on this interface. */
  readonly floating: readonly number[];
  /** IP MTU of the device: frames longer than ETH_HLEN + mtu are not sent. */
  readonly mtu: number;
}
