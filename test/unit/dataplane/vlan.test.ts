// 802.1Q tags: insertion at the sink, demultiplexing on receive (src/dataplane/vlan.ts).
import { describe, expect, test } from 'vitest';
import { AUX_TAG_PRESENT, AUX_TAG_STAG, VlanDemux, writeTagged } from '../../../src/dataplane/vlan.js';

/** A frame: dst MAC, src MAC, then `rest` (ethertype first). */
function frame(rest: number[]): Uint8Array {
  return Uint8Array.from([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, ...rest]);
}

/** The simplest reference: a tag is the four bytes 81 00 <tci> spliced in after the MACs. */
function referenceTagged(f: Uint8Array, tci: number): number[] {
  return [...f.subarray(0, 12), 0x81, 0x00, tci >> 8, tci & 0xff, ...f.subarray(12)];
}

const IPV4 = [0x08, 0x00, 0x45, 0, 0, 20];
const ARP = [0x08, 0x06, 0, 1, 8, 0];

describe('writeTagged', () => {
  test.each([1, 20, 4094, 0x2000 | 100])('tci %i goes after the MACs, the rest follows', (tci) => {
    const f = frame(IPV4);
    const out = new Uint8Array(64).fill(0xee);
    const n = writeTagged(out, 3, f, f.length, tci);
    expect(n).toBe(f.length + 4);
    expect([...out.subarray(3, 3 + n)]).toEqual(referenceTagged(f, tci));
    expect(out[2]).toBe(0xee);
    expect(out[3 + n]).toBe(0xee);
  });

  test('only len bytes of the frame are copied', () => {
    const f = frame([...IPV4, 9, 9, 9]);
    const out = new Uint8Array(64);
    expect(writeTagged(out, 0, f, f.length - 3, 7)).toBe(f.length + 1);
  });

  test('a frame shorter than its MACs is copied untagged', () => {
    const out = new Uint8Array(16);
    expect(writeTagged(out, 0, Uint8Array.from([1, 2, 3]), 3, 7)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([1, 2, 3]);
  });
});

describe('VlanDemux', () => {
  // lan: eth1 untagged (0), v10: VLAN 10 (1), v20: VLAN 20 (2)
  const mixed = () =>
    new VlanDemux([
      { ifIndex: 0, vlan: null },
      { ifIndex: 1, vlan: 10 },
      { ifIndex: 2, vlan: 20 },
    ]);
  const trunkOnly = () =>
    new VlanDemux([
      { ifIndex: 3, vlan: 10 },
      { ifIndex: 5, vlan: 4094 },
    ]);

  test('an untagged frame belongs to the untagged interface, unchanged', () => {
    const d = mixed();
    const f = frame(IPV4);
    expect(d.classify(f, f.length, 0)).toBe(0);
    expect(d.len).toBe(f.length);
    expect([...f]).toEqual([...frame(IPV4)]);
  });

  test('a tag the kernel took out (aux) picks the VLAN; the frame is left as is', () => {
    const d = mixed();
    const f = frame(IPV4);
    expect(d.classify(f, f.length, AUX_TAG_PRESENT | 20)).toBe(2);
    expect(d.len).toBe(f.length);
    // priority bits and DEI are not part of the VLAN id
    expect(d.classify(f, f.length, AUX_TAG_PRESENT | 0xf000 | 10)).toBe(1);
  });

  test('a tag still in the frame (libpcap, rx offload off) picks the VLAN and is removed in place', () => {
    const d = mixed();
    const plain = frame(ARP);
    const f = new Uint8Array(64);
    const n = writeTagged(f, 0, plain, plain.length, 0xa000 | 10);
    expect(d.classify(f, n, 0)).toBe(1);
    expect(d.len).toBe(plain.length);
    expect([...f.subarray(0, d.len)]).toEqual([...plain]);
    expect(trunkOnly().classify(Uint8Array.from(referenceTagged(frame(IPV4), 4094)), 22, 0)).toBe(5);
  });

  test('a priority tag (VID 0) belongs to the untagged interface', () => {
    const d = mixed();
    const f = Uint8Array.from(referenceTagged(frame(IPV4), 0x6000));
    expect(d.classify(f, f.length, 0)).toBe(0);
    expect(d.len).toBe(f.length - 4);
    expect(d.classify(frame(IPV4), 18, AUX_TAG_PRESENT | 0x6000)).toBe(0);
  });

  test.each([
    ['aux tag of an unknown VLAN', frame(IPV4), AUX_TAG_PRESENT | 30, 'unknown-vlan'],
    ['in-frame tag of an unknown VLAN', Uint8Array.from(referenceTagged(frame(IPV4), 30)), 0, 'unknown-vlan'],
    ['VID 4095 (reserved)', frame(IPV4), AUX_TAG_PRESENT | 4095, 'unknown-vlan'],
    ['an S-tag the kernel took out (QinQ)', frame(IPV4), AUX_TAG_PRESENT | AUX_TAG_STAG | 10, 'vlan-double-tag'],
    ['a second tag behind the one the kernel took out', Uint8Array.from(referenceTagged(frame(IPV4), 10)), AUX_TAG_PRESENT | 20, 'vlan-double-tag'],
    ['an 802.1ad S-tag in the frame', frame([0x88, 0xa8, 0, 10, ...IPV4]), 0, 'vlan-double-tag'],
    ['a pre-standard 0x9100 S-tag in the frame', frame([0x91, 0x00, 0, 10, ...IPV4]), 0, 'vlan-double-tag'],
    ['two 802.1Q tags in the frame', frame([0x81, 0x00, 0, 10, 0x81, 0x00, 0, 20, ...IPV4]), 0, 'vlan-double-tag'],
    ['a tag cut short', frame([0x81, 0x00, 0, 10]), 0, 'truncated'],
  ] as const)('%s is dropped (%#)', (_what, f, aux, reason) => {
    const d = mixed();
    const before = [...f];
    expect(d.classify(f, f.length, aux)).toBe(-1);
    expect(d.reason).toBe(reason);
    expect([...f]).toEqual(before);
  });

  test('an untagged frame on a device whose interfaces are all VLANs is vlan-untagged', () => {
    const d = trunkOnly();
    expect(d.classify(frame(IPV4), 20, 0)).toBe(-1);
    expect(d.reason).toBe('vlan-untagged');
  });

  test('a device with no VLANs drops every tagged frame (the kernel strips them: they must not leak in untagged)', () => {
    const d = new VlanDemux([{ ifIndex: 0, vlan: null }]);
    expect(d.classify(frame(IPV4), 20, AUX_TAG_PRESENT | 10)).toBe(-1);
    expect(d.reason).toBe('unknown-vlan');
  });

  test('a runt shorter than an ethertype is left to the pipeline (untagged)', () => {
    const d = mixed();
    expect(d.classify(Uint8Array.from([1, 2, 3]), 3, 0)).toBe(0);
    expect(d.len).toBe(3);
  });
});
