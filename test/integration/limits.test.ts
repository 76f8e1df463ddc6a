// Limits reached on real daemons (docs/limits.md): the session table filled by a burst of new TCP
// flows from the client namespace, and the management API flooded past its rate limit. In both the
// limit is counted, established traffic and the HA roles are untouched, and the daemon stays up.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/client.js';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { startStreamClient, startStreamServer, type LabProcess } from '../../src/lab/traffic.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const STREAM_PORT = 5002;
/** No listener there: every SYN let through is answered with a RST (a session each). */
const FLOOD_PORT = 5999;
const SESSIONS_MAX = 100;
const STREAMS = 10;
const FLOOD = join(repoRoot(), 'test', 'integration', 'fixtures', 'syn-flood.mjs');
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');
/** fwa's API only: low enough for a test to pass it quickly (fwb keeps the defaults). */
const RATE = { perClientPerS: 20, perClientBurst: 40, globalPerS: 200, globalBurst: 400, maxClients: 64 };

let lab: Lab;
let configDir: string;
const stops: (() => Promise<unknown>)[] = [];

async function activeBox(): Promise<'fwa' | 'fwb'> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

describe.skipIf(!isRoot())('resource limits on real daemons', () => {
  beforeAll(async () => {
    configDir = labConfigWith((cfg) => {
      cfg.shared.sessions.max = SESSIONS_MAX;
      if (cfg.device.name === 'fw-a') (cfg.device.api as Record<string, unknown>).rateLimit = RATE;
    });
    lab = await upLab({ configDir });
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await lab?.down();
    rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('sessions.max reached by a burst of new flows: they are dropped and counted, established streams keep flowing, the daemon stays up', async () => {
    const marker = lab.runDir;
    const srv = await startStreamServer(lab.ns('server'), { repo: lab.repo, marker, port: STREAM_PORT, pidFile: join(marker, 'limits-stream-server.pid') });
    stops.push(() => srv.stop());
    const streams = await startStreamClient(lab.ns('client'), {
      repo: lab.repo,
      marker,
      to: `${SERVER}:${STREAM_PORT}`,
      conns: STREAMS,
      intervalMs: 50,
      durationS: 60,
      pidFile: join(marker, 'limits-streams.pid'),
    });
    let streamsStopped: LabProcess<unknown> | null = streams;
    stops.push(async () => streamsStopped?.stop());
    expect(streams.connected).toBe(STREAMS);

    const box = await activeBox();
    const pid = lab.pid(box);
    const { metrics } = boxListeners(lab, box);
    const before = await scrape(metrics);

    // the gauge never passes the limit while the burst runs
    let maxSessions = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const t = await scrape(metrics).catch(() => '');
        if (t) maxSessions = Math.max(maxSessions, metricValue(t, 'tandem_sessions_active'));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const r = await lab.nsExec('client', process.execPath, [FLOOD, SERVER, String(FLOOD_PORT), '600'], { timeoutMs: 40_000 });
    sampling = false;
    await sampler;
    const flood = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { refused: number; timeout: number; other: number };
    const after = await scrape(metrics);

    // some SYNs got sessions (refused by the server), the rest found the table full
    expect(flood.refused).toBeGreaterThan(0);
    expect(flood.refused).toBeLessThanOrEqual(SESSIONS_MAX);
    expect(flood.timeout).toBeGreaterThan(0);
    const fullDrops =
      metricValue(after, 'tandem_dataplane_drops_total', { reason: 'session-table-full' }) -
      metricValue(before, 'tandem_dataplane_drops_total', { reason: 'session-table-full' });
    expect(fullDrops).toBeGreaterThanOrEqual(flood.timeout);
    expect(metricValue(after, 'tandem_sessions_table_full_total')).toBeGreaterThan(metricValue(before, 'tandem_sessions_table_full_total'));
    expect(maxSessions).toBeLessThanOrEqual(SESSIONS_MAX);
    expect(metricValue(after, 'tandem_sessions_active')).toBeLessThanOrEqual(SESSIONS_MAX);

    // the established streams never noticed
    streamsStopped = null;
    const summary = (await streams.stop(20_000)) as { survived: number; reset: number };
    expect(summary).toMatchObject({ survived: STREAMS, reset: 0 });

    // same process, same role
    expect(lab.pid(box)).toBe(pid);
    expect((await lab.boxState(box))?.state).toBe('active');

    // once the refused flows' sessions expire, new flows get through again
    const echo = await lab.waitFor(
      async () => {
        const t = await lab.nsExec('client', process.execPath, [TOOL, 'tcp-connect', SERVER, String(STREAM_PORT)]).catch(() => null);
        return t !== null && t.stdout.includes('"ok":true');
      },
      40_000,
      'a new TCP flow through the firewall',
    );
    expect(echo).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('the API flooded past its rate limit: 429s, counted by status; both daemons up and paired; the CLI works after', async () => {
    const pids = { fwa: lab.pid('fwa'), fwb: lab.pid('fwb') };
    expect(pids.fwa).not.toBeNull();
    const { metrics } = boxListeners(lab, 'fwa');
    const count429 = (t: string) => metricValue(t, 'tandem_api_requests_total', { route: '/v1/status', code: '429' });
    const before = count429(await scrape(metrics));

    const api = lab.api('fwa', 5000);
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 30 }, () =>
          api.status().then(
            () => 200,
            (err: unknown) => (err instanceof ApiError ? err.status : -1),
          ),
        ),
      );
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    const ok = statuses.get(200) ?? 0;
    const limited = statuses.get(429) ?? 0;
    expect(ok + limited).toBe(300);
    expect(ok).toBeGreaterThanOrEqual(RATE.perClientBurst);
    expect(limited).toBeGreaterThan(0);
    expect(count429(await scrape(metrics)) - before).toBe(limited);

    // the same processes, still a pair (the roles themselves may move on a loaded host: the lab's
    // 20 ms dead interval is shorter than a stall of two shared cores, which is not the API's doing)
    expect({ fwa: lab.pid('fwa'), fwb: lab.pid('fwb') }).toEqual(pids);
    await lab.waitForPair(10_000);

    // the bucket refills: the operator's CLI works again
    await new Promise((r) => setTimeout(r, 2500));
    const r = await cli(lab, 'fwa', 'status');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('active');
  }, 60_000);
});
