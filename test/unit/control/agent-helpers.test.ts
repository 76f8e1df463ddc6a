// The control agent's helpers, apart from its sockets and timers: the core it starts with, the
// messages it sends (agent-outbox.ts), where inbound messages go beside the core
// (agent-messages.ts), and the answers the core gives the operator commands.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/registry.js';
import type { EnvelopeBody } from '../../../src/wire/codec.js';
import type { Link } from '../../../src/control/agent-links.js';
import { reconfigureEventOf, startingCore } from '../../../src/control/agent-config.js';
import { Outbox } from '../../../src/control/agent-outbox.js';
import { deliverToConfigSync, PeerHealthReport } from '../../../src/control/agent-messages.js';
import type { ConfigSync } from '../../../src/control/config-sync.js';
import { commandAnswer, peerSyncing, step } from '../../../src/control/core/step.js';
import type { CoreState } from '../../../src/control/core/types.js';
import { minimal, parseObject } from '../config/fixture.js';

const cfg = parseObject(minimal());
const LINKS = [
  { name: 'ha1', session: {} },
  { name: 'ha1-backup', session: {} },
];

/** A link whose sockets record what was sent (the envelope bodies, unsealed). */
function fakeLink(name: string, at: number, session: 'up' | 'down' | 'none'): Link & { sent: { channel: string; body: EnvelopeBody }[] } {
  const sent: { channel: string; body: EnvelopeBody }[] = [];
  const sealer = (channel: string) => ({ seal: (body: EnvelopeBody) => ({ channel, body }) });
  const link = {
    name,
    at,
    index: at,
    cfg: { local: '', peer: '' },
    peerSentNs: 0,
    peerRxMs: 0,
    rttMs: null,
    hbSealer: sealer('heartbeat'),
    sessSealer: sealer('session'),
    heartbeat: { send: (m: { channel: string; body: EnvelopeBody }) => sent.push(m) },
    session: session === 'none' ? null : { up: session === 'up', send: (m: { channel: string; body: EnvelopeBody }) => (sent.push(m), true) },
    sent,
  };
  return link as unknown as Link & { sent: typeof sent };
}

/** A core joined behind an active peer (tentative with HA2). */
function joined(sync: boolean): CoreState {
  const c = step(startingCore(cfg, LINKS, sync), { type: 'start', now: 0 }).core;
  const hb = { sender: 1, state: 'active' as const, priority: 10, preempt: false, incomplete: false, echoNs: 0 };
  return step(c, { type: 'heartbeat', now: 10, link: 0, sessionsOpen: [true, true], age: 'fresh', hb }).core;
}

describe('the core the agent starts with', () => {
  it('tells the election whether HA2 runs: with it, a box joining an active peer is tentative', () => {
    expect(joined(true).election.state).toBe('tentative');
    expect(joined(false).election.state).toBe('passive');
    expect(startingCore(cfg, LINKS, true).election.config).toMatchObject({ deviceId: 0, priority: 50, sync: true });
  });

  it('reconfigures timers and preemption from the shared half', () => {
    const ev = reconfigureEventOf(cfg, 123);
    const t = cfg.shared.ha.timers;
    expect(ev).toMatchObject({ type: 'reconfigure', now: 123, deadIntervalMs: t.heartbeatIntervalMs * t.heartbeatMissed, helloIntervalMs: t.helloIntervalMs });
    expect(ev.election).not.toHaveProperty('sync');
  });
});

describe('the outbox', () => {
  const make = () => {
    const links = [fakeLink('ha1', 0, 'up'), fakeLink('ha1-backup', 1, 'down'), fakeLink('heartbeat-backup', 2, 'none')];
    const core = joined(true);
    const out = new Outbox(links, new Metrics({ defaultMetrics: false }), {
      cfg: () => cfg,
      core: () => core,
      healthyGroups: () => ['link-monitor:wan'],
      config: () => ({ version: 3, hash: 'abc' }),
      uptimeMs: () => 1500,
    });
    return { links, out };
  };
  const kinds = (l: { sent: { channel: string; body: EnvelopeBody }[] }) => l.sent.map((m) => `${m.channel}:${m.body.kind}`);

  it('a state change: a state update on every open session and a heartbeat on every link, saying the state', () => {
    const { links, out } = make();
    out.send({ type: 'send-state', state: 'tentative', reason: 'peer-active', incomplete: true }, 10);
    expect(links.map(kinds)).toEqual([['session:stateUpdate', 'heartbeat:heartbeat'], ['heartbeat:heartbeat'], ['heartbeat:heartbeat']]);
    const update = links[0].sent[0].body;
    expect(update).toEqual({ kind: 'stateUpdate', stateUpdate: { state: 'tentative', reason: 'peer-active' } });
    const hb = links[2].sent[0].body;
    expect(hb.kind === 'heartbeat' && hb.heartbeat).toMatchObject({ state: 'tentative', incomplete: true, link: 2, healthyGroups: ['link-monitor:wan'] });
  });

  it('hellos on the sessions, carrying the core state and the running config', () => {
    const { links, out } = make();
    out.send({ type: 'send-hellos' }, 10);
    expect(links.map(kinds)).toEqual([['session:hello'], [], []]);
    const hello = links[0].sent[0].body;
    expect(hello.kind === 'hello' && hello.hello).toMatchObject({
      state: 'tentative',
      stateReason: 'peer-active',
      configVersion: 3,
      configHash: 'abc',
      uptimeMs: 1500,
    });
  });

  it('a config message goes on the first open session only; none open: not sent', () => {
    const { links, out } = make();
    const body: EnvelopeBody = { kind: 'configRequest', configRequest: { requestId: 7 } };
    expect(out.configMessage(body)).toBe(true);
    expect(links.map(kinds)).toEqual([['session:configRequest'], [], []]);
    (links[0].session as { up: boolean }).up = false;
    expect(out.configMessage(body)).toBe(false);
  });

  it('take-over requests and the goodbye on every open session', () => {
    const { links, out } = make();
    out.send({ type: 'send-take-over', reason: 'operator-failover' }, 10);
    out.goodbye('shutdown');
    expect(links.map(kinds)).toEqual([['session:command', 'session:goodbye'], [], []]);
  });
});

describe('inbound messages beside the core', () => {
  const hello: EnvelopeBody = {
    kind: 'hello',
    hello: {
      name: 'fw-b',
      priority: 100,
      preempt: false,
      state: 'tentative',
      stateReason: 'peer-active',
      softwareVersion: '0.1.0',
      groupId: 1,
      mode: 'active-passive',
      heartbeatIntervalMs: 5,
      heartbeatMissed: 4,
      configVersion: 4,
      configHash: 'h4',
      uptimeMs: 10,
    },
  };
  const push: EnvelopeBody = { kind: 'configRequest', configRequest: { requestId: 1 } };

  it('config sync gets the hello and the config messages; what it cannot take is refused with why', () => {
    const seen: string[] = [];
    const sync = {
      onPeerHello: (v: number, h: string) => seen.push(`hello ${v} ${h}`),
      onMessage: (b: EnvelopeBody) => seen.push(b.kind),
    } as unknown as ConfigSync;
    expect(deliverToConfigSync(hello, sync, 0)).toBeNull();
    expect(deliverToConfigSync(push, sync, 0)).toBeNull();
    expect(deliverToConfigSync({ kind: 'goodbye', goodbye: { reason: 'x' } }, sync, 0)).toBeNull();
    expect(seen).toEqual(['hello 4 h4', 'configRequest']);
    expect(deliverToConfigSync(push, null, 0)).toBe('config-sync-off');
    expect(deliverToConfigSync(hello, null, 0)).toBeNull();
    const hb: EnvelopeBody = { kind: 'heartbeat', heartbeat: { state: 'active', priority: 1, preempt: false, sentNs: 1, echoNs: 0, echoDelayNs: 0, link: 0 } };
    expect(deliverToConfigSync(hb, sync, 0)).toBe('unexpected-type');
  });

  it('the peer vouches for a monitor group only in a report composed after ours failed', () => {
    const r = new PeerHealthReport();
    expect(r.vouches('link-monitor:wan', 0)).toBe(false);
    r.note(['link-monitor:wan'], 2_000_000); // it echoed our heartbeat sent at 2 ms
    expect(r.vouches('link-monitor:wan', 2)).toBe(true);
    expect(r.vouches('link-monitor:wan', 3)).toBe(false);
    expect(r.vouches('link-monitor:lan', 0)).toBe(false);
    r.note(undefined, 5_000_000);
    expect(r.vouches('link-monitor:wan', 0)).toBe(false);
  });
});

describe('operator commands', () => {
  it('answer with the state change, or that there was none', () => {
    const e = joined(true).election;
    expect(commandAnswer('active', e)).toBe('active -> tentative (peer-active)');
    expect(commandAnswer('tentative', e)).toBe('state unchanged: tentative (peer-active)');
    expect(commandAnswer('active', { ...e, state: 'passive', reason: 'operator-failover' }, true)).toBe(
      'active-primary -> active-secondary (operator-failover)',
    );
  });

  it('a failover waits for the peer only while we are active and it is tentative', () => {
    let c = step(startingCore(cfg, LINKS, true), { type: 'start', now: 0 }).core;
    c = step(c, { type: 'timer', now: 300, name: 'initial-wait' }).core;
    expect(c.election.state).toBe('active');
    const heard = (state: 'tentative' | 'passive', now: number): CoreState => {
      const hb = { sender: 1, state, priority: 100, preempt: false, incomplete: false, echoNs: 0 };
      return step(c, { type: 'heartbeat', now, link: 0, sessionsOpen: [true, true], age: 'fresh', hb }).core;
    };
    c = heard('tentative', 310);
    expect(peerSyncing(c)).toBe(true);
    c = heard('passive', 320);
    expect(peerSyncing(c)).toBe(false);
    expect(peerSyncing(joined(true))).toBe(false);
  });
});
