// The last word on a staged frame (io.ts SendGate). The pipeline decides as it handles a frame:
// whether this box may act as active, and which source MAC to use (the virtual MAC, or during a
// planned hand-over the real one, so that only the new active teaches the switches where the
// virtual MAC is). A backend that stages frames sends them a little later, at the end of its
// batch; if the role, the lease or the hand-over changed in between, a frame staged with the
// virtual MAC would leave under a decision that no longer holds: the old active's tail of
// virtual-MAC frames after the new active's first (seen as dual-active frames by the chaos bench's
// switch capture). At flush time this gate applies the rule again:
// - still active with a valid lease, no hand-over: nothing to do (changed() is false: no per-frame cost);
// - still active, a hand-over began: the frame leaves from the interface's real MAC;
// - no longer active, or the lease ran out: the frame is withheld (event tx-withheld: it was
//   counted by its outcome when it was staged, so it is not a second drop).
// Frames not sourced from a virtual MAC (the kernel's own, ARP requests from the real MAC) pass.
// In active/active every class's MAC counts as virtual: ARP replies and gratuitous ARP leave from
// the MAC of the class they are for.
import type { SendGate } from './io.js';
import { copyMac, ETH_SRC, macEquals } from './packet.js';
import type { PipelineInterface, RoleSource } from './pipeline.js';
import { ROLE_ACTIVE } from '../wire/shared-state.js';

/**
 * The gate of one device's handle. `itfs`: the logical interfaces on the device now (one, or a
 * trunk's VLAN interfaces: a staged frame's source MAC says whose it is; a tag does not move it).
 */
export function sendGate(role: RoleSource, clock: () => number, itfs: () => readonly PipelineInterface[], withheld: () => void): SendGate {
  return {
    changed: () => role.role !== ROLE_ACTIVE || role.handingOver === true || !role.mayActAsActive(clock()),
    fix: (buf, off, len) => {
      const i = len < ETH_SRC + 6 ? null : sourceInterface(itfs(), buf, off + ETH_SRC);
      if (i === null) return true;
      if (role.role === ROLE_ACTIVE && role.mayActAsActive(clock())) {
        if (role.handingOver) copyMac(buf, off + ETH_SRC, i.realMac);
        return true;
      }
      withheld();
      return false;
    },
  };
}

/** The interface one of whose virtual MACs is at buf[off], null when none's is. No allocation. */
function sourceInterface(itfs: readonly PipelineInterface[], buf: Uint8Array, off: number): PipelineInterface | null {
  for (let k = 0; k < itfs.length; k++) if (fromVirtualMac(itfs[k], buf, off)) return itfs[k];
  return null;
}

/** Is the MAC at buf[off] one of the interface's virtual MACs (never its real MAC)? No allocation: asked per staged frame. */
function fromVirtualMac(i: PipelineInterface, buf: Uint8Array, off: number): boolean {
  if (isVirtual(i, i.mac) && macEquals(buf, off, i.mac)) return true;
  const classes = i.classes;
  if (classes === undefined) return false;
  for (let k = 0; k < classes.length; k++) if (isVirtual(i, classes[k].mac) && macEquals(buf, off, classes[k].mac)) return true;
  return false;
}

function isVirtual(i: PipelineInterface, mac: Uint8Array): boolean {
  return mac !== i.realMac && !macEquals(mac, 0, i.realMac);
}
