import { describe, expect, it } from 'vitest';
import {
  TCP_ACK,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_FIN,
  TCP_NONE,
  TCP_RST,
  TCP_SYN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  tcpStep,
} from '../../../src/dataplane/tcp-state.js';
import {
  emptySegment,
  readTcpSegment,
  seqLe,
  seqLt,
  TCP_SYNC_SLACK,
  tcpWindowStep,
  WF_GUESS,
  WF_KNOWN,
  WF_SHIFT,
  WF_SYNCED,
  WF_WSOPT,
  WIN_OK,
  WIN_OUT,
  WIN_RST_INEXACT,
  type TcpWindows,
} from '../../../src/dataplane/tcp-window.js';

// A connection as a script: each line a segment (direction, flags, seq, ack, window, payload
// bytes, window scale option) and the verdict the check must give. The session's TCP state is
// stepped with tcp-state.ts as the firewall does, so the window module sees the states it sees
// in the packet path. Sequence numbers are written relative to each side's ISS where that reads
// better (C = client's ISS, S = server's ISS).

const O = 0; // client -> server (original)
const R = 1; // server -> client (reply)
const SA = TCP_SYN | TCP_ACK;
const A = TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const RA = TCP_RST | TCP_ACK;

function windows(): TcpWindows {
  return { end: new Uint32Array(2), maxEnd: new Uint32Array(2), maxWin: new Uint32Array(2), maxAck: new Uint32Array(2), flags: new Uint8Array(2) };
}

interface Seg {
  dir: number;
  flags: number;
  seq: number;
  ack?: number;
  win?: number;
  len?: number;
  wscale?: number;
  sack?: number;
}

class Conn {
  readonly w = windows();
  state: number;
  constructor(state = TCP_NONE) {
    this.state = state;
  }
  /** Feeds one segment; the TCP state moves on only when the verdict lets the segment through with its meaning. */
  send(s: Seg): number {
    const seg = emptySegment();
    seg.seq = s.seq >>> 0;
    seg.ack = (s.ack ?? 0) >>> 0;
    seg.win = s.win ?? 65535;
    seg.flags = s.flags;
    seg.len = (s.len ?? 0) + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
    seg.wscale = s.wscale ?? -1;
    seg.sack = (s.sack ?? seg.ack) >>> 0;
    const next = this.state === TCP_NONE ? TCP_SYN_SENT : tcpStep(this.state, s.dir, s.flags);
    expect(next).toBeGreaterThanOrEqual(0);
    const v = tcpWindowStep(this.w, 0, s.dir, this.state, seg);
    if (v === WIN_OK) this.state = next;
    return v;
  }
}

const C = 1000;
const S = 500_000;

/** A handshake (with the given scale options) and the connection after it. */
function established(cScale = -1, sScale = -1, cIss = C, sIss = S): Conn {
  const c = new Conn();
  expect(c.send({ dir: O, flags: TCP_SYN, seq: cIss, wscale: cScale })).toBe(WIN_OK);
  expect(c.send({ dir: R, flags: SA, seq: sIss, ack: cIss + 1, wscale: sScale })).toBe(WIN_OK);
  expect(c.send({ dir: O, flags: A, seq: cIss + 1, ack: sIss + 1, win: 65535 })).toBe(WIN_OK);
  expect(c.state).toBe(TCP_ESTABLISHED);
  return c;
}

type Line = [name: string, seg: Seg, verdict: number];

function run(c: Conn, lines: Line[]): void {
  for (const [name, seg, verdict] of lines) expect(c.send(seg), name).toBe(verdict);
}

describe('sequence comparisons', () => {
  it('work across the 2^32 wrap', () => {
    expect(seqLt(0xffff_fff0, 5)).toBe(true);
    expect(seqLt(5, 0xffff_fff0)).toBe(false);
    expect(seqLe(7, 7)).toBe(true);
    expect(seqLt(0, 0x7fff_ffff)).toBe(true);
  });
});

describe('handshake', () => {
  it('without window scaling: windows are taken as they are', () => {
    const c = established();
    expect(c.w.flags[O] & WF_SHIFT).toBe(0);
    expect(c.w.end[O]).toBe(C + 1);
    expect(c.w.end[R]).toBe(S + 1);
    // the server may send up to the client's ACK + 65535
    run(c, [
      [
        'server data ending past the edge (only its start is checked, as pf and Linux do)',
        { dir: R, flags: A, seq: S + 1 + 65535 - 100, ack: C + 1, len: 200 },
        WIN_OK,
      ],
      ['server data inside the window', { dir: R, flags: A, seq: S + 1, ack: C + 1, len: 1000 }, WIN_OK],
      ['server data right up to the edge', { dir: R, flags: A, seq: S + 1 + 65535, ack: C + 1, len: 0 }, WIN_OK],
      ['server data past the edge', { dir: R, flags: A, seq: S + 1 + 65536, ack: C + 1, len: 10 }, WIN_OUT],
    ]);
  });

  it('with window scaling on both SYNs: windows after the handshake are scaled', () => {
    const c = established(7, 7);
    expect(c.w.flags[O] & (WF_WSOPT | WF_SHIFT)).toBe(WF_WSOPT | 7);
    // the client's handshake ACK advertised 65535 << 7
    run(c, [['server data 8 MB ahead', { dir: R, flags: A, seq: S + 1 + 8_000_000, ack: C + 1, len: 100 }, WIN_OK]]);
  });

  it('with the option on one SYN only: no scaling either way (RFC 7323 2.2)', () => {
    const c = established(7, -1);
    expect(c.w.flags[O] & WF_SHIFT).toBe(0);
    expect(c.w.flags[R] & WF_SHIFT).toBe(0);
    run(c, [['server data 8 MB ahead', { dir: R, flags: A, seq: S + 1 + 8_000_000, ack: C + 1, len: 100 }, WIN_OUT]]);
  });

  it('a shift above 14 counts as 14', () => {
    const seg = emptySegment();
    const b = tcpBytes({ flags: TCP_SYN, options: [3, 3, 20, 0] });
    expect(readTcpSegment(b, 0, b.length, seg)).toBe(true);
    expect(seg.wscale).toBe(14);
  });

  it('a SYN-ACK that does not acknowledge the SYN is refused (blind SYN-ACK)', () => {
    const c = new Conn();
    c.send({ dir: O, flags: TCP_SYN, seq: C });
    expect(c.send({ dir: R, flags: SA, seq: S, ack: C + 7 })).toBe(WIN_OUT);
    expect(c.state).toBe(TCP_SYN_SENT);
    expect(c.send({ dir: R, flags: SA, seq: S, ack: C + 1 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_SYN_RECV);
  });

  it('a retransmitted SYN-ACK before the handshake completes is taken again', () => {
    const c = new Conn();
    c.send({ dir: O, flags: TCP_SYN, seq: C });
    c.send({ dir: R, flags: SA, seq: S, ack: C + 1 });
    expect(c.send({ dir: R, flags: SA, seq: S, ack: C + 1 })).toBe(WIN_OK);
    expect(c.w.end[R]).toBe(S + 1);
  });

  it('a reset answering the SYN must acknowledge it (RFC 9293 3.10.7.3)', () => {
    const c = new Conn();
    c.send({ dir: O, flags: TCP_SYN, seq: C });
    expect(c.send({ dir: R, flags: RA, seq: 0, ack: C + 99 })).toBe(WIN_OUT);
    expect(c.send({ dir: R, flags: TCP_RST, seq: 0 })).toBe(WIN_OUT);
    expect(c.send({ dir: R, flags: RA, seq: 0, ack: C + 1 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_CLOSE);
  });
});

describe('data both ways', () => {
  it('follows the edges, retransmissions, keep-alives and old ACKs', () => {
    const c = established(7, 7);
    run(c, [
      ['client sends 1000', { dir: O, flags: A, seq: C + 1, ack: S + 1, len: 1000 }, WIN_OK],
      ['server acks it and sends 500', { dir: R, flags: A, seq: S + 1, ack: C + 1001, len: 500 }, WIN_OK],
      ['client retransmits its 1000', { dir: O, flags: A, seq: C + 1, ack: S + 1, len: 1000 }, WIN_OK],
      ['server ACK of data never sent', { dir: R, flags: A, seq: S + 501, ack: C + 5001 }, WIN_OUT],
      ['client keep-alive (SND.NXT - 1, RFC 9293 3.8.4)', { dir: O, flags: A, seq: C + 1000, ack: S + 501, len: 0 }, WIN_OK],
      ['client keep-alive with one garbage byte', { dir: O, flags: A, seq: C + 1000, ack: S + 501, len: 1 }, WIN_OK],
      ['server duplicate ACK', { dir: R, flags: A, seq: S + 501, ack: C + 1001 }, WIN_OK],
      ['client ACK far behind (older than a window)', { dir: O, flags: A, seq: C + 1001, ack: S - 100_000_000 }, WIN_OUT],
      ['client data 3 GB away (a random sequence number)', { dir: O, flags: A, seq: C + 3_000_000_000, ack: S + 501, len: 10 }, WIN_OUT],
    ]);
    expect(c.w.end[O]).toBe(C + 1001);
    expect(c.w.maxAck[R]).toBe(C + 1001);
  });

  it('a zero window lets one probe byte through and no more', () => {
    const c = established();
    // the server's SYN-ACK offered 65535: the client fills it
    run(c, [
      ['client fills the window', { dir: O, flags: A, seq: C + 1, ack: S + 1, len: 65535 }, WIN_OK],
      ['server acks all with a zero window', { dir: R, flags: A, seq: S + 1, ack: C + 65536, win: 0 }, WIN_OK],
      ['client window probe (one byte)', { dir: O, flags: A, seq: C + 65536, ack: S + 1, len: 1 }, WIN_OK],
      ['client data past the zero window', { dir: O, flags: A, seq: C + 65538, ack: S + 1, len: 100 }, WIN_OUT],
      ['server opens the window', { dir: R, flags: A, seq: S + 1, ack: C + 65536, win: 4000 }, WIN_OK],
      ['client data inside it', { dir: O, flags: A, seq: C + 65537, ack: S + 1, len: 1000 }, WIN_OK],
    ]);
  });

  it('SACK blocks count as acknowledgement: a block beyond what was sent is refused', () => {
    const c = established();
    run(c, [
      ['server sends 3000', { dir: R, flags: A, seq: S + 1, ack: C + 1, len: 3000 }, WIN_OK],
      ['client SACKs the last 1000', { dir: O, flags: A, seq: C + 1, ack: S + 1, sack: S + 3001 }, WIN_OK],
      ['client SACKs past the server end', { dir: O, flags: A, seq: C + 1, ack: S + 1, sack: S + 9001 }, WIN_OUT],
    ]);
  });

  it('works across the 2^32 sequence wrap', () => {
    const cIss = 0xffff_ff00;
    const sIss = 0xffff_fff0;
    const c = established(-1, -1, cIss, sIss);
    run(c, [
      ['client data crossing 2^32', { dir: O, flags: A, seq: cIss + 1, ack: sIss + 1, len: 1000 }, WIN_OK],
      ['server acks across it', { dir: R, flags: A, seq: sIss + 1, ack: (cIss + 1001) >>> 0, len: 100 }, WIN_OK],
      ['client data after the wrap', { dir: O, flags: A, seq: (cIss + 1001) >>> 0, ack: (sIss + 101) >>> 0, len: 1000 }, WIN_OK],
      ['client data a window before the wrap point is too old', { dir: O, flags: A, seq: cIss - 200_000, ack: (sIss + 101) >>> 0, len: 10 }, WIN_OUT],
    ]);
    expect(c.w.end[O]).toBe((cIss + 2001) >>> 0);
  });

  it('a FIN takes one sequence number, and the ACK of it is in the window', () => {
    const c = established();
    run(c, [
      ['client FIN', { dir: O, flags: FA, seq: C + 1, ack: S + 1 }, WIN_OK],
      ['server acks the FIN', { dir: R, flags: A, seq: S + 1, ack: C + 2 }, WIN_OK],
      ['server ACK one past the FIN', { dir: R, flags: A, seq: S + 1, ack: C + 3 }, WIN_OUT],
      ['server FIN', { dir: R, flags: FA, seq: S + 1, ack: C + 2 }, WIN_OK],
      ['client last ACK', { dir: O, flags: A, seq: C + 2, ack: S + 2 }, WIN_OK],
    ]);
    expect(c.state).toBe(TCP_TIME_WAIT);
  });
});

describe('resets (RFC 5961 3)', () => {
  it('out of the window: refused; in it but not exact: passed without closing; exact: closes', () => {
    const c = established(7, 7);
    run(c, [
      ['client data', { dir: O, flags: A, seq: C + 1, ack: S + 1, len: 2000 }, WIN_OK],
      ['server acks 1000 of it', { dir: R, flags: A, seq: S + 1, ack: C + 1001 }, WIN_OK],
      ['blind reset far away', { dir: R, flags: TCP_RST, seq: S + 2_000_000_000 }, WIN_OUT],
      ['blind reset just behind the window', { dir: R, flags: TCP_RST, seq: S - 8_500_000 }, WIN_OUT],
      ['reset inside the window', { dir: R, flags: TCP_RST, seq: S + 5000 }, WIN_RST_INEXACT],
    ]);
    expect(c.state).toBe(TCP_ESTABLISHED);
    expect(c.send({ dir: R, flags: TCP_RST, seq: S + 1 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_CLOSE);
  });

  it('a reset at what the receiver acknowledged (a stack that rewound SND.NXT) closes', () => {
    const c = established();
    c.send({ dir: O, flags: A, seq: C + 1, ack: S + 1, len: 2000 });
    c.send({ dir: R, flags: A, seq: S + 1, ack: C + 1001 });
    expect(c.send({ dir: O, flags: RA, seq: C + 1001, ack: S + 1 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_CLOSE);
  });

  it('exactly at the next expected sequence (SND.NXT) closes, ACK or not', () => {
    const c = established();
    c.send({ dir: O, flags: A, seq: C + 1, ack: S + 1, len: 300 });
    expect(c.send({ dir: O, flags: RA, seq: C + 301, ack: 0 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_CLOSE);
  });
});

describe('SYNs', () => {
  it('a SYN on an established connection passes untouched (challenge ACK, RFC 5961 4)', () => {
    const c = established();
    const before = [...c.w.end, ...c.w.maxEnd];
    expect(c.send({ dir: O, flags: TCP_SYN, seq: 77 })).toBe(WIN_OK);
    expect([...c.w.end, ...c.w.maxEnd]).toEqual(before);
  });

  it('a SYN after TIME_WAIT starts the connection afresh', () => {
    const c = established();
    c.state = TCP_TIME_WAIT;
    expect(c.send({ dir: O, flags: TCP_SYN, seq: 9_000_000 })).toBe(WIN_OK);
    expect(c.w.end[O]).toBe(9_000_001);
    expect(c.w.flags[R]).toBe(0);
    expect(c.send({ dir: R, flags: SA, seq: 42, ack: 9_000_001 })).toBe(WIN_OK);
  });
});

describe('sessions picked up mid-stream', () => {
  it('learn each side from its first segment, then check', () => {
    const c = new Conn(TCP_ESTABLISHED);
    run(c, [
      ['first client segment', { dir: O, flags: A, seq: 7_000_000, ack: 90_000_000, win: 500, len: 100 }, WIN_OK],
      ['first server segment', { dir: R, flags: A, seq: 90_000_000, ack: 7_000_100, win: 500, len: 100 }, WIN_OK],
      ['client continues', { dir: O, flags: A, seq: 7_000_100, ack: 90_000_100, win: 500, len: 100 }, WIN_OK],
      ['blind data 2 GB away', { dir: O, flags: A, seq: 2_007_000_000, ack: 90_000_100, len: 10 }, WIN_OUT],
      ['blind reset 2 GB away', { dir: R, flags: TCP_RST, seq: 2_090_000_000 }, WIN_OUT],
    ]);
    expect(c.w.flags[O] & WF_GUESS).toBe(WF_GUESS);
  });

  it('a reset before its side was seen is passed without closing unless the other side acknowledged its sequence', () => {
    const c = new Conn(TCP_ESTABLISHED);
    c.send({ dir: O, flags: A, seq: 7_000_000, ack: 90_000_000, len: 0 });
    expect(c.send({ dir: R, flags: TCP_RST, seq: 12345 })).toBe(WIN_RST_INEXACT);
    expect(c.state).toBe(TCP_ESTABLISHED);
    expect(c.send({ dir: R, flags: TCP_RST, seq: 90_000_000 })).toBe(WIN_OK);
    expect(c.state).toBe(TCP_CLOSE);
  });
});

describe('sides synced from the peer (HA2)', () => {
  /** The established connection's state as a record would carry it, marked synced. */
  function synced(): Conn {
    const c = established(7, 7);
    c.send({ dir: O, flags: A, seq: C + 1, ack: S + 1, len: 1000 });
    c.send({ dir: R, flags: A, seq: S + 1, ack: C + 1001, len: 1000 });
    c.w.flags[O] |= WF_SYNCED;
    c.w.flags[R] |= WF_SYNCED;
    return c;
  }

  it('accept segments ahead of the synced edge by up to the slack, and learn', () => {
    const c = synced();
    const ahead = 5_000_000; // the active sent 5 MB more before it failed
    run(c, [
      ['client data ahead', { dir: O, flags: A, seq: C + 1001 + ahead, ack: S + 1001 + ahead, len: 1000 }, WIN_OK],
      ['server data ahead', { dir: R, flags: A, seq: S + 1001 + ahead, ack: C + 2001 + ahead, len: 1000 }, WIN_OK],
    ]);
    expect(c.w.flags[O] & WF_SYNCED).toBe(0);
    expect(c.w.flags[R] & WF_SYNCED).toBe(0);
    // confirmed: the ordinary check again
    run(c, [['blind reset 20 MB ahead', { dir: R, flags: TCP_RST, seq: S + 1001 + ahead + 20_000_000 }, WIN_OUT]]);
  });

  it('refuse what lies beyond the slack, and take a reset within it as exact', () => {
    const c = synced();
    expect(c.send({ dir: R, flags: TCP_RST, seq: S + 1001 + TCP_SYNC_SLACK + 65535 * 128 + 10 })).toBe(WIN_OUT);
    expect(c.send({ dir: R, flags: A, seq: S + 1001 + 1_000_000_000, ack: C + 1001, len: 10 })).toBe(WIN_OUT);
    expect(c.w.flags[R] & WF_SYNCED).toBe(WF_SYNCED);
    expect(c.send({ dir: R, flags: TCP_RST, seq: S + 3_000_000 })).toBe(WIN_OK);
  });
});

/** A TCP header (20 bytes + options) with `payload` bytes after it. */
function tcpBytes(o: { flags: number; seq?: number; ack?: number; win?: number; options?: number[]; payload?: number; doff?: number }): Uint8Array {
  const opts = o.options ?? [];
  const hlen = 20 + opts.length;
  const b = new Uint8Array(hlen + (o.payload ?? 0));
  const dv = new DataView(b.buffer);
  dv.setUint32(4, o.seq ?? 0);
  dv.setUint32(8, o.ack ?? 0);
  b[12] = (o.doff ?? hlen / 4) << 4;
  b[13] = o.flags;
  dv.setUint16(14, o.win ?? 1000);
  b.set(opts, 20);
  return b;
}

describe('readTcpSegment', () => {
  it('reads sequence, ACK, window, length (SYN and FIN count one)', () => {
    const seg = emptySegment();
    const b = tcpBytes({ flags: FA, seq: 0xfffffff0, ack: 77, win: 513, payload: 33 });
    expect(readTcpSegment(b, 0, b.length, seg)).toBe(true);
    expect(seg).toMatchObject({ seq: 0xfffffff0, ack: 77, win: 513, len: 34, wscale: -1, sack: 77 });
  });

  it('reads the window scale of a SYN only, and the highest SACK right edge', () => {
    const seg = emptySegment();
    const syn = tcpBytes({ flags: TCP_SYN, options: [2, 4, 5, 0xb4, 1, 3, 3, 7] });
    readTcpSegment(syn, 0, syn.length, seg);
    expect(seg.wscale).toBe(7);
    const ack = tcpBytes({ flags: A, ack: 1000, options: [3, 3, 7, 1, 1, 1, 5, 18, 0, 0, 0x0b, 0xb8, 0, 0, 0x0f, 0xa0, 0, 0, 0x07, 0xd0, 0, 0, 0x09, 0xc4] });
    readTcpSegment(ack, 0, ack.length, seg);
    expect(seg.wscale).toBe(-1);
    expect(seg.sack).toBe(4000);
  });

  it('refuses a data offset below 5 words or past the packet; stops at malformed options', () => {
    const seg = emptySegment();
    const short = tcpBytes({ flags: A, doff: 4 });
    expect(readTcpSegment(short, 0, short.length, seg)).toBe(false);
    const long = tcpBytes({ flags: A, doff: 15 });
    expect(readTcpSegment(long, 0, long.length, seg)).toBe(false);
    const bad = tcpBytes({ flags: TCP_SYN, options: [3, 40, 7, 0] });
    expect(readTcpSegment(bad, 0, bad.length, seg)).toBe(true);
    expect(seg.wscale).toBe(-1);
  });
});

describe('flags', () => {
  it('a known side says so', () => {
    const c = established();
    expect(c.w.flags[O] & WF_KNOWN).toBe(WF_KNOWN);
    expect(c.w.flags[R] & WF_KNOWN).toBe(WF_KNOWN);
  });
});
