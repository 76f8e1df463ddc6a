// VLAN interfaces in the engine (src/dataplane/engine.ts, vlan.ts): a trunk's VLANs share one
// handle; received frames go to the logical interface of their tag (from the kernel's aux data or
// from the frame itself); frames out of a VLAN interface carry its tag; unknown and double tags
// are dropped and counted.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { COUNTER_COUNT, dropIndex, eventIndex } from '../../../src/wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { AUX_TAG_PRESENT, writeTagged } from '../../../src/dataplane/vlan.js';
import { ROLE_ACTIVE, SharedState } from '../../../src/wire/shared-state.js';
import { createLogger } from '../../../src/log.js';
import { LAN_REAL, WAN_REAL, labRaw } from './firewall-helpers.js';
import { arp, eth, icmpEcho, ipv4 } from './frames.js';

const GUEST_CLIENT = '10.0.3.10';
const GUEST_CLIENT_MAC = '22:00:00:00:03:0a';
const CLIENT = '10.0.1.10';
const CLIENT_MAC = '22:00:00:00:01:0a';
const SERVER = '10.0.2.10';
const SERVER_MAC = '22:00:00:00:02:0a';
// sorted logical names: guest (VLAN 20 of lan0), lan (VLAN 10 of lan0), wan (wan0, untagged)
const GUEST = 0;
const LAN = 1;
const WAN = 2;

interface Sent {
  device: string;
  tci: number;
  frame: Buffer;
}

function makeEngine() {
  const raw = labRaw();
  raw.device.interfaces = {
    lan: { device: 'lan0', vlan: 10, address: '10.0.1.2/24' },
    guest: { device: 'lan0', vlan: 20, address: '10.0.3.2/24' },
    wan: { device: 'wan0', address: '10.0.2.2/24' },
  };
  raw.shared.zones = { trust: ['lan'], guest: ['guest'], untrust: ['wan'] };
  // IPv4 only, as the test's interfaces (the lab's config is dual-stack)
  raw.shared.floatingIps = raw.shared.floatingIps.filter((f: { address: string }) => !f.address.includes(':'));
  raw.shared.floatingIps.push({ interface: 'guest', address: '10.0.3.1/24', owner: 0 });
  raw.shared.policy.rules.push({ name: 'guest-ping', from: ['guest'], to: ['untrust', 'trust'], service: ['icmp'], action: 'allow' });
  const config = parseConfig(stringify(raw), { source: 'engine-vlan-test.yaml' });
  const shared = new SharedState(COUNTER_COUNT);
  shared.setRole(ROLE_ACTIVE);
  shared.renewLease(1e15);
  const macs: Record<string, string> = { lan0: LAN_REAL, wan0: WAN_REAL };
  const opened: string[] = [];
  const rx = new Map<string, (f: Uint8Array, len: number, truncated: boolean, vlan?: number) => void>();
  const fail = new Map<string, () => void>();
  const sent: Sent[] = [];
  const io: DataplaneIo = {
    open: (device, onFrame, opts) => {
      opened.push(device);
      rx.set(device, onFrame);
      fail.set(device, () => opts?.onError?.({ code: 'ENETDOWN', message: `${device} down` }));
      return {
        send: (f, len, tci = 0) => {
          sent.push({ device, tci, frame: Buffer.from(f.subarray(0, len)) });
          return true;
        },
        close: () => undefined,
      };
    },
    macOf: (device) => parseMac(macs[device]),
    mtuOf: () => 1500,
  };
  let now = 1_000_000;
  const engine = new Engine(config, shared, io, () => now, createLogger({ level: 'fatal', name: 'engine-vlan-test' }), {
    garpOnStart: false,
    firewall: { shared: config.shared },
  });
  const counters = shared.counters();
  return {
    engine,
    shared,
    fail: (device: string) => fail.get(device)!(),
    opened,
    sent,
    drops: (r: Parameters<typeof dropIndex>[0]) => counters[dropIndex(r)],
    events: (e: Parameters<typeof eventIndex>[0]) => counters[eventIndex(e)],
    vmac: (i: number) => engine.status().interfaces[i].virtualMac,
    /** A frame in on `device`: its tag taken out by the kernel (aux) or left in the frame. */
    receive(device: string, frame: number[], vid: number | null, where: 'aux' | 'frame' = 'aux') {
      now += 1;
      const b = Buffer.alloc(2048);
      let len = frame.length;
      if (vid !== null && where === 'frame') len = writeTagged(b, 0, Uint8Array.from(frame), len, vid);
      else b.set(frame);
      rx.get(device)!(b, len, false, vid !== null && where === 'aux' ? AUX_TAG_PRESENT | vid : 0);
    },
    take(): Sent[] {
      return sent.splice(0);
    },
  };
}

const arpRequest = (sha: string, spa: string, tpa: string) => eth('ff:ff:ff:ff:ff:ff', sha, 0x0806, arp(1, sha, spa, '00:00:00:00:00:00', tpa));
const ping = (dstMac: string, srcMac: string, src: string, dst: string, type = 8) =>
  eth(dstMac, srcMac, 0x0800, ipv4({ src, dst, proto: 1, payload: icmpEcho(type, 7, 1, [1, 2, 3, 4]) }));
const macAt = (f: Buffer, off: number) => [...f.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

describe('VLAN interfaces in the engine', () => {
  it('opens one handle per kernel device, whatever number of VLANs it carries', () => {
    const e = makeEngine();
    expect(e.opened).toEqual(['lan0', 'wan0']);
    const st = e.engine.status().interfaces.map((i) => [i.name, i.device, i.vlan, i.capture.open]);
    expect(st).toEqual([
      ['guest', 'lan0', 20, true],
      ['lan', 'lan0', 10, true],
      ['wan', 'wan0', null, true],
    ]);
    // each VLAN interface has a virtual MAC of its own
    expect(new Set([e.vmac(GUEST), e.vmac(LAN), e.vmac(WAN)]).size).toBe(3);
  });

  it("a trunk's handle failing closes every one of its VLAN interfaces for the link monitor, and no other", () => {
    const e = makeEngine();
    e.fail('lan0');
    expect([GUEST, LAN, WAN].map((i) => e.shared.captureOpen(i))).toEqual([false, false, true]);
    expect(e.engine.status().interfaces.map((i) => i.capture.open)).toEqual([false, false, true]);
    // nothing leaves on the closed trunk: an ARP answer in either VLAN is refused (send-failed)
    e.receive('lan0', arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.3.1'), 20);
    expect(e.drops('send-failed')).toBe(1);
  });

  it.each(['aux', 'frame'] as const)('answers ARP for a floating IP in its own VLAN only, tagged with it (tag in %s)', (where) => {
    const e = makeEngine();
    e.receive('lan0', arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.3.1'), 20, where);
    const [reply, ...rest] = e.take();
    expect(rest).toEqual([]);
    expect(reply.device).toBe('lan0');
    expect(reply.tci).toBe(20);
    expect(macAt(reply.frame, 6)).toBe(e.vmac(GUEST));
    expect(macAt(reply.frame, 0)).toBe(GUEST_CLIENT_MAC);
    // lan's floating IP asked for in VLAN 20: not there
    e.receive('lan0', arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.1.1'), 20, where);
    expect(e.take()).toEqual([]);
    // and in VLAN 10, from lan's virtual MAC with tag 10
    e.receive('lan0', arpRequest(CLIENT_MAC, CLIENT, '10.0.1.1'), 10, where);
    const [lanReply] = e.take();
    expect([lanReply.tci, macAt(lanReply.frame, 6)]).toEqual([10, e.vmac(LAN)]);
  });

  it('forwards from a VLAN to an untagged interface and back, the tag of the logical interface on the way out', () => {
    const e = makeEngine();
    e.receive('lan0', arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.3.1'), 20);
    e.receive('wan0', arpRequest(SERVER_MAC, SERVER, '10.0.2.1'), null);
    e.take();
    e.receive('lan0', ping(e.vmac(GUEST), GUEST_CLIENT_MAC, GUEST_CLIENT, SERVER), 20);
    const [out] = e.take();
    expect([out.device, out.tci, macAt(out.frame, 0), macAt(out.frame, 6)]).toEqual(['wan0', 0, SERVER_MAC, e.vmac(WAN)]);
    e.receive('wan0', ping(e.vmac(WAN), SERVER_MAC, SERVER, GUEST_CLIENT, 0), null);
    const [back] = e.take();
    expect([back.device, back.tci, macAt(back.frame, 0), macAt(back.frame, 6)]).toEqual(['lan0', 20, GUEST_CLIENT_MAC, e.vmac(GUEST)]);
    const sessions = e.engine.pipeline.firewall!.sessions({}, 10, 1_000_010).sessions;
    expect(sessions.map((s) => [s.ingress, s.egress])).toEqual([['guest', 'wan']]);
  });

  it('forwards between two VLANs of one trunk through the policy (guest to trust allowed, trust to guest not)', () => {
    const e = makeEngine();
    e.receive('lan0', arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.3.1'), 20);
    e.receive('lan0', arpRequest(CLIENT_MAC, CLIENT, '10.0.1.1'), 10);
    e.take();
    e.receive('lan0', ping(e.vmac(GUEST), GUEST_CLIENT_MAC, GUEST_CLIENT, CLIENT), 20);
    const [out] = e.take();
    expect([out.device, out.tci, macAt(out.frame, 0), macAt(out.frame, 6)]).toEqual(['lan0', 10, CLIENT_MAC, e.vmac(LAN)]);
    const denied = e.drops('policy-deny');
    e.receive('lan0', ping(e.vmac(LAN), CLIENT_MAC, CLIENT, GUEST_CLIENT), 10);
    expect(e.take()).toEqual([]);
    expect(e.drops('policy-deny')).toBe(denied + 1);
  });

  it('drops and counts unknown VLANs, untagged frames on an all-VLAN trunk, double tags and tags on an untagged device', () => {
    const e = makeEngine();
    const req = arpRequest(GUEST_CLIENT_MAC, GUEST_CLIENT, '10.0.3.1');
    e.receive('lan0', req, 30);
    e.receive('lan0', req, 30, 'frame');
    e.receive('wan0', arpRequest(SERVER_MAC, SERVER, '10.0.2.1'), 20);
    expect(e.drops('unknown-vlan')).toBe(3);
    e.receive('lan0', req, null);
    expect(e.drops('vlan-untagged')).toBe(1);
    // QinQ: the kernel took the outer tag (20), the inner one (10) is still in the frame
    const inner = Buffer.alloc(128);
    const n = writeTagged(inner, 0, Uint8Array.from(req), req.length, 10);
    e.receive('lan0', [...inner.subarray(0, n)], 20);
    expect(e.drops('vlan-double-tag')).toBe(1);
    expect(e.take()).toEqual([]);
    // every frame has its one outcome
    expect(e.events('rx')).toBe(5);
  });
});
