// The figures of several flows processes as one (active/active runs a TCP and a UDP flows process
// per client). Pure. Connection ids are per process: process k's ids are offset by k * ID_STRIDE,
// so that a loss names one connection of the run.
import type { TcpEnd, TcpLoss, TcpMark, UdpMark } from './flows.js';

export const ID_STRIDE = 1_000_000;

const offset = (lost: readonly TcpLoss[], k: number): TcpLoss[] => lost.map((l) => ({ ...l, id: l.id + k * ID_STRIDE }));

export function mergeTcpMarks(marks: readonly TcpMark[]): TcpMark {
  return {
    mark: marks[0].mark,
    atMs: Math.max(...marks.map((m) => m.atMs)),
    lost: marks.flatMap((m, k) => offset(m.lost, k)),
    maxStallMs: Math.max(...marks.map((m) => m.maxStallMs)),
    stalledNow: marks.reduce((n, m) => n + m.stalledNow, 0),
    alive: marks.reduce((n, m) => n + m.alive, 0),
  };
}

/** Longest silence of any probe stream, losses and arrivals summed, silences of every stream listed. */
export function mergeUdpMarks(marks: readonly UdpMark[]): UdpMark {
  return {
    mark: marks[0].mark,
    atMs: Math.max(...marks.map((m) => m.atMs)),
    received: marks.reduce((n, m) => n + m.received, 0),
    lost: marks.reduce((n, m) => n + m.lost, 0),
    late: marks.reduce((n, m) => n + m.late, 0),
    maxGapMs: Math.max(...marks.map((m) => m.maxGapMs)),
    gaps: marks.flatMap((m) => m.gaps).sort((a, b) => a.atMs - b.atMs),
  };
}

export function mergeTcpEnds(ends: readonly TcpEnd[]): TcpEnd {
  return {
    end: true,
    total: ends.reduce((n, e) => n + e.total, 0),
    connected: ends.reduce((n, e) => n + e.connected, 0),
    survived: ends.reduce((n, e) => n + e.survived, 0),
    lost: ends.flatMap((e, k) => offset(e.lost, k)),
  };
}
