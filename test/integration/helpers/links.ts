// Helpers for tests that change a box's own traffic devices (lan0, wan0 inside N-fwa / N-fwb)
// rather than pulling the cable at the switch: admin state, MTU, and deleting a device and
// creating it again (Lab.deleteBoxDevice / createBoxDevice build it as src/lab/topology.ts does),
// with the checks and the restore a test needs around them.
import type { Lab, LabBox } from '../../../src/lab/lab.js';
import { BOX_DEVICE, operState, SW_PORT } from '../../../src/lab/topology.js';

export type TrafficLink = 'lan' | 'wan';
export const TRAFFIC_LINKS: readonly TrafficLink[] = ['lan', 'wan'];
/** The lab's MTU on every veth (the kernel's default for a new veth). */
export const LAB_MTU = 1500;

/** What the kernel says of a device inside a namespace, null when it does not exist. */
export async function deviceInfo(l: Lab, role: LabBox | 'sw', dev: string): Promise<{ ifindex: number; mtu: number; address: string; up: boolean } | null> {
  const r = await l.nsExec(role, 'ip', ['-j', 'link', 'show', 'dev', dev]).catch(() => null);
  if (r === null) return null;
  const [link] = JSON.parse(r.stdout) as Array<{ ifindex: number; mtu: number; address: string; flags: string[] }>;
  return link ? { ifindex: link.ifindex, mtu: link.mtu, address: link.address, up: link.flags.includes('UP') } : null;
}

/** Sets the box's own device (not the switch port) administratively up or down (the lab's own helper). */
export async function setBoxDevice(l: Lab, box: LabBox, link: TrafficLink, up: boolean): Promise<void> {
  await l.setBoxDevice(box, link, up);
  if (up) await waitCarrier(l, box, link);
}

export async function setBoxMtu(l: Lab, box: LabBox, link: TrafficLink, mtu: number): Promise<void> {
  await l.nsExec(box, 'ip', ['link', 'set', BOX_DEVICE[link], 'mtu', String(mtu)]);
}

/** Deletes the box's device; the veth's other end (the bridge port in N-sw) goes with it. */
export async function deleteBoxLink(l: Lab, box: LabBox, link: TrafficLink): Promise<void> {
  await l.deleteBoxDevice(box, link);
}

/** Creates the box's traffic link again as the lab builds it (Lab.createBoxDevice); refuses if either end exists. */
export async function recreateBoxLink(l: Lab, box: LabBox, link: TrafficLink): Promise<void> {
  if ((await deviceInfo(l, box, BOX_DEVICE[link])) !== null) throw new Error(`${l.ns(box)} ${BOX_DEVICE[link]} exists already`);
  if ((await deviceInfo(l, 'sw', SW_PORT[box][link])) !== null) throw new Error(`${l.ns('sw')} ${SW_PORT[box][link]} exists already`);
  await l.createBoxDevice(box, link);
  await waitCarrier(l, box, link);
}

/** Waits (up to 3 s, linkwatch's delay) until both ends of the box's traffic veth are operationally up. */
export async function waitCarrier(l: Lab, box: LabBox, link: TrafficLink, timeoutMs = 3000): Promise<void> {
  const ends: [string, string][] = [
    [l.ns(box), BOX_DEVICE[link]],
    [l.ns('sw'), SW_PORT[box][link]],
  ];
  const deadline = Date.now() + timeoutMs;
  for (const [ns, dev] of ends) {
    for (;;) {
      const st = await operState(ns, dev);
      if (st === 'UP') break;
      if (Date.now() > deadline) throw new Error(`${ns} ${dev} not up after ${timeoutMs} ms (operstate ${st})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Puts every box traffic link back the way the lab built it: a deleted device created again, the
 * lab MTU, the box device and its switch port up. Safe to call on a lab that is already fine.
 */
export async function restoreBoxLinks(l: Lab): Promise<void> {
  for (const box of ['fwa', 'fwb'] as const) {
    for (const link of TRAFFIC_LINKS) {
      const dev = BOX_DEVICE[link];
      const mine = await deviceInfo(l, box, dev);
      if (mine === null) {
        // half a pair cannot exist for a veth; a leftover port would be a stray device of another kind
        if ((await deviceInfo(l, 'sw', SW_PORT[box][link])) !== null) await l.nsExec('sw', 'ip', ['link', 'del', SW_PORT[box][link]]);
        await recreateBoxLink(l, box, link);
        continue;
      }
      if (mine.mtu !== LAB_MTU) await setBoxMtu(l, box, link, LAB_MTU);
      if (!mine.up) await l.nsExec(box, 'ip', ['link', 'set', dev, 'up']);
      await l.nsExec('sw', 'ip', ['link', 'set', SW_PORT[box][link], 'up']);
      await waitCarrier(l, box, link);
    }
  }
}
