// HA2 session replication, for real: established TCP connections (source NATed by the pair) keep
// flowing through a failover, with the same translated ports, and a rejoining box syncs first.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabBox } from '../../src/lab/lab.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from '../../src/lab/traffic.js';
import type { StreamSummary } from '../../src/lab/stream.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const STREAM_PORT = 5010;
const CONNS = 1000;
/** 1000 connections x 1 KiB every 100 ms: data always flowing, and room on two cores. */
const STREAM_INTERVAL_MS = 100;
const DNAT_PORT = 8080;
const INSIDE_PORT = 5012;
const DNAT_CONNS = 50;

let lab: Lab | null = null;

/**
 * The lab's config (path and link monitoring on) with timers fit for these tests. Session 2 ran
 * them without path monitoring after resets of some connections in about half the runs; session
 * 3 found the cause in the test's own server: a 1000-connection burst overflowed its listen
 * backlog, the kernel answered with SYN cookies, and a connection whose handshake ACK was lost in
 * the failover failed the cookie check on its next segment (TcpExtSyncookiesFailed = resets).
 * src/lab/stream.ts now listens with a backlog for the whole burst.
 */
function syncLabConfig(edit: Parameters<typeof labConfigWith>[0]): string {
  return labConfigWith((cfg) => {
    // These tests are about what is replicated, with 1000 streams and 1 ms probes on two shared
    // cores. The 20 ms aggressive dead interval turned 20-40 ms control-thread stalls into extra
    // role changes in a few percent of runs (tandem_control_stalls_total); 10 ms x 6 = 60 ms keeps
    // the failovers fast and the tests about replication. Detection speed: pair.test.ts, bench.
    cfg.shared.ha.timers = { profile: 'aggressive', heartbeatIntervalMs: 10, heartbeatMissed: 6 };
    edit(cfg);
  });
}

function trackedDir(dir: string): string {
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sessionsOn(l: Lab, box: LabBox): Promise<Map<string, string>> {
  const r = await cli(l, box, 'sessions', '--protocol', 'tcp', '--port', String(STREAM_PORT), '--limit', '10000', '--json');
  expect(r.code, r.stderr).toBe(0);
  const list = JSON.parse(r.stdout) as { sessions: { original: { srcPort: number }; reply: { dst: string; dstPort: number } }[] };
  // client port -> translated address:port
  return new Map(list.sessions.map((s) => [String(s.original.srcPort), `${s.reply.dst}:${s.reply.dstPort}`]));
}

/** The UDP probe flow's translated source (address:port), as a box lists it. */
async function udpTranslation(l: Lab, box: LabBox): Promise<string> {
  const r = await cli(l, box, 'sessions', '--protocol', 'udp', '--port', '5011', '--json');
  const list = JSON.parse(r.stdout) as { sessions: { reply: { dst: string; dstPort: number } }[] };
  expect(list.sessions).toHaveLength(1);
  return `${list.sessions[0].reply.dst}:${list.sessions[0].reply.dstPort}`;
}

async function streams(l: Lab): Promise<LabProcess<StreamSummary> & { connected: number }> {
  const repo = repoRoot();
  const srv = await startStreamServer(l.ns('server'), { repo, marker: l.runDir, port: STREAM_PORT });
  stops.push(() => srv.stop());
  const cl = await startStreamClient(l.ns('client'), { repo, marker: l.runDir, to: `${SERVER}:${STREAM_PORT}`, conns: CONNS, intervalMs: STREAM_INTERVAL_MS });
  stops.push(() => cl.stop());
  return cl;
}

async function waitSynced(l: Lab, box: LabBox, atLeast: number): Promise<void> {
  await l.waitFor(
    async () => {
      const m = await scrape(boxListeners(l, box).metrics);
      return metricValue(m, 'tandem_dataplane_packets_total', { event: 'sync-applied' }) >= atLeast;
    },
    10_000,
    `${box} to apply ${atLeast} synced sessions`,
  );
}

describe.skipIf(!isRoot())('HA2 session replication', () => {
  for (const failure of ['kill -9', 'SIGSTOP', 'links cut'] as const) {
    it(`${CONNS} SNAT and ${DNAT_CONNS} DNAT TCP connections and a UDP flow survive ${failure} of the active, with the same NAT ports`, async () => {
      const configDir = syncLabConfig((cfg) => {
        cfg.shared.nat.push({
          name: 'web-in',
          from: ['untrust'],
          to: ['untrust'],
          destination: ['10.0.2.1'],
          service: [`tcp/${DNAT_PORT}`],
          translate: { destination: { address: '10.0.1.10', port: INSIDE_PORT } },
        });
        cfg.shared.policy.rules.push({
          name: 'web-in-allow',
          from: ['untrust'],
          to: ['trust'],
          destination: ['10.0.2.1/32'],
          service: [`tcp/${DNAT_PORT}`],
          action: 'allow',
        });
      });
      stops.push(async () => rmSync(configDir, { recursive: true, force: true }));
      lab = await upLab({ configDir });
      const repo = repoRoot();
      const cl = await streams(lab);
      expect(cl.connected).toBe(CONNS);
      // the inside server published through destination NAT, reached from the outside
      const inside = await startStreamServer(lab.ns('client'), { repo, marker: lab.runDir, port: INSIDE_PORT });
      stops.push(() => inside.stop());
      const outside = await startStreamClient(lab.ns('server'), {
        repo,
        marker: lab.runDir,
        to: `10.0.2.1:${DNAT_PORT}`,
        conns: DNAT_CONNS,
        intervalMs: STREAM_INTERVAL_MS,
      });
      stops.push(() => outside.stop());
      expect(outside.connected).toBe(DNAT_CONNS);
      const rx = await startProbeReceiver(lab.ns('server'), { repo, marker: lab.runDir, port: 5011, outFile: join(lab.runDir, 'rx.json') });
      stops.push(() => rx.stop());
      const tx = await startProbeSender(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:5011`, intervalMs: 1 });
      stops.push(() => tx.stop());
      await waitSynced(lab, 'fwb', CONNS + DNAT_CONNS + 1);
      const before = await sessionsOn(lab, 'fwa');
      expect(before.size).toBe(CONNS);
      const udpBefore = await udpTranslation(lab, 'fwa');
      expect(await sessionsOn(lab, 'fwb')).toEqual(before);
      // the passive counts what it holds
      expect(metricValue(await scrape(boxListeners(lab, 'fwb').metrics), 'tandem_sessions_active', { protocol: 'tcp' })).toBeGreaterThanOrEqual(
        CONNS + DNAT_CONNS,
      );

      if (failure === 'kill -9') await lab.killBox('fwa', 'SIGKILL');
      else if (failure === 'SIGSTOP') {
        const pid = await lab.killBox('fwa', 'SIGSTOP');
        stops.push(async () => process.kill(pid, 'SIGCONT'));
      } else {
        await lab.isolateBox('fwa', true);
        stops.push(() => lab!.isolateBox('fwa', false));
      }
      await waitState(lab, 'fwb', 'active', 5000);
      await sleep(1500);
      const after = await sessionsOn(lab, 'fwb');
      for (const [port, translated] of before) expect(after.get(port), `client port ${port}`).toBe(translated);
      expect(await udpTranslation(lab, 'fwb')).toBe(udpBefore);

      const sent = await tx.stop();
      await sleep(200);
      const got = await rx.stop();
      expect(got.lastSeq).toBeGreaterThan(sent.sent - 100);
      const summary = await cl.stop();
      expect(summary.reset).toBe(0);
      expect(summary.survived).toBe(CONNS);
      const dnat = await outside.stop();
      expect(dnat.reset).toBe(0);
      expect(dnat.survived).toBe(DNAT_CONNS);
      const m = await scrape(boxListeners(lab, 'fwb').metrics);
      expect(metricValue(m, 'tandem_dataplane_drops_total', { reason: 'tcp-no-session' })).toBe(0);
      // the survivor's window state lags the active's (tcp-window.ts TCP_SYNC_SLACK): no segment of theirs refused
      expect(metricValue(m, 'tandem_dataplane_drops_total', { reason: 'tcp-out-of-window' })).toBe(0);
    });
  }

  it('a planned failover (tandem failover) loses no probe and no connection', async () => {
    lab = await upLab({ configDir: trackedDir(syncLabConfig(() => undefined)) });
    const repo = repoRoot();
    const cl = await streams(lab);
    await waitSynced(lab, 'fwb', CONNS);
    const rx = await startProbeReceiver(lab.ns('server'), { repo, marker: lab.runDir, port: 5011, outFile: join(lab.runDir, 'rx.json') });
    stops.push(() => rx.stop());
    const tx = await startProbeSender(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:5011`, intervalMs: 1 });
    stops.push(() => tx.stop());
    await sleep(1000);
    const r = await cli(lab, 'fwa', 'failover');
    expect(r.code, r.stderr).toBe(0);
    await waitState(lab, 'fwb', 'active', 5000);
    await sleep(1000);
    const sent = await tx.stop();
    await sleep(200);
    const got = await rx.stop();
    expect(sent.sent - got.received, `max gap ${got.maxGapMs} ms`).toBe(0);
    const summary = await cl.stop();
    expect(summary.survived).toBe(CONNS);
    // tentative first, passive once fwb's dump has arrived
    expect((await waitState(lab, 'fwa', 'passive', 10_000)).reason).toBe('operator-failover');
  });

  it('a rejoining box is tentative until its bulk sync completes, then in sync', async () => {
    lab = await upLab({ configDir: trackedDir(syncLabConfig(() => undefined)) });
    const cl = await streams(lab);
    expect(cl.connected).toBe(CONNS);
    await waitSynced(lab, 'fwb', CONNS);
    await lab.killBox('fwb', 'SIGKILL');
    await lab.startBox('fwb');
    // initial -> tentative (joined behind the active) -> passive (its bulk sync complete)
    await waitState(lab, 'fwb', 'passive', 20_000);
    const st = await lab.api('fwb').status();
    expect(st.transitions.slice(0, 2).map((t) => `${t.from} -> ${t.to} (${t.reason})`)).toEqual([
      'initial -> tentative (peer-active)',
      'tentative -> passive (bulk sync complete)',
    ]);
    const synced = await sessionsOn(lab, 'fwb');
    expect(synced).toEqual(await sessionsOn(lab, 'fwa'));
    await cl.stop();
  });

  it('with preemption on, a rejoining better box syncs first, then takes the role back, and no connection is lost', async () => {
    const configDir = labConfigWith((cfg) => {
      cfg.shared.ha.preempt = { enabled: true, holdMs: 1000 };
      // This test is about syncing before a preemption. With 1000 streams, a restart, path and
      // link monitors (a prober process per box) and the heartbeat backup on two shared cores, the
      // 20 ms aggressive dead interval saw 20-40 ms control-thread stalls on the active
      // (tandem_control_stalls_total) in about a third of the runs (one in ten before monitors
      // existed), which changed how the role moved (peer-dead instead of peer-request). So: a
      // 60 ms dead interval, and no monitors or heartbeat backup (they have their own tests,
      // monitor.test.ts and ha1-resilience.test.ts).
      delete cfg.shared.ha.linkMonitoring;
      delete (cfg.device as { ha: Record<string, unknown> }).ha.heartbeatBackup;
      cfg.shared.ha.timers = { profile: 'aggressive', heartbeatIntervalMs: 10, heartbeatMissed: 6 };
    });
    stops.push(async () => rmSync(configDir, { recursive: true, force: true }));
    lab = await upLab({ configDir });
    const cl = await streams(lab);
    expect(cl.connected).toBe(CONNS);
    await waitSynced(lab, 'fwb', CONNS);
    await lab.killBox('fwa', 'SIGKILL');
    await waitState(lab, 'fwb', 'active', 5000);
    await lab.startBox('fwa');
    const a = await waitState(lab, 'fwa', 'active', 15_000);
    expect(a.reason).toBe('peer-request');
    expect((await waitState(lab, 'fwb', 'passive', 5000)).reason).toBe('preempted');
    // fwa had the whole table before it was handed the role
    const st = await lab.api('fwa').status();
    const bulk = (st.sync as { bulk?: { lastCompleteAt?: string | null } } | null)?.bulk;
    const tookOver = st.transitions.filter((t) => t.to === 'active').pop();
    expect(bulk?.lastCompleteAt).toBeTruthy();
    expect(Date.parse(bulk!.lastCompleteAt!)).toBeLessThanOrEqual(Date.parse(tookOver!.at));
    await sleep(1000);
    const summary = await cl.stop();
    expect(summary.reset).toBe(0);
    expect(summary.survived).toBe(CONNS);
  });

  it('an HA2 cut is counted, traffic keeps flowing, and the peer resyncs when it returns', async () => {
    lab = await upLab({ configDir: trackedDir(syncLabConfig(() => undefined)) });
    const cl = await streams(lab);
    await waitSynced(lab, 'fwb', CONNS);
    await lab.setLink('fwb', 'ha2', false);
    await lab.waitFor(async () => metricValue(await scrape(boxListeners(lab!, 'fwa').metrics), 'tandem_sync_connected') === 0, 10_000, 'HA2 down on fwa');
    expect((await lab.boxState('fwa'))?.state).toBe('active');
    await lab.setLink('fwb', 'ha2', true);
    await lab.waitFor(async () => metricValue(await scrape(boxListeners(lab!, 'fwa').metrics), 'tandem_sync_connected') === 1, 10_000, 'HA2 up again');
    // an HA2 gap leaves fwb passive (not tentative again): wait for its resync dump itself
    await lab.waitFor(
      async () => {
        const st = await lab!.api('fwb').status();
        return st.local.state === 'passive' && (st.sync as { bulk?: { pending?: boolean } } | null)?.bulk?.pending === false;
      },
      10_000,
      'fwb resynced',
    );
    expect(await sessionsOn(lab, 'fwb')).toEqual(await sessionsOn(lab, 'fwa'));
    // a segment lost while the resync dump kept the dataplane busy is retransmitted after
    // Linux's RTO (200 ms, doubling): let such connections catch up before the echo check
    await sleep(1500);
    const summary = await cl.stop();
    expect(summary.reset).toBe(0);
    expect(summary.survived).toBe(CONNS);
  });
});
