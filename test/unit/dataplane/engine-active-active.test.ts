// The engine's floating addresses in active/active: the MACs each capture handle must receive, the
// gratuitous ARP when this box gains a class (that class only, from its MAC), the requested and
// periodic rounds (every served class), and the status. The config check still refuses
// `mode: active-active`, so the config is parsed as active/passive and switched afterwards.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import type { TandemConfig } from '../../../src/config/types.js';
import { COUNTER_COUNT, eventIndex } from '../../../src/wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import type { OpenOptions } from '../../../src/dataplane/io.js';
import { formatMac, parseMac } from '../../../src/dataplane/packet.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE, ROLE_PASSIVE, SharedState } from '../../../src/wire/shared-state.js';
import { createLogger } from '../../../src/log.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { LAN_REAL, WAN_REAL, labRaw } from './firewall-helpers.js';
import { RECLAIM_GAP_MS } from '../../../src/dataplane/garp.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';

const ETHERTYPE_ARP = 0x0806;
// group 1; lan is interface 1, wan interface 2
const LAN_D0 = '02:74:64:01:01:01';
const LAN_D1 = '02:74:64:02:01:01';
const LAN_PR = '02:74:64:03:01:01';
const WAN_D0 = '02:74:64:01:01:02';
const WAN_D1 = '02:74:64:02:01:02';
const WAN_PR = '02:74:64:03:01:02';

type Owner = 0 | 1 | 'primary';

/**
 * The lab box (device `id`) with lan 10.0.1.1 device 0's, 10.0.1.4 device 1's, 10.0.1.5 the
 * primary's; wan 10.0.2.1 device 0's, 10.0.2.4 device 1's. `mode` active-passive keeps owner 0.
 */
function configOf(mode: 'active-active' | 'active-passive', id: 0 | 1, garp: { count: number; intervalMs: number; periodicS: number }): TandemConfig {
  const raw = labRaw();
  raw.device.id = id;
  raw.shared.ha.garp = garp;
  const owners: [string, string, Owner][] = [
    ['lan', '10.0.1.1/24', 0],
    ['lan', '10.0.1.4/24', 1],
    ['lan', '10.0.1.5/24', 'primary'],
    ['wan', '10.0.2.1/24', 0],
    ['wan', '10.0.2.4/24', 1],
  ];
  raw.shared.floatingIps = owners.map(([iface, address]) => ({ interface: iface, address, owner: 0 }));
  const config = parseConfig(stringify(raw), { source: 'engine-active-active-test.yaml' });
  if (mode === 'active-active') {
    // past the check that still refuses the mode (checks-ha-mode.ts activeActiveAvailable)
    config.shared.ha.mode = 'active-active';
    config.shared.floatingIps.forEach((f, i) => (f.owner = owners[i][2]));
    config.device.ha.ha3 = { device: 'ha3' };
  }
  return config;
}

interface Sent {
  device: string;
  src: string;
  /** ARP sender protocol address (GARP: the address announced). */
  spa: string;
}

function makeEngine(opts: { mode?: 'active-active' | 'active-passive'; id?: 0 | 1; garp?: { count: number; intervalMs: number; periodicS: number } } = {}) {
  const config = configOf(opts.mode ?? 'active-active', opts.id ?? 0, opts.garp ?? { count: 3, intervalMs: 20, periodicS: 0 });
  let now = 1_000_000;
  const shared = new SharedState(COUNTER_COUNT);
  const macs: Record<string, string> = { lan0: LAN_REAL, wan0: WAN_REAL, ha3: '0a:00:00:00:03:01' };
  const sent: Sent[] = [];
  const opened: Record<string, OpenOptions> = {};
  const onFrames: Record<string, (frame: Uint8Array, len: number, truncated: boolean) => void> = {};
  const io: DataplaneIo = {
    open: (device, onFrame, o = {}) => {
      opened[device] = o;
      onFrames[device] = onFrame;
      return {
        send: (f) => {
          if (((f[12] << 8) | f[13]) === ETHERTYPE_ARP) sent.push({ device, src: formatMac(f, 6), spa: [...f.subarray(28, 32)].join('.') });
          return true;
        },
        close: () => undefined,
      };
    },
    macOf: (device) => parseMac(macs[device]),
    mtuOf: (device) => (device === 'ha3' ? 1600 : 1500),
  };
  const ha3 = { key: Buffer.from('engine-active-active-test-key-32b'), epochMs: 1_700_000_000_000 };
  // active/active runs with the firewall and the HA2 rings (an HA3 INSERT installs sessions as HA2 does)
  const aa =
    config.shared.ha.mode === 'active-active' ? { firewall: { shared: config.shared }, sync: { out: new RecordRing(64), in: new RecordRing(64) }, ha3 } : {};
  const engine = new Engine(config, shared, io, () => now, createLogger({ level: 'fatal', name: 'engine-aa-test' }), { garpOnStart: false, ...aa });
  return {
    engine,
    config,
    shared,
    sent,
    opened,
    /** Active with a lease, serving `served`. */
    activate(served: number) {
      shared.setPairView(served, true, 0);
      shared.setRole(ROLE_ACTIVE);
      shared.renewLease(1e15);
    },
    /** activate(), then past the announcement of becoming active. */
    settle(served: number) {
      this.activate(served);
      this.advance(500);
      sent.length = 0;
    },
    advance(ms: number) {
      for (let t = 0; t < ms; t += 2) {
        now += 2;
        engine.tick();
      }
    },
    /** A frame arrives on `device`. */
    receive(device: string, frame: Uint8Array) {
      onFrames[device](frame, frame.length, false);
    },
    /** The frames sent since the last call, as "device src spa". */
    take(): string[] {
      return sent.splice(0).map((s) => `${s.device} ${s.src} ${s.spa}`);
    },
  };
}

const times = (n: number, xs: string[]) => Array.from({ length: n }, () => xs).flat();

describe('active/active capture handles', () => {
  it('receive every class MAC of their interface, and filter them as our own', () => {
    const e = makeEngine();
    const fmt = (ms: readonly Uint8Array[] | undefined) => (ms ?? []).map((m) => formatMac(m));
    expect(fmt(e.opened.lan0.extraMacs)).toEqual([LAN_D0, LAN_D1, LAN_PR]);
    expect(fmt(e.opened.wan0.extraMacs)).toEqual([WAN_D0, WAN_D1, WAN_PR]);
    expect(fmt(e.opened.lan0.sharedMacs)).toEqual([LAN_D0, LAN_D1, LAN_PR]);
    expect(fmt(e.opened.lan0.ownMacs)).toEqual([LAN_REAL, LAN_D0, LAN_D1, LAN_PR]);
  });

  it('device 1 forwards from its own class MAC and receives the same three', () => {
    const e = makeEngine({ id: 1 });
    expect(e.engine.status().interfaces.map((i) => i.virtualMac)).toEqual([LAN_D1, WAN_D1]);
    expect((e.opened.lan0.extraMacs ?? []).map((m) => formatMac(m))).toEqual([LAN_D1, LAN_D0, LAN_PR]);
  });

  it('active/passive: the one virtual MAC, as before', () => {
    const e = makeEngine({ mode: 'active-passive' });
    expect((e.opened.lan0.extraMacs ?? []).map((m) => formatMac(m))).toEqual(['02:74:64:00:01:01']);
    expect((e.opened.lan0.ownMacs ?? []).map((m) => formatMac(m))).toEqual([LAN_REAL, '02:74:64:00:01:01']);
    expect(e.engine.status().interfaces[0].classes).toEqual([]);
  });
});

describe('active/active gratuitous ARP', () => {
  it("gaining device 1's class: a burst for its addresses only, from its MACs", () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0);
    e.advance(200);
    expect(e.take()).toEqual([]);
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1, true, 0);
    e.advance(200);
    expect(e.take()).toEqual(times(3, [`lan0 ${LAN_D1} 10.0.1.4`, `wan0 ${WAN_D1} 10.0.2.4`]));
  });

  it('a requested burst covers every served class, each from its MAC, and no other', () => {
    const e = makeEngine({ garp: { count: 2, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_PRIMARY);
    e.shared.requestGarp();
    e.advance(200);
    expect(e.take()).toEqual(times(2, [`lan0 ${LAN_D0} 10.0.1.1`, `lan0 ${LAN_PR} 10.0.1.5`, `wan0 ${WAN_D0} 10.0.2.1`]));
  });

  it('the periodic round covers the served classes', () => {
    const e = makeEngine({ garp: { count: 1, intervalMs: 20, periodicS: 1 } });
    e.settle(CLASS_DEVICE1);
    e.advance(600);
    expect(e.take()).toEqual([`lan0 ${LAN_D1} 10.0.1.4`, `wan0 ${WAN_D1} 10.0.2.4`]);
  });

  it('losing a class mid-burst stops its announcements at once, and nothing announces the loss', () => {
    const e = makeEngine({ garp: { count: 5, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0);
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1, true, 0);
    e.advance(30);
    const early = e.take();
    expect(early.length).toBe(4); // two rounds of two
    e.shared.setPairView(CLASS_DEVICE0, true, 0);
    e.advance(300);
    expect(e.take()).toEqual([]);
  });

  it('becoming active announces each served class, asked or not', () => {
    const e = makeEngine({ garp: { count: 2, intervalMs: 20, periodicS: 0 } });
    e.activate(CLASS_DEVICE1);
    e.advance(200);
    expect(e.take()).toEqual(times(2, [`lan0 ${LAN_D1} 10.0.1.4`, `wan0 ${WAN_D1} 10.0.2.4`]));
  });

  it('a class gained while passive is not announced; becoming active with a request announces each served class once', () => {
    const e = makeEngine({ garp: { count: 2, intervalMs: 20, periodicS: 0 } });
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1, false, 0);
    e.advance(100);
    expect(e.take()).toEqual([]);
    // the control's order: pair view, role, lease, then the announcement it asks for (one tick sees them all)
    e.shared.setRole(ROLE_ACTIVE);
    e.shared.renewLease(1e15);
    e.shared.requestGarp();
    e.advance(200);
    const lan = e.take().filter((s) => s.startsWith('lan0'));
    expect(lan).toEqual(times(2, [`lan0 ${LAN_D0} 10.0.1.1`, `lan0 ${LAN_D1} 10.0.1.4`]));
  });

  it('a class gained while the lease ran out waits for the lease; a passive role cancels it', () => {
    const e = makeEngine({ garp: { count: 2, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0);
    e.shared.renewLease(0);
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_PRIMARY, true, 0);
    e.advance(100);
    expect(e.take()).toEqual([]);
    e.shared.renewLease(1e15);
    e.advance(100);
    expect(e.take()).toEqual(times(2, [`lan0 ${LAN_PR} 10.0.1.5`]));

    e.shared.setPairView(CLASS_DEVICE0 | CLASS_PRIMARY | CLASS_DEVICE1, true, 0);
    e.shared.setRole(ROLE_PASSIVE);
    e.advance(100);
    expect(e.take()).toEqual([]);
  });

  it('a commit that moves an address to a served class announces it from its new MAC', () => {
    const e = makeEngine({ garp: { count: 1, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_DEVICE1);
    const next = structuredClone(e.config.shared);
    next.floatingIps[2].owner = 1; // 10.0.1.5: the primary's -> device 1's
    expect(e.engine.applyShared(next)).toMatchObject({ ok: true });
    e.advance(100);
    expect(e.take()).toContain(`lan0 ${LAN_D1} 10.0.1.5`);
  });
});

/** A gratuitous ARP for `ip` from `mac`, as the peer sends it. */
function garpFrom(mac: string, ip: string): Uint8Array {
  const f = new Uint8Array(60);
  f.set(parseMac('ff:ff:ff:ff:ff:ff'), 0);
  f.set(parseMac(mac), 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  f.set(parseMac(mac), 22);
  const a = ip.split('.').map(Number);
  f.set(a, 28);
  f.set(a, 38);
  return f;
}

describe('active/active: a class the peer claims late is announced again', () => {
  it("the peer's announcement from a class we serve: one round of that class, from its MAC", () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_PRIMARY);
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.advance(2);
    expect(e.take()).toEqual([`lan0 ${LAN_PR} 10.0.1.5`]);
    expect(e.shared.counters()[eventIndex('class-claimed')]).toBe(1);
    e.advance(200);
    expect(e.take()).toEqual([]);
  });

  it('claims closer than RECLAIM_GAP_MS wait and are answered once, never lost', () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_PRIMARY);
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.advance(2);
    expect(e.take()).toHaveLength(1);
    // two more claims within the gap (of two classes): one round for both, when the gap ends
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.receive('wan0', garpFrom(WAN_D0, '10.0.2.1'));
    e.advance(4);
    expect(e.take()).toEqual([]);
    e.advance(RECLAIM_GAP_MS);
    expect(e.take().sort()).toEqual([`lan0 ${LAN_D0} 10.0.1.1`, `lan0 ${LAN_PR} 10.0.1.5`, `wan0 ${WAN_D0} 10.0.2.1`].sort());
  });

  it("the peer's frames from a class we do not serve are its own: nothing announced", () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0);
    e.receive('lan0', garpFrom(LAN_D1, '10.0.1.4'));
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.advance(100);
    expect(e.take()).toEqual([]);
    expect(e.shared.counters()[eventIndex('own-frame')]).toBe(2);
    expect(e.shared.counters()[eventIndex('class-claimed')]).toBe(0);
  });

  it('the peer announcing its own device class while we serve it as the survivor is the peer coming back: not answered', () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_DEVICE1 | CLASS_PRIMARY);
    e.receive('lan0', garpFrom(LAN_D1, '10.0.1.4'));
    e.advance(100);
    expect(e.take()).toEqual([]);
    expect(e.shared.counters()[eventIndex('class-claimed')]).toBe(1);
    // the primary's class, claimed while the peer is the primary (preemption: HA1 said so first)
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_PRIMARY, true, 1);
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.advance(100);
    expect(e.take()).toEqual([]);
  });

  it('a claim of a class given up before it is answered is forgotten; a passive box answers nothing', () => {
    const e = makeEngine({ garp: { count: 3, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0 | CLASS_PRIMARY);
    e.shared.renewLease(0); // the claim waits for the lease...
    e.receive('lan0', garpFrom(LAN_PR, '10.0.1.5'));
    e.advance(10);
    e.shared.setPairView(CLASS_DEVICE0, true, 1); // ...and the primary moved to the peer meanwhile
    e.shared.renewLease(1e15);
    e.advance(100);
    expect(e.take()).toEqual([]);
    e.shared.setRole(ROLE_PASSIVE);
    e.receive('lan0', garpFrom(LAN_D0, '10.0.1.1'));
    e.advance(100);
    expect(e.take()).toEqual([]);
  });
});

describe('active/active status', () => {
  it('shows per address its class, its MAC and whether it is served and announced', () => {
    const e = makeEngine({ garp: { count: 1, intervalMs: 20, periodicS: 0 } });
    e.activate(CLASS_DEVICE0);
    e.shared.requestGarp();
    e.advance(50);
    const st = e.engine.status();
    expect(st.floatingIps).toEqual([
      { interface: 'lan', address: '10.0.1.1', mac: LAN_D0, class: 'device0', served: true, announced: true },
      { interface: 'lan', address: '10.0.1.4', mac: LAN_D1, class: 'device1', served: false, announced: false },
      { interface: 'lan', address: '10.0.1.5', mac: LAN_PR, class: 'primary', served: false, announced: false },
      { interface: 'wan', address: '10.0.2.1', mac: WAN_D0, class: 'device0', served: true, announced: true },
      { interface: 'wan', address: '10.0.2.4', mac: WAN_D1, class: 'device1', served: false, announced: false },
    ]);
    expect(st.interfaces[0]).toMatchObject({
      virtualMac: LAN_D0,
      classes: [
        { class: 'device0', mac: LAN_D0, served: true },
        { class: 'device1', mac: LAN_D1, served: false },
        { class: 'primary', mac: LAN_PR, served: false },
      ],
    });

    const rounds = st.garp.rounds;
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1, true, 0);
    expect(e.engine.status().floatingIps[1]).toMatchObject({ served: true, announced: false });
    e.advance(50);
    expect(e.engine.status().floatingIps[1]).toMatchObject({ served: true, announced: true });
    expect(e.engine.status().garp.rounds, "the class's burst (count 1) is counted").toBe(rounds + 1);
    e.shared.setPairView(CLASS_DEVICE0, true, 0);
    e.advance(2);
    expect(e.engine.status().floatingIps[1]).toMatchObject({ served: false, announced: false });
  });

  it('active/passive: no class, served while the box may act as active', () => {
    const e = makeEngine({ mode: 'active-passive' });
    expect(e.engine.status().floatingIps[0]).toEqual({
      interface: 'lan',
      address: '10.0.1.1',
      mac: '02:74:64:00:01:01',
      class: null,
      served: false,
      announced: false,
    });
    e.activate(0);
    expect(e.engine.status().floatingIps[0]).toMatchObject({ class: null, served: true });
  });
});

describe('active/active ARP load sharing (owner shared)', () => {
  /** makeEngine's box with lan 10.0.1.9 shared as well. */
  function withShared(opts: Parameters<typeof makeEngine>[0] = {}) {
    const e = makeEngine(opts);
    const next = structuredClone(e.config.shared);
    next.floatingIps.push({ interface: 'lan', address: '10.0.1.9/24', owner: 'shared' });
    expect(e.engine.applyShared(next)).toMatchObject({ ok: true, restartRequired: [] });
    e.config.shared = next;
    return e;
  }

  it('starts with a shared address (no longer refused) and gives the pipeline its split', () => {
    const config = configOf('active-active', 0, { count: 1, intervalMs: 20, periodicS: 0 });
    config.shared.floatingIps.push({ interface: 'lan', address: '10.0.1.9/24', owner: 'shared' });
    config.shared.ha.activeActive.arpLoadSharing = { method: 'ip-hash', seed: 11 };
    const io: DataplaneIo = {
      open: () => ({ send: () => true, close: () => undefined }),
      macOf: () => parseMac(LAN_REAL),
      mtuOf: (d) => (d === 'ha3' ? 1600 : 1500),
    };
    const ha3 = { key: Buffer.from('engine-active-active-test-key-32b'), epochMs: 1 };
    const sync = { out: new RecordRing(64), in: new RecordRing(64) };
    const engine = new Engine(config, new SharedState(COUNTER_COUNT), io, () => 0, createLogger({ level: 'fatal', name: 't' }), {
      firewall: { shared: config.shared },
      sync,
      ha3,
    });
    expect(engine.pipeline.interfaces[0].arpSharing).toEqual({ addresses: [parseIpv4('10.0.1.9')], assign: { method: 'ip-hash', seed: 11 } });
    expect(engine.pipeline.interfaces[1].arpSharing).toBeUndefined();
  });

  it("gaining device 1's class: its burst probes the shared address from device 1's MAC (sender 0.0.0.0), never a gratuitous ARP for it", () => {
    const e = withShared({ garp: { count: 2, intervalMs: 20, periodicS: 0 } });
    e.settle(CLASS_DEVICE0);
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1, true, 0);
    e.advance(200);
    expect(e.take()).toEqual(times(2, [`lan0 ${LAN_D1} 10.0.1.4`, `lan0 ${LAN_D1} 0.0.0.0`, `wan0 ${WAN_D1} 10.0.2.4`]));
  });

  it("becoming active probes it from its own class's MAC; a requested round from every served device class's", () => {
    const e = withShared({ garp: { count: 1, intervalMs: 20, periodicS: 0 } });
    e.activate(CLASS_DEVICE0 | CLASS_PRIMARY);
    e.advance(100);
    expect(e.take().filter((x) => x.startsWith('lan0'))).toEqual([`lan0 ${LAN_D0} 10.0.1.1`, `lan0 ${LAN_D0} 0.0.0.0`, `lan0 ${LAN_PR} 10.0.1.5`]);
    e.shared.setPairView(CLASS_DEVICE0 | CLASS_DEVICE1 | CLASS_PRIMARY, true, 0);
    e.advance(100);
    e.take();
    e.shared.requestGarp();
    e.advance(100);
    const probes = e.take().filter((x) => x.endsWith(' 0.0.0.0'));
    expect(probes).toEqual([`lan0 ${LAN_D0} 0.0.0.0`, `lan0 ${LAN_D1} 0.0.0.0`]);
  });

  it('status: class shared, the MAC of its own share, served and announced while either device class is', () => {
    const e = withShared({ id: 1, garp: { count: 1, intervalMs: 20, periodicS: 0 } });
    const entry = () => e.engine.status().floatingIps.find((f) => f.address === '10.0.1.9');
    expect(entry()).toEqual({ interface: 'lan', address: '10.0.1.9', mac: LAN_D1, class: 'shared', served: false, announced: false });
    e.activate(CLASS_DEVICE1);
    e.advance(100);
    expect(entry()).toMatchObject({ class: 'shared', served: true, announced: true });
  });

  it('a commit that changes the method reaches the pipeline live', () => {
    const e = withShared();
    const next = structuredClone(e.config.shared);
    next.ha.activeActive.arpLoadSharing = { method: 'ip-hash', seed: 99 };
    expect(e.engine.applyShared(next)).toMatchObject({ ok: true, restartRequired: [] });
    expect(e.engine.pipeline.interfaces[0].arpSharing?.assign).toEqual({ method: 'ip-hash', seed: 99 });
    next.floatingIps = next.floatingIps.filter((f) => f.owner !== 'shared');
    expect(e.engine.applyShared(next)).toMatchObject({ ok: true });
    expect(e.engine.pipeline.interfaces[0].arpSharing).toBeUndefined();
  });
});
