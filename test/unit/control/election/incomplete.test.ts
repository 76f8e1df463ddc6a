// Where both boxes could hold the role, a box whose session table may lack the pair's sessions
// (since start: no completed bulk sync, never active beside a passive peer) never wins over one
// whose table is complete: the winner's table is dumped to the loser, and in the chaos run an
// incomplete dump wiped the complete table (every connection lost).
import { describe, expect, it } from 'vitest';
import { step } from '../../../../src/control/election/step.js';
import type { ElectionState, PeerView } from '../../../../src/control/election/types.js';
import { better, reach, worse } from './helpers.js';

function heard(s: ElectionState, peer: PeerView, selfIncomplete: boolean, now = 2000) {
  const r = step(s, { type: 'peer-heard', now, peer, selfIncomplete });
  const t = r.actions.find((a) => a.type === 'transition');
  return { state: r.state, transition: t && t.type === 'transition' ? `${t.to} (${t.reason})` : null, announce: r.actions.some((a) => a.type === 'announce') };
}

describe('split brain (both active)', () => {
  it('the incomplete box yields to the complete one, even when it is the better device', () => {
    const r = heard(reach.active(), worse('active', { incomplete: false }), true);
    expect(r.transition).toBe('passive (split-brain-resolved)');
  });

  it('the complete box keeps the role and announces, even when it is the worse device', () => {
    const r = heard(reach.active(), better('active', { incomplete: true }), false);
    expect(r.transition).toBeNull();
    expect(r.state.state).toBe('active');
    expect(r.announce).toBe(true);
  });

  it('two alike: the better device keeps it, as before', () => {
    expect(heard(reach.active(), better('active', { incomplete: true }), true).transition).toBe('passive (split-brain-resolved)');
    expect(heard(reach.active(), better('active'), false).transition).toBe('passive (split-brain-resolved)');
    expect(heard(reach.active(), worse('active', { incomplete: true }), true).transition).toBeNull();
  });
});

describe('elections with nobody active', () => {
  it('initial: the better device with an empty table loses to a passive peer holding the sessions', () => {
    const r = heard(reach.initial(), worse('passive'), true, 100);
    expect(r.transition).toBe('passive (election-lost)');
  });

  it('initial: against another fresh box, priority decides', () => {
    expect(heard(reach.initial(), worse('initial', { incomplete: true }), true, 100).transition).toBe('active (election-won)');
  });

  it('passive: the worse device holding the sessions takes the role from a better, incomplete passive', () => {
    const passive = reach.passive();
    const r = heard(passive, better('passive', { incomplete: true }), false);
    expect(r.transition).toBe('active (election-won)');
  });

  it('passive: a better, complete passive peer is left to take it', () => {
    expect(heard(reach.passive(), better('passive'), false).transition).toBeNull();
  });

  it('the flag is kept from the latest peer-heard event for the timers that elect later', () => {
    const s = heard(reach.initial(), worse('passive'), true, 100).state;
    expect(s.incomplete).toBe(true);
  });
});
