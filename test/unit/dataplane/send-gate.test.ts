// The send gate (src/dataplane/send-gate.ts): a frame staged while active leaves as decided when
// nothing changed, from the real MAC when a hand-over began before it left, and not at all (withheld)
// when the box is no longer active or its lease ran out; frames not from the virtual MAC always pass.
import { describe, expect, it } from 'vitest';
import { parseMac } from '../../../src/dataplane/packet.js';
import type { PipelineInterface } from '../../../src/dataplane/pipeline.js';
import { sendGate } from '../../../src/dataplane/send-gate.js';
import { ROLE_ACTIVE, ROLE_PASSIVE } from '../../../src/wire/shared-state.js';

const REAL = parseMac('0a:00:00:00:01:02');
const VMAC = parseMac('02:74:64:00:01:01');
const itf = { name: 'lan', device: 'lan0', realMac: REAL, mac: VMAC } as unknown as PipelineInterface;
/** A second logical interface on the same device (a VLAN of the trunk): its own virtual MAC, the trunk's real MAC. */
const VMAC2 = parseMac('02:74:64:00:01:02');
const vlanItf = { name: 'guest', device: 'lan0', realMac: REAL, mac: VMAC2 } as unknown as PipelineInterface;
const itfs = [itf, vlanItf];

/** A 60-byte frame from `src` at offset `off` of a larger staging buffer. */
function staged(src: Uint8Array, off = 128): Uint8Array {
  const buf = new Uint8Array(1024);
  buf.set(src, off + 6);
  return buf;
}

function rig(state: { role: number; handingOver: boolean; leaseUntil: number }) {
  const drops: string[] = [];
  const role = {
    get role() {
      return state.role;
    },
    get handingOver() {
      return state.handingOver;
    },
    mayActAsActive: (now: number) => state.role === ROLE_ACTIVE && now < state.leaseUntil,
  };
  return {
    gate: sendGate(
      role,
      () => 100,
      () => itfs,
      () => drops.push('withheld'),
    ),
    drops,
  };
}

describe('send gate', () => {
  it('says nothing changed while active with a lease and no hand-over', () => {
    const { gate } = rig({ role: ROLE_ACTIVE, handingOver: false, leaseUntil: 200 });
    expect(gate.changed()).toBe(false);
  });

  it('rewrites a virtual-MAC frame to the real MAC when a hand-over began', () => {
    const { gate, drops } = rig({ role: ROLE_ACTIVE, handingOver: true, leaseUntil: 200 });
    expect(gate.changed()).toBe(true);
    const buf = staged(VMAC);
    expect(gate.fix(buf, 128, 60)).toBe(true);
    expect([...buf.subarray(134, 140)]).toEqual([...REAL]);
    expect(drops).toEqual([]);
  });

  it('drops a virtual-MAC frame once the box is passive, or its lease ran out', () => {
    const passive = rig({ role: ROLE_PASSIVE, handingOver: false, leaseUntil: 200 });
    expect(passive.gate.changed()).toBe(true);
    expect(passive.gate.fix(staged(VMAC), 128, 60)).toBe(false);
    expect(passive.drops).toEqual(['withheld']);
    const lapsed = rig({ role: ROLE_ACTIVE, handingOver: false, leaseUntil: 50 });
    expect(lapsed.gate.changed()).toBe(true);
    expect(lapsed.gate.fix(staged(VMAC), 128, 60)).toBe(false);
    expect(lapsed.drops).toEqual(['withheld']);
  });

  it("judges a trunk's frames by whichever VLAN interface's virtual MAC they leave from", () => {
    const handing = rig({ role: ROLE_ACTIVE, handingOver: true, leaseUntil: 200 });
    const buf = staged(VMAC2);
    expect(handing.gate.fix(buf, 128, 64)).toBe(true);
    expect([...buf.subarray(134, 140)]).toEqual([...REAL]);
    const passive = rig({ role: ROLE_PASSIVE, handingOver: false, leaseUntil: 200 });
    expect(passive.gate.fix(staged(VMAC2), 128, 64)).toBe(false);
    expect(passive.drops).toEqual(['withheld']);
  });

  it('lets frames from any other source MAC pass unchanged', () => {
    const { gate, drops } = rig({ role: ROLE_PASSIVE, handingOver: false, leaseUntil: 0 });
    const buf = staged(REAL);
    expect(gate.fix(buf, 128, 60)).toBe(true);
    expect([...buf.subarray(134, 140)]).toEqual([...REAL]);
    expect(drops).toEqual([]);
  });
});
