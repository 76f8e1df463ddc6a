// The apply-shared request over the dataplane's port: DataplaneClient.applyShared (the control
// worker's end, src/daemon/dataplane-client.ts) against the real host (src/dataplane/host.ts)
// running an engine on fake capture I/O, and against a dataplane that answers late.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { DataplaneClient, type ApplyResult } from '../../../src/daemon/dataplane-client.js';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import type { DataplaneIo } from '../../../src/dataplane/engine.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';
import { runDataplane } from '../../../src/dataplane/host.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { labRaw } from './firewall-helpers.js';

const ports: MessagePort[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const p of ports.splice(0)) p.close();
});

const io: DataplaneIo = {
  open: () => ({ send: () => true, close: () => undefined }),
  macOf: (device) => parseMac(device === 'lan0' ? '0a:00:00:00:01:02' : '0a:00:00:00:02:02'),
  mtuOf: () => 1500,
};

function hosted() {
  const config = parseConfig(stringify(labRaw()));
  const stats = new FirewallStats(config.shared.policy.rules.length, config.shared.nat.length);
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const engine = runDataplane({ config, sharedBuffer: new SharedState(COUNTER_COUNT).buffer, logLevel: 'fatal', firewallBuffer: stats.buffer }, port1, io);
  if (engine === null) throw new Error('the dataplane did not start');
  // the engine's tick timer runs until it hears stop
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        port2.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
        port2.postMessage({ type: 'stop' });
      }),
  );
  return { config, stats, client: new DataplaneClient(port2) };
}

describe('apply-shared through the host', () => {
  it('applies and answers the result with the new stats layout', async () => {
    const { config, stats, client } = hosted();
    const next = structuredClone(config.shared);
    next.policy.rules = next.policy.rules.slice(1);
    next.sessions.max = 10;
    const res = await client.applyShared(next);
    expect(res).toMatchObject({
      ok: true,
      restartRequired: ['shared.sessions.max'],
      sessionsRemoved: 0,
      ruleNames: ['ping', 'lab-test'],
      natRuleNames: ['hide-lan'],
    });
    if (!res.ok) return;
    expect(res.firewallBuffer).toBeInstanceOf(SharedArrayBuffer);
    expect(res.firewallBuffer).not.toBe(stats.buffer);
    expect(() => new FirewallStats(2, 1, res.firewallBuffer!)).not.toThrow();
  });

  it('a config it cannot compile, or no config at all: ok false with the reason', async () => {
    const { config, client } = hosted();
    const bad = structuredClone(config.shared);
    bad.routes.push({ to: '10.9.0.0/16', via: '10.0.2.254', interface: 'dmz' });
    const res = await client.applyShared(bad);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error).toContain('dmz');
    const none = await client.applyShared(null as never);
    expect(none).toEqual({ ok: false, error: 'apply-shared needs the shared half of a config as an object, got null' });
  });
});

describe('DataplaneClient.applyShared', () => {
  it('no answer in time: ok false saying the outcome is unknown; the late answer goes to onLateApply', async () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const held: { id: number }[] = [];
    port1.on('message', (m: { id: number }) => held.push(m));
    const client = new DataplaneClient(port2, { applyMs: 50 });
    const late: ApplyResult[] = [];
    client.onLateApply = (r) => late.push(r);
    const res = await client.applyShared(structuredClone(parseConfig(stringify(labRaw())).shared));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error).toMatch(/did not answer the apply within 50 ms.*outcome unknown/);
    expect(client.pendingCount).toBe(0);
    const result: ApplyResult = { ok: true, restartRequired: [], sessionsRemoved: 0, firewallBuffer: null, ruleNames: [], natRuleNames: [] };
    port1.postMessage({ type: 'applied', id: held[0].id, result });
    port1.postMessage({ type: 'applied', id: 999, result }); // never asked: ignored
    await new Promise((r) => setTimeout(r, 50));
    expect(late).toEqual([result]);
  });
});
