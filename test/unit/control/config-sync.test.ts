// Two ConfigSync objects wired back to back through fake HA1 sessions (messages go through the
// real codec), with fake appliers: the rules of commit, push, ack and divergence without daemons.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileRecord } from '../../../src/config/commit.js';
import { ConfigError } from '../../../src/config/errors.js';
import { ConfigStore } from '../../../src/config/store.js';
import type { SharedConfig, TandemConfig } from '../../../src/config/types.js';
import { CommitRefused, ConfigApplyError, ConfigSync } from '../../../src/control/config-sync.js';
import type { HaState } from '../../../src/control/election/types.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { decodeEnvelope, encodeEnvelope, type EnvelopeBody } from '../../../src/wire/codec.js';
import { boxA, parseObject, BOX_B_PATH } from '../config/fixture.js';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

const log = createLogger({ level: 'fatal' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Box {
  sync: ConfigSync;
  state: HaState;
  connected: boolean;
  applied: SharedConfig[];
  failApply: string | null;
  metrics: Metrics;
  store: ConfigStore;
  peer?: Box;
}

function makeBox(cfg: TandemConfig): Box {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cs-'));
  dirs.push(dir);
  const store = new ConfigStore(dir);
  const metrics = new Metrics();
  const box = { state: 'passive', connected: true, applied: [], failApply: null, metrics, store } as unknown as Box;
  box.sync = new ConfigSync({
    device: cfg.device,
    record: fileRecord(cfg.shared, cfg.device.name, new Date()),
    store,
    metrics,
    log,
    apply: async (shared) => {
      if (box.failApply) throw new Error(box.failApply);
      box.applied.push(shared);
      return { restartRequired: [], sessionsRemoved: 0 };
    },
  });
  box.sync.attach({
    view: () => ({ state: box.state, peerUp: box.connected, peerName: box.peer ? 'peer' : null }),
    send: (body: EnvelopeBody) => {
      if (!box.connected || !box.peer) return false;
      const peer = box.peer;
      const wire = encodeEnvelope({ sender: 0, epoch: 1, seq: 1, groupId: 1, body });
      setImmediate(() => peer.sync.onMessage(decodeEnvelope(wire).body, performance.now()));
      return true;
    },
    announce: () => {
      if (box.connected && box.peer) {
        const p = box.peer;
        setImmediate(() => p.sync.onPeerHello(box.sync.version, box.sync.hash, performance.now()));
      }
    },
  });
  return box;
}

function pair(): [Box, Box] {
  const a = makeBox(parseObject(boxA()));
  const b = makeBox(parseObject(parse(readFileSync(BOX_B_PATH, 'utf8'))));
  a.peer = b;
  b.peer = a;
  a.state = 'active';
  return [a, b];
}

function withUdp(n: number): string {
  const f = boxA();
  f.shared.sessions = { ...(f.shared.sessions ?? {}), udpS: n };
  return stringify(f);
}

/** Waits (up to 5 s) for the push to land: a loaded machine runs the peer's validation late. */
async function settle(done: () => boolean): Promise<void> {
  const start = Date.now();
  while (!done() && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 5));
}

describe('ConfigSync between two boxes', () => {
  it('a commit on the active appears on the passive with the same version and hash', async () => {
    const [a, b] = pair();
    const r = await a.sync.commit(withUdp(55), 'a.yaml');
    expect(r).toMatchObject({ changed: true, version: 1, peer: { synced: true } });
    expect(b.sync.version).toBe(1);
    expect(b.sync.hash).toBe(a.sync.hash);
    expect(b.applied.at(-1)?.sessions.udpS).toBe(55);
    expect(a.sync.status().peer.inSync).toBe(true);
    expect(b.store.load()).toMatchObject({ version: 1, origin: 'peer', hash: a.sync.hash });
    expect(a.store.load()).toMatchObject({ version: 1, origin: 'commit' });
    expect(await a.metrics.text()).toMatch(/tandem_config_version 1\n/);
    // both boxes export the same hash: what the fleet rules compare (deploy/prometheus/fleet)
    for (const box of [a, b]) expect(await box.metrics.text()).toContain(`tandem_config_info{version="1",hash="${a.sync.hash}"} 1\n`);
  });

  it('the passive refuses a local commit while the peer is up, with a clear error', async () => {
    const [, b] = pair();
    await expect(b.sync.commit(withUdp(55), 'b.yaml')).rejects.toThrow(CommitRefused);
    await expect(b.sync.commit(withUdp(55), 'b.yaml')).rejects.toThrow(/committed on the active box/);
    expect(b.applied).toEqual([]);
  });

  it('a config with errors is never applied, and the error lists them', async () => {
    const [a, b] = pair();
    const f = boxA();
    f.shared.policy.rules[0].action = 'perhaps';
    await expect(a.sync.commit(stringify(f), 'a.yaml')).rejects.toThrow(ConfigError);
    expect(a.applied).toEqual([]);
    expect(b.applied).toEqual([]);
    expect(a.sync.version).toBe(0);
  });

  it('a failed apply leaves the old config running and unsaved', async () => {
    const [a, b] = pair();
    a.failApply = 'compile error';
    await expect(a.sync.commit(withUdp(55), 'a.yaml')).rejects.toThrow(ConfigApplyError);
    expect(a.sync.version).toBe(0);
    expect(a.store.load()).toBeNull();
    expect(b.applied).toEqual([]);
  });

  it('an unchanged file is not a new version', async () => {
    const [a] = pair();
    const r = await a.sync.commit(stringify(boxA()), 'a.yaml');
    expect(r).toMatchObject({ changed: false, version: 0 });
  });

  it('the passive refuses what does not fit its device half, and the active reports it', async () => {
    const [a, b] = pair();
    // fine for A, but B has no wan interface
    delete (b as unknown as { sync: { opts: { device: { interfaces: Record<string, unknown> } } } }).sync.opts.device.interfaces.wan;
    const r = await a.sync.commit(withUdp(42), 'a.yaml');
    expect(r.peer.synced).toBe(false);
    expect(r.peer.message).toMatch(/refused it: .*shared.zones.untrust\[0\]/);
    expect(b.sync.version).toBe(0);
    expect(a.sync.status().peer.lastError).toMatch(/does not fit/);
  });

  it('a lone box may commit; when the pair meets again the active pushes and the diverged copy is kept aside', async () => {
    const [a, b] = pair();
    await a.sync.commit(withUdp(41), 'a.yaml'); // both at v1
    a.connected = b.connected = false;
    // A goes on to v2 alone; B, alone and active, commits its own v2
    await a.sync.commit(withUdp(42), 'a.yaml');
    b.state = 'active';
    await b.sync.commit(withUdp(43), 'b.yaml');
    expect(b.sync.version).toBe(2);
    // back together, B passive: A's hello shows a different hash, A pushes
    b.state = 'passive';
    a.connected = b.connected = true;
    a.sync.onPeerUp();
    a.sync.onPeerHello(b.sync.version, b.sync.hash, performance.now());
    await settle(() => b.sync.hash === a.sync.hash);
    expect(b.sync.hash).toBe(a.sync.hash);
    expect(b.applied.at(-1)?.sessions.udpS).toBe(42);
    const kept = b.sync.status().keptAside;
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ version: 2, origin: 'commit' });
    expect(kept[0].why).toMatch(/diverged/);
    expect(await b.metrics.text()).toMatch(/tandem_config_kept_aside 1\n/);
  });

  it('a passive that only missed commits fast-forwards without keeping anything aside', async () => {
    const [a, b] = pair();
    await a.sync.commit(withUdp(41), 'a.yaml');
    b.connected = a.connected = false;
    await a.sync.commit(withUdp(42), 'a.yaml');
    await a.sync.commit(withUdp(43), 'a.yaml');
    b.connected = a.connected = true;
    a.sync.onPeerHello(b.sync.version, b.sync.hash, performance.now());
    await settle(() => b.sync.version === 3);
    expect(b.sync.version).toBe(3);
    expect(b.sync.status().keptAside).toEqual([]);
  });

  it('an active box does not take config from a peer that also claims active', async () => {
    const [a, b] = pair();
    b.state = 'active';
    const r = await a.sync.commit(withUdp(44), 'a.yaml');
    expect(r.peer).toMatchObject({ synced: false });
    expect(r.peer.message).toMatch(/active too/);
    expect(b.applied).toEqual([]);
  });

  it('fetches the peer copy for display without applying it', async () => {
    const [a, b] = pair();
    await a.sync.commit(withUdp(45), 'a.yaml');
    const copy = await b.sync.fetchPeer();
    expect(copy).toMatchObject({ version: 1, hash: a.sync.hash });
    expect(copy.shared.sessions.udpS).toBe(45);
    b.connected = false;
    await expect(b.sync.fetchPeer()).rejects.toThrow(/not reachable/);
  });
});
