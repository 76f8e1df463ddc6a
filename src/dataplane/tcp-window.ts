// TCP sequence and window tracking as a middlebox does it (Guido van Rooij, "Real Stateful TCP
// Packet Filtering in IP Filter", 2000; the model of pf's pf_tcp_track_full and Linux conntrack's
// tcp_in_window). tcp-state.ts follows the flags; this module checks that a segment's sequence
// and acknowledgement numbers fit what the two endpoints have said to each other, so that a
// blind reset or data injected with a guessed sequence number is not passed.
//
// Per direction of a session (the sender's side, index ref = slot * 2 + dir as in the session
// table) four numbers and a flags byte:
//   end     the highest sequence number the sender has used, plus one (SYN and FIN count one):
//           its SND.NXT as far as we know;
//   maxEnd  the highest sequence number the sender may use: the receiver's highest ACK plus the
//           receiver's window (+1 for a zero window, so a window probe passes);
//   maxWin  the largest window (scaled) the sender advertised: how far behind `end` a
//           retransmission of the other direction may lie;
//   maxAck  the highest ACK the sender sent: its RCV.NXT, where a reset to it must land exactly;
//   flags   WF_* below: the window scale shift, whether the SYN carried the option, and what is
//           known of this side.
//
// A segment from sender S to receiver R is in the window when (all mod 2^32, RFC 9293 3.4):
//   seq            <= S.maxEnd                         it does not overrun R's window
//   seq + len      >= S.end - R.maxWin                 it is not older than one of R's windows
//   ack            <= R.end                            it acknowledges nothing R has not sent
//   ack            >= R.end - max(S.maxWin, OLD_ACK)   the ACK is not older than a window
// (ack: the highest SACK block's right edge when that is beyond the ACK, RFC 2018). A segment in
// the window moves S.end, S.maxWin, S.maxAck and R.maxEnd forward, never back; one outside it
// teaches nothing. Resets (RFC 5961 3): one outside the window is refused; one exactly at the
// receiver's next expected sequence (S.end, or R.maxAck: what R acknowledged) closes; one inside
// the window elsewhere is passed without closing: the endpoint answers it with a challenge ACK and
// the real owner of the connection, if it meant it, resets again at the exact sequence.
//
// Window scaling (RFC 7323 2): the shift is taken from each SYN, applied only when both SYNs
// carried the option, and never to the window of a SYN. A side picked up mid-stream (a synced
// session without window fields, from an older peer) has an unknown shift: 14, the largest RFC
// 7323 allows, is assumed, which weakens the check for that side but never refuses what the
// endpoints would take.
//
// Synced sides (WF_SYNCED: installed from the peer's HA2 record) lag the peer's live state by what
// flowed since the last record (the active sends one at least every TCP_SYNC_STRIDE of sequence
// space and on every state change): every bound is widened by TCP_SYNC_SLACK until a segment of
// that side passes; a reset within the widened window counts as exact.
//
// Pure: no I/O, no clock, no allocation. State lives in the session table's typed arrays
// (TcpWindows); the firewall calls readTcpSegment() and tcpWindowStep() for every segment of a
// known session.
import { TCP_ACK, TCP_CLOSE, TCP_FIN, TCP_NONE, TCP_RST, TCP_SYN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT } from './tcp-state.js';

/** The window scale shift in use for this side's windows (0-14; 14 when guessed). */
export const WF_SHIFT = 0x0f;
/** This side's SYN carried a window scale option (RFC 7323 2.2); its shift is in WF_SHIFT. */
export const WF_WSOPT = 0x10;
/** Picked up mid-stream: the shift is not known, 14 is assumed. */
export const WF_GUESS = 0x20;
/** end, maxEnd, maxWin and maxAck hold this side's values (clear: nothing seen of it yet). */
export const WF_KNOWN = 0x40;
/** Learnt from the peer's HA2 record, not yet confirmed by a segment here: checked with TCP_SYNC_SLACK. */
export const WF_SYNCED = 0x80;

/** RFC 7323 2.3: a shift above 14 is taken as 14. */
export const MAX_WSCALE = 14;
/** The largest window a side can advertise: 65535 << 14 (RFC 7323 2.3), about 2^30. */
export const MAX_WINDOW = 65535 * 2 ** MAX_WSCALE;

/**
 * How far an ACK may lag the receiver's end at least: a full unscaled window plus a segment
 * (the tolerance pf and Linux give, so a reordered or duplicated ACK passes).
 */
export const OLD_ACK_MIN = 65535 + 1500;

/**
 * The active box sends a session's record again once a side's end has moved this far since the
 * last record (besides every state change): the survivor of a failover is never further behind
 * than this plus what crossed in the last moments (see TCP_SYNC_SLACK). 1 MiB: a bulk transfer at
 * 1 Gb/s costs about 120 records a second.
 */
export const TCP_SYNC_STRIDE = 1 << 20;

/**
 * A synced side's bounds are widened by this much until it has been seen here: the stride, plus
 * 15 MiB for the records in flight when the peer failed (120 ms at 1 Gb/s; the HA2 lag measured
 * in the lab is a few ms). A random sequence number still falls outside with probability
 * 1 - (2 * 16 MiB + window) / 4 GiB, above 99 %.
 */
export const TCP_SYNC_SLACK = 16 * TCP_SYNC_STRIDE;

/** In the window: forward; what it says has been learnt. */
export const WIN_OK = 0;
/** Outside the window: nothing learnt. The firewall drops it (strict) or passes it (loose, not a reset). */
export const WIN_OUT = 1;
/** A reset inside the window but not at the expected sequence: forward it, do not close (RFC 5961 3.2). */
export const WIN_RST_INEXACT = 2;

/** The window state of every session side: the session table's arrays, index slot * 2 + dir. */
export interface TcpWindows {
  readonly end: Uint32Array;
  readonly maxEnd: Uint32Array;
  readonly maxWin: Uint32Array;
  readonly maxAck: Uint32Array;
  readonly flags: Uint8Array;
}

/** The fields of one segment the check needs (readTcpSegment fills a reused one). */
export interface TcpSegment {
  seq: number;
  ack: number;
  /** The window field as sent (16 bits, unscaled). */
  win: number;
  /** The flags byte. */
  flags: number;
  /** Sequence space used: payload bytes, plus one for SYN and one for FIN. */
  len: number;
  /** The window scale option's shift (SYN segments only), -1 when absent. */
  wscale: number;
  /** The highest right edge of the SACK blocks (RFC 2018), or the ACK when there are none. */
  sack: number;
}

export function emptySegment(): TcpSegment {
  return { seq: 0, ack: 0, win: 0, flags: 0, len: 0, wscale: -1, sack: 0 };
}

// TCP header offsets (RFC 9293 3.1).
const SEQ = 4;
const ACK = 8;
const DOFF = 12;
const FLAGS = 13;
const WIN = 14;
const HLEN = 20;
// Option kinds (RFC 9293 3.2, RFC 7323 2.2, RFC 2018 3).
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_WSCALE = 3;
const OPT_SACK = 5;

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Reads the TCP segment at `l4` of a packet whose TCP header and payload end at `l4End`. False
 * when the header's data offset is below 5 words or runs past the packet. Malformed options end
 * the option scan (what was read so far stands): the endpoint judges its options, we only look for
 * the window scale and SACK.
 */
export function readTcpSegment(b: Uint8Array, l4: number, l4End: number, seg: TcpSegment): boolean {
  const hlen = (b[l4 + DOFF] >>> 4) << 2;
  if (hlen < HLEN || l4 + hlen > l4End) return false;
  seg.seq = u32(b, l4 + SEQ);
  seg.ack = u32(b, l4 + ACK);
  seg.win = (b[l4 + WIN] << 8) | b[l4 + WIN + 1];
  const flags = b[l4 + FLAGS];
  seg.flags = flags;
  seg.len = l4End - l4 - hlen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  seg.wscale = -1;
  seg.sack = seg.ack;
  const end = l4 + hlen;
  let i = l4 + HLEN;
  while (i < end) {
    const kind = b[i];
    if (kind === OPT_END) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const len = b[i + 1];
    if (len < 2 || i + len > end) break;
    if (kind === OPT_WSCALE && len === 3 && (flags & TCP_SYN) !== 0) {
      seg.wscale = Math.min(b[i + 2], MAX_WSCALE);
    } else if (kind === OPT_SACK && (flags & TCP_ACK) !== 0) {
      // blocks of (left, right) edges; the right edge is one past the last byte held
      for (let blk = i + 2; blk + 8 <= i + len; blk += 8) {
        const right = u32(b, blk + 4);
        if (seqLt(seg.sack, right)) seg.sack = right;
      }
    }
    i += len;
  }
  return true;
}

/** a < b in sequence space (RFC 9293 3.4: differences below 2^31). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** The shift this side's non-SYN windows are scaled by. */
function shiftOf(flags: number): number {
  return flags & WF_SHIFT;
}

/** States in which a SYN from the originator (re)opens the connection, so its side starts afresh. */
function opening(state: number): boolean {
  return state === TCP_NONE || state === TCP_SYN_SENT || state === TCP_TIME_WAIT || state === TCP_CLOSE;
}

/**
 * Checks the segment `seg` of direction `dir` against session `slot`'s windows and learns from it
 * when it fits. `state` is the session's TCP state before this segment (tcp-state.ts). Returns
 * WIN_OK, WIN_OUT or WIN_RST_INEXACT.
 */
export function tcpWindowStep(w: TcpWindows, slot: number, dir: number, state: number, seg: TcpSegment): number {
  const s = (slot << 1) | dir;
  const r = s ^ 1;
  const f = seg.flags;
  if ((f & TCP_SYN) !== 0) return synStep(w, s, r, dir, state, seg);
  const sf = w.flags[s];
  const rf = w.flags[r];
  if ((sf & WF_KNOWN) === 0) return pickUp(w, s, r, state, seg);
  const slack = ((sf | rf) & WF_SYNCED) !== 0 ? TCP_SYNC_SLACK : 0;
  const rKnown = (rf & WF_KNOWN) !== 0;
  const seq = seg.seq;
  const segEnd = (seq + seg.len) >>> 0;
  // sequence: not beyond what R allows, not older than one of R's windows
  if (!seqLe(seq, (w.maxEnd[s] + slack) >>> 0)) return WIN_OUT;
  if (rKnown && seqLt(segEnd, (w.end[s] - w.maxWin[r] - slack) >>> 0)) return WIN_OUT;
  if ((f & TCP_RST) !== 0) {
    if (slack !== 0 || seq === w.end[s] || (rKnown && seq === w.maxAck[r])) return WIN_OK;
    return WIN_RST_INEXACT;
  }
  // acknowledgement: nothing R has not sent, nothing older than a window (a segment without ACK
  // acknowledges nothing: only a bare SYN or RST has none after the handshake)
  const hasAck = (f & TCP_ACK) !== 0;
  if (hasAck && rKnown) {
    const rEnd = w.end[r];
    const oldest = Math.max(w.maxWin[s], OLD_ACK_MIN) + slack;
    if (!seqLe(seg.sack, (rEnd + slack) >>> 0) || seqLt(seg.sack, (rEnd - oldest) >>> 0)) return WIN_OUT;
  }
  learn(w, s, r, seg, segEnd, hasAck);
  w.flags[s] = sf & ~WF_SYNCED;
  return WIN_OK;
}

/** What an in-window segment of side s teaches: its end, window and ACK, and R's right edge. */
function learn(w: TcpWindows, s: number, r: number, seg: TcpSegment, segEnd: number, hasAck: boolean): void {
  const win = seg.win << shiftOf(w.flags[s]);
  if (seqLt(w.end[s], segEnd)) {
    // data beyond R's right edge as we saw it: R's window was larger than we knew (an update we
    // missed); remember, so R's retransmission tolerance covers it
    if (seqLt(w.maxEnd[s], segEnd)) w.maxWin[r] = Math.min(MAX_WINDOW, w.maxWin[r] + ((segEnd - w.maxEnd[s]) >>> 0));
    w.end[s] = segEnd;
  }
  if (win > w.maxWin[s]) w.maxWin[s] = win;
  if (!hasAck) return;
  if (seqLt(w.maxAck[s], seg.ack)) w.maxAck[s] = seg.ack;
  // R may send up to the ACK plus this window (one byte more into a zero window: the probe)
  const edge = (seg.ack + (win === 0 ? 1 : win)) >>> 0;
  if ((w.flags[r] & WF_KNOWN) === 0 || seqLt(w.maxEnd[r], edge)) w.maxEnd[r] = edge;
}

/**
 * A SYN or SYN-ACK. While the connection opens it (re)starts the sender's side: the originator's
 * SYN always (the receiver's side is forgotten too: a new connection on the tuple), a SYN-ACK
 * only when it acknowledges the originator's SYN exactly (RFC 9293 3.10.7.3). A SYN on a
 * synchronized connection is passed untouched: the endpoint answers it with a challenge ACK
 * (RFC 5961 4), which lets a client that lost its connection reset it and start again.
 */
function synStep(w: TcpWindows, s: number, r: number, dir: number, state: number, seg: TcpSegment): number {
  const hasAck = (seg.flags & TCP_ACK) !== 0;
  if (dir === 0 && !hasAck) {
    if (!opening(state)) return WIN_OK;
    initSide(w, s, seg);
    w.flags[r] = 0;
    return WIN_OK;
  }
  if (state !== TCP_SYN_SENT && state !== TCP_SYN_RECV) return WIN_OK;
  if (hasAck) {
    // the answer must acknowledge the other side's SYN: the one value a blind attacker must guess
    if ((w.flags[r] & WF_KNOWN) !== 0 && seg.ack !== w.end[r]) return WIN_OUT;
  }
  initSide(w, s, seg);
  // both SYNs seen: scaling applies only if both carried the option (RFC 7323 2.2)
  const rf = w.flags[r];
  if ((rf & WF_KNOWN) !== 0) {
    const both = (rf & WF_WSOPT) !== 0 && (w.flags[s] & WF_WSOPT) !== 0;
    if (!both) {
      w.flags[s] &= ~WF_SHIFT;
      w.flags[r] = rf & ~WF_SHIFT;
    }
  }
  if (hasAck) {
    // the SYN-ACK's own window is never scaled (RFC 7323 2.2)
    w.maxAck[s] = seg.ack;
    w.maxEnd[r] = (seg.ack + Math.max(seg.win, 1)) >>> 0;
  }
  return WIN_OK;
}

/** A side starts from its SYN: ISS + 1 (+ data), its unscaled window, its scale option. */
function initSide(w: TcpWindows, s: number, seg: TcpSegment): void {
  const end = (seg.seq + seg.len) >>> 0;
  const win = Math.max(seg.win, 1);
  w.end[s] = end;
  w.maxEnd[s] = end;
  w.maxWin[s] = win;
  w.maxAck[s] = 0;
  w.flags[s] = WF_KNOWN | (seg.wscale >= 0 ? WF_WSOPT | seg.wscale : 0);
}

/**
 * The first segment of a side nothing is known of (a session picked up mid-stream, or the
 * responder before its SYN-ACK): its values are taken from the segment, the scale guessed at the
 * maximum. A reset teaches nothing: it is checked against what the other side acknowledged when
 * that is known, and otherwise passed without closing (or, answering a SYN, must acknowledge it).
 */
function pickUp(w: TcpWindows, s: number, r: number, state: number, seg: TcpSegment): number {
  const rf = w.flags[r];
  const rKnown = (rf & WF_KNOWN) !== 0;
  if ((seg.flags & TCP_RST) !== 0) {
    if (state === TCP_SYN_SENT) return (seg.flags & TCP_ACK) !== 0 && rKnown && seg.ack === w.end[r] ? WIN_OK : WIN_OUT;
    return rKnown && seg.seq === w.maxAck[r] ? WIN_OK : WIN_RST_INEXACT;
  }
  // an ACK answering a SYN from an old connection (tcp-state.ts passes it): nothing to learn
  if (state === TCP_SYN_SENT) return WIN_OK;
  const end = (seg.seq + seg.len) >>> 0;
  const win = Math.max(seg.win << MAX_WSCALE, 1);
  w.end[s] = end;
  w.maxWin[s] = win;
  w.maxAck[s] = seg.ack;
  w.flags[s] = WF_KNOWN | WF_GUESS | MAX_WSCALE;
  // its right edge: a (guessed) window ahead, or further when R's ACK and window said so
  const guess = (end + win) >>> 0;
  if (!rKnown || seqLt(w.maxEnd[s], guess)) w.maxEnd[s] = guess;
  if ((seg.flags & TCP_ACK) !== 0) {
    const edge = (seg.ack + win) >>> 0;
    if (!rKnown || seqLt(w.maxEnd[r], edge)) w.maxEnd[r] = edge;
  }
  return WIN_OK;
}

/**
 * Whether `seq`, the sequence number of a segment of side `dir` quoted by an ICMP error, lies in
 * that side's window: between one of the other side's windows behind its end and its right edge
 * (pf checks the same). True when nothing is known of the side. Learns nothing.
 */
export function tcpQuotedInWindow(w: TcpWindows, slot: number, dir: number, seq: number): boolean {
  const s = (slot << 1) | dir;
  const r = s ^ 1;
  const sf = w.flags[s];
  if ((sf & WF_KNOWN) === 0) return true;
  const slack = ((sf | w.flags[r]) & WF_SYNCED) !== 0 ? TCP_SYNC_SLACK : 0;
  const back = (w.flags[r] & WF_KNOWN) !== 0 ? w.maxWin[r] : MAX_WINDOW;
  return seqLe(seq, (w.maxEnd[s] + slack) >>> 0) && !seqLt(seq, (w.end[s] - back - slack) >>> 0);
}
