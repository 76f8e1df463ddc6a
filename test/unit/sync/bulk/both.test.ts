// The bulk machine in the role 'both' (active/active: the box sends its own changes and copies the
// peer's at once): every receiver phase and every sender phase reached in that role x every event,
// and 'role both' from every phase of the other roles. The coverage tests fail when a phase or an
// event type is added without rows here. States are reached through step() itself.
import { describe, expect, it } from 'vitest';
import {
  initialBulkState,
  outFate,
  RX_PHASES,
  sends,
  step,
  SYNC_ROLES,
  TX_PHASES,
  type BulkEvent,
  type BulkState,
  type RxPhase,
  type TxPhase,
} from '../../../../src/sync/bulk.js';
import { Prng } from '../../../fuzz/lib/prng.js';
import { referenceWhole } from './reference.js';
import { parseEvent } from './script.js';

function reach(lines: string[]): BulkState {
  let s = initialBulkState();
  for (const line of lines) {
    const r = step(s, parseEvent(line));
    if (r.actions.some((a) => a.type === 'invalid-transition')) throw new Error(`setup: "${line}" is invalid here`);
    s = r.state;
  }
  return s;
}

const UP = ['role both', 'connected'];

const RX_SETUP: Record<RxPhase, string[]> = {
  idle: UP,
  requested: [...UP, 'gap 1 3'],
  receiving: [...UP, 'begin-pushed'],
  complete: [...UP, 'begin-pushed', 'end-pushed 1 at=5'],
  interrupted: [...UP, 'begin-pushed', 'disconnected'],
};

const TX_SETUP: Record<TxPhase, string[]> = {
  idle: UP,
  queued: [...UP, 'peer-request connect'],
  dumping: [...UP, 'peer-request connect', 'begin-out'],
  'dumping-queued': [...UP, 'peer-request connect', 'begin-out', 'peer-request gap'],
};

/** One event of each kind (role in all four targets). */
const EVENTS: Record<string, string> = {
  'role sender': 'role sender',
  'role receiver': 'role receiver',
  'role idle': 'role idle',
  'role both': 'role both',
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

type Expect<P> = { to: P; actions: string[] } | 'ignored' | 'invalid';
const same = <P>(to: P, ...actions: string[]): Expect<P> => ({ to, actions });

/** What a sending role does on the events of its own dump, in any receiver phase (connected). */
function txRows(p: RxPhase): Record<'peer-request' | 'resync-needed' | 'begin-out' | 'end-out' | 'out-lost', Expect<RxPhase>> {
  return {
    'peer-request': same(p, 'tx-transition', 'request-dump'),
    'resync-needed': same(p, 'resync-started', 'tx-transition', 'request-dump'),
    'begin-out': same(p, 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': same(p, 'tx-transition', 'request-dump'),
  };
}

const RX_TABLE: Record<RxPhase, Record<string, Expect<RxPhase>>> = {
  idle: {
    'role sender': same('idle'),
    'role receiver': same('requested', 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same('idle', 'sender-reset'),
    'role both': 'ignored',
    connected: 'invalid',
    disconnected: same('idle', 'connection-lost'),
    // a loss asks, and clears nothing: we forward with that copy
    gap: same('requested', 'rx-transition', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving', 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same('idle', 'stale-end'),
    ...txRows('idle'),
  },
  requested: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': same('requested', 'sender-reset', 'send-bulk-request'),
    'role idle': same('requested', 'sender-reset'),
    'role both': 'ignored',
    connected: 'invalid',
    disconnected: same('requested', 'connection-lost'),
    gap: same('requested', 'send-bulk-request'),
    overflow: same('requested', 'send-bulk-request'),
    'request-timeout': same('requested', 'send-bulk-request'),
    'begin-pushed': same('receiving', 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same('requested', 'stale-end'),
    ...txRows('requested'),
  },
  receiving: {
    'role sender': same('idle', 'rx-transition'),
    // a dump running on this connection goes on: no new request (bulk.ts onRole)
    'role receiver': same('receiving', 'sender-reset'),
    'role idle': same('receiving', 'sender-reset'),
    'role both': 'ignored',
    connected: 'invalid',
    disconnected: same('interrupted', 'connection-lost', 'rx-transition'),
    gap: same('requested', 'rx-transition', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving'),
    'records-pushed': same('receiving'),
    'end-pushed': same('complete', 'rx-transition', 'bulk-complete'),
    ...txRows('receiving'),
  },
  complete: {
    'role sender': same('idle', 'rx-transition'),
    // the copy is whole on this connection: said again, no new request (bulk.ts onRole)
    'role receiver': same('complete', 'sender-reset', 'bulk-complete'),
    'role idle': same('complete', 'sender-reset'),
    'role both': 'ignored',
    connected: 'invalid',
    disconnected: same('complete', 'connection-lost'),
    gap: same('requested', 'rx-transition', 'bulk-incomplete', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'bulk-incomplete', 'send-bulk-request'),
    'request-timeout': 'ignored',
    'begin-pushed': same('receiving', 'rx-transition', 'bulk-incomplete'),
    'records-pushed': 'ignored',
    'end-pushed': same('complete', 'stale-end'),
    ...txRows('complete'),
  },
  interrupted: {
    'role sender': same('idle', 'rx-transition'),
    'role receiver': same('interrupted', 'sender-reset'),
    'role idle': same('interrupted', 'sender-reset'),
    'role both': 'ignored',
    // both asks nothing on connect: the peer that lost our dump's tail resyncs by itself
    connected: same('interrupted'),
    disconnected: 'ignored',
    gap: same('requested', 'rx-transition', 'send-bulk-request'),
    overflow: same('requested', 'rx-transition', 'send-bulk-request'),
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

/** What the receiving half does on its events, in any sender phase (connected, rx idle). */
function rxRows(p: TxPhase): Record<'gap' | 'begin-pushed' | 'records-pushed' | 'end-pushed' | 'request-timeout', Expect<TxPhase>> {
  return {
    gap: same(p, 'rx-transition', 'send-bulk-request'),
    'begin-pushed': same(p, 'rx-transition'),
    'records-pushed': 'ignored',
    'end-pushed': same(p, 'stale-end'),
    // rx is idle here: nothing was asked
    'request-timeout': 'ignored',
  };
}

/** Role changes from `both`, in any sender phase (connected, rx idle). */
function roleRows(p: TxPhase): Record<'role sender' | 'role receiver' | 'role idle' | 'role both' | 'connected' | 'disconnected', Expect<TxPhase>> {
  return {
    'role sender': same(p),
    'role receiver': same(p, 'sender-reset', 'rx-transition', 'send-bulk-request'),
    'role idle': same(p, 'sender-reset'),
    'role both': 'ignored',
    connected: 'invalid',
    disconnected: same(p, 'connection-lost'),
  };
}

const TX_TABLE: Record<TxPhase, Record<string, Expect<TxPhase>>> = {
  idle: {
    ...roleRows('idle'),
    ...rxRows('idle'),
    overflow: same('idle', 'rx-transition', 'send-bulk-request'),
    'peer-request': same('queued', 'tx-transition', 'request-dump'),
    'resync-needed': same('queued', 'resync-started', 'tx-transition', 'request-dump'),
    'begin-out': same('dumping', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': same('queued', 'tx-transition', 'request-dump'),
  },
  queued: {
    ...roleRows('queued'),
    ...rxRows('queued'),
    // the dump we owe the peer may have been dropped with the rest: asked again
    overflow: same('queued', 'tx-transition', 'rx-transition', 'send-bulk-request', 'tx-transition', 'request-dump'),
    'peer-request': same('queued', 'dump-coalesced'),
    'resync-needed': same('queued', 'resync-started', 'dump-coalesced'),
    'begin-out': same('dumping', 'tx-transition'),
    'end-out': 'ignored',
    'out-lost': same('queued', 'dump-coalesced'),
  },
  dumping: {
    ...roleRows('dumping'),
    ...rxRows('dumping'),
    // the running dump's request is no longer in the queue: nothing of ours was dropped
    overflow: same('dumping', 'rx-transition', 'send-bulk-request'),
    'peer-request': same('dumping-queued', 'tx-transition', 'request-dump'),
    'resync-needed': same('dumping-queued', 'resync-started', 'tx-transition', 'request-dump'),
    'begin-out': same('dumping'),
    'end-out': same('idle', 'tx-transition'),
    'out-lost': same('dumping-queued', 'tx-transition', 'request-dump'),
  },
  'dumping-queued': {
    ...roleRows('dumping-queued'),
    ...rxRows('dumping-queued'),
    overflow: same('dumping-queued', 'tx-transition', 'rx-transition', 'send-bulk-request', 'tx-transition', 'request-dump'),
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
  expect(from).toEqual(before);
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

describe('bulk machine as both: receiver phase x event', () => {
  for (const phase of RX_PHASES) {
    for (const [name, line] of Object.entries(EVENTS)) {
      it(`${phase} x ${name}`, () => {
        const from = reach(RX_SETUP[phase]);
        expect(from.rx.phase).toBe(phase);
        expect(from.role).toBe('both');
        check(from, line, RX_TABLE[phase][name], (s) => s.rx.phase);
      });
    }
  }
});

describe('bulk machine as both: sender phase x event', () => {
  for (const phase of TX_PHASES) {
    for (const [name, line] of Object.entries(EVENTS)) {
      it(`${phase} x ${name}`, () => {
        const from = reach(TX_SETUP[phase]);
        expect(from.tx.phase).toBe(phase);
        expect(from.role).toBe('both');
        check(from, line, TX_TABLE[phase][name], (s) => s.tx.phase);
      });
    }
  }
});

describe('bulk machine: becoming both', () => {
  // from the phases of the active/passive roles (their setups in table.test.ts)
  const fromReceiving: [string, string[], Expect<RxPhase>][] = [
    ['idle (role idle)', ['role idle', 'connected'], same('idle', 'drop-queued-clears')],
    ['requested (receiver)', ['role receiver', 'connected'], same('requested', 'drop-queued-clears')],
    ['receiving (receiver)', ['role receiver', 'connected', 'begin-pushed'], same('receiving', 'drop-queued-clears')],
    ['complete (receiver)', ['role receiver', 'connected', 'begin-pushed', 'end-pushed 1 at=5'], same('complete', 'drop-queued-clears')],
    ['interrupted (receiver)', ['role receiver', 'connected', 'begin-pushed', 'disconnected'], same('interrupted', 'drop-queued-clears')],
  ];
  for (const [name, setup, expected] of fromReceiving) {
    it(`${name} x role both: the rx half goes on as it was, nothing asked, queued clears dropped`, () => {
      check(reach(setup), 'role both', expected, (s) => s.rx.phase);
    });
  }

  const fromSender: [TxPhase, string[]][] = [
    ['idle', ['role sender', 'connected']],
    ['queued', ['role sender', 'connected', 'peer-request connect']],
    ['dumping', ['role sender', 'connected', 'peer-request connect', 'begin-out']],
    ['dumping-queued', ['role sender', 'connected', 'peer-request connect', 'begin-out', 'peer-request gap']],
  ];
  for (const [phase, setup] of fromSender) {
    it(`${phase} (sender) x role both: still sending, the backlog kept`, () => {
      check(reach(setup), 'role both', same(phase), (s) => s.tx.phase);
    });
  }

  it('a request deferred while we did not send is served', () => {
    const from = reach(['role receiver', 'connected', 'peer-request connect']);
    check(from, 'role both', same('queued', 'drop-queued-clears', 'tx-transition', 'request-dump'), (s) => s.tx.phase);
  });

  it('our own changes are sent while connected, in both sending roles only', () => {
    expect(outFate(reach(['role both', 'connected']))).toBe('send');
    expect(outFate(reach(['role both']))).toBe('disconnected');
    expect(SYNC_ROLES.filter(sends)).toEqual(['sender', 'both']);
  });
});

describe('bulk machine as both: coverage and invariants', () => {
  it('every event type has rows, every phase a setup', () => {
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
    const covered = new Set(Object.values(EVENTS).map((l) => parseEvent(l).type));
    expect([...covered].sort()).toEqual([...eventTypes].sort());
    expect(Object.keys(EVENTS).filter((k) => k.startsWith('role '))).toEqual(SYNC_ROLES.map((r) => `role ${r}`));
    for (const p of RX_PHASES) expect(Object.keys(RX_TABLE[p]).sort()).toEqual(Object.keys(EVENTS).sort());
    for (const p of TX_PHASES) expect(Object.keys(TX_TABLE[p]).sort()).toEqual(Object.keys(EVENTS).sort());
    expect(Object.keys(RX_SETUP).sort()).toEqual([...RX_PHASES].sort());
    expect(Object.keys(TX_SETUP).sort()).toEqual([...TX_PHASES].sort());
  });

  // Random walks over all four roles: the completion rule of table.test.ts holds as it is (both
  // completes like a receiver), and what both never does holds too.
  it('random walks with both: complete exactly when the dump is whole; both never clears, asks on connect or role', () => {
    const lines = [...Object.values(EVENTS), 'peer-request connect', 'resync-needed connection-lost', 'role both', 'role both'];
    const rnd = new Prng(29);
    let completes = 0;
    for (let walk = 0; walk < 300; walk++) {
      let s = initialBulkState();
      let whole = false;
      for (let i = 0; i < 200; i++) {
        const ev = parseEvent(lines[rnd.u32() % lines.length]);
        const r = step(s, ev);
        const types = r.actions.map((a) => a.type);
        const completed = types.includes('bulk-complete');
        if (ev.type === 'end-pushed') expect(completed).toBe(whole);
        if (completed) completes += 1;
        if (!types.includes('invalid-transition')) whole = referenceWhole(s, ev, whole);
        if (s.role === 'both' && r.state.role === 'both') {
          expect(types).not.toContain('push-clear');
          const asked = r.actions.flatMap((a) => (a.type === 'send-bulk-request' ? [a.reason] : []));
          expect(asked.filter((why) => why === 'connect' || why === 'role')).toEqual([]);
        }
        s = r.state;
        if (s.role === 'sender') expect(s.rx.phase).toBe('idle');
        if (s.tx.deferred !== null) expect(s.connected && !sends(s.role)).toBe(true);
        expect(s.rx.phase === 'receiving').toBe(whole);
      }
    }
    expect(completes).toBeGreaterThan(50);
  });
});
