// tandem central against fake members on loopback: one answering a sane status, one answering
// garbage, one that accepts the connection and never answers. The sane one's view stays fresh
// (it is polled at its own pace) while the others show unreachable with their codes; SIGTERM
// closes central cleanly.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetResponse, MemberView } from '../../src/central/protocol.js';
import { boxStatus } from '../unit/central/fixtures.js';
import { eventually, startCentralProcess, writeInventory, type CentralProcess } from './helpers/central.js';
import { ensureBuilt } from './helpers/lab.js';

const MEMBER_TOKEN = 'member-token-0123456789abcdef';
const servers: Server[] = [];
const hits = { sane: 0, sane2: 0, garbage: 0, hang: 0 };

async function fake(kind: keyof typeof hits): Promise<string> {
  // a transition of now: inside any retention window, whenever the test runs
  const started = [{ at: new Date().toISOString(), from: 'initial', to: kind === 'sane' ? 'active' : 'passive', reason: 'election' }];
  const s = createServer((req, res: ServerResponse) => {
    hits[kind]++;
    req.resume();
    if (req.headers.authorization !== `Bearer ${MEMBER_TOKEN}`) return void res.writeHead(401).end('{"error":{"code":"unauthorized","message":"no"}}');
    if (kind === 'garbage') return void res.end('\u0000\u00ffnot json at all');
    if (kind === 'hang') return; // never answers
    res.end(JSON.stringify(kind === 'sane' ? boxStatus('fw-a', 'active', started) : boxStatus('fw-b', 'passive', started)));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

let central: CentralProcess;

beforeAll(async () => {
  await ensureBuilt(['src/cli/main.js', 'src/central/service.js']);
  const config = writeInventory(
    [
      {
        name: 'garbled',
        members: [
          { name: 'sane', api: await fake('sane'), token: MEMBER_TOKEN },
          { name: 'garbage', api: await fake('garbage'), token: MEMBER_TOKEN },
        ],
      },
      {
        name: 'stuck',
        members: [
          { name: 'sane2', api: await fake('sane2'), token: MEMBER_TOKEN },
          { name: 'hang', api: await fake('hang'), token: MEMBER_TOKEN },
        ],
      },
    ],
    { pollIntervalMs: 200, pollTimeoutMs: 150 },
  );
  central = await startCentralProcess(config);
});

afterAll(async () => {
  await central?.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const member = (f: FleetResponse, pair: string, name: string): MemberView => f.pairs.find((p) => p.name === pair)!.members.find((m) => m.name === name)!;

describe('central with a garbage and a hanging member', () => {
  it('shows the sane members fresh and the others unreachable with their codes', async () => {
    const fleet = await eventually('every member polled', 5000, async () => {
      const f = await central.client.call<FleetResponse>('GET', '/v1/fleet');
      return f.pairs.every((p) => p.health !== 'unknown') ? f : undefined;
    });
    expect(member(fleet, 'garbled', 'sane')).toMatchObject({ reachable: true, state: 'active' });
    expect(member(fleet, 'garbled', 'garbage')).toMatchObject({ reachable: false, error: { code: 'bad-response' } });
    expect(member(fleet, 'stuck', 'sane2')).toMatchObject({ reachable: true, state: 'passive' });
    expect(member(fleet, 'stuck', 'hang')).toMatchObject({ reachable: false, error: { code: 'timeout' } });
    expect(fleet.pairs.map((p) => [p.name, p.health])).toEqual([
      ['garbled', 'degraded'],
      ['stuck', 'down'],
    ]);
  });

  it('the hanging member does not slow the others: each sane one is polled every interval', async () => {
    const before = { ...hits };
    await new Promise((r) => setTimeout(r, 2000));
    // 200 ms interval: 10 polls in 2 s; the hanging member's 150 ms timeouts take nothing from them
    expect(hits.sane - before.sane).toBeGreaterThanOrEqual(8);
    expect(hits.sane2 - before.sane2).toBeGreaterThanOrEqual(8);
    const f = await central.client.call<FleetResponse>('GET', '/v1/fleet');
    const sane = member(f, 'stuck', 'sane2');
    expect(Date.parse(f.at) - Date.parse(sane.lastOkAt!)).toBeLessThan(600);
    expect(member(f, 'stuck', 'hang').unreachableForS).toBeGreaterThanOrEqual(2);
  });

  it('the timeline holds the reachability events; metrics count the polls by result', async () => {
    const r = await central.client.call<{ events: { member: string; kind: string; to: string; reason: string }[] }>('GET', '/v1/events?since=10m');
    const reach = r.events.filter((e) => e.kind === 'reachability').map((e) => [e.member, e.to, e.reason]);
    expect(reach).toEqual(
      expect.arrayContaining([
        ['garbage', 'unreachable', 'bad-response'],
        ['hang', 'unreachable', 'timeout'],
      ]),
    );
    expect(
      r.events
        .filter((e) => e.kind === 'transition')
        .map((e) => e.member)
        .sort(),
    ).toEqual(['sane', 'sane2']);
    const text = await (await fetch(`${central.address}/metrics`)).text();
    expect(text).toMatch(/tandem_central_polls_total\{result="timeout"\} [1-9]/);
    expect(text).toMatch(/tandem_central_polls_total\{result="bad-response"\} [1-9]/);
    expect(text).toContain('tandem_central_members_unreachable 2');
    expect(text).toContain('tandem_central_pairs{health="degraded"} 1');
  });

  it('never logs a token; SIGTERM stops it cleanly', async () => {
    expect(await central.stop()).toBe(0);
    expect(central.log()).not.toContain(MEMBER_TOKEN);
    expect(central.log()).toContain('central stopped');
  });
});
