// The sessions as the operator sees them: the views the dataplane answers to a `sessions-request`
// (see src/daemon/dataplane-client.ts for the port protocol), filtered and listed; the API
// (src/api/sessions.ts) and the CLI show them.

/** The protocols the session table tracks; also the values of the metrics' `protocol` label. */
export const SESSION_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmp6'] as const;
export type SessionProtocol = (typeof SESSION_PROTOCOLS)[number];

/** Label value of the default action in tandem_policy_hits_total (not a valid rule name). */
export const DEFAULT_RULE_LABEL = '(default)';

/**
 * What the operator can filter on (GET /v1/sessions, `tandem sessions`). Every field is optional;
 * a session must match all the fields given.
 */
export interface SessionFilter {
  /** Matches any of the 4 addresses of either tuple (original src/dst, reply src/dst). */
  address?: string;
  /** Matches any of the 4 ports of either tuple (ICMP: the echo identifier). */
  port?: number;
  protocol?: SessionProtocol;
  /** Exact session state, e.g. "established", "syn-sent", "new" (as SessionView.state). */
  state?: string;
  /** Exact name of the policy rule that allowed it, or DEFAULT_RULE_LABEL for the default action. */
  rule?: string;
}

/** One direction of a session as it appears on the wire. */
export interface SessionTuple {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/**
 * One session, for people. The two tuples follow the conntrack convention: `original` is the
 * first packet as the initiator sent it (before NAT); `reply` is the answer as the responder sends
 * it (after NAT). So with source NAT the translated source is reply.dst[reply.dstPort], and with
 * destination NAT the translated destination is reply.src[reply.srcPort]; without NAT `reply` is
 * `original` with its ends swapped. ICMP sessions put the echo identifier in every port field.
 */
export interface SessionView {
  id: number;
  protocol: SessionProtocol;
  /**
   * TCP: TCP_STATE_NAMES (src/dataplane/tcp-state.ts: "syn-sent", "established", "fin-wait", ...);
   * UDP and ICMP: FLOW_STATE_NAMES (src/dataplane/flow-state.ts: "new" until a reply, then "established").
   */
  state: string;
  original: SessionTuple;
  reply: SessionTuple;
  nat: 'none' | 'source' | 'destination' | 'both';
  /** The policy rule that allowed it, or DEFAULT_RULE_LABEL. */
  rule: string;
  natRule: string | null;
  /** Logical interface names (lan, wan) the original direction came in on and leaves by. */
  ingress: string;
  egress: string;
  /** [original direction, reply direction] */
  packets: [number, number];
  bytes: [number, number];
  ageS: number;
  expiresInS: number;
  /** Synced from the peer or picked up mid-stream (the handshake was not seen here). */
  loose: boolean;
  /**
   * TCP only: each side's sequence window as tracked (src/dataplane/tcp-window.ts), [original
   * sender, reply sender]; a side nothing is known of yet is null.
   */
  window?: [TcpSideView | null, TcpSideView | null];
  /**
   * Active/active only: the device that owns the session, the one that processes its packets
   * (SESSION_FLAG_OWNER1 of its flags); absent in active/passive.
   */
  owner?: 0 | 1;
}

/** One side of a TCP session's window (sequence numbers are not changed by NAT). */
export interface TcpSideView {
  /** The next sequence number the side will use (its highest sequence sent plus one). */
  seqEnd: number;
  /** The highest sequence number the other side allows it (its ACK plus window). */
  seqMaxEnd: number;
  /** Its largest window, scaled. */
  maxWindow: number;
  /** The highest ACK it sent: where a reset to it must land. */
  maxAck: number;
  /** Its window scale shift (guessed: 14 when picked up mid-stream). */
  scale: number;
  /** Learnt from the peer's record and not yet seen here (checked with slack). */
  synced: boolean;
}

export interface SessionList {
  /** Sessions in the table. */
  total: number;
  /** Sessions that match the filter (all of them are counted, even past the limit). */
  matched: number;
  /** At most `limit` of the matching sessions, in the table's order. */
  sessions: SessionView[];
  /** matched > sessions.length */
  truncated: boolean;
}

/** Largest `limit` of one listing (a SessionView is ~400 bytes of JSON: 10 000 is ~4 MB). */
export const MAX_SESSIONS_LIMIT = 10_000;
export const DEFAULT_SESSIONS_LIMIT = 100;

/**
 * SessionView.nat from the two tuples (conntrack convention, see SessionView): the source is
 * translated when the reply does not go back to the original source, the destination when the
 * reply does not come from the original destination.
 */
export function natKind(original: SessionTuple, reply: SessionTuple): SessionView['nat'] {
  const source = reply.dst !== original.src || reply.dstPort !== original.srcPort;
  const destination = reply.src !== original.dst || reply.srcPort !== original.dstPort;
  return source ? (destination ? 'both' : 'source') : destination ? 'destination' : 'none';
}

/** True when `s` matches every field of `filter` (pure; for the dataplane side of the listing). */
export function sessionMatches(s: SessionView, filter: SessionFilter): boolean {
  if (filter.protocol !== undefined && s.protocol !== filter.protocol) return false;
  if (filter.state !== undefined && s.state !== filter.state) return false;
  if (filter.rule !== undefined && s.rule !== filter.rule) return false;
  const o = s.original;
  const r = s.reply;
  if (filter.address !== undefined) {
    const a = filter.address;
    if (o.src !== a && o.dst !== a && r.src !== a && r.dst !== a) return false;
  }
  if (filter.port !== undefined) {
    const p = filter.port;
    if (o.srcPort !== p && o.dstPort !== p && r.srcPort !== p && r.dstPort !== p) return false;
  }
  return true;
}

/**
 * Builds the answer to a listing from the table's sessions in order: counts every match, keeps
 * the first `limit`. `views` may be lazy (a generator over the typed-array table), so only the
 * sessions that are looked at are built.
 */
export function listSessions(views: Iterable<SessionView>, total: number, filter: SessionFilter, limit: number): SessionList {
  const sessions: SessionView[] = [];
  let matched = 0;
  for (const s of views) {
    if (!sessionMatches(s, filter)) continue;
    matched++;
    if (sessions.length < limit) sessions.push(s);
  }
  return { total, matched, sessions, truncated: matched > sessions.length };
}
