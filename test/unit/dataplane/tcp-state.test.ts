import { describe, expect, it } from 'vitest';
import {
  TCP_ACK,
  TCP_CLOSE,
  TCP_CWR,
  TCP_ECE,
  TCP_ESTABLISHED,
  TCP_FIN,
  TCP_LAST_ACK,
  TCP_NONE,
  TCP_PSH,
  TCP_RST,
  TCP_STATE_NAMES,
  TCP_SYN,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  TCP_URG,
  tcpOpen,
  tcpStep,
  tcpTimeoutS,
} from '../../../src/dataplane/tcp-state.js';
import { FLOW_ESTABLISHED, FLOW_NEW, FLOW_STATE_NAMES, flowStep, flowTimeoutS } from '../../../src/dataplane/flow-state.js';

// The expected outcome of every (direction, state, flags) written out by hand, independently of
// the implementation's table. Columns are the only SYN/FIN/RST/ACK combinations that are ever
// valid; every other combination (no flags, FIN alone, SYN+FIN, SYN+RST, FIN+RST, SYN+ACK+FIN, ...)
// is '-' (invalid) in every state. PSH and URG (and ECE/CWR) must not change the outcome.
// prettier-ignore
const EXPECTED = `
dir       state        SYN          SYN|ACK      FIN|ACK      ACK          RST          RST|ACK
original  none         syn-sent     -            -            -            close        close
original  syn-sent     syn-sent     -            -            -            close        close
original  syn-recv     syn-recv     syn-recv     fin-wait     established  close        close
original  established  established  -            fin-wait     established  close        close
original  fin-wait     fin-wait     -            last-ack     close-wait   close        close
original  close-wait   close-wait   -            last-ack     close-wait   close        close
original  last-ack     last-ack     -            last-ack     time-wait    close        close
original  time-wait    syn-sent     -            time-wait    time-wait    close        close
original  close        syn-sent     -            close        close        close        close
reply     none         -            -            -            -            close        close
reply     syn-sent     syn-recv     syn-recv     -            syn-sent     close        close
reply     syn-recv     -            syn-recv     fin-wait     syn-recv     close        close
reply     established  -            established  fin-wait     established  close        close
reply     fin-wait     -            fin-wait     last-ack     close-wait   close        close
reply     close-wait   -            close-wait   last-ack     close-wait   close        close
reply     last-ack     -            last-ack     last-ack     time-wait    close        close
reply     time-wait    -            -            time-wait    time-wait    close        close
reply     close        -            -            close        close        close        close
`;

const BIT: Record<string, number> = { SYN: TCP_SYN, ACK: TCP_ACK, FIN: TCP_FIN, RST: TCP_RST };

function parseExpected(): Map<string, number> {
  const out = new Map<string, number>();
  const lines = EXPECTED.trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));
  const cols = lines[0].slice(2).map((c) => c.split('|').reduce((a, b) => a | BIT[b], 0));
  for (const row of lines.slice(1)) {
    const dir = row[0] === 'original' ? 0 : 1;
    const state = TCP_STATE_NAMES.indexOf(row[1]);
    expect(state, row[1]).toBeGreaterThanOrEqual(0);
    row.slice(2).forEach((cell, i) => {
      out.set(`${dir}/${state}/${cols[i]}`, cell === '-' ? -1 : TCP_STATE_NAMES.indexOf(cell));
    });
  }
  expect(out.size).toBe(2 * 9 * 6);
  return out;
}

const CORE = TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST;
const ALL_STATES = [0, 1, 2, 3, 4, 5, 6, 7, 8];

function flagNames(f: number): string {
  const n = (['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const).filter((_, i) => f & (1 << i));
  return n.length === 0 ? '(none)' : n.join('|');
}

describe('tcpStep: every flag combination in every state and direction', () => {
  const expected = parseExpected();

  it('matches the expectation table for flags 0..63 (and the ECN bits never matter)', () => {
    let checked = 0;
    for (const dir of [0, 1]) {
      for (const state of ALL_STATES) {
        for (let flags = 0; flags < 64; flags++) {
          const want = expected.get(`${dir}/${state}/${flags & CORE}`) ?? -1;
          const got = tcpStep(state, dir, flags);
          const label = `${dir === 0 ? 'original' : 'reply'} ${TCP_STATE_NAMES[state]} ${flagNames(flags)}`;
          expect(got === -1 ? '-' : TCP_STATE_NAMES[got], label).toBe(want === -1 ? '-' : TCP_STATE_NAMES[want]);
          expect(tcpStep(state, dir, flags | TCP_ECE | TCP_CWR), `${label}|ECE|CWR`).toBe(got);
          checked++;
        }
      }
    }
    expect(checked).toBe(2 * 9 * 64);
  });

  it('invariants: RST without SYN/FIN always closes; SYN+FIN, no flags and FIN without ACK never pass', () => {
    for (const dir of [0, 1]) {
      for (const state of ALL_STATES) {
        for (let flags = 0; flags < 256; flags++) {
          const got = tcpStep(state, dir, flags);
          expect(got === -1 || (got >= TCP_NONE && got <= TCP_CLOSE)).toBe(true);
          if (got !== -1) expect(got).not.toBe(TCP_NONE); // nothing leads back to "no state"
          if (flags & TCP_RST && !(flags & (TCP_SYN | TCP_FIN))) expect(got).toBe(TCP_CLOSE);
          if ((flags & (TCP_SYN | TCP_FIN)) === (TCP_SYN | TCP_FIN)) expect(got).toBe(-1);
          if ((flags & CORE) === 0) expect(got).toBe(-1);
          if ((flags & (TCP_FIN | TCP_ACK)) === TCP_FIN) expect(got).toBe(-1);
          // PSH and URG are data properties, never state
          expect(tcpStep(state, dir, flags & ~(TCP_PSH | TCP_URG))).toBe(got);
        }
      }
    }
  });

  it('only the originator SYN reaches SYN_SENT, and only from none, syn-sent, time-wait and close', () => {
    for (const dir of [0, 1]) {
      for (const state of ALL_STATES) {
        for (let flags = 0; flags < 64; flags++) {
          if (tcpStep(state, dir, flags) !== TCP_SYN_SENT) continue;
          const retryAck = dir === 1 && state === TCP_SYN_SENT && (flags & CORE) === TCP_ACK;
          if (retryAck) continue; // the responder's ACK of an old connection, passed unchanged
          expect(dir).toBe(0);
          expect(flags & CORE).toBe(TCP_SYN);
          expect([TCP_NONE, TCP_SYN_SENT, TCP_TIME_WAIT, TCP_CLOSE]).toContain(state);
        }
      }
    }
  });

  it('bad state or direction: -1', () => {
    expect(tcpStep(9, 0, TCP_ACK)).toBe(-1);
    expect(tcpStep(-1, 0, TCP_ACK)).toBe(-1);
    expect(tcpStep(TCP_ESTABLISHED, 2, TCP_ACK)).toBe(-1);
  });
});

describe('tcpOpen', () => {
  it('strict: only a bare SYN (PSH/URG/ECN allowed) opens, as SYN_SENT', () => {
    for (let flags = 0; flags < 256; flags++) {
      const want = (flags & CORE) === TCP_SYN ? TCP_SYN_SENT : -1;
      expect(tcpOpen(flags, false), flagNames(flags)).toBe(want);
    }
  });

  it('loose: also an ACK without SYN/RST (mid-stream pickup) opens, as ESTABLISHED', () => {
    for (let flags = 0; flags < 256; flags++) {
      const core = flags & CORE;
      const want = core === TCP_SYN ? TCP_SYN_SENT : core === TCP_ACK || core === (TCP_ACK | TCP_FIN) ? TCP_ESTABLISHED : -1;
      expect(tcpOpen(flags, true), flagNames(flags)).toBe(want);
    }
  });
});

describe('tcp scenarios', () => {
  const O = 0;
  const R = 1;
  const run = (start: number, steps: [number, number][]) =>
    steps.map(([dir, flags]) => {
      start = tcpStep(start, dir, flags);
      return start === -1 ? '-' : TCP_STATE_NAMES[start];
    });

  it('three-way handshake, data, FIN from the client, FIN from the server', () => {
    expect(
      run(tcpOpen(TCP_SYN, false), [
        [R, TCP_SYN | TCP_ACK],
        [O, TCP_ACK],
        [O, TCP_ACK | TCP_PSH],
        [R, TCP_ACK],
        [O, TCP_FIN | TCP_ACK],
        [R, TCP_ACK],
        [R, TCP_ACK | TCP_PSH], // half-closed: the server still sends
        [R, TCP_FIN | TCP_ACK],
        [O, TCP_ACK],
      ]),
    ).toEqual(['syn-recv', 'established', 'established', 'established', 'fin-wait', 'close-wait', 'close-wait', 'last-ack', 'time-wait']);
  });

  it('simultaneous open (RFC 9293 fig. 7)', () => {
    expect(
      run(TCP_SYN_SENT, [
        [R, TCP_SYN],
        [O, TCP_SYN | TCP_ACK],
        [R, TCP_SYN | TCP_ACK],
        [O, TCP_ACK],
      ]),
    ).toEqual(['syn-recv', 'syn-recv', 'syn-recv', 'established']);
  });

  it('SYN retransmission, then a RST from the server closes; a new SYN reopens', () => {
    expect(
      run(tcpOpen(TCP_SYN, false), [
        [O, TCP_SYN],
        [R, TCP_RST | TCP_ACK],
        [O, TCP_SYN],
      ]),
    ).toEqual(['syn-sent', 'close', 'syn-sent']);
  });

  it('TIME_WAIT reopened by the client; reverse SYN refused', () => {
    expect(tcpStep(TCP_TIME_WAIT, O, TCP_SYN)).toBe(TCP_SYN_SENT);
    expect(tcpStep(TCP_TIME_WAIT, R, TCP_SYN)).toBe(-1);
  });

  it('nonsense on an established connection is dropped, state unchanged by the caller', () => {
    for (const f of [0, TCP_FIN, TCP_SYN | TCP_FIN, TCP_SYN | TCP_RST, TCP_FIN | TCP_RST | TCP_PSH | TCP_URG | TCP_ACK | TCP_SYN]) {
      expect(tcpStep(TCP_ESTABLISHED, O, f), flagNames(f)).toBe(-1);
      expect(tcpStep(TCP_ESTABLISHED, R, f), flagNames(f)).toBe(-1);
    }
  });
});

describe('timeouts', () => {
  const t = { tcpEstablishedS: 3600, tcpTransitoryS: 20 };
  it('established gets the long timeout, the rest the transitory one, capped for TIME_WAIT and CLOSE', () => {
    const got = ALL_STATES.map((s) => `${TCP_STATE_NAMES[s]}=${tcpTimeoutS(s, t)}`);
    expect(got).toEqual([
      'none=20',
      'syn-sent=20',
      'syn-recv=20',
      'established=3600',
      'fin-wait=20',
      'close-wait=20',
      'last-ack=20',
      'time-wait=20',
      'close=10',
    ]);
    expect(tcpTimeoutS(TCP_TIME_WAIT, { tcpEstablishedS: 7200, tcpTransitoryS: 600 })).toBe(120);
    expect(tcpTimeoutS(TCP_CLOSE, { tcpEstablishedS: 7200, tcpTransitoryS: 5 })).toBe(5);
    expect(tcpTimeoutS(TCP_LAST_ACK, { tcpEstablishedS: 7200, tcpTransitoryS: 600 })).toBe(600);
  });
});

describe('UDP / ICMP flow states', () => {
  it('new until the reply direction is seen, then established for good', () => {
    expect(FLOW_STATE_NAMES).toEqual(['new', 'established']);
    expect(flowStep(FLOW_NEW, 0)).toBe(FLOW_NEW);
    expect(flowStep(FLOW_NEW, 1)).toBe(FLOW_ESTABLISHED);
    expect(flowStep(FLOW_ESTABLISHED, 0)).toBe(FLOW_ESTABLISHED);
    expect(flowStep(FLOW_ESTABLISHED, 1)).toBe(FLOW_ESTABLISHED);
  });
  it('timeouts per protocol', () => {
    expect(flowTimeoutS(17, { udpS: 30, icmpS: 10 })).toBe(30);
    expect(flowTimeoutS(1, { udpS: 30, icmpS: 10 })).toBe(10);
  });
});
