import { describe, expect, it } from 'vitest';
import {
  emptySegment,
  readTcpSegment,
  TcpWindows,
  tcpWindowStep,
  WF_END_LAGS,
  WF_MAXEND_LAGS,
  WIN_LOOSE,
  WIN_OFF,
  WIN_STRICT,
  type TcpSegment,
} from '../../../src/dataplane/tcp-window.js';
import {
  TCP_ACK,
  TCP_CLOSE_WAIT,
  TCP_ESTABLISHED,
  TCP_FIN,
  TCP_FIN_WAIT,
  TCP_NONE,
  TCP_RST,
  TCP_SYN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
} from '../../../src/dataplane/tcp-state.js';

const C = 0; // client -> server (original)
const S = 1; // server -> client (reply)
const SLOT = 3;

interface Seg {
  dir: number;
  state: number;
  flags: number;
  seq: number;
  ack?: number;
  win?: number;
  len?: number;
  wscale?: number;
  sack?: number;
}

function seg(s: Seg): TcpSegment {
  const g = emptySegment();
  g.flags = s.flags;
  g.seq = s.seq >>> 0;
  g.ack = (s.ack ?? 0) >>> 0;
  g.win = s.win ?? 65535;
  g.len = s.len ?? 0;
  g.wscale = s.wscale ?? -1;
  g.sack = (s.sack ?? g.ack) >>> 0;
  return g;
}

function step(w: TcpWindows, s: Seg, mode = WIN_STRICT): boolean {
  return tcpWindowStep(w, SLOT, s.dir, s.state, seg(s), mode);
}

const ISN_C = 1000;
const ISN_S = 5000;

/** A handshake, client window scale `cs`, server `ss` (-1: no option); both ends' windows 65535 raw. */
function handshake(cs = -1, ss = -1, isnC = ISN_C, isnS = ISN_S): TcpWindows {
  const w = new TcpWindows(8);
  expect(step(w, { dir: C, state: TCP_NONE, flags: TCP_SYN, seq: isnC, wscale: cs })).toBe(true);
  expect(step(w, { dir: S, state: TCP_SYN_SENT, flags: TCP_SYN | TCP_ACK, seq: isnS, ack: isnC + 1, wscale: ss })).toBe(true);
  expect(step(w, { dir: C, state: TCP_SYN_RECV, flags: TCP_ACK, seq: isnC + 1, ack: isnS + 1 })).toBe(true);
  return w;
}

const E = TCP_ESTABLISHED;

describe('tcp-window: the handshake', () => {
  it('learns end, maxend and the window of each side', () => {
    const w = handshake();
    const o = SLOT * 2;
    expect(w.end[o]).toBe(ISN_C + 1);
    expect(w.end[o + 1]).toBe(ISN_S + 1);
    // the client may send up to the server's ack + window
    expect(w.maxend[o]).toBe(ISN_C + 1 + 65535);
    expect(w.maxend[o + 1]).toBe(ISN_S + 1 + 65535);
  });

  it.each([
    ['both SYNs scale: scales kept', 7, 9, 7, 9],
    ['only the client offers: no scaling', 7, -1, 0, 0],
    ['only the server offers: no scaling', -1, 9, 0, 0],
    ['a shift above 14 is taken as 14', 20, 14, 14, 14],
  ])('%s', (_n, cs, ss, wantC, wantS) => {
    const w = handshake(cs, ss);
    expect(w.scale[SLOT * 2]).toBe(wantC);
    expect(w.scale[SLOT * 2 + 1]).toBe(wantS);
  });

  it('with scaling, a window of 1000 << 7 lets the client send 128000 bytes ahead', () => {
    const w = handshake(7, 7);
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 1, win: 1000 })).toBe(true);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1 + 120000, ack: ISN_S + 1, len: 1000 })).toBe(true);
    // without scaling the same segment would be beyond the edge
    const v = handshake();
    expect(step(v, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 1, win: 1000 })).toBe(true);
    expect(step(v, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1 + 120000, ack: ISN_S + 1, len: 1000 })).toBe(false);
  });
});

describe('tcp-window: data and the tolerances', () => {
  // each row runs on a fresh handshake (no scaling, windows 65535) after the client sent 3000 bytes
  // (3 x 1000, acknowledged up to 2000 by the server)
  const cases: [string, Seg, boolean][] = [
    ['next data segment', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 3001, ack: ISN_S + 1, len: 1000 }, true],
    ['retransmission of the first segment', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1, ack: ISN_S + 1, len: 1000 }, true],
    ['keep-alive (seq = end - 1, no data)', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 3000, ack: ISN_S + 1 }, true],
    ['keep-alive with one garbage byte', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 3000, ack: ISN_S + 1, len: 1 }, true],
    ['up to the edge the server allowed', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 2001 + 65535 - 1000, ack: ISN_S + 1, len: 1000 }, true],
    ['beyond the edge', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 2001 + 65535 + 1, ack: ISN_S + 1, len: 100 }, false],
    ['older than a window', { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 3001 - 70000, ack: ISN_S + 1, len: 100 }, false],
    ['server acks everything', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3001 }, true],
    ['server acks data never sent', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3002 }, false],
    ['server acks far in the past (beyond the ack slack)', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3001 - 70000 }, false],
    ['SACK edge within what was sent', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 1001, sack: ISN_C + 3001 }, true],
    ['SACK edge beyond what was sent', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 1001, sack: ISN_C + 4001 }, false],
    ['server data both ways', { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3001, len: 1460 }, true],
    ['RST at the next expected sequence', { dir: S, state: E, flags: TCP_RST | TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3001 }, true],
    ['RST within the window', { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 + 30000 }, true],
    ['RST with a sequence out of window', { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 + 0x4000_0000 }, false],
    ['RST from the client at its next sequence', { dir: C, state: E, flags: TCP_RST, seq: ISN_C + 3001 }, true],
    ['RST from the client out of window', { dir: C, state: E, flags: TCP_RST, seq: ISN_C - 0x1000_0000 }, false],
    ['FIN at the next sequence', { dir: C, state: E, flags: TCP_FIN | TCP_ACK, seq: ISN_C + 3001, ack: ISN_S + 1 }, true],
    ['SYN on the established connection is not checked (challenge ACK)', { dir: C, state: E, flags: TCP_SYN, seq: 0x7777_7777 }, true],
  ];
  it.each(cases)('%s', (_n, s, ok) => {
    const w = handshake();
    for (let i = 0; i < 3; i++) expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1 + i * 1000, ack: ISN_S + 1, len: 1000 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 2001 })).toBe(true);
    expect(step(w, s)).toBe(ok);
  });

  it('an out-of-window segment teaches nothing', () => {
    const w = handshake();
    const before = [...w.end, ...w.maxend, ...w.maxwin];
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 0x4000_0000 })).toBe(false);
    expect([...w.end, ...w.maxend, ...w.maxwin]).toEqual(before);
  });

  it('zero window: a one-byte probe passes, more does not', () => {
    const w = handshake();
    // the client fills the server's window; the server acknowledges all of it with a zero window
    const full = ISN_C + 1 + 65535;
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1, ack: ISN_S + 1, len: 65535 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: full, win: 0 })).toBe(true);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: full, ack: ISN_S + 1, len: 1 })).toBe(true);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: full + 2, ack: ISN_S + 1, len: 1000 })).toBe(false);
    // the window opens again
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: full, win: 8000 })).toBe(true);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: full + 2, ack: ISN_S + 1, len: 1000 })).toBe(true);
  });

  it('sequence numbers wrap around 2^32', () => {
    const w = handshake(-1, -1, 0xffff_fe00, 0xffff_ff00);
    for (let i = 0; i < 10; i++) {
      expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: 0xffff_fe01 + i * 1000, ack: 0xffff_ff01, len: 1000 })).toBe(true);
      expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: 0xffff_ff01 + i * 500, ack: 0xffff_fe01 + (i + 1) * 1000, len: 500 })).toBe(true);
    }
    expect(w.end[SLOT * 2]).toBe((0xffff_fe01 + 10000) >>> 0);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: 0xffff_ff01 + 5000 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: 0x8000_0000 })).toBe(false);
  });

  it('FIN and its acknowledgement count one sequence number', () => {
    const w = handshake();
    expect(step(w, { dir: C, state: E, flags: TCP_FIN | TCP_ACK, seq: ISN_C + 1, ack: ISN_S + 1 })).toBe(true);
    expect(step(w, { dir: S, state: TCP_FIN_WAIT, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 2 })).toBe(true);
    expect(step(w, { dir: S, state: TCP_CLOSE_WAIT, flags: TCP_ACK, seq: ISN_S + 1, ack: ISN_C + 3 })).toBe(false);
  });
});

describe('tcp-window: modes', () => {
  const data: Seg = { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 0x2000_0000, ack: ISN_S + 1, len: 100 };
  const rst: Seg = { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 0x4000_0000 };
  it.each([
    ['strict', WIN_STRICT, false, false],
    ['loose: only resets are checked', WIN_LOOSE, true, false],
    ['off: nothing is dropped', WIN_OFF, true, true],
  ])('%s', (_n, mode, dataOk, rstOk) => {
    expect(step(handshake(), data, mode)).toBe(dataOk);
    expect(step(handshake(), rst, mode)).toBe(rstOk);
  });
});

describe('tcp-window: picked up mid-stream (window unknown)', () => {
  it('learns each direction from its first segment, then checks', () => {
    const w = new TcpWindows(8);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: 77_000, ack: 900_000, len: 500, win: 1000 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: 900_000, ack: 77_500, len: 500, win: 1000 })).toBe(true);
    // the scale is unknown: the bounds assume 14, yet a reset far away is still out of window
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: 900_500 + 0x7000_0000 })).toBe(false);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: 900_500 })).toBe(true);
  });
});

describe('tcp-window: synced from the peer (lagging edges)', () => {
  /** The state as the peer synced it after the handshake, then the connection moved 10 MB on. */
  function synced(): TcpWindows {
    const w = handshake(7, 7);
    w.markLagging(SLOT);
    return w;
  }
  const far = ISN_C + 1 + 10_000_000;

  it('data far beyond the synced edge passes, and re-anchors the other side', () => {
    const w = synced();
    expect(w.flags[SLOT * 2] & (WF_MAXEND_LAGS | WF_END_LAGS)).toBe(WF_MAXEND_LAGS | WF_END_LAGS);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: far, ack: ISN_S + 1 + 5_000_000, len: 1000, win: 500 })).toBe(true);
    // the server's edge is now the client's ack + window: its data there passes, a reset far away does not
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1 + 5_000_000, ack: far + 1000, len: 1000 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 + 0x4000_0000 })).toBe(false);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 + 5_001_000 })).toBe(true);
  });

  it('an ack of data sent through the old active (in flight at the takeover) passes', () => {
    const w = synced();
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: far, ack: ISN_S + 1, len: 1000, win: 500 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: far + 1000, win: 500 })).toBe(true);
    // the server acknowledges 30000 more bytes the survivor never saw (within its window 500 << 7)
    expect(step(w, { dir: S, state: E, flags: TCP_ACK, seq: ISN_S + 1, ack: far + 31000, win: 500 })).toBe(true);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: far + 31000, ack: ISN_S + 1, len: 1000 })).toBe(true);
  });

  it('a reset cannot be verified before the other side acknowledged something here', () => {
    const w = synced();
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 })).toBe(false);
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C + 1, ack: ISN_S + 1, win: 500 })).toBe(true);
    expect(step(w, { dir: S, state: E, flags: TCP_RST, seq: ISN_S + 1 })).toBe(true);
  });

  it('a segment older than the synced state by more than a window is still dropped', () => {
    const w = synced();
    expect(step(w, { dir: C, state: E, flags: TCP_ACK, seq: ISN_C - 0x1000_0000, ack: ISN_S + 1, len: 10 })).toBe(false);
  });
});

describe('readTcpSegment', () => {
  function header(doff: number, opts: number[]): Uint8Array {
    const b = new Uint8Array(doff * 4 + 10);
    b.set([0, 80, 1, 187, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, doff << 4, TCP_SYN | TCP_ACK, 0x10, 0x00]);
    b.set(opts, 20);
    return b;
  }
  it('reads seq, ack, window, payload, window scale and the highest SACK edge', () => {
    const g = emptySegment();
    const sack = [5, 18, 0x9a, 0xbc, 0xdf, 0x00, 0x9a, 0xbc, 0xdf, 0x80, 0x9a, 0xbc, 0xdf, 0x90, 0x9a, 0xbc, 0xe0, 0x00];
    const b = header(11, [1, 3, 3, 9, ...sack]);
    expect(readTcpSegment(b, 0, b.length, g)).toBe(true);
    expect(g).toMatchObject({ seq: 0x12345678, ack: 0x9abcdef0, win: 0x1000, len: 10, wscale: 9, sack: 0x9abce000 });
  });
  it('refuses a data offset below 5 or beyond the segment; stops at a malformed option', () => {
    const g = emptySegment();
    expect(readTcpSegment(header(4, []), 0, 40, g)).toBe(false);
    expect(readTcpSegment(header(15, []), 0, 40, g)).toBe(false);
    const b = header(6, [3, 9, 1, 1]);
    expect(readTcpSegment(b, 0, b.length, g)).toBe(true);
    expect(g.wscale).toBe(-1);
  });
});
