// Active/active configs and a one-box Pipeline rig for the firewall's pair decisions. The config
// check refuses shared.ha.mode: active-active for now, so a valid active/passive config is parsed
// and made active/active on the parsed object: owners, bindings, the HA3 device.
import type { ActiveActiveConfig, SharedConfig, TandemConfig } from '../../../src/config/types.js';
import { parseConfig } from '../../../src/config/load.js';
import { stringify } from 'yaml';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PeerLink, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import type { DeviceId } from '../../../src/dataplane/owner.js';
import type { SessionListener } from '../../../src/dataplane/firewall.js';
import { parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { CLIENT, CLIENT2, CLIENT2_MAC, CLIENT_MAC, LAN, LAN_REAL, LAN_V, SERVER, SERVER_MAC, WAN, WAN_REAL, WAN_V, labRaw } from './firewall-helpers.js';

/** Device 0's floating IPs are the lab's (10.0.1.1, 10.0.2.1); device 1's end in .4. */
export const LAN_FLOAT1 = '10.0.1.4';
export const WAN_FLOAT1 = '10.0.2.4';

const NAMES: string[] = [...EVENT_COUNTERS, ...DROP_REASONS];

/** The lab's config as device `me` of an active/active pair (made so after parsing). */
export function aaConfig(me: DeviceId, aa: Partial<ActiveActiveConfig> = {}): TandemConfig {
  const raw = labRaw();
  raw.device.id = me;
  const config = parseConfig(stringify(raw), { source: 'aa-test.yaml' });
  makeActiveActive(config.shared, aa);
  config.device.ha.ha3 = { device: 'ha3' };
  return config;
}

/** Active/active on a parsed shared half: a floating IP per device class on each side, a hide rule per device. */
export function makeActiveActive(shared: SharedConfig, aa: Partial<ActiveActiveConfig> = {}): SharedConfig {
  shared.ha.mode = 'active-active';
  shared.ha.activeActive = { ...shared.ha.activeActive, ...aa };
  shared.floatingIps = [
    { interface: 'lan', address: '10.0.1.1/24', owner: 0 },
    { interface: 'lan', address: `${LAN_FLOAT1}/24`, owner: 1 },
    { interface: 'wan', address: '10.0.2.1/24', owner: 0 },
    { interface: 'wan', address: `${WAN_FLOAT1}/24`, owner: 1 },
  ];
  const hide = shared.nat[0];
  shared.nat = [
    { ...hide, name: 'hide-0', translate: { ...hide.translate, bind: 0 } },
    { ...hide, name: 'hide-1', translate: { ...hide.translate, bind: 1 } },
  ];
  return shared;
}

export interface FakePeer extends PeerLink {
  forwarded: { flags: number; ingress: number; frame: Buffer }[];
  deferred: { slot: number; egress: number; frame: Buffer }[];
  /** What defer() answers (true: held). */
  hold: boolean;
}

export function fakePeer(): FakePeer {
  const peer: FakePeer = {
    forwarded: [],
    deferred: [],
    hold: false,
    forward: (flags, ingress, f, len) => (peer.forwarded.push({ flags, ingress, frame: Buffer.from(f.subarray(0, len)) }), true),
    defer: (slot, egress, _hop, f, len) => (peer.deferred.push({ slot, egress, frame: Buffer.from(f.subarray(0, len)) }), peer.hold),
  };
  return peer;
}

function itf(name: string, device: string, real: string, v: string, address: string, floating: string[]): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: floating.map(parseIpv4), mtu: 1500 };
}

/** One box of the pair as a Pipeline: always active, the hosts' MACs known, a fake HA3 peer. */
export function aaPipeline(me: DeviceId, aa: Partial<ActiveActiveConfig> = {}, pairView = { peerForwarding: true, primaryId: 0 }) {
  const shared = aaConfig(me, aa).shared;
  const interfaces = [
    itf('lan', 'lan0', LAN_REAL, LAN_V, '10.0.1.2/24', ['10.0.1.1', LAN_FLOAT1]),
    itf('wan', 'wan0', WAN_REAL, WAN_V, '10.0.2.2/24', ['10.0.2.1', WAN_FLOAT1]),
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [],
  });
  const role: { role: number; mayActAsActive: RoleSource['mayActAsActive'] } = { role: 1, mayActAsActive: () => true };
  const counters = new Float64Array(COUNTER_COUNT);
  const sent: { ifIndex: number; frame: Buffer }[] = [];
  const sink = { send: (ifIndex: number, f: Uint8Array, len: number) => (sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) }), true) };
  const stats = new FirewallStats(shared.policy.rules.length, shared.nat.length);
  const p = new Pipeline(interfaces, routes, role, counters, sink, {
    neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
    firewall: { shared, stats, seed: 7, aa: { me, pair: pairView } },
  });
  p.neighbours[LAN].learn(parseIpv4(CLIENT), parseMac(CLIENT_MAC), 0, 0);
  p.neighbours[LAN].learn(parseIpv4(CLIENT2), parseMac(CLIENT2_MAC), 0, 0);
  p.neighbours[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
  const peer = fakePeer();
  p.peer = peer;
  const fw = p.firewall!;
  const changes: { kind: string; slot: number }[] = [];
  const listener: SessionListener = {
    created: (slot) => changes.push({ kind: 'created', slot }),
    changed: (slot) => changes.push({ kind: 'changed', slot }),
    removed: (slot) => changes.push({ kind: 'removed', slot }),
  };
  fw.listener = listener;

  /** Counters moved by fn, by name. */
  function movedBy(fn: () => void): Record<string, number> {
    const before = counters.slice();
    fn();
    const moved: Record<string, number> = {};
    counters.forEach((v, i) => {
      if (v !== before[i]) moved[NAMES[i]] = v - before[i];
    });
    return moved;
  }

  /** A frame off our own interface; what it moved and sent. */
  function send(ifIndex: number, f: Buffer, nowMs: number) {
    const start = sent.length;
    const moved = movedBy(() => p.handle(ifIndex, f, f.length, nowMs));
    return { moved, out: sent.slice(start) };
  }

  /** A frame the peer carried over HA3 (it arrived on the peer's `ifIndex`). */
  function fromPeer(ifIndex: number, flags: number, f: Buffer, nowMs: number) {
    const start = sent.length;
    const moved = movedBy(() => p.handlePeer(ifIndex, flags, f, f.length, nowMs));
    return { moved, out: sent.slice(start) };
  }

  return { p, fw, peer, pairView, role, counters, sent, changes, send, fromPeer, movedBy };
}
