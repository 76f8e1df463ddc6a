// The real in-process packet path for the frame fuzzers: an Engine (pipeline, firewall, NAT,
// ARP) on the lab's config (deploy/lab/fwa.yaml), active with a lease, behind a fake capture I/O,
// time as a variable. Sessions of the three protocols are opened first; the storm must not take
// them away, and every frame must end in exactly one outcome counter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import type { TandemConfig } from '../../../src/config/types.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS, type DropReason } from '../../../src/wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { DIR_ORIGINAL, DIR_REPLY } from '../../../src/dataplane/session-table.js';
import { ROLE_ACTIVE, SharedState } from '../../../src/wire/shared-state.js';
import { repoRoot } from '../../../src/lab/lab.js';
import { createLogger } from '../../../src/log.js';
import type { RecordRing } from '../../../src/wire/record-ring.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { arpFrame, icmpMessage, ipv4Frame, tcpSegment, udpDatagram, type FrameMutationContext } from './frames.js';
import { eth6, ext, frag, icmp6, ip6, tcp6, udp6 } from '../../unit/dataplane/frames6.js';

export const LAN = 0;
export const WAN = 1;
export const LAN_V = '02:74:64:00:01:01';
export const WAN_V = '02:74:64:00:01:02';
export const LAN_REAL = '0a:00:00:00:01:02';
export const WAN_REAL = '0a:00:00:00:02:02';
export const CLIENT_MAC = '22:00:00:00:01:0a';
export const SERVER_MAC = '22:00:00:00:02:0a';
export const CLIENT = '10.0.1.10';
export const SERVER = '10.0.2.10';
export const LAN_FLOAT = '10.0.1.1';
export const WAN_FLOAT = '10.0.2.1';

const SYN = 0x02;
const ACK = 0x10;

/**
 * Outcome counters: each frame handed to the pipeline ends in exactly one of these. The rest
 * (rx, tx, arp-queued, arp-learned, arp-request-sent, session-created, reject-sent, ...) come along
 * with an outcome; arp-timeout (of frames counted forwarded when queued), the sync drops,
 * policy-rematch and ring-full (frames the kernel dropped before the dataplane saw them) are not
 * caused by a frame in.
 */
const NOT_PER_FRAME = new Set<DropReason>(['arp-timeout', 'nd-timeout', 'sync-overflow', 'sync-bad-record', 'policy-rematch', 'ring-full', 'frag-timeout']);
export const OUTCOMES: readonly string[] = [
  'own-frame',
  'to-kernel',
  'forwarded',
  'arp-reply-sent',
  'arp-handled',
  'icmp-echo-reply-sent',
  'fragment-held',
  'fragment-duplicate',
  // IPv6 neighbour discovery (ipv6-path.ts), as ARP's
  'nd-advert-sent',
  'nd-handled',
  'nd-conflict',
  ...DROP_REASONS.filter((r) => !NOT_PER_FRAME.has(r)),
];

const NAMES: string[] = [...EVENT_COUNTERS, ...DROP_REASONS];

/** The lab box's config, after `edit` of its parsed YAML tree when given. */
export function labConfig(edit?: (raw: { device: Record<string, any>; shared: Record<string, any> }) => void): TandemConfig {
  // repoRoot: this file also runs compiled from dist/ (bench/fuzz.ts)
  const path = join(repoRoot(), 'deploy', 'lab', 'fwa.yaml');
  const text = readFileSync(path, 'utf8');
  if (!edit) return parseConfig(text, { source: path });
  const raw = parseYaml(text);
  edit(raw);
  return parseConfig(stringifyYaml(raw), { source: path });
}

/**
 * The lab config with every branch the firewall has: a reject rule (TCP RST and ICMP unreachable
 * built from whatever frame came in), a published service (destination NAT) and a small session
 * table that fills up.
 */
export function busyLabConfig(): TandemConfig {
  return labConfig((cfg) => {
    cfg.shared.policy.rules.unshift({ name: 'reject-test', from: ['trust'], to: ['untrust'], service: ['tcp/6000', 'udp/6000'], action: 'reject' });
    cfg.shared.nat.push({
      name: 'web-in',
      from: ['untrust'],
      to: ['untrust'],
      destination: [WAN_FLOAT],
      service: ['tcp/8080', 'udp/8080'],
      translate: { destination: { address: CLIENT, port: 5005 } },
    });
    cfg.shared.policy.rules.push({
      name: 'web-in-allow',
      from: ['untrust'],
      to: ['trust'],
      destination: [`${CLIENT}/32`],
      service: ['tcp/5005', 'udp/5005'],
      action: 'allow',
    });
    cfg.shared.sessions.max = 100;
  });
}

/** A flow opened before the storm, with the translation it got. */
export interface ProtectedFlow {
  name: string;
  proto: number;
  /** Client side port (ICMP: echo id). */
  sport: number;
  dport: number;
  /** The source port (or echo id) the server sees. */
  natPort: number;
}

export interface FrameResult {
  /** The one outcome counter that moved (or a description of what went wrong). */
  outcome: string;
  /** null when exactly one outcome moved. */
  error: string | null;
}

export class FrameRig {
  readonly engine: Engine;
  readonly shared: SharedState;
  readonly counters: Float64Array;
  private nowMs = 1_000_000;
  private readonly rx: ((f: Uint8Array, len: number, truncated: boolean) => void)[] = [];
  private readonly outcomeIdx: number[];
  private readonly before: Float64Array;
  /** Frames sent by the box since the last take(). */
  sent: { ifIndex: number; frame: Buffer }[] = [];
  readonly flows: ProtectedFlow[] = [];

  /** sync: HA2 rings (our changes out, the peer's in), as the daemon wires them. */
  constructor(opts: { sync?: { out: RecordRing; in: RecordRing }; config?: TandemConfig } = {}) {
    const config = opts.config ?? labConfig();
    const shared = new SharedState(COUNTER_COUNT);
    this.shared = shared;
    shared.setRole(ROLE_ACTIVE);
    shared.renewLease(1e15);
    const macs: Record<string, string> = { lan0: LAN_REAL, wan0: WAN_REAL };
    const io: DataplaneIo = {
      open: (_device, onFrame) => {
        const ifIndex = this.rx.length;
        this.rx.push(onFrame);
        return {
          send: (f, len) => {
            if (this.sent.length < 64) this.sent.push({ ifIndex, frame: Buffer.from(f.subarray(0, len)) });
            return true;
          },
          close: () => undefined,
        };
      },
      macOf: (device) => parseMac(macs[device]),
      mtuOf: () => 1500,
    };
    const stats = new FirewallStats(config.shared.policy.rules.length, config.shared.nat.length);
    this.engine = new Engine(config, shared, io, () => this.nowMs, createLogger({ level: 'fatal', name: 'fuzz' }), {
      neighbours: { reachableMs: 1e12, refreshMs: 1e12 },
      firewall: { shared: config.shared, stats, seed: 7 },
      garpOnStart: false,
      ...(opts.sync ? { sync: opts.sync } : {}),
    });
    this.counters = shared.counters();
    this.before = new Float64Array(this.counters.length);
    this.outcomeIdx = OUTCOMES.map((n) => NAMES.indexOf(n));
    if (this.outcomeIdx.some((i) => i < 0)) throw new Error(`unknown outcome counter in ${OUTCOMES.join(', ')}`);
    const p = this.engine.pipeline;
    p.neighbours[LAN].learn(parseIpv4(CLIENT), parseMac(CLIENT_MAC), 0, 0);
    p.neighbours[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
    this.openFlows();
  }

  get now(): number {
    return this.nowMs;
  }

  /** Time moves on (ms) and the engine's timer work runs. */
  advance(ms: number): void {
    this.nowMs += ms;
    this.engine.tick();
  }

  /** One frame in on `ifIndex`; what it ended in. Throws what the packet path throws. */
  feed(ifIndex: number, frame: Uint8Array): FrameResult {
    const c = this.counters;
    this.before.set(c);
    this.rx[ifIndex](frame, frame.length, false);
    let n = 0;
    let outcome = '';
    for (let k = 0; k < this.outcomeIdx.length; k++) {
      const i = this.outcomeIdx[k];
      const d = c[i] - this.before[i];
      if (d !== 0) {
        n += d;
        outcome = NAMES[i];
      }
    }
    if (n === 1) return { outcome, error: null };
    const moved = NAMES.map((name, i) => [name, c[i] - this.before[i]] as const).filter(([, d]) => d !== 0);
    return { outcome: n === 0 ? 'none' : 'several', error: `${n} outcome counters moved: ${JSON.stringify(Object.fromEntries(moved))}` };
  }

  /** Frames that open and keep the protected flows, and a corpus of valid frames to mutate from. */
  private openFlows(): void {
    const fromClient = { dstMac: LAN_V, srcMac: CLIENT_MAC, src: CLIENT, dst: SERVER };
    const expectOut = (r: FrameResult, what: string) => {
      if (r.outcome !== 'forwarded') throw new Error(`setup: ${what} was not forwarded (${r.outcome} ${r.error ?? ''})`);
      const out = this.sent.pop();
      this.sent = [];
      if (!out) throw new Error(`setup: ${what} left nothing`);
      return out.frame;
    };
    // TCP handshake to web-out (tcp/80)
    const syn = expectOut(this.feed(LAN, ipv4Frame(fromClient, 6, tcpSegment(40000, 80, SYN, 1000))), 'TCP SYN');
    const natTcp = syn.readUInt16BE(14 + 20);
    expectOut(
      this.feed(WAN, ipv4Frame({ dstMac: WAN_V, srcMac: SERVER_MAC, src: SERVER, dst: WAN_FLOAT }, 6, tcpSegment(80, natTcp, SYN | ACK, 5000, 1001))),
      'TCP SYN-ACK',
    );
    expectOut(this.feed(LAN, ipv4Frame(fromClient, 6, tcpSegment(40000, 80, ACK, 1001, 5001))), 'TCP ACK');
    this.flows.push({ name: 'tcp 40000->80', proto: 6, sport: 40000, dport: 80, natPort: natTcp });
    // UDP to lab-test (udp/5003), answered
    const u = expectOut(this.feed(LAN, ipv4Frame(fromClient, 17, udpDatagram(40001, 5003))), 'UDP');
    const natUdp = u.readUInt16BE(14 + 20);
    expectOut(this.feed(WAN, ipv4Frame({ dstMac: WAN_V, srcMac: SERVER_MAC, src: SERVER, dst: WAN_FLOAT }, 17, udpDatagram(5003, natUdp))), 'UDP reply');
    this.flows.push({ name: 'udp 40001->5003', proto: 17, sport: 40001, dport: 5003, natPort: natUdp });
    // ping
    const e = expectOut(this.feed(LAN, ipv4Frame(fromClient, 1, icmpMessage(8, 0, (40002 << 16) | 1))), 'echo request');
    const natId = e.readUInt16BE(14 + 20 + 4);
    expectOut(
      this.feed(WAN, ipv4Frame({ dstMac: WAN_V, srcMac: SERVER_MAC, src: SERVER, dst: WAN_FLOAT }, 1, icmpMessage(0, 0, (natId << 16) | 1))),
      'echo reply',
    );
    this.flows.push({ name: 'icmp id 40002', proto: 1, sport: 40002, dport: 0, natPort: natId });
  }

  /**
   * One packet of each protected flow both ways: each must be forwarded with the translation the
   * flow started with. Keeps them from expiring during a long storm. Returns what went wrong.
   */
  checkFlows(forwarding = true): string[] {
    const problems: string[] = [];
    const fromClient = { dstMac: LAN_V, srcMac: CLIENT_MAC, src: CLIENT, dst: SERVER };
    const fromServer = { dstMac: WAN_V, srcMac: SERVER_MAC, src: SERVER, dst: WAN_FLOAT };
    for (const f of this.flows) {
      const fw = this.engine.pipeline.firewall!;
      const h = fw.table.lookup(f.proto, parseIpv4(CLIENT), f.proto === 1 ? f.sport : f.sport, parseIpv4(SERVER), f.dport);
      if (h < 0 || (h & 1) !== DIR_ORIGINAL) {
        problems.push(`${f.name}: session gone`);
        continue;
      }
      const slot = h >> 1;
      if (fw.table.dstPort(slot, DIR_REPLY) !== f.natPort) problems.push(`${f.name}: NAT port ${fw.table.dstPort(slot, DIR_REPLY)}, was ${f.natPort}`);
      // a box that may not act as active sends nothing: the session must just be there
      if (!forwarding) continue;
      const out =
        f.proto === 6
          ? ipv4Frame(fromClient, 6, tcpSegment(f.sport, f.dport, ACK, 1001, 5001)) // pure ACKs at the handshake's numbers: in window
          : f.proto === 17
            ? ipv4Frame(fromClient, 17, udpDatagram(f.sport, f.dport))
            : ipv4Frame(fromClient, 1, icmpMessage(8, 0, (f.sport << 16) | 2));
      const back =
        f.proto === 6
          ? ipv4Frame(fromServer, 6, tcpSegment(f.dport, f.natPort, ACK, 5001, 1001))
          : f.proto === 17
            ? ipv4Frame(fromServer, 17, udpDatagram(f.dport, f.natPort))
            : ipv4Frame(fromServer, 1, icmpMessage(0, 0, (f.natPort << 16) | 2));
      this.sent = [];
      const r1 = this.feed(LAN, out);
      const o1 = this.sent.pop();
      const port1 = o1 ? o1.frame.readUInt16BE(14 + 20 + (f.proto === 1 ? 4 : 0)) : -1;
      if (r1.outcome !== 'forwarded' || port1 !== f.natPort) problems.push(`${f.name}: outbound ${r1.outcome}, port ${port1} (want forwarded, ${f.natPort})`);
      this.sent = [];
      const r2 = this.feed(WAN, back);
      const o2 = this.sent.pop();
      const port2 = o2 ? o2.frame.readUInt16BE(14 + 20 + (f.proto === 1 ? 4 : 2)) : -1;
      if (r2.outcome !== 'forwarded' || port2 !== f.sport) problems.push(`${f.name}: inbound ${r2.outcome}, port ${port2} (want forwarded, ${f.sport})`);
      this.sent = [];
    }
    return problems;
  }

  /**
   * True when `frame` carries a protected flow's exact tuple (either direction): such a frame
   * may legitimately change the flow (a RST closes it), so the storm leaves them out.
   */
  touchesFlow(frame: Uint8Array): boolean {
    if (frame.length < 34 + 4 || frame[12] !== 0x08 || frame[13] !== 0x00) return false;
    const proto = frame[23];
    const l4 = 14 + ((frame[14] & 0x0f) << 2);
    if (frame.length < l4 + 8) return false;
    const a = (frame[l4] << 8) | frame[l4 + 1];
    const b = (frame[l4 + 2] << 8) | frame[l4 + 3];
    const id = (frame[l4 + 4] << 8) | frame[l4 + 5];
    for (const f of this.flows) {
      if (f.proto !== proto) continue;
      if (proto === 1) {
        if (id === f.sport || id === f.natPort) return true;
      } else if (a === f.sport || b === f.sport || a === f.natPort || b === f.natPort) return true;
    }
    return false;
  }

  /** Valid frames of every kind the box meets, for the mutators to start from. */
  static corpus(): Buffer[] {
    const c = { dstMac: LAN_V, srcMac: CLIENT_MAC, src: CLIENT, dst: SERVER };
    const s = { dstMac: WAN_V, srcMac: SERVER_MAC, src: SERVER, dst: WAN_FLOAT };
    const bc = 'ff:ff:ff:ff:ff:ff';
    const zero = '00:00:00:00:00:00';
    return [
      ipv4Frame(c, 6, tcpSegment(41000, 80, SYN)),
      ipv4Frame(c, 6, tcpSegment(41001, 443, ACK, 1, 2, Buffer.from('GET / HTTP/1.0\r\n\r\n'))),
      ipv4Frame(c, 6, tcpSegment(41002, 5002, 0x11)),
      ipv4Frame(c, 6, tcpSegment(41003, 6000, 0x04)),
      ipv4Frame(s, 6, tcpSegment(80, 41010, SYN | ACK)),
      ipv4Frame(c, 17, udpDatagram(41004, 5003, Buffer.from('hello'))),
      ipv4Frame(c, 17, udpDatagram(41005, 53, Buffer.alloc(30))),
      ipv4Frame(s, 17, udpDatagram(5003, 41011)),
      ipv4Frame(c, 1, icmpMessage(8, 0, (41006 << 16) | 1)),
      ipv4Frame({ ...c, dst: LAN_FLOAT }, 1, icmpMessage(8, 0, (41007 << 16) | 1)),
      ipv4Frame(s, 1, icmpMessage(0, 0, (41012 << 16) | 1)),
      ipv4Frame(s, 1, icmpMessage(3, 3, 0, ipv4Frame({ ...c, src: WAN_FLOAT }, 17, udpDatagram(41013, 5999)).subarray(14, 14 + 28))),
      ipv4Frame(c, 1, icmpMessage(13, 0, 0)),
      ipv4Frame({ ...c, dst: '10.0.2.77' }, 17, udpDatagram(41008, 5004)),
      ipv4Frame({ ...c, dst: '10.0.1.2' }, 6, tcpSegment(41009, 22, SYN)),
      ipv4Frame({ ...c, options: Buffer.from([1, 1, 1, 0]) }, 17, udpDatagram(41014, 5003)),
      ipv4Frame({ ...c, frag: 0x2000 }, 17, udpDatagram(41015, 5003)),
      ipv4Frame(c, 6, tcpSegment(41016, 6000, SYN)),
      ipv4Frame(c, 17, udpDatagram(41017, 6000, Buffer.alloc(40, 7))),
      ipv4Frame(s, 6, tcpSegment(41018, 8080, SYN)),
      ipv4Frame({ ...s, dst: WAN_FLOAT }, 17, udpDatagram(41019, 8080)),
      arpFrame(bc, CLIENT_MAC, 1, CLIENT_MAC, CLIENT, zero, LAN_FLOAT),
      arpFrame(bc, CLIENT_MAC, 1, CLIENT_MAC, CLIENT, zero, '10.0.1.2'),
      arpFrame(WAN_REAL, SERVER_MAC, 2, SERVER_MAC, SERVER, WAN_REAL, '10.0.2.2'),
      arpFrame(bc, '22:00:00:00:01:0b', 1, '22:00:00:00:01:0b', '10.0.1.11', zero, '10.0.1.11'),
      ...ipv6Corpus(),
    ];
  }

  static mutationContext(maxLen = 1514): FrameMutationContext {
    return {
      corpus: FrameRig.corpus(),
      macs: [LAN_V, WAN_V, LAN_REAL, WAN_REAL, 'ff:ff:ff:ff:ff:ff'],
      addresses: [
        CLIENT,
        SERVER,
        LAN_FLOAT,
        WAN_FLOAT,
        '10.0.1.2',
        '10.0.2.2',
        '10.0.1.255',
        '10.0.2.77',
        '0.0.0.0',
        '127.0.0.1',
        '224.0.0.1',
        '255.255.255.255',
        '8.8.8.8',
      ],
      maxLen,
    };
  }
}

/**
 * IPv6 frames of the dual-stack lab (docs/ipv6.md): flows through the pair, echo to a floating
 * address, neighbour discovery for it, router messages, extension headers, a fragment, an error.
 */
function ipv6Corpus(): Buffer[] {
  const c6 = '2001:db8:1::10';
  const s6 = '2001:db8:2::10';
  const f6 = '2001:db8:1::1';
  const out = (dstMac: string, srcMac: string, o: Parameters<typeof eth6>[2]) => Buffer.from(eth6(dstMac, srcMac, o));
  const ns = icmp6(c6, 'ff02::1:ff00:1', 135, 0, [0, 0, 0, 0, ...ip6(f6), 1, 1, ...parseMac(CLIENT_MAC)]);
  const syn = tcp6(c6, s6, 42000, 80);
  return [
    out(LAN_V, CLIENT_MAC, { src: c6, dst: s6, next: 6, payload: syn }),
    out(LAN_V, CLIENT_MAC, { src: c6, dst: s6, next: 17, payload: udp6(c6, s6, 42001, 5003, [1, 2, 3, 4]) }),
    out(WAN_V, SERVER_MAC, { src: s6, dst: c6, next: 17, payload: udp6(s6, c6, 5003, 42001, [5, 6]) }),
    out(LAN_V, CLIENT_MAC, { src: c6, dst: f6, next: 58, payload: icmp6(c6, f6, 128, 0, [0, 9, 0, 1, 1, 2, 3, 4]) }),
    out(LAN_V, CLIENT_MAC, { src: c6, dst: s6, next: 58, payload: icmp6(c6, s6, 128, 0, [0, 10, 0, 1]) }),
    out('33:33:ff:00:00:01', CLIENT_MAC, { src: c6, dst: 'ff02::1:ff00:1', next: 58, hopLimit: 255, payload: ns }),
    out('33:33:00:00:00:02', CLIENT_MAC, {
      src: 'fe80::10',
      dst: 'ff02::2',
      next: 58,
      hopLimit: 255,
      payload: icmp6('fe80::10', 'ff02::2', 133, 0, [0, 0, 0, 0]),
    }),
    out(LAN_V, CLIENT_MAC, { src: c6, dst: s6, next: 60, payload: [...ext(17, [1, 4, 0, 0, 0, 0]), ...udp6(c6, s6, 42002, 5003, [7])] }),
    out(LAN_V, CLIENT_MAC, { src: c6, dst: s6, next: 44, payload: [...frag(17, 0, true), ...udp6(c6, s6, 42003, 5003, new Array(16).fill(3))] }),
    out(WAN_V, SERVER_MAC, {
      src: s6,
      dst: c6,
      next: 58,
      payload: icmp6(s6, c6, 2, 0, [0, 0, 5, 0x78, ...[0x60, 0, 0, 0, 0, 20, 6, 63, ...ip6(c6), ...ip6(s6), ...syn]]),
    }),
  ];
}
