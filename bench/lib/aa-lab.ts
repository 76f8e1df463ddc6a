// What the active/active benches share: the lab's configs with other settings (a copy in a temp
// dir that labUp takes as configDir, so deploy/lab stays as shipped), the counters of both boxes
// read before and after a run, and the gateway MAC a host's generator must send to.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { ActiveActiveConfig } from '../../src/config/types.js';
import { nsExec, trySh } from '../../src/lab/exec.js';
import { repoRoot, type Lab, type LabBox, type LabHost, type LabMode } from '../../src/lab/lab.js';
import { BOX_DEVICE, hostGateway, LAB_ADDR, LAB_BOXES } from '../../src/lab/topology.js';
import { linkStats, metricSamples, processCpuS, scrapeMetrics } from './counters.js';

export const AA_SETUPS: readonly ActiveActiveConfig['sessionSetup'][] = ['first-packet', 'ip-modulo', 'ip-hash', 'primary'];
export const AA_OWNERS: readonly ActiveActiveConfig['sessionOwner'][] = ['first-packet', 'primary'];

export type TimersProfile = 'recommended' | 'aggressive';
export const TIMERS_PROFILES: readonly TimersProfile[] = ['recommended', 'aggressive'];

/** What a bench changes in the lab's configs; anything absent stays as shipped. */
export interface LabConfigChanges {
  /** Active/active: shared.ha.activeActive's keys. */
  aa?: Partial<Pick<ActiveActiveConfig, 'sessionSetup' | 'sessionOwner' | 'deferMs'>>;
  /** false empties shared.nat, so that an active/passive pair routes as the active/active lab does. */
  nat?: boolean;
  /**
   * shared.ha.timers' profile (the labs ship `aggressive`): `recommended` keeps a machine busy
   * with other work from failing the pair over on a stalled control thread.
   */
  profile?: TimersProfile;
}

/**
 * The lab's configs of `mode` (deploy/lab or deploy/lab/active-active) with `changes`, into `dir`
 * for labUp's configDir (parseDocument keeps the files' comments). The shared half stays identical
 * on both boxes.
 */
export function writeLabConfigsFor(dir: string, mode: LabMode, changes: LabConfigChanges): void {
  const from = mode === 'active-active' ? join(repoRoot(), 'deploy', 'lab', 'active-active') : join(repoRoot(), 'deploy', 'lab');
  for (const box of LAB_BOXES) {
    const doc = parseDocument(readFileSync(join(from, `${box}.yaml`), 'utf8'));
    for (const [k, v] of Object.entries(changes.aa ?? {})) doc.setIn(['shared', 'ha', 'activeActive', k], v);
    if (changes.nat === false) doc.setIn(['shared', 'nat'], doc.createNode([]));
    if (changes.profile) doc.setIn(['shared', 'ha', 'timers'], doc.createNode({ profile: changes.profile }, { flow: true }));
    writeFileSync(join(dir, `${box}.yaml`), String(doc), { mode: 0o600 });
  }
}

/** The events of tandem_dataplane_packets_total the benches read (docs/active-active.md names them). */
export const PAIR_EVENTS = [
  'rx',
  'forwarded',
  'to-owner',
  'setup-to-peer',
  'miss-to-peer',
  'setup-local',
  'ha3-tx',
  'ha3-rx',
  'defer-acked',
  'defer-timeout',
] as const;
export type PairEvent = (typeof PAIR_EVENTS)[number];

/** One box's counters at an instant. */
export interface BoxCounters {
  events: Record<PairEvent, number>;
  drops: Map<string, number>;
  transitions: number;
  cpuS: number;
  /** lan0 + wan0 received: what the hosts' traffic brought to this box. */
  trafficRxPackets: number;
  trafficRxBytes: number;
  /** HA3 frames and bytes sent (GET /v1/status dataplane.activeActive.ha3), zero in active/passive. */
  ha3TxFrames: number;
  ha3TxBytes: number;
}

interface Ha3View {
  activeActive?: { ha3?: { tx?: { frames?: number; bytes?: number } } };
}

export async function boxCounters(lab: Lab, box: LabBox): Promise<BoxCounters> {
  const pid = lab.pid(box);
  const [text, lan, wan, status] = await Promise.all([
    scrapeMetrics(join(lab.runDir, `${box}-metrics.sock`)),
    linkStats(lab.ns(box), BOX_DEVICE.lan),
    linkStats(lab.ns(box), BOX_DEVICE.wan),
    lab.api(box, 5000).status(),
  ]);
  const ev = metricSamples(text, 'tandem_dataplane_packets_total');
  const events = Object.fromEntries(PAIR_EVENTS.map((e) => [e, ev.get(`event="${e}"`) ?? 0])) as Record<PairEvent, number>;
  let transitions = 0;
  for (const v of metricSamples(text, 'tandem_ha_transitions_total').values()) transitions += v;
  const ha3 = (status.dataplane as Ha3View | undefined)?.activeActive?.ha3?.tx;
  return {
    events,
    drops: metricSamples(text, 'tandem_dataplane_drops_total'),
    transitions,
    cpuS: pid === null ? 0 : processCpuS(pid),
    trafficRxPackets: lan.rxPackets + wan.rxPackets,
    trafficRxBytes: lan.rxBytes + wan.rxBytes,
    ha3TxFrames: ha3?.frames ?? 0,
    ha3TxBytes: ha3?.bytes ?? 0,
  };
}

export type PairCounters = Record<LabBox, BoxCounters>;

export async function pairCounters(lab: Lab): Promise<PairCounters> {
  const [fwa, fwb] = await Promise.all([boxCounters(lab, 'fwa'), boxCounters(lab, 'fwb')]);
  return { fwa, fwb };
}

/** after - before, field by field (drops by reason, zeros left out). */
export function countersDelta(a: BoxCounters, b: BoxCounters): BoxCounters {
  const events = Object.fromEntries(PAIR_EVENTS.map((e) => [e, b.events[e] - a.events[e]])) as Record<PairEvent, number>;
  const drops = new Map<string, number>();
  for (const [k, v] of b.drops) if (v - (a.drops.get(k) ?? 0) !== 0) drops.set(k.replace(/^reason="(.*)"$/, '$1'), v - (a.drops.get(k) ?? 0));
  return {
    events,
    drops,
    transitions: b.transitions - a.transitions,
    cpuS: b.cpuS - a.cpuS,
    trafficRxPackets: b.trafficRxPackets - a.trafficRxPackets,
    trafficRxBytes: b.trafficRxBytes - a.trafficRxBytes,
    ha3TxFrames: b.ha3TxFrames - a.ha3TxFrames,
    ha3TxBytes: b.ha3TxBytes - a.ha3TxBytes,
  };
}

export function pairDelta(a: PairCounters, b: PairCounters): PairCounters {
  return { fwa: countersDelta(a.fwa, b.fwa), fwb: countersDelta(a.fwb, b.fwb) };
}

/**
 * A few pings from `host` to the server through its gateway (neighbours resolved, bridges'
 * tables learned), then the MAC the host resolved for its gateway: the class MAC of the box that
 * serves it, which a raw generator (trafgen) must send to.
 */
export async function warmAndGatewayMac(lab: Lab, host: LabHost): Promise<string> {
  const ping = () => trySh('ip', ['netns', 'exec', lab.ns(host), 'ping', '-c', '3', '-i', '0.2', '-W', '1', LAB_ADDR.server], { timeoutMs: 10_000 });
  // one retry: a neighbour entry may have been in the middle of being resolved
  const res = (await ping()) ?? (await ping());
  if (!res || / 100% packet loss/.test(res.stdout)) throw new Error(`${host} cannot ping the server through ${hostGateway(host)}`);
  const { stdout } = await nsExec(lab.ns(host), 'ip', ['-j', 'neigh', 'show', hostGateway(host)]);
  const mac = (JSON.parse(stdout) as Array<{ lladdr?: string }>)[0]?.lladdr;
  if (!mac) throw new Error(`${host} has no neighbour entry for its gateway ${hostGateway(host)}`);
  return mac;
}
