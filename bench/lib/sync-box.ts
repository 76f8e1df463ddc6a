// bench/sync's boxes: each a dataplane (Pipeline and Firewall, as the daemon builds them) with its
// SyncPort and the two rings it shares with its control worker, ticked by the bench; and the SYN
// frames that create sessions on it. Active/passive by default; built with a pair (`aa`), an
// active/active box whose sessions carry its owner bit and whose SyncPort applies the peer's.
import { checksum } from '../../src/net/checksum.js';
import { parseMac, writeU16, writeU32 } from '../../src/dataplane/packet.js';
import { randomInt } from 'node:crypto';
import type { SharedConfig, TandemConfig } from '../../src/config/types.js';
import { COUNTER_COUNT, dropIndex, eventIndex } from '../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../src/wire/firewall-stats.js';
import type { Firewall } from '../../src/dataplane/firewall.js';
import { Pipeline, type FrameSink, type PipelineInterface, type RoleSource } from '../../src/dataplane/pipeline.js';
import { RouteTable } from '../../src/dataplane/route.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, ROLE_ACTIVE } from '../../src/wire/shared-state.js';
import { SyncPort } from '../../src/dataplane/sync-port.js';
import { interfaceClasses, interfaceVirtualMac } from '../../src/dataplane/vmac.js';
import { parseCidr, parseIpv4 } from '../../src/net/ipv4.js';
import { isIpv4Text } from '../../src/net/family.js';
import type { SessionRecord } from '../../src/wire/session-record.js';
import { RecordRing } from '../../src/wire/record-ring.js';
import { clock, SYNC_RING_RECORDS } from './sync-rig.js';

// ---- frames (as bench/firewall.ts) ----
export const FRAME_LEN = 60;
export const CLIENT_MAC = parseMac('22:00:00:00:01:0a');
export const SERVER_MAC = parseMac('22:00:00:00:02:0a');
export const CLIENT = parseIpv4('10.0.1.10');
export const SERVER = parseIpv4('10.0.2.10');
export const LAN_FLOAT = parseIpv4('10.0.1.1');
export const WAN_FLOAT = parseIpv4('10.0.2.1');
export const REAL_MAC: Record<string, string> = { lan: '0a:00:00:00:01:02', wan: '0a:00:00:00:02:02' };
/** Session i: 10.1.0.0 + (i >> 14) : 1024 + (i & 16383) -> 10.0.2.10:80 (web-out, outside hide-lan). */
export const SRC_BASE = 0x0a010000;
export const SPORT_BASE = 1024;
export const srcOf = (i: number) => (SRC_BASE + (i >>> 14)) >>> 0;
export const sportOf = (i: number) => SPORT_BASE + (i & 16383);
export const indexOf = (src: number, sport: number) => ((src - SRC_BASE) << 14) | (sport - SPORT_BASE);

/** A 60-byte Ethernet frame: IPv4 TCP SYN src:sp -> dst:dp, valid checksums. */
export function writeSyn(f: Uint8Array, dstMac: Uint8Array, src: number, sp: number, dst: number, dp: number): void {
  f.fill(0, 0, FRAME_LEN);
  f.set(dstMac, 0);
  f.set(CLIENT_MAC, 6);
  writeU16(f, 12, 0x0800);
  f[14] = 0x45;
  writeU16(f, 16, 40);
  writeU16(f, 18, 0x1234);
  f[22] = 64;
  f[23] = 6;
  writeU32(f, 26, src);
  writeU32(f, 30, dst);
  writeU16(f, 24, checksum(f, 14, 20));
  writeU16(f, 34, sp);
  writeU16(f, 36, dp);
  writeU32(f, 38, 0x01000000);
  f[46] = 0x50;
  f[47] = 0x02;
  writeU16(f, 48, 64240);
  writeU16(f, 50, checksum(f, 34, 20, (~checksum(f, 26, 8) & 0xffff) + 6 + 20));
}

export class NullSink implements FrameSink {
  sent = 0;
  send(): boolean {
    this.sent++;
    return true;
  }
}

/**
 * A ring end that tells the bench what went through it. Subclassing keeps the SyncPort's code
 * path unchanged: it calls push()/drain() as on a plain RecordRing. Cost: one extra call per record.
 */
export class WatchedRing extends RecordRing {
  onPushed: ((r: SessionRecord) => void) | null = null;
  /** Called with each drained record after SyncPort applied it, then `drained(now)` per drain call. */
  onDrained: ((r: SessionRecord) => void) | null = null;
  afterDrain: (() => void) | null = null;

  override push(r: SessionRecord): boolean {
    const ok = super.push(r);
    if (ok && this.onPushed !== null) this.onPushed(r);
    return ok;
  }

  override drain(max: number, fn: (r: SessionRecord) => void): number {
    const watch = this.onDrained;
    if (watch === null) return super.drain(max, fn);
    const n = super.drain(max, (r) => {
      fn(r);
      watch(r);
    });
    if (n > 0) this.afterDrain?.();
    return n;
  }
}

export interface Box {
  p: Pipeline;
  fw: Firewall;
  port: SyncPort;
  out: WatchedRing;
  in: WatchedRing;
  counters: Float64Array;
  lanV: Uint8Array;
  /** As src/dataplane/engine.ts tick(). */
  tick(now: number): void;
}

/** Active/active: this box's device id; the peer forwards, device 0 is the primary. */
export interface BoxPair {
  me: 0 | 1;
}

/** What the control plane would tell an active box of the pair: the classes it serves. */
function roleOf(aa: BoxPair | undefined): RoleSource {
  if (!aa) return { role: ROLE_ACTIVE, mayActAsActive: () => true };
  const servedClasses = aa.me === 0 ? CLASS_DEVICE0 | CLASS_PRIMARY : CLASS_DEVICE1;
  return { role: ROLE_ACTIVE, mayActAsActive: () => true, servedClasses };
}

export function makeBox(config: TandemConfig, shared: SharedConfig, aa?: BoxPair): Box {
  const role = roleOf(aa);
  const names = Object.keys(config.device.interfaces);
  const interfaces: PipelineInterface[] = names.map((name) => {
    const ic = config.device.interfaces[name];
    const realMac = parseMac(REAL_MAC[name] ?? '0a:00:00:00:09:09');
    const { address, prefix } = parseCidr(ic.address);
    return {
      name,
      device: ic.device,
      realMac,
      mac: interfaceVirtualMac(shared, name, realMac, aa?.me),
      classes: interfaceClasses(shared, name, realMac),
      address,
      prefix,
      floating: shared.floatingIps.filter((f) => f.interface === name && isIpv4Text(f.address)).map((f) => parseCidr(f.address).address),
      mtu: 1500,
    };
  });
  const routes = RouteTable.fromConfig({ interfaces: names.map((name) => ({ name, address: config.device.interfaces[name].address })), routes: shared.routes });
  const counters = new Float64Array(COUNTER_COUNT);
  const stats = new FirewallStats(shared.policy.rules.length, shared.nat.length);
  // active/active: the peer forwards and device 0 is the primary, for the whole phase
  const pair = aa ? { me: aa.me, pair: { peerForwarding: true, primaryId: 0 } } : undefined;
  const p = new Pipeline(interfaces, routes, role, counters, new NullSink(), { firewall: { shared, stats, seed: randomInt(0x7fffffff), aa: pair } });
  const fw = p.firewall!;
  const out = new WatchedRing(SYNC_RING_RECORDS);
  const inRing = new WatchedRing(SYNC_RING_RECORDS);
  const portPair = aa ? { me: aa.me, active: () => true, peerForwarding: () => true } : null;
  const port = new SyncPort(out, inRing, fw, { event: (e) => counters[eventIndex(e)]++, drop: (r) => counters[dropIndex(r)]++ }, portPair);
  if (aa) {
    // device 1 does not answer device 0's gateway: its neighbours are set, as the engine's would be learned
    p.neighbours[0].learn(CLIENT, CLIENT_MAC, 0, clock());
    p.neighbours[1].learn(SERVER, SERVER_MAC, 0, clock());
    return boxOf(p, port, out, inRing, counters, interfaces[0].mac);
  }
  // neighbours: client and server ARP for their gateways
  const arp = (ifIndex: number, mac: Uint8Array, ip: number, target: number) => {
    const f = new Uint8Array(FRAME_LEN);
    f.fill(0xff, 0, 6);
    f.set(mac, 6);
    writeU16(f, 12, 0x0806);
    f.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
    f.set(mac, 22);
    writeU32(f, 28, ip);
    writeU32(f, 38, target);
    p.handle(ifIndex, f, 42, clock());
  };
  arp(0, CLIENT_MAC, CLIENT, LAN_FLOAT);
  arp(1, SERVER_MAC, SERVER, WAN_FLOAT);
  return boxOf(p, port, out, inRing, counters, interfaces[0].mac);
}

function boxOf(p: Pipeline, port: SyncPort, out: WatchedRing, inRing: WatchedRing, counters: Float64Array, lanV: Uint8Array): Box {
  const fw = p.firewall!;
  return {
    p,
    fw,
    port,
    out,
    in: inRing,
    counters,
    lanV,
    tick(now: number) {
      p.tick(now);
      fw.expire(now);
      port.tick(now);
    },
  };
}
