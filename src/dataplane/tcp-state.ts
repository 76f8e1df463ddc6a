// TCP connection tracking as a middlebox sees it: RFC 9293's connection states (section 3.3.2)
// folded into one state per session, driven by the flags of the segments seen in each direction.
// The model is Linux conntrack's (nf_conntrack_proto_tcp.c, tcp_conntracks[]): the firewall sees
// both halves of the conversation but neither endpoint's variables, so it tracks the handshake
// and the close from the flags alone, and every (state, direction, flag class) has an outcome.
//
// Pure: no I/O, no clock, no allocation. The packet path calls tcpOpen() on a session miss and
// tcpStep() on a hit; tcpTimeoutS() gives the idle timeout of the resulting state.
//
// Direction: DIR_ORIGINAL (0) is the direction of the segment that created the session (the
// client's), DIR_REPLY (1) the other one (see session-table.ts).
import type { SharedConfig } from '../config/types.js';

export const TCP_NONE = 0;
/** The originator sent a SYN (RFC 9293 SYN-SENT at the client). */
export const TCP_SYN_SENT = 1;
/** The responder answered SYN-ACK, or both sides sent a SYN (simultaneous open, RFC 9293 3.5 fig. 7). */
export const TCP_SYN_RECV = 2;
/** The originator acknowledged the SYN-ACK: data may flow both ways. */
export const TCP_ESTABLISHED = 3;
/** One side sent a FIN (which side is not recorded: conntrack's sFW). */
export const TCP_FIN_WAIT = 4;
/** A FIN was seen and then an ACK: one half is closed, the other may still send (half-close). */
export const TCP_CLOSE_WAIT = 5;
/** FINs seen in both directions: waiting for the last ACK. */
export const TCP_LAST_ACK = 6;
/** Both FINs acknowledged: the connection is closed, segments may still straggle (RFC 9293 TIME-WAIT). */
export const TCP_TIME_WAIT = 7;
/** Reset by either side (RFC 9293 3.5.2). */
export const TCP_CLOSE = 8;

/** Index = state; also the label values of state metrics and the operator's session view. */
export const TCP_STATE_NAMES: readonly string[] = Object.freeze([
  'none',
  'syn-sent',
  'syn-recv',
  'established',
  'fin-wait',
  'close-wait',
  'last-ack',
  'time-wait',
  'close',
]);

/** Control bits of the TCP header's flags byte (RFC 9293 section 3.1). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
/** ECN bits (RFC 3168 section 6.1): negotiation and congestion marks, no connection-state meaning. */
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

// Flag classes: the flags reduced to what matters to the connection state. PSH and URG are
// properties of the data (RFC 9293 3.9, 3.8.5) and the ECN bits signal congestion (RFC 3168): they
// never change the state, so only SYN, FIN, RST and ACK select the class.
const C_SYN = 0; //    SYN alone: opens a connection (RFC 9293 3.5)
const C_SYNACK = 1; // SYN+ACK: the responder's answer
const C_FIN = 2; //    FIN+ACK: a side closes (after the SYN, every segment carries ACK: RFC 9293 3.10.7.4)
const C_ACK = 3; //    ACK alone: data or acknowledgement
const C_RST = 4; //    RST, with or without ACK: abort (RFC 9293 3.5.2)
const C_INV = 5; //    anything else: no flags (null scan), FIN without ACK, SYN+FIN, SYN+RST, RST+FIN, ...

/** Class of each combination of SYN|FIN|RST|ACK, indexed by (fin) | (syn << 1) | (rst << 2) | (ack << 3). */
const FLAG_CLASS: readonly number[] = [
  C_INV, //    0000 no flags
  C_INV, //    0001 FIN without ACK
  C_SYN, //    0010 SYN
  C_INV, //    0011 SYN+FIN
  C_RST, //    0100 RST
  C_INV, //    0101 RST+FIN
  C_INV, //    0110 RST+SYN
  C_INV, //    0111 RST+SYN+FIN
  C_ACK, //    1000 ACK
  C_FIN, //    1001 FIN+ACK
  C_SYNACK, // 1010 SYN+ACK
  C_INV, //    1011 SYN+ACK+FIN
  C_RST, //    1100 RST+ACK
  C_INV, //    1101 RST+ACK+FIN
  C_INV, //    1110 RST+SYN+ACK
  C_INV, //    1111 everything
];

function flagClass(flags: number): number {
  return FLAG_CLASS[(flags & (TCP_FIN | TCP_SYN | TCP_RST)) | ((flags & TCP_ACK) >>> 1)];
}

// Transition table: [dir][class][state] -> next state, or IV (-1: the segment fits no state, drop
// it). "stay" entries (the state's own value) are segments that are valid but change nothing: a
// retransmission, or one the endpoint must answer itself (a SYN on a synchronized connection gets
// a challenge ACK, RFC 5961 4 / RFC 9293 3.10.7.4).
const IV = -1;
const SS = TCP_SYN_SENT;
const SR = TCP_SYN_RECV;
const ES = TCP_ESTABLISHED;
const FW = TCP_FIN_WAIT;
const CW = TCP_CLOSE_WAIT;
const LA = TCP_LAST_ACK;
const TW = TCP_TIME_WAIT;
const CL = TCP_CLOSE;

// prettier-ignore
const ORIGINAL: readonly (readonly number[])[] = [
  //          NO  SS  SR  ES  FW  CW  LA  TW  CL
  /* syn    */ [SS, SS, SR, ES, FW, CW, LA, SS, SS],
  //  NO: the opening SYN. SS: retransmitted SYN. SR: SYN retransmitted before the SYN-ACK arrived.
  //  ES..LA: a SYN on a synchronized connection is passed unchanged (the endpoint answers with a
  //  challenge ACK, RFC 5961 4; a RST from the client then closes us). TW, CL: a new connection on
  //  the same tuple reopens the session (RFC 9293 3.6.1 lets a TIME-WAIT accept a new SYN).
  /* synack */ [IV, IV, SR, IV, IV, IV, IV, IV, IV],
  //  Only the responder answers SYN-ACK, except in a simultaneous open (SR: both sent a SYN).
  /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL],
  //  SR: the final ACK of the handshake may carry a FIN. FW/CW: a FIN from either side moves on to
  //  LAST_ACK (the side of the first FIN is not recorded, as in conntrack). TW, CL: a stray FIN.
  /* ack    */ [IV, IV, ES, ES, CW, CW, TW, TW, CL],
  //  SS: an ACK before any SYN-ACK is bogus. SR: the handshake's third segment. FW: the FIN is
  //  acknowledged (half-close). LA: the last ACK.
  /* rst    */ [CL, CL, CL, CL, CL, CL, CL, CL, CL],
  //  A reset closes from any state (RFC 9293 3.5.2).
  /* inv    */ [IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

// prettier-ignore
const REPLY: readonly (readonly number[])[] = [
  //          NO  SS  SR  ES  FW  CW  LA  TW  CL
  /* syn    */ [IV, SR, IV, IV, IV, IV, IV, IV, IV],
  //  SS: the responder's own SYN, a simultaneous open (RFC 9293 3.5 fig. 7). Elsewhere the
  //  responder has no reason to send a bare SYN; a new connection from it would be a new session
  //  in the other direction, which it gets once this one has expired.
  /* synack */ [IV, SR, SR, ES, FW, CW, LA, IV, IV],
  //  SS: the answer to the SYN. SR: retransmitted. ES..LA: a late retransmission (the ACK that
  //  completed the handshake got lost), passed unchanged. TW, CL: nothing to answer any more.
  /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL],
  /* ack    */ [IV, SS, SR, ES, CW, CW, TW, TW, CL],
  //  SS: a responder that still holds an old connection answers the SYN with an ACK (RFC 9293
  //  3.10.7.3); the client resets it and retries, so pass it. SR: an ACK from the responder does not
  //  complete the handshake: only the originator's does.
  /* rst    */ [CL, CL, CL, CL, CL, CL, CL, CL, CL],
  /* inv    */ [IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

const TABLE: readonly (readonly (readonly number[])[])[] = [ORIGINAL, REPLY];

/**
 * State for a new session opened by a packet with these flags, or -1 if it may not open one. Only a
 * bare SYN opens a session (SYN_SENT); with loose = true (a session picked up mid-stream, e.g. after a
 * failover to a box that lost it) a packet with ACK and neither SYN nor RST opens it as ESTABLISHED.
 */
export function tcpOpen(flags: number, loose: boolean): number {
  const c = flagClass(flags);
  if (c === C_SYN) return TCP_SYN_SENT;
  if (loose && (c === C_ACK || c === C_FIN)) return TCP_ESTABLISHED;
  return -1;
}

/** Next state for a packet of `dir` with `flags`, or -1 when the packet fits no state (drop it). */
export function tcpStep(state: number, dir: number, flags: number): number {
  if (state < TCP_NONE || state > TCP_CLOSE || (dir !== 0 && dir !== 1)) return -1;
  return TABLE[dir][flagClass(flags)][state];
}

/** RFC 9293 3.4.2: MSL is 2 minutes; conntrack holds TIME_WAIT for 120 s (nf_conntrack_tcp_timeout_time_wait). */
export const TCP_TIME_WAIT_MAX_S = 120;
/** A reset connection has nothing left in flight; conntrack keeps CLOSE 10 s (nf_conntrack_tcp_timeout_close). */
export const TCP_CLOSE_MAX_S = 10;

/**
 * Seconds until a session in `state` expires, from the config's session timeouts (taken as they
 * are: the packet path calls this for every segment): established -> tcpEstablishedS; the opening
 * and closing states -> tcpTransitoryS; TIME_WAIT -> min(tcpTransitoryS, 120); CLOSE ->
 * min(tcpTransitoryS, 10).
 */
export function tcpTimeoutS(state: number, t: Pick<SharedConfig['sessions'], 'tcpEstablishedS' | 'tcpTransitoryS'>): number {
  switch (state) {
    case TCP_ESTABLISHED:
      return t.tcpEstablishedS;
    case TCP_TIME_WAIT:
      return Math.min(t.tcpTransitoryS, TCP_TIME_WAIT_MAX_S);
    case TCP_CLOSE:
      return Math.min(t.tcpTransitoryS, TCP_CLOSE_MAX_S);
    default:
      return t.tcpTransitoryS;
  }
}
