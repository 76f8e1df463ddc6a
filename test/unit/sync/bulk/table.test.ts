// Every receiver phase and every sender phase x every event, each with its expected outcome; the
// coverage tests at the end fail when a phase or an event type is added without rows here. States
// are reached through step() itself (a script per phase), never written by hand.
import { describe, expect, it } from 'vitest';
import {
  initialBulkState,
  outEvent,
  outFate,
  RX_PHASES,
  step,
  TX_PHASES,
  type BulkEvent,
  type BulkState,
  type RxPhase,
  type TxPhase,
} from '../../../../src/sync/bulk.js';
import { Prng } from '../../../fuzz/lib/prng.js';
import { emptyRecord, REC_BULK_BEGIN, REC_BULK_END, REC_LOST, REC_UPSERT } from '../../../../src/wire/session-record.js';
import { referenceWhole } from './reference.js';
import { parseEvent } from './script.js';

/** Replays script lines from a fresh machine; throws on an invalid pair so a setup never hides one. */
function reach(lines: string[]): BulkState {
  let s = initialBulkState();
  for (const line of lines) {
    const r = step(s, parseEvent(line));
    if (r.actions.some((a) => a.type === 'invalid-transition')) throw new Error(`setup: "${line}" is invalid here`);
    s = r.state;
  }
  return s;
}

const RX_SETUP: Record<RxPhase, string[]> = {
  idle: ['role idle', 'connected'],
  requested: ['role receiver', 'connected'],
  receiving: ['role receiver', 'connected', 'begin-pushed'],
  complete: ['role receiver', 'connected', 'begin-pushed', 'end-pushed 1 at=5'],
  interrupted: ['role receiver', 'connected', 'begin-pushed', 'disconnected'],
};

const TX_SETUP: Record<TxPhase, string[]> = {
  idle: ['role sender', 'connected'],
  queued: ['role sender', 'connected', 'peer-request connect'],
  dumping: ['role sender', 'connected', 'peer-request connect', 'begin-out'],
  'dumping-queued': ['role sender', 'connected', 'peer-request connect', 'begin-out', 'peer-request gap'],
};

/** One event of each kind (role in all three targets). */
const EVENTS: Record<string, string> = {
  'role sender': 'role sender',
  'role receiver': 'role receiver',
  'role idle': 'role idle',
  connected: 'connected',
  disconnected: 'disconnected',
  gap: 'gap 2 4',
  overflow: 'overflow 100',
  'request-timeout': 'request-timeout',
  'begin-pushed': 'begin-pushed',
  'records-pushed': 'records-pushed 10',
  'end-pushed': 'end-pushed 10 at=9',
  'peer-request': 'peer-request gap',
  'resync-needed': 'resync-needed backlog',
  'begin-out': 'begin-out',
  'end-out': 'end-out',
  'out-lost': 'out-lost 7',
};

/** The phase after the event and the action types in order; or nothing happens at all. */
type Expect<P> = { to: P; actions: string[] } | 'ignored' | 'invalid';
const same = <P>(to: P, ...actions: string[]): Expect<P> => ({ to, actions });

const RX_TABLE: Record<RxPhase, Record<string, Expect<RxPhase>>> = {
  idle: {
    'role sender': same('idle'),
    'role receiver': same('requested', 'rx-transition', 'send-bulk-request'),
    'role idle': 'ignored',
    connected: 'invalid',
    disconnected: same('idle', 'connection-lost'),
    gap: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving', 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same('idle', 'stale-end'),
    'peer-request': same('idle', 'dump-deferred'),
    'resync-needed': 'ignored',
    'begin-out': same('idle', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': 'ignored',
  },
  requested: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': 'ignored',
    'role idle': same('requested'),
    connected: 'invalid',
    disconnected: same('requested', 'connection-lost'),
    gap: same('requested', 'push-clear', 'send-bulk-request'),
    overflow: same('requested', 'push-clear', 'send-bulk-request'),
    'request-timeout': same('requested', 'send-bulk-request'),
    'begin-pushed': same('receiving', 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same('requested', 'stale-end'),
    'peer-request': same('requested', 'dump-deferred'),
    'resync-needed': 'ignored',
    'begin-out': same('requested', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': 'ignored',
  },
  receiving: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': 'ignored',
    'role idle': same('receiving'),
    connected: 'invalid',
    disconnected: same('interrupted', 'connection-lost', 'rx-transition'),
    gap: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving'),
    'records-pushed': same('receiving'),
    'end-pushed': same('complete', 'rx-transition', 'bulk-complete'),
    'peer-request': same('receiving', 'dump-deferred'),
    'resync-needed': 'ignored',
    'begin-out': same('receiving', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': 'ignored',
  },
  complete: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': 'ignored',
    'role idle': same('complete'),
    connected: 'invalid',
    disconnected: same('complete', 'connection-lost'),
    gap: same('requested', 'rx-transition', 'bulk-incomplete', 'push-clear', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'bulk-incomplete', 'push-clear', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving', 'rx-transition', 'bulk-incomplete'),
    'records-pushed': 'ignored',
    'end-pushed': same('complete', 'stale-end'),
    'peer-request': same('complete', 'dump-deferred'),
    'resync-needed': 'ignored',
    'begin-out': same('complete', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': 'ignored',
  },
  interrupted: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': 'ignored',
    'role idle': same('interrupted'),
    connected: same('requested', 'rx-transition', 'send-bulk-request'),
    disconnected: 'ignored',
    gap: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'push-clear', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving', 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same('interrupted', 'stale-end'),
    'peer-request': 'invalid',
    'resync-needed': 'ignored',
    'begin-out': same('interrupted', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': 'ignored',
  },
};

const TX_TABLE: Record<TxPhase, Record<string, Expect<TxPhase>>> = {
  idle: {
    'role sender': 'ignored',
    'role receiver': same('idle', 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same('idle', 'sender-reset'),
    connected: 'invalid',
    disconnected: same('idle', 'connection-lost'),
    gap: 'invalid',
    overflow: 'invalid',
    // a sender asks the peer for nothing
    'request-timeout': 'ignored',
    'begin-pushed': 'ignored',
    'records-pushed': 'ignored',
    'end-pushed': same('idle', 'stale-end'),
    'peer-request': same('queued', 'tx-transition', 'request-dump'),
    'resync-needed': same('queued', 'resync-started', 'tx-transition', 'request-dump'),
    'begin-out': same('dumping', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': same('queued', 'tx-transition', 'request-dump'),
  },
  queued: {
    'role sender': 'ignored',
    'role receiver': same('queued', 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same('queued', 'sender-reset'),
    connected: 'invalid',
    disconnected: same('queued', 'connection-lost'),
    gap: 'invalid',
    overflow: 'invalid',
    // a sender asks the peer for nothing
    'request-timeout': 'ignored',
    'begin-pushed': 'ignored',
    'records-pushed': 'ignored',
    'end-pushed': same('queued', 'stale-end'),
    'peer-request': same('queued', 'dump-coalesced'),
    'resync-needed': same('queued', 'resync-started', 'dump-coalesced'),
    'begin-out': same('dumping', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': same('queued', 'dump-coalesced'),
  },
  dumping: {
    'role sender': 'ignored',
    'role receiver': same('dumping', 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same('dumping', 'sender-reset'),
    connected: 'invalid',
    disconnected: same('dumping', 'connection-lost'),
    gap: 'invalid',
    overflow: 'invalid',
    // a sender asks the peer for nothing
    'request-timeout': 'ignored',
    'begin-pushed': 'ignored',
    'records-pushed': 'ignored',
    'end-pushed': same('dumping', 'stale-end'),
    'peer-request': same('dumping-queued', 'tx-transition', 'request-dump'),
    'resync-needed': same('dumping-queued', 'resync-started', 'tx-transition', 'request-dump'),
    'begin-out': same('dumping'),
    'end-out': same('idle', 'tx-transition'),
    'out-lost': same('dumping-queued', 'tx-transition', 'request-dump'),
  },
  'dumping-queued': {
    'role sender': 'ignored',
    'role receiver': same('dumping-queued', 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same('dumping-queued', 'sender-reset'),
    connected: 'invalid',
    disconnected: same('dumping-queued', 'connection-lost'),
    gap: 'invalid',
    overflow: 'invalid',
    // a sender asks the peer for nothing
    'request-timeout': 'ignored',
    'begin-pushed': 'ignored',
    'records-pushed': 'ignored',
    'end-pushed': same('dumping-queued', 'stale-end'),
    'peer-request': same('dumping-queued', 'dump-coalesced'),
    'resync-needed': same('dumping-queued', 'resync-started', 'dump-coalesced'),
    'begin-out': same('dumping', 'tx-transition'),
    'end-out': same('queued', 'tx-transition'),
    'out-lost': same('dumping-queued', 'dump-coalesced'),
  },
};

function check<P>(from: BulkState, line: string, expected: Expect<P>, phase: (s: BulkState) => P): void {
  const before = structuredClone(from);
  const r = step(from, parseEvent(line));
  expect(from).toEqual(before); // pure: the input is never touched
  const types = r.actions.map((a) => a.type);
  if (expected === 'ignored') {
    expect(r.state).toBe(from);
    expect(types).toEqual([]);
  } else if (expected === 'invalid') {
    expect(r.state).toBe(from);
    expect(types).toEqual(['invalid-transition']);
  } else {
    expect(phase(r.state)).toBe(expected.to);
    expect(types).toEqual(expected.actions);
  }
}

describe('bulk machine: receiver phase x event', () => {
  for (const phase of RX_PHASES) {
    for (const [name, line] of Object.entries(EVENTS)) {
      it(`${phase} x ${name}`, () => {
        const from = reach(RX_SETUP[phase]);
        expect(from.rx.phase).toBe(phase);
        check(from, line, RX_TABLE[phase][name], (s) => s.rx.phase);
      });
    }
  }
});

describe('bulk machine: sender phase x event', () => {
  for (const phase of TX_PHASES) {
    for (const [name, line] of Object.entries(EVENTS)) {
      it(`${phase} x ${name}`, () => {
        const from = reach(TX_SETUP[phase]);
        expect(from.tx.phase).toBe(phase);
        check(from, line, TX_TABLE[phase][name], (s) => s.tx.phase);
      });
    }
  }
  // the sender's own phases meet an overflow only once it is no longer the sender
  it('queued x overflow (as receiver): the queued dump request may be lost', () => {
    const from = reach([...TX_SETUP.queued, 'role receiver']);
    check(from, 'overflow 5', same('idle', 'tx-transition', 'push-clear', 'send-bulk-request'), (s) => s.tx.phase);
  });
  it('dumping-queued x overflow (as receiver): the running dump goes on, the next is forgotten', () => {
    const from = reach([...TX_SETUP['dumping-queued'], 'role receiver']);
    check(from, 'overflow 5', same('dumping', 'tx-transition', 'push-clear', 'send-bulk-request'), (s) => s.tx.phase);
  });
});

describe('bulk machine: what becomes of our own changes', () => {
  it('hears of our dataplane dumps and losses among them', () => {
    const r = (op: number, origSrc = 0) => ({ ...emptyRecord(), op, origSrc });
    expect(outEvent(r(REC_BULK_BEGIN, 9))).toEqual({ type: 'begin-out' });
    expect(outEvent(r(REC_BULK_END, 9))).toEqual({ type: 'end-out' });
    expect(outEvent(r(REC_LOST, 9))).toEqual({ type: 'out-lost', count: 9 });
    expect(outEvent(r(REC_UPSERT))).toBeNull();
  });

  it('only a connected sender sends them; otherwise they are discarded, with the reason', () => {
    expect(outFate(reach(['role sender', 'connected']))).toBe('send');
    expect(outFate(reach(['role sender']))).toBe('disconnected');
    expect(outFate(reach(['role sender', 'connected', 'disconnected']))).toBe('disconnected');
    expect(outFate(reach(['role receiver', 'connected']))).toBe('not-sender');
    expect(outFate(reach(['connected']))).toBe('not-sender');
  });
});

describe('bulk machine: coverage and invariants', () => {
  const eventTypes: BulkEvent['type'][] = [
    'role',
    'connected',
    'disconnected',
    'gap',
    'overflow',
    'request-timeout',
    'begin-pushed',
    'records-pushed',
    'end-pushed',
    'peer-request',
    'resync-needed',
    'begin-out',
    'end-out',
    'out-lost',
  ];

  it('every event type has rows (add the new one to EVENTS and both tables)', () => {
    const covered = new Set(Object.values(EVENTS).map((l) => parseEvent(l).type));
    expect([...covered].sort()).toEqual([...eventTypes].sort());
    for (const p of RX_PHASES) expect(Object.keys(RX_TABLE[p]).sort()).toEqual(Object.keys(EVENTS).sort());
    for (const p of TX_PHASES) expect(Object.keys(TX_TABLE[p]).sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it('every phase has a setup and a row', () => {
    expect(Object.keys(RX_SETUP).sort()).toEqual([...RX_PHASES].sort());
    expect(Object.keys(TX_SETUP).sort()).toEqual([...TX_PHASES].sort());
  });

  // A seeded random walk against a deliberately simple reference of the completion rule: a dump is
  // whole when its BULK_BEGIN went in (not as the sender) and nothing since asked again, lost
  // records or cut the connection. No sequence throws (a no-op transition would).
  it('random walks: complete exactly when the reference says the dump is whole; invariants hold', () => {
    const lines = [...Object.values(EVENTS), 'peer-request connect', 'resync-needed connection-lost'];
    const rnd = new Prng(13);
    let completes = 0;
    for (let walk = 0; walk < 300; walk++) {
      let s = initialBulkState();
      let whole = false;
      for (let i = 0; i < 200; i++) {
        const ev = parseEvent(lines[rnd.u32() % lines.length]);
        const r = step(s, ev);
        const invalid = r.actions.some((a) => a.type === 'invalid-transition');
        const completed = r.actions.some((a) => a.type === 'bulk-complete');
        if (ev.type === 'end-pushed') expect(completed).toBe(whole);
        if (completed) completes += 1;
        else expect(completed).toBe(false);
        if (!invalid) whole = referenceWhole(s, ev, whole);
        // the agent hears of every complete copy lost, except to becoming the sender
        const lost = s.rx.phase === 'complete' && r.state.rx.phase !== 'complete' && r.state.rx.phase !== 'idle';
        expect(r.actions.some((a) => a.type === 'bulk-incomplete')).toBe(lost);
        s = r.state;
        if (s.role === 'sender') expect(s.rx.phase).toBe('idle');
        if (s.tx.deferred !== null) expect(s.connected && s.role !== 'sender').toBe(true);
        expect(s.rx.phase === 'receiving').toBe(whole);
      }
    }
    expect(completes).toBeGreaterThan(50); // the walks do reach whole dumps
  });
});
