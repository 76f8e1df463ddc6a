// 802.1Q VLAN sub-interfaces (docs/firewall.md "VLAN interfaces"): which logical interface a frame
// received on a kernel device belongs to, and the tag a frame sent out of one carries.
//
// The pipeline never sees a tag. One handle per kernel device (the trunk) receives every VLAN's
// frames; VlanDemux picks the logical interface by the VLAN id and removes a tag that is still in
// the frame. Frames leave untagged from the pipeline and the I/O layer writes the tag as it copies
// the frame into its staging buffer (io-ring.ts) or send buffer (io-pcap.ts): no extra copy.
//
// Where the tag is on receive: Linux moves the outer tag of every received frame out of the data
// (a NIC with rx VLAN offload does it in hardware, the kernel's receive path in software for the
// others: skb_vlan_untag in __netif_receive_skb_core), so a packet socket reads the frame without
// it and the tag in its tpacket header (tp_vlan_tci, TP_STATUS_VLAN_VALID): the ring backend passes
// that on as `aux` (AUX_TAG_PRESENT | TCI). libpcap writes the tag back into the frame, so the pcap
// backend delivers it in the data; both are handled here.
//
// Dropped and counted: a tag for a VLAN no interface of the device has (unknown-vlan), an untagged
// frame on a device whose interfaces are all VLANs (vlan-untagged), and two tags (an 802.1ad S-tag,
// or a second 802.1Q tag: vlan-double-tag; QinQ is not supported). A priority-tagged frame (VID 0,
// 802.1Q-2018 9.6) belongs to the untagged interface, as the standard says.
import type { DropReason } from '../wire/dataplane-counters.js';
import { ETH_TYPE, readU16 } from './packet.js';

/** 802.1Q customer tag (C-tag) TPID. */
export const ETHERTYPE_VLAN = 0x8100;
/** 802.1ad service tag (S-tag) TPID: the outer tag of QinQ. */
export const ETHERTYPE_QINQ = 0x88a8;
/** The pre-standard QinQ TPID some switches still send. */
export const ETHERTYPE_QINQ_OLD = 0x9100;
/** A tag: TPID (2 bytes) and TCI (priority 3 bits, DEI 1 bit, VID 12 bits). */
export const VLAN_HLEN = 4;
/** Where the tag goes: after the two MACs. */
export const VLAN_TAG_OFF = ETH_TYPE;
export const VLAN_VID_MASK = 0x0fff;
/** Configurable VLAN ids (802.1Q-2018 table 9-2: 0 is "priority tag only", 4095 is reserved). */
export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

/** `aux` from the I/O layer: the kernel took a tag out of the frame; its TCI is in the low 16 bits. */
export const AUX_TAG_PRESENT = 0x10000;
/** `aux`: that tag's TPID was not 802.1Q (an S-tag: QinQ). */
export const AUX_TAG_STAG = 0x20000;

export type VlanDrop = Extract<DropReason, 'unknown-vlan' | 'vlan-untagged' | 'vlan-double-tag' | 'truncated'>;

/** Any TPID that opens a tag (C-tag, S-tag, pre-standard S-tag). */
export function isTagType(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
}

/**
 * Copies frame[0..len) to out[off..] with an 802.1Q tag of `tci` after the MACs; returns the tagged
 * length (len + 4). `out` must have room; a frame shorter than its MACs is copied as is.
 */
export function writeTagged(out: Uint8Array, off: number, frame: Uint8Array, len: number, tci: number): number {
  if (len < VLAN_TAG_OFF) {
    out.set(frame.subarray(0, len), off);
    return len;
  }
  for (let i = 0; i < VLAN_TAG_OFF; i++) out[off + i] = frame[i];
  const t = off + VLAN_TAG_OFF;
  out[t] = ETHERTYPE_VLAN >>> 8;
  out[t + 1] = ETHERTYPE_VLAN & 0xff;
  out[t + 2] = (tci >>> 8) & 0xff;
  out[t + 3] = tci & 0xff;
  out.set(frame.subarray(VLAN_TAG_OFF, len), t + VLAN_HLEN);
  return len + VLAN_HLEN;
}

/** A logical interface on a device: untagged (vlan null) or a VLAN. */
export interface VlanMember {
  ifIndex: number;
  vlan: number | null;
}

/**
 * The logical interfaces of one kernel device, by VLAN id. classify() is on the path of every
 * received frame: a table lookup, no allocation.
 */
export class VlanDemux {
  /** VID -> ifIndex (-1: none). */
  private readonly byVid = new Int32Array(VLAN_VID_MASK + 1).fill(-1);
  private readonly untagged: number;
  /** After classify(): the frame's length (a tag in the frame was removed in place). */
  len = 0;
  /** After classify() answered -1: why. */
  reason: VlanDrop = 'unknown-vlan';

  constructor(members: readonly VlanMember[]) {
    let untagged = -1;
    for (const m of members) {
      if (m.vlan === null) untagged = m.ifIndex;
      else this.byVid[m.vlan & VLAN_VID_MASK] = m.ifIndex;
    }
    this.untagged = untagged;
  }

  /**
   * The ifIndex of the logical interface frame[0..len) belongs to, or -1 (see `reason`). `aux` is
   * what the I/O layer says of a tag the kernel removed (0: none). A tag still in the frame is
   * removed in place (the payload moves 4 bytes down; `len` shrinks).
   */
  classify(frame: Uint8Array, len: number, aux: number): number {
    const type = len >= VLAN_TAG_OFF + 2 ? readU16(frame, ETH_TYPE) : 0;
    let vid = 0;
    let inFrame = false;
    if (aux !== 0) {
      // a second tag in the frame, or an outer S-tag, is QinQ
      if ((aux & AUX_TAG_STAG) !== 0 || isTagType(type)) return this.refuse('vlan-double-tag');
      vid = aux & VLAN_VID_MASK;
    } else if (isTagType(type)) {
      if (type !== ETHERTYPE_VLAN) return this.refuse('vlan-double-tag');
      if (len < VLAN_TAG_OFF + VLAN_HLEN + 2) return this.refuse('truncated');
      if (isTagType(readU16(frame, ETH_TYPE + VLAN_HLEN))) return this.refuse('vlan-double-tag');
      vid = readU16(frame, ETH_TYPE + 2) & VLAN_VID_MASK;
      inFrame = true;
    }
    const ifIndex = vid === 0 ? this.untagged : this.byVid[vid];
    if (ifIndex < 0) return this.refuse(vid === 0 ? 'vlan-untagged' : 'unknown-vlan');
    if (inFrame) {
      // a memmove of the payload: only frames whose tag the kernel left in (libpcap puts it back)
      frame.copyWithin(VLAN_TAG_OFF, VLAN_TAG_OFF + VLAN_HLEN, len);
      len -= VLAN_HLEN;
    }
    this.len = len;
    return ifIndex;
  }

  private refuse(reason: VlanDrop): number {
    this.reason = reason;
    return -1;
  }
}
