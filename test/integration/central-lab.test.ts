// tandem central watching one real lab pair: it sees fwa active and fwb passive, a kill -9 of the
// active shows in `tandem central events --json` within a few seconds (fwb passive -> active, fwa
// unreachable), and after a restart of central the events and fwa's "unreachable since" are
// still there (the SQLite history and the last known member records).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CentralEvent, EventsResponse, FleetResponse } from '../../src/central/protocol.js';
import { runCli } from '../../src/cli/program.js';
import { runDirOf, type Lab } from '../../src/lab/lab.js';
import { CENTRAL_TOKEN, eventually, startCentralProcess, writeInventory, type CentralProcess } from './helpers/central.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';

let lab: Lab;
let config: string;
let central: CentralProcess | null = null;

/** `tandem central events --json`, in-process, against the running central. */
async function cliEvents(): Promise<CentralEvent[]> {
  let out = '';
  const tokenFile = join(config, '..', 'central.token');
  const code = await runCli(['central', 'events', '--json', '--since', '1h', '--pair', 'lab'], {
    stdout: (t) => (out += t),
    stderr: () => undefined,
    env: { TANDEM_CENTRAL: central!.address, TANDEM_CENTRAL_TOKEN_FILE: tokenFile },
  });
  if (code !== 0) throw new Error(`central events exited ${code}`);
  return (JSON.parse(out) as EventsResponse).events;
}

describe.skipIf(!isRoot())('central with a lab pair', () => {
  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('ce') });
    const st = await lab.status();
    const token = readFileSync(join(runDirOf(lab.name), 'api.token'), 'utf8').trim();
    config = writeInventory(
      [
        {
          name: 'lab',
          members: [
            { name: 'fwa', api: st.boxes.fwa.api, token },
            { name: 'fwb', api: st.boxes.fwb.api, token },
          ],
        },
      ],
      { pollIntervalMs: 300, pollTimeoutMs: 250 },
    );
    central = await startCentralProcess(config);
  });

  afterAll(async () => {
    await central?.stop();
    await lab?.down();
  });

  it('sees fwa active and fwb passive, the pair ok', async () => {
    const fleet = await eventually('pair ok', 10_000, async () => {
      const f = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
      return f.pairs[0].health === 'ok' ? f : undefined;
    });
    const [fwa, fwb] = fleet.pairs[0].members;
    expect([fwa.state, fwb.state]).toEqual(['active', 'passive']);
    expect(fleet.pairs[0]).toMatchObject({ activeMembers: 1, rolesAgree: true, configAgree: true, versionsMatch: true });
    expect(fwa.softwareVersion).toBe(fwb.softwareVersion);
  });

  it('a kill -9 of the active shows in `central events` within a few seconds', async () => {
    const killedAt = Date.now();
    await lab.killBox('fwa', 'SIGKILL');
    // fwb may have held the role a moment at start-up (the lab then hands it to fwa): only a
    // transition after the kill counts (the boxes and the test share one clock)
    const takeover = (x: CentralEvent): boolean => x.kind === 'transition' && x.member === 'fwb' && x.to === 'active' && Date.parse(x.at) >= killedAt;
    const events = await eventually('failover in the timeline', 8000, async () => {
      const e = await cliEvents();
      const lost = e.some((x) => x.kind === 'reachability' && x.member === 'fwa' && x.to === 'unreachable');
      return e.some(takeover) && lost ? e : undefined;
    });
    const seenMs = Date.now() - killedAt;
    process.stderr.write(`central: failover in the timeline ${seenMs} ms after the kill\n`);
    expect(seenMs).toBeLessThan(5000);
    expect(events.filter(takeover)).toMatchObject([{ pair: 'lab', from: 'passive' }]);
    const f = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
    expect(f.pairs[0]).toMatchObject({ health: 'degraded', activeMembers: 1 });
    expect(f.pairs[0].members[0]).toMatchObject({ reachable: false, error: { code: 'unreachable' } });
  });

  it('after a restart of central the events and "unreachable since" are still there, not duplicated', async () => {
    const before = await cliEvents();
    const since = (await central!.client.call<FleetResponse>('GET', '/v1/fleet')).pairs[0].members[0].unreachableSince;
    expect(await central!.stop()).toBe(0);
    central = await startCentralProcess(config);
    const f = await central.client.call<FleetResponse>('GET', '/v1/fleet');
    expect(f.pairs[0].members[0]).toMatchObject({ reachable: false, unreachableSince: since });
    // a few polls later: the same timeline (nothing lost, nothing twice)
    await new Promise((r) => setTimeout(r, 1000));
    const after = await cliEvents();
    expect(after).toEqual(before);
    expect(CENTRAL_TOKEN.length).toBeGreaterThan(16);
  });
});
