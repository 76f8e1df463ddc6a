// Fuzzing real daemons in a lab: mutated Ethernet frames blasted at the active's LAN side from the
// client namespace (libpcap, as test/integration/firewall.test.ts replays its corpus), garbage
// datagrams at the HA1 heartbeat port, garbage TCP at the HA1 and HA2 listeners (from an address
// that is not the peer's: the peer's own address would legitimately replace its session) and
// broken HTTP at the API, all while TCP streams run through the pair. Afterwards: both
// daemons alive, the same roles, no failover, every stream intact, the junk counted by reason, and
// every frame each box received accounted for by one outcome counter.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DROP_REASONS } from '../../src/wire/dataplane-counters.js';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import type { StreamSummary } from '../../src/lab/stream.js';
import { startStreamClient, startStreamServer, type LabProcess } from '../../src/lab/traffic.js';
import { FrameRig, OUTCOMES } from '../fuzz/lib/frame-rig.js';
import { ipv4Frame, macBytes, mutateFrame, udpDatagram } from '../fuzz/lib/frames.js';
import { ha1EnvelopeBytes, RawSealer } from '../fuzz/lib/ha.js';
import { Prng, seedFromEnv } from '../fuzz/lib/prng.js';
import { decodeEnvelope } from '../../src/wire/codec.js';
import { loadSecretFile } from '../../src/wire/keyfile.js';
import { boxListeners, labConfigWith, run } from './helpers/daemon.js';
import { isRoot, upLab } from './helpers/lab.js';
import { metricValue, scrape } from './metrics-client.js';

const SEED = seedFromEnv(0xf022);
const FRAMES = 20_000;
const SERVER = '10.0.2.10';
const STREAM_PORT = 5031;
const CONNS = 20;
// the schema's defaults (the lab configs set no ports)
const HA1_PORT = 28769;
const HA2_PORT = 28770;
const HEARTBEAT_PORT = 28771;
const SEALED_HEARTBEATS = 500;
const GARBAGE = join(repoRoot(), 'test', 'fuzz', 'ns', 'garbage.mjs');
const SEND_FRAMES = join(repoRoot(), 'test', 'integration', 'fixtures', 'send-frames.mjs');

let lab: Lab;
let configDir: string;
const stops: (() => Promise<unknown>)[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metrics(box: 'fwa' | 'fwb'): Promise<string> {
  return scrape(boxListeners(lab, box).metrics);
}

/** Frames received, and frames that ended in an outcome counter (they must be equal when quiet). */
function accounting(text: string): { rx: number; outcomes: number } {
  let outcomes = 0;
  // OUTCOMES leaves out the counters no frame in causes (timers, replication, commits; ring-full:
  // frames the kernel dropped before the dataplane saw them)
  for (const name of OUTCOMES) {
    outcomes += (DROP_REASONS as readonly string[]).includes(name)
      ? metricValue(text, 'tandem_dataplane_drops_total', { reason: name })
      : metricValue(text, 'tandem_dataplane_packets_total', { event: name });
  }
  return { rx: metricValue(text, 'tandem_dataplane_packets_total', { event: 'rx' }), outcomes };
}

/** Runs test/fuzz/ns/garbage.mjs in a box's namespace (null: here, for a unix socket). */
async function garbage(
  ns: 'fwa' | 'fwb' | null,
  kind: 'udp' | 'tcp' | 'http',
  host: string,
  port: number,
  count: number,
): Promise<{ sent: number; answers: Record<string, number>; errors: Record<string, number> }> {
  const args = [GARBAGE, kind, host, String(port), String(count), String(SEED)];
  const r = ns === null ? await run(process.execPath, args) : await run('ip', ['netns', 'exec', lab.ns(ns), process.execPath, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

describe.skipIf(!isRoot())('fuzzing real daemons', () => {
  beforeAll(async () => {
    // The recommended timers (300 ms dead interval): this test is about inputs, not failover
    // timing. With the lab's aggressive 20 ms, the blast on two cores shared with other test runs
    // froze fwa's control thread for 65 ms (counted as a freeze: it yielded, fwb took over).
    configDir = labConfigWith((cfg) => {
      cfg.shared.ha.timers = { profile: 'recommended' };
    });
    lab = await upLab({ configDir });
  });

  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    await lab?.down();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('mutated frames, HA junk and broken API requests: both daemons up, same roles, streams intact, everything counted', async () => {
    try {
      await fuzzPair();
    } catch (err) {
      // the daemons' own account of what happened, before the lab (and its logs) go away
      for (const box of ['fwa', 'fwb'] as const) process.stderr.write(`--- ${box} log tail\n${lab.logTail(box, 80)}\n`);
      throw err;
    }
  });
});

async function fuzzPair(): Promise<void> {
  const repo = repoRoot();
  const srv = await startStreamServer(lab.ns('server'), { repo, marker: lab.runDir, port: STREAM_PORT });
  stops.push(() => srv.stop());
  const streams: LabProcess<StreamSummary> & { connected: number } = await startStreamClient(lab.ns('client'), {
    repo,
    marker: lab.runDir,
    to: `${SERVER}:${STREAM_PORT}`,
    conns: CONNS,
    intervalMs: 50,
  });
  stops.push(() => streams.stop());
  expect(streams.connected).toBe(CONNS);
  const pids = { fwa: lab.pid('fwa'), fwb: lab.pid('fwb') };
  const before = { fwa: await metrics('fwa'), fwb: await metrics('fwb') };

  // 1. mutated frames from the client, to the lan side (sent with the client's own MAC: a
  // spoofed source would move another host's MAC in the bridge, which is no test of tandem)
  const clientMac = (await lab.nsExec('client', 'cat', ['/sys/class/net/eth0/address'])).stdout.trim();
  const mac = macBytes(clientMac);
  const ctx = FrameRig.mutationContext(1514);
  const rng = new Prng(SEED);
  const frames: string[] = [];
  while (frames.length < FRAMES) {
    const f = mutateFrame(rng, ctx);
    if (f.length < 14) continue;
    mac.copy(f, 6);
    if (f.length >= 28 && f[12] === 0x08 && f[13] === 0x06) mac.copy(f, 22); // ARP sender hardware address too
    frames.push(f.toString('hex'));
  }
  const sent = await run('ip', ['netns', 'exec', lab.ns('client'), process.execPath, SEND_FRAMES, repo, 'eth0', '0'], JSON.stringify(frames));
  expect(sent.code, sent.stderr).toBe(0);
  expect(JSON.parse(sent.stdout.trim()).sent).toBe(FRAMES);

  // 2. HA junk from fwb's namespace: random datagrams at fwa's heartbeat port (from the wrong
  // port: refused before any work), TCP to fwb's own HA1 and HA2 listeners from its own address
  // (not the peer's)
  const hb = await garbage('fwb', 'udp', '172.31.0.1', HEARTBEAT_PORT, 2000);
  expect(hb.sent).toBe(2000);
  // and heartbeats sealed with the pair's real key whose content does not decode (bad enums,
  // numbers out of range, no body): past the MAC check, into the decoder of the real daemon.
  // Only ones that cannot decode: a well-formed heartbeat from "the peer" may rightly move roles.
  // The heartbeat socket believes only the peer's address and port (fwb's daemon holds that
  // port), so these go out as raw frames on fwb's ha1 link, from fwb's address and port.
  const key = loadSecretFile(join(lab.runDir, 'ha.key'), 'key');
  const sealer = new RawSealer({ key, sender: 1, groupId: 1, epoch: Date.now(), channel: 'ha1-heartbeat-0' });
  const hrng = new Prng(SEED + 1);
  const macOf = async (box: 'fwa' | 'fwb') => (await lab.nsExec(box, 'cat', ['/sys/class/net/ha1/address'])).stdout.trim();
  const link = { dstMac: await macOf('fwa'), srcMac: await macOf('fwb'), src: '172.31.0.2', dst: '172.31.0.1' };
  const sealed: string[] = [];
  while (sealed.length < SEALED_HEARTBEATS) {
    sealer.setEncryption(hrng.chance(0.5) ? 'aes-256-gcm' : 'none');
    const payload = ha1EnvelopeBytes(hrng, { sender: 1, groupId: 1, epoch: Date.now(), seq: sealer.lastSeq + 1 });
    if (payload.length === 0 || payload.length > 1200 || decodes(payload)) continue;
    sealed.push(ipv4Frame(link, 17, udpDatagram(HEARTBEAT_PORT, HEARTBEAT_PORT, sealer.seal(payload))).toString('hex'));
  }
  // 1 ms apart: a burst would overflow the heartbeat socket's receive buffer (the kernel drops
  // what it cannot queue, uncounted by tandem, which is not what is tested here)
  const shb = await run('ip', ['netns', 'exec', lab.ns('fwb'), process.execPath, SEND_FRAMES, repo, 'ha1', '1'], JSON.stringify(sealed));
  expect(shb.code, shb.stderr).toBe(0);
  const ha1 = await garbage('fwb', 'tcp', '172.31.0.2', HA1_PORT, 40);
  const ha2 = await garbage('fwb', 'tcp', '172.31.2.2', HA2_PORT, 40);
  expect(ha1.answers.closed).toBe(40);
  expect(ha2.answers.closed).toBe(40);

  // 3. broken HTTP at fwa's API (the lab's listener is a unix socket): every one answered
  const api = await garbage(null, 'http', boxListeners(lab, 'fwa').api, 0, 200);
  expect(api.errors).toEqual({});
  expect(
    Object.keys(api.answers).every((s) => /^[45]\d\d$/.test(s)),
    JSON.stringify(api.answers),
  ).toBe(true);

  // the streams ran through all of it
  await sleep(1000);
  const summary = await streams.stop();
  expect(summary.connected).toBe(CONNS);
  expect(summary.reset).toBe(0);
  expect(summary.survived).toBe(CONNS);
  await sleep(500);

  // both alive, the same roles, no failover
  expect(lab.pid('fwa')).toBe(pids.fwa);
  expect(lab.pid('fwb')).toBe(pids.fwb);
  expect((await lab.boxState('fwa'))?.state).toBe('active');
  expect((await lab.boxState('fwb'))?.state).toBe('passive');
  const after = { fwa: await metrics('fwa'), fwb: await metrics('fwb') };
  for (const box of ['fwa', 'fwb'] as const) {
    expect(metricValue(after[box], 'tandem_ha_failovers_total'), `${box} failovers`).toBe(metricValue(before[box], 'tandem_ha_failovers_total'));
    expect(metricValue(after[box], 'tandem_ha_transitions_total'), `${box} transitions`).toBe(metricValue(before[box], 'tandem_ha_transitions_total'));
  }

  // the frames: received (some may be lost in the capture buffer under the blast) and dropped by reason
  const d = (box: 'fwa' | 'fwb', reason: string) =>
    metricValue(after[box], 'tandem_dataplane_drops_total', { reason }) - metricValue(before[box], 'tandem_dataplane_drops_total', { reason });
  const rx =
    metricValue(after.fwa, 'tandem_dataplane_packets_total', { event: 'rx' }) - metricValue(before.fwa, 'tandem_dataplane_packets_total', { event: 'rx' });
  expect(rx).toBeGreaterThan(FRAMES / 4);
  const reasons = DROP_REASONS.filter((r) => d('fwa', r) > 0);
  expect(reasons).toEqual(expect.arrayContaining(['bad-ip-header', 'bad-ip-checksum', 'ip-options', 'fragment', 'truncated', 'bad-ethertype']));
  expect(reasons.length).toBeGreaterThanOrEqual(10);
  // every frame a box received ended in exactly one outcome counter (quiet now: nothing in flight)
  for (const box of ['fwa', 'fwb'] as const) {
    const a = accounting(after[box]);
    expect(Math.abs(a.outcomes - a.rx), `${box}: ${a.rx} frames received, ${a.outcomes} outcomes`).toBeLessThanOrEqual(3);
  }

  process.stderr.write(
    `fuzz-daemon: fwa received ${rx} frames (${FRAMES} blasted, the rest the streams'); drops ${JSON.stringify(Object.fromEntries(reasons.map((r) => [r, d('fwa', r)])))}; ` +
      `accounting fwa ${JSON.stringify(accounting(after.fwa))} fwb ${JSON.stringify(accounting(after.fwb))}; API answers ${JSON.stringify(api.answers)}\n`,
  );

  // the HA junk, counted by reason
  const rej = (box: 'fwa' | 'fwb', channel: string, reason?: string) =>
    metricValue(after[box], 'tandem_ha_messages_rejected_total', reason ? { channel, reason } : { channel }) -
    metricValue(before[box], 'tandem_ha_messages_rejected_total', reason ? { channel, reason } : { channel });
  const hbReasons = () =>
    JSON.stringify(
      Object.fromEntries(
        ['foreign-source', 'bad-mac', 'malformed', 'short', 'oversize', 'stale-link', 'replay', 'stale-epoch'].map((r) => [r, rej('fwa', 'ha1-heartbeat', r)]),
      ),
    );
  expect(rej('fwa', 'ha1-heartbeat'), hbReasons()).toBeGreaterThanOrEqual(1000);
  expect(rej('fwa', 'ha1-heartbeat', 'malformed'), hbReasons()).toBeGreaterThanOrEqual(SEALED_HEARTBEATS * 0.9);
  expect(rej('fwb', 'ha1-session', 'unexpected-peer')).toBeGreaterThanOrEqual(40);
  expect(rej('fwb', 'ha2', 'unexpected-peer')).toBeGreaterThanOrEqual(40);
  // and the API requests, by route and status
  const apiCount = (t: string) =>
    metricValue(t, 'tandem_api_requests_total', { route: 'unknown' }) + metricValue(t, 'tandem_api_requests_total', { route: '/v1/status' });
  expect(apiCount(after.fwa) - apiCount(before.fwa)).toBeGreaterThanOrEqual(100);
}

/** True when the bytes decode to an envelope (then they could change the daemon's state). */
function decodes(payload: Uint8Array): boolean {
  try {
    decodeEnvelope(payload);
    return true;
  } catch {
    return false;
  }
}
