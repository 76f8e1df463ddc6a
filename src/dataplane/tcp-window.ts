// TCP window tracking: which sequence and acknowledgement numbers a segment of a session may
// carry. Guido van Rooij's method ("Real Stateful TCP Packet Filtering in IP Filter", 2000), as
// pf (pf_tcp_track_full) and Linux (nf_conntrack_proto_tcp.c, tcp_in_window) apply it. Per
// direction of a session (the sender's point of view):
//
//   end     highest sequence number sent, + 1 (seq + payload + SYN + FIN)
//   maxend  highest acknowledgement seen from the other side + its window (scaled): how far the
//           sender may go
//   maxwin  largest window (scaled) the sender advertised
//   scale   the sender's window scale (RFC 7323), kept only when both SYNs carried the option
//
// A segment of direction s (receiver r) with seq, end = seq + len, ack (sack: the highest SACK
// edge when above ack) is in window when
//   I   seq <= s.maxend                              not beyond what the receiver allowed
//   II  end > s.end - r.maxwin                       not older than a window (retransmissions pass)
//   III sack <= r.end                                acknowledges nothing the receiver never sent
//   IV  sack > r.end - max(s.maxwin, 66000)          nor anything too old (the ack slack)
// Keep-alives (seq = end - 1), window probes (one byte past a zero window: maxend is ack + 1 then)
// and retransmissions are in window by construction. All comparisons are mod 2^32 (RFC 9293 3.4).
//
// Lag (HA2): a session synced from the peer holds the peer's window as of its last record, which
// only lags behind: the lower bounds (II, IV) stay valid, the upper ones (I, III) may not. Such a
// direction carries WF_MAXEND_LAGS (I skipped until the other side has acknowledged something
// here: its ack + window is the current edge) and WF_END_LAGS (III bounded by maxend, the edge
// the receiver advertised, instead of end, and end raised to every ack seen). A reset cannot be
// verified against a lagging edge: it waits for the other side's first acknowledgement (the
// endpoint that aborted answers the next segment with another reset, checked then).
//
// Pure: no I/O, no clock, no allocation per packet. State lives in TcpWindows's typed arrays,
// indexed by the session table's ref (slot * 2 + direction).
import { TCP_ACK, TCP_CLOSE, TCP_ESTABLISHED, TCP_FIN, TCP_LAST_ACK, TCP_RST, TCP_SYN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT } from './tcp-state.js';

/** The direction's SYN carried a window scale option. */
export const WF_SCALE_OPT = 1;
/** Picked up without its SYN: the scale is unknown, bounds assume the largest (14). */
export const WF_SCALE_GUESS = 2;
/** Synced from the peer: maxend may lag (bound I waits for the other side's acknowledgement). */
export const WF_MAXEND_LAGS = 4;
/** Synced from the peer: end may lag (bound III uses maxend; acks raise end). */
export const WF_END_LAGS = 8;
/** Every flag a record may carry. */
export const WF_ALL = 15;

/** RFC 7323 2.3: a shift count above 14 is taken as 14. */
export const MAX_WSCALE = 14;
/** Linux's MAXACKWINCONST: the ack slack of bound IV is never below this. */
const MAX_ACK_WINDOW = 66000;

/** Window check modes (shared.sessions.tcpWindowCheck): off learns only, loose checks resets, strict everything. */
export const WIN_OFF = 0;
export const WIN_LOOSE = 1;
export const WIN_STRICT = 2;

/** What tcpWindowStep needs of a segment (readTcpSegment fills it). */
export interface TcpSegment {
  seq: number;
  ack: number;
  /** The window field as sent (unscaled). */
  win: number;
  /** Payload bytes. */
  len: number;
  /** The flags byte (SYN, FIN, RST, ACK ...). */
  flags: number;
  /** Window scale option (SYN only), -1 when absent. */
  wscale: number;
  /** Highest right edge of the SACK blocks, or ack when none lies above it. */
  sack: number;
}

export function emptySegment(): TcpSegment {
  return { seq: 0, ack: 0, win: 0, len: 0, flags: 0, wscale: -1, sack: 0 };
}

/** a > b mod 2^32 */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Reads the TCP header at `off` (l4Len bytes of segment by the IP total length) into seg; false
 * when its data offset is below 5 words or beyond the segment. Options: window scale (kind 3)
 * and SACK (kind 5); a malformed option list ends the scan (what was read is kept).
 */
export function readTcpSegment(b: Uint8Array, off: number, l4Len: number, seg: TcpSegment): boolean {
  const hlen = (b[off + 12] >> 4) * 4;
  if (hlen < 20 || hlen > l4Len || off + hlen > b.length) return false;
  seg.seq = rd32(b, off + 4);
  seg.ack = rd32(b, off + 8);
  seg.flags = b[off + 13];
  seg.win = (b[off + 14] << 8) | b[off + 15];
  seg.len = l4Len - hlen;
  seg.wscale = -1;
  seg.sack = seg.ack;
  let i = off + 20;
  const endOpt = off + hlen;
  while (i < endOpt) {
    const kind = b[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= endOpt) break;
    const olen = b[i + 1];
    if (olen < 2 || i + olen > endOpt) break;
    if (kind === 3 && olen === 3) seg.wscale = Math.min(b[i + 2], MAX_WSCALE);
    else if (kind === 5) {
      for (let e = i + 6; e + 4 <= i + olen; e += 8) {
        const right = rd32(b, e);
        if (after(right, seg.sack)) seg.sack = right;
      }
    }
    i += olen;
  }
  return true;
}

/** The window state of every session direction: ref = slot * 2 + dir, as the session table's. */
export class TcpWindows {
  readonly end: Uint32Array;
  readonly maxend: Uint32Array;
  /** 0: nothing known of this direction yet (picked up from its first segment). */
  readonly maxwin: Uint32Array;
  readonly scale: Uint8Array;
  readonly flags: Uint8Array;

  constructor(capacity: number) {
    this.end = new Uint32Array(capacity * 2);
    this.maxend = new Uint32Array(capacity * 2);
    this.maxwin = new Uint32Array(capacity * 2);
    this.scale = new Uint8Array(capacity * 2);
    this.flags = new Uint8Array(capacity * 2);
  }

  get arrays(): ArrayBufferView[] {
    return [this.end, this.maxend, this.maxwin, this.scale, this.flags];
  }

  /** One direction as given (a new session: zeros; a synced one: the record's). */
  set(ref: number, end: number, maxend: number, maxwin: number, scale: number, flags: number): void {
    this.end[ref] = end >>> 0;
    this.maxend[ref] = maxend >>> 0;
    this.maxwin[ref] = maxwin >>> 0;
    this.scale[ref] = Math.min(scale, MAX_WSCALE);
    this.flags[ref] = flags & WF_ALL;
  }

  /** Both directions of `slot` synced from the peer: their upper edges may lag (see the file comment). */
  markLagging(slot: number): void {
    const o = slot << 1;
    this.flags[o] |= WF_MAXEND_LAGS | WF_END_LAGS;
    this.flags[o | 1] |= WF_MAXEND_LAGS | WF_END_LAGS;
  }
}

/** The scale a direction's windows are read with (the largest when it is unknown). */
function scaleOf(w: TcpWindows, ref: number): number {
  return (w.flags[ref] & WF_SCALE_GUESS) !== 0 ? MAX_WSCALE : w.scale[ref];
}

/** A SYN starts the sender's sequence space (the opening SYN, the SYN-ACK, a fresh SYN on a reopened tuple). */
function initFromSyn(w: TcpWindows, s: number, seg: TcpSegment, end: number): void {
  const r = s ^ 1;
  w.end[s] = end;
  w.maxend[s] = end;
  // RFC 7323 2.2: the window of a SYN is never scaled
  w.maxwin[s] = seg.win === 0 ? 1 : seg.win;
  w.scale[s] = seg.wscale >= 0 ? Math.min(seg.wscale, MAX_WSCALE) : 0;
  w.flags[s] = seg.wscale >= 0 ? WF_SCALE_OPT : 0;
  // RFC 7323 1.3: scaling is on only when both SYNs carry the option
  if (w.maxwin[r] !== 0 && (w.flags[s] & w.flags[r] & WF_SCALE_OPT) === 0) {
    w.scale[s] = 0;
    w.scale[r] = 0;
  }
}

/** A direction seen first in mid-stream (no SYN): learnt from this segment, loosely (Linux's pickup). */
function pickUp(w: TcpWindows, s: number, end: number, win: number, sack: number): void {
  const r = s ^ 1;
  w.flags[s] |= WF_SCALE_GUESS;
  const swin = win * 2 ** scaleOf(w, s);
  w.end[s] = end;
  w.maxwin[s] = swin === 0 ? 1 : Math.min(swin, 0xffffffff);
  w.maxend[s] = (end + w.maxwin[s]) >>> 0;
  if (w.maxwin[r] === 0) {
    w.end[r] = sack;
    w.maxend[r] = sack;
  } else if (sack === (w.end[r] + 1) >>> 0) {
    // the answer to a keep-alive of the receiver's: its end was one short
    w.end[r] = sack;
  }
}

/**
 * The window check of one segment of direction `dir` in session `slot` whose TCP state is
 * `state` (before this segment). Returns true when the segment passes (the window state then
 * learns from it), false when it is out of window (nothing learnt). mode: WIN_STRICT drops what
 * is out of window, WIN_LOOSE only resets (the rest passes and is learnt, as Linux's
 * be_liberal), WIN_OFF nothing (the state is still learnt, so a later switch to strict checks
 * against a current window).
 */
export function tcpWindowStep(w: TcpWindows, slot: number, dir: number, state: number, seg: TcpSegment, mode: number): boolean {
  const s = (slot << 1) | dir;
  const r = s ^ 1;
  const flags = seg.flags;
  const syn = (flags & TCP_SYN) !== 0;
  const hasAck = (flags & TCP_ACK) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  // a SYN on a synchronized connection changes nothing (tcp-state.ts passes it for the endpoint's
  // challenge ACK; a late SYN-ACK retransmission): as Linux's "ignore", no window check
  if (syn && state >= TCP_ESTABLISHED && state <= TCP_LAST_ACK) return true;
  // a new connection on a closed tuple (tcp-state.ts: TIME-WAIT / CLOSE + SYN reopens)
  if (syn && !hasAck && dir === 0 && (state === TCP_TIME_WAIT || state === TCP_CLOSE)) {
    w.set(s, 0, 0, 0, 0, 0);
    w.set(r, 0, 0, 0, 0, 0);
  }
  let seq = seg.seq;
  let end = (seq + seg.len + (syn ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0)) >>> 0;
  if (w.maxwin[s] === 0 && syn) {
    initFromSyn(w, s, seg, end);
    if (!hasAck) return true;
  } else if (syn && ((state === TCP_SYN_SENT && dir === 0) || (state === TCP_SYN_RECV && dir === 1)) && after(end, w.end[s])) {
    // RFC 9293 3.4.1: a reinitialized sender only has to use larger sequence numbers
    initFromSyn(w, s, seg, end);
    if (!hasAck) return true;
  }
  let ack = seg.ack;
  let sack = seg.sack;
  // without ACK (or a reset from a stack that sends ack 0) the segment acknowledges nothing new
  if (!hasAck || (rst && ack === 0)) {
    ack = w.end[r];
    sack = ack;
  }
  // a reset answering a SYN carries seq 0 (RFC 9293 3.10.7.3) when the SYN had no ACK
  if (rst && seq === 0 && state === TCP_SYN_SENT) {
    seq = w.end[s];
    end = seq;
  }
  if (w.maxwin[s] === 0) pickUp(w, s, end, seg.win, sack);
  if (!inWindow(w, s, seq, end, sack, hasAck, rst) && (mode === WIN_STRICT || (mode === WIN_LOOSE && rst))) return false;
  learn(w, s, end, ack, sack, seg.win, hasAck, syn);
  return true;
}

function inWindow(w: TcpWindows, s: number, seq: number, end: number, sack: number, hasAck: boolean, rst: boolean): boolean {
  const r = s ^ 1;
  const sf = w.flags[s];
  const rf = w.flags[r];
  const maxendLags = (sf & WF_MAXEND_LAGS) !== 0;
  if (maxendLags && rst) return false;
  const okI = maxendLags || !after(seq, w.maxend[s]);
  const okII = w.maxwin[r] === 0 || after(end, (w.end[s] - w.maxwin[r] - 1) >>> 0);
  if (!hasAck) return okI && okII;
  let okIII: boolean;
  if ((rf & WF_END_LAGS) === 0) okIII = !after(sack, w.end[r]);
  else okIII = (rf & WF_MAXEND_LAGS) !== 0 || !after(sack, w.maxend[r]);
  const slack = w.maxwin[s] > MAX_ACK_WINDOW ? w.maxwin[s] : MAX_ACK_WINDOW;
  const okIV = after(sack, (w.end[r] - slack - 1) >>> 0);
  return okI && okII && okIII && okIV;
}

function learn(w: TcpWindows, s: number, end: number, ack: number, sack: number, rawWin: number, hasAck: boolean, syn: boolean): void {
  const r = s ^ 1;
  const win = syn ? rawWin : rawWin * 2 ** scaleOf(w, s);
  const swin = Math.min(win + ((sack - ack) >>> 0), 0xffffffff);
  if (w.maxwin[s] < swin) w.maxwin[s] = swin;
  // a sender past the receiver's edge (a window probe, a peer that shrank its window): widen
  if (w.maxwin[r] !== 0 && after(end, w.maxend[s])) w.maxwin[r] = Math.min(w.maxwin[r] + ((end - w.maxend[s]) >>> 0), 0xffffffff);
  if (after(end, w.end[s])) w.end[s] = end;
  if (!hasAck) return;
  const edge = (sack + win) >>> 0;
  if (after(edge, (w.maxend[r] - 1) >>> 0)) {
    // a zero window still lets a one-byte probe through
    w.maxend[r] = win === 0 ? (edge + 1) >>> 0 : edge;
  }
  const rf = w.flags[r];
  if ((rf & WF_END_LAGS) !== 0 && after(sack, w.end[r])) w.end[r] = sack;
  w.flags[r] = rf & ~WF_MAXEND_LAGS;
}
