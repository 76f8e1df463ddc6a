// The fleet model in scenarios: recorded statuses and failed polls in, the pair view and the
// events to store out. No timers, no I/O.
import { describe, expect, it } from 'vitest';
import { FleetModel } from '../../../src/central/fleet-model.js';
import type { PollResult } from '../../../src/central/member-record.js';
import { summarizeStatus } from '../../../src/central/status-shape.js';
import type { StatusResponse } from '../../../src/api/protocol.js';
import { A_START, B_START, boxStatus, inventory, T0 } from './fixtures.js';

function ok(status: StatusResponse, atMs: number): PollResult {
  const shape = summarizeStatus(status);
  if (!shape.ok) throw new Error(shape.why);
  return { atMs, outcome: 'ok', summary: shape.summary };
}
const fail = (outcome: PollResult['outcome'], atMs: number): PollResult => ({ atMs, outcome, message: `${outcome} happened` });

function settled(): FleetModel {
  const m = new FleetModel(inventory());
  m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START), T0));
  m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'passive', B_START), T0));
  return m;
}

describe('fleet model', () => {
  it('a pair not polled yet is unknown; a settled pair is ok with both first transitions as events', () => {
    const m = new FleetModel(inventory());
    expect(m.view(T0).pairs[0].health).toBe('unknown');
    const a = m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START), T0))!;
    expect(a.events).toEqual([
      { at: A_START[0].at, pair: 'p1', member: 'fwa', kind: 'transition', from: 'initial', to: 'active', reason: 'election', detail: { box: 'fw-a' } },
    ]);
    expect(m.view(T0).pairs[0].health).toBe('unknown');
    m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'passive', B_START), T0));
    const p = m.view(T0).pairs[0];
    expect(p).toMatchObject({
      health: 'ok',
      activeMembers: 1,
      rolesAgree: true,
      configAgree: true,
      configVersion: 1,
      versionsMatch: true,
      syncLagMs: 3,
      problems: [],
    });
    expect(p.members.map((x) => [x.name, x.state, x.reachable])).toEqual([
      ['fwa', 'active', true],
      ['fwb', 'passive', true],
    ]);
  });

  it('the same transitions seen again are not new; a failover brings exactly the new ones', () => {
    const m = settled();
    expect(m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START), T0 + 2000))!.events).toEqual([]);
    const fo = { at: '2026-12-07T10:00:03.000Z', from: 'passive', to: 'active', reason: 'peer-dead' };
    const events = m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'active', [...B_START, fo]), T0 + 4000))!.events;
    expect(events.map((e) => [e.kind, e.member, e.from, e.to, e.reason])).toEqual([['transition', 'fwb', 'passive', 'active', 'peer-dead']]);
    expect(m.view(T0 + 4000).pairs[0].members[1].lastTransition).toEqual(fo);
  });

  it('the passive stops answering: unreachable since its first failed poll, with its code; the pair is degraded; back again is one event', () => {
    const m = settled();
    const first = m.apply('p1', 'fwb', fail('timeout', T0 + 2000))!.events;
    expect(first).toEqual([
      {
        at: new Date(T0 + 2000).toISOString(),
        pair: 'p1',
        member: 'fwb',
        kind: 'reachability',
        from: 'reachable',
        to: 'unreachable',
        reason: 'timeout',
        detail: { message: 'timeout happened' },
      },
    ]);
    // a different failure later is no new event, and the since stays
    expect(m.apply('p1', 'fwb', fail('unreachable', T0 + 4000))!.events).toEqual([]);
    const p = m.view(T0 + 12_000).pairs[0];
    expect(p.health).toBe('degraded');
    expect(p.problems).toEqual(['fwb unreachable (unreachable)']);
    expect(p.members[1]).toMatchObject({ reachable: false, unreachableSince: new Date(T0 + 2000).toISOString(), unreachableForS: 10, state: 'passive' });
    expect(p.rolesAgree).toBeNull();
    const back = m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'passive', B_START), T0 + 14_000))!.events;
    expect(back.map((e) => [e.kind, e.from, e.to, e.reason, e.detail])).toEqual([
      ['reachability', 'unreachable', 'reachable', 'unreachable', { unreachableForS: 12 }],
    ]);
    expect(m.view(T0 + 14_000).pairs[0].health).toBe('ok');
  });

  it('the active stops answering and the passive still says passive: down (nobody is known to forward)', () => {
    const m = settled();
    m.apply('p1', 'fwa', fail('timeout', T0 + 2000));
    expect(m.view(T0 + 2000).pairs[0]).toMatchObject({ health: 'down', activeMembers: 0 });
  });

  it('down when no member answers, and when none is active', () => {
    const m = settled();
    m.apply('p1', 'fwa', fail('unreachable', T0 + 1));
    m.apply('p1', 'fwb', fail('bad-response', T0 + 1));
    expect(m.view(T0 + 2).pairs[0].health).toBe('down');
    const n = new FleetModel(inventory());
    n.apply('p1', 'fwa', ok(boxStatus('fw-a', 'suspended', A_START), T0));
    n.apply('p1', 'fwb', ok(boxStatus('fw-b', 'passive', B_START), T0));
    const p = n.view(T0).pairs[0];
    expect(p.health).toBe('down');
    expect(p.problems).toContain('no member is active');
  });

  it('a never-polled member failing its first poll is an unknown -> unreachable event', () => {
    const m = new FleetModel(inventory());
    const e = m.apply('p1', 'fwb', fail('unauthorized', T0))!.events;
    expect(e.map((x) => [x.from, x.to, x.reason])).toEqual([['unknown', 'unreachable', 'unauthorized']]);
  });

  it('split brain (both active) and differing configs and software are degraded, each said', () => {
    const m = new FleetModel(inventory());
    m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START), T0));
    m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'active', B_START, { hash: 'h2', configVersion: 2, software: '0.2.0' }), T0));
    const p = m.view(T0).pairs[0];
    expect(p).toMatchObject({ health: 'degraded', activeMembers: 2, rolesAgree: false, configAgree: false, versionsMatch: false, configVersion: 2 });
    expect(p.problems).toEqual(['both members active', 'configs differ']);
  });

  it('active/active: one active-primary and one active-secondary is ok, with the larger sync lag', () => {
    const m = new FleetModel(inventory());
    m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active-primary', A_START, { mode: 'active-active', lagP99: 2 }), T0));
    m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'active-secondary', B_START, { mode: 'active-active', lagP99: 7, backlog: 4 }), T0));
    expect(m.view(T0).pairs[0]).toMatchObject({ health: 'ok', activeMembers: 2, rolesAgree: true, syncLagMs: 7, syncBacklog: 4 });
  });

  it('a config change is an event with both versions and hashes', () => {
    const m = settled();
    const e = m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START, { configVersion: 2, hash: 'h2' }), T0 + 2000))!.events;
    expect(e.map((x) => [x.kind, x.from, x.to, x.reason, x.detail])).toEqual([['config', 'v1', 'v2', 'h2', { fromHash: 'h1', toHash: 'h2' }]]);
  });

  it('restored records: last known state and unreachable-since before the first poll, no duplicate transitions after it', () => {
    const m = settled();
    m.apply('p1', 'fwb', fail('timeout', T0 + 2000));
    const restored = [m.record('p1', 'fwa')!, m.record('p1', 'fwb')!];
    const again = new FleetModel(inventory(), restored);
    const before = again.view(T0 + 60_000).pairs[0];
    expect(before.health).toBe('unknown');
    expect(before.members[1]).toMatchObject({ reachable: false, unreachableForS: 58, state: 'passive' });
    expect(again.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', A_START), T0 + 61_000))!.events).toEqual([]);
  });

  it('a member restarted: its new history is new, the old entries are not repeated', () => {
    const m = settled();
    const fresh = [{ at: '2026-12-07T10:05:00.000Z', from: 'initial', to: 'passive', reason: 'peer-active' }];
    const e = m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'passive', fresh), T0 + 300_000))!.events;
    expect(e.map((x) => [x.kind, x.to])).toEqual([['transition', 'passive']]);
  });

  it('transitions older than the retention window are not stored', () => {
    const m = new FleetModel(inventory());
    const old = [{ at: '2026-10-01T00:00:00.000Z', from: 'initial', to: 'active', reason: 'election' }];
    expect(m.apply('p1', 'fwa', ok(boxStatus('fw-a', 'active', old), T0))!.events).toEqual([]);
  });

  it('a record put back (the store failed) makes the next poll find the same events again', () => {
    const m = settled();
    const prev = m.record('p1', 'fwb')!;
    const fo = { at: '2026-12-07T10:00:03.000Z', from: 'passive', to: 'active', reason: 'peer-dead' };
    const first = m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'active', [...B_START, fo]), T0 + 4000))!.events;
    m.restore(prev);
    expect(m.apply('p1', 'fwb', ok(boxStatus('fw-b', 'active', [...B_START, fo]), T0 + 6000))!.events).toEqual(first);
  });

  it('members outside the inventory are ignored', () => {
    expect(new FleetModel(inventory()).apply('nope', 'fwa', fail('timeout', T0))).toBeNull();
  });
});

describe('status shape', () => {
  it('garbage is refused with the key that is wrong', () => {
    expect(summarizeStatus('hello')).toMatchObject({ ok: false });
    expect(summarizeStatus({ local: { name: 'x' } })).toMatchObject({ ok: false, why: expect.stringContaining('local.state') });
    const s = boxStatus('fw-a', 'active', A_START) as unknown as { transitions: unknown[] };
    s.transitions = [{ at: 'yesterday', from: 'a', to: 'b', reason: '' }];
    expect(summarizeStatus(s)).toMatchObject({ ok: false, why: expect.stringContaining('transitions.0.at') });
  });
  it('a status without sync, config or version is fine', () => {
    const s = { ...boxStatus('fw-a', 'active', A_START), sync: null, config: null };
    delete (s.local as { softwareVersion?: string }).softwareVersion;
    expect(summarizeStatus(s)).toMatchObject({ ok: true, summary: { sync: null, configVersion: null, softwareVersion: null } });
  });
});
