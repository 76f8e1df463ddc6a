// HA2's bulk sync (a full table dump between the pair) as a pure state machine:
// step(state, event) -> { state, actions }, after OpenBSD pfsync's bulk machine and our election
// core (src/control/election/step.ts).
//
// No sockets, rings, timers or clocks: the channel (src/sync/channel.ts) feeds an event for each
// thing that happened (a connection, a role, a peer's record pushed into our `in` ring, one of our
// dataplane's records drained from `out`) and carries out the actions (src/sync/bulk-actions.ts:
// log, count, send a BulkRequest, put a REC_CLEAR or REC_DUMP_REQUEST into `in`, call
// onBulkComplete, reset or drop the sender core's backlog). The only time it keeps is the
// wall-clock stamp of the last complete dump, which arrives with its event.
//
// The machine also owns the role and the connection, so what follows from them for our own changes
// is decided here: outFate() says whether a record drained from `out` is sent or discarded, a role
// change away from sender forgets the backlog ('sender-reset'), and a lost connection loses it
// ('connection-lost': as the sender, a resync follows).
//
// Two halves share the role and the connection. In active/passive one box sends and the other
// receives; in active/active ('both') each box runs both halves at once, over the one connection:
// its own changes and dumps go out (tx), the peer's come in (rx), each direction with its own
// batch seqs, acks, losses and resyncs (docs/sync.md "Both ways").
//
//   receiver (rx): how far what we hold of the peer's table is from a full copy
//     idle | complete | interrupted | receiving --we ask (connect, role, gap, overflow)--> requested
//     requested           --no BULK_BEGIN within the channel's wait--> requested (asked again:
//                           no-answer; the dump it waited for may never have left the peer)
//     any phase but sender --the peer's BULK_BEGIN pushed into `in` (it clears)--> receiving
//     receiving           --its BULK_END pushed into `in`--> complete        (onBulkComplete)
//     complete            --any of the above but becoming the sender--> (onBulkIncomplete)
//     receiving           --the connection is lost (the rest of the dump with it)--> interrupted
//     any phase           --we become the sender (the peer's table is not ours to copy, and
//                           what it sends is discarded from now on)--> idle, and stays idle
//   A BULK_END anywhere but `receiving` completes nothing: its BULK_BEGIN came before our last
//   request, clear or lost connection, so part of that dump is missing here.
//
//   sender (tx): the dumps asked of our own dataplane (REC_DUMP_REQUEST into `in`; its
//   BULK_BEGIN .. BULK_END then come out of `out` like any change)
//     idle --dump asked--> queued --BULK_BEGIN out--> dumping --BULK_END out--> idle
//     dumping --dump asked--> dumping-queued --BULK_BEGIN out (the dataplane restarts)--> dumping
//     dumping-queued --BULK_END out (the old dump finished first)--> queued
//   A dump asked while one is queued rides on it (coalesced): its BULK_BEGIN has not come out, so
//   it reaches the peer after whatever the new request was about. A dump asked while one is
//   already dumping cannot ride on it (that BULK_BEGIN is already gone) and is queued behind it.
//   A request may ride on a dump whose BULK_BEGIN already left but had not reached the peer when
//   it asked (the request says how many it had seen), once per dump: a second request that would
//   ride on the same one means it never arrived, and gets a dump of its own.
//   The peer's 'connect' request is also served by any dump asked on the same connection: that
//   dump's BULK_BEGIN reaches the peer after it connected, and clears what came before.
//   The peer's request while we are not the sender is kept (deferred) and served when we become
//   the sender on the same connection. Changes our dataplane lost to a full `out` (its REC_LOST
//   drained, in order) ask for a dump like a request, as the connected sender only.
//
//   both (active/active: the box forwards, so it creates and changes sessions of its own): the tx
//   half as the sender's, the rx half as the receiver's, with three differences, all because a
//   box in this role forwards with the table it holds:
//     - it asks the peer for nothing on connect or on becoming `both`: a peer that was sending when
//       the connection was lost resyncs by itself (its backlog is lost: connection-lost), and a
//       peer that was not sending (a joiner) changed nothing; its dump would only empty our copy
//       of its sessions for nothing while it comes in;
//     - a gap or an overflow asks for the peer's dump but puts no REC_CLEAR into `in`: the dump's
//       BULK_BEGIN clears the peer's sessions soon enough, and until then a copy with a hole
//       forwards better than none;
//     - an overflow may have dropped our own REC_DUMP_REQUEST (it waited in the same queue as the
//       peer's records): the dump is still owed to the peer, so it is asked again.
//   Becoming `both` from a role that does not send drops the clears still queued for `in` (they
//   were for the box that did not forward; 'drop-queued-clears'), and serves a deferred request.
//
// Conventions (STYLE.md): one function per event, a `switch` over the phases where they matter,
// each ending in a `never` check; the rule for each branch is written above it; one transition
// function per half (`Step.rxGo`, `Step.txGo`) that refuses a no-op; an unexpected pair answers
// `invalid-transition` and changes nothing.
import { REC_BULK_BEGIN, REC_BULK_END, REC_LOST, type SessionRecord } from '../wire/session-record.js';
import type { ResyncReason } from './reliable.js';

/**
 * The agent sets this on every HA transition. Active/passive: active -> 'sender'; passive and
 * tentative -> 'receiver'; other -> 'idle'. Active/active: active-primary and active-secondary ->
 * 'both'; tentative -> 'receiver'; other -> 'idle'.
 */
export type SyncRole = 'sender' | 'receiver' | 'idle' | 'both';

export const SYNC_ROLES: readonly SyncRole[] = ['sender', 'receiver', 'idle', 'both'];

/** The role sends our dataplane's changes to the peer and serves its requests for dumps. */
export function sends(role: SyncRole): boolean {
  return role === 'sender' || role === 'both';
}

/** Why the receiver asks the peer for a full dump. Values are metric labels. */
export type RxRequestReason =
  /** Receiver: the HA2 connection came up. */
  | 'connect'
  /** Receiver: the agent made us receiver while connected. */
  | 'role'
  /** A batch seq was not the one expected: records are missing. */
  | 'gap'
  /** Records lost to a full `in` ring. */
  | 'overflow'
  /** Our request went unanswered: no BULK_BEGIN reached `in` within the channel's wait. */
  | 'no-answer';

/** Why the sender asks its own dataplane for a dump, beside the sender core's reasons. */
export type TxRequestReason =
  /** Changes our dataplane could not put into `out` (it said so with REC_LOST). */
  'out-overflow';

/** Why a full resync was started. Values are metric labels (tandem_sync_resyncs_total{reason}). */
export type SyncResyncReason = ResyncReason | RxRequestReason | TxRequestReason;

export type RxPhase =
  /** Nothing asked of the peer and nothing received: at start, or while we are the sender. */
  | 'idle'
  /** We asked the peer for a dump and its BULK_BEGIN has not reached our `in` ring yet. What we
   * hold stays until then (stale beats empty if we must take over), unless a REC_CLEAR went in. */
  | 'requested'
  /** A dump's BULK_BEGIN is in our `in` ring and nothing was lost since: its BULK_END completes. */
  | 'receiving'
  /** A full dump is in our `in` ring; live changes keep it current. */
  | 'complete'
  /** A dump was cut by a lost connection: what we hold is partial until the next BULK_BEGIN. */
  | 'interrupted';

export type TxPhase =
  /** No dump asked of our dataplane is outstanding. */
  | 'idle'
  /** A REC_DUMP_REQUEST is on its way to our dataplane; its BULK_BEGIN has not come out yet. */
  | 'queued'
  /** A dump's BULK_BEGIN came out of `out`; its BULK_END has not. */
  | 'dumping'
  /** A dump is coming out and another was asked after its BULK_BEGIN left. */
  | 'dumping-queued';

export const RX_PHASES: readonly RxPhase[] = ['idle', 'requested', 'receiving', 'complete', 'interrupted'];
export const TX_PHASES: readonly TxPhase[] = ['idle', 'queued', 'dumping', 'dumping-queued'];

export interface BulkState {
  role: SyncRole;
  connected: boolean;
  /** Connection number: +1 on every `connected`, 0 before the first. */
  conn: number;
  rx: {
    phase: RxPhase;
    /** Why we are in `phase` (a request's reason, 'bulk-end', 'connection-lost', ...). */
    reason: string;
    /** Sessions (upserts and updates) of the current or last dump pushed into `in`. */
    received: number;
    /** The last complete dump: when (wall clock, ms since the epoch) and its BULK_END's count. */
    lastComplete: { wallMs: number; sessions: number } | null;
    /** The connection the last dump completed on (0: none): a copy is whole only on that one. */
    completeConn: number;
  };
  tx: {
    phase: TxPhase;
    /** Why we are in `phase`. */
    reason: string;
    /** The connection a dump was last asked on (0: none, or asked while down). */
    askedConn: number;
    /** BULK_BEGINs that came out on this connection (compared with a request's beginsSeen). */
    begunOnConn: number;
    /** The begunOnConn a peer's request last rode on as in flight (0: none): a second request
     * that would ride on the same dump is its sign that the dump never arrived. */
    rodeOn: number;
    /** The peer's request (its reason) received while we were not the sender, not yet served. */
    deferred: string | null;
  };
}

export type BulkEvent =
  /** The agent changed our role. */
  | { type: 'role'; to: SyncRole }
  /** The HA2 connection came up (the stream always reports the old one down first). */
  | { type: 'connected' }
  | { type: 'disconnected' }
  // -- receiving: checked as batches arrive, or seen as the peer's records enter our `in` ring
  /** A batch seq was not the one expected (not fed while we are the sender). */
  | { type: 'gap'; expected: number; got: number }
  /** `in` stayed full: everything waiting for it was dropped (not fed while we are the sender). */
  | { type: 'overflow'; dropped: number }
  /** The channel: we asked the peer for a dump a while ago and its BULK_BEGIN has not come. */
  | { type: 'request-timeout' }
  | { type: 'begin-pushed' }
  /** Upserts and updates pushed since the last control record (summed: one event, many records). */
  | { type: 'records-pushed'; count: number }
  /** `wallMs`: Date.now() when it was pushed, for the status' lastCompleteAt. */
  | { type: 'end-pushed'; sessions: number; wallMs: number }
  // -- sending
  /** The peer's BulkRequest; `reason` comes from the wire (logged, never a metric label). */
  | { type: 'peer-request'; reason: string; /** BULK_BEGINs the peer had received on this connection (absent: unknown). */ beginsSeen?: number }
  /** The sender core dropped records unacked (ReliableSender.needsResync). */
  | { type: 'resync-needed'; reason: ResyncReason }
  /** Our dataplane's BULK_BEGIN / BULK_END came out of `out`. */
  | { type: 'begin-out' }
  | { type: 'end-out' }
  /** Our dataplane's REC_LOST came out of `out`: `count` changes before it never went in. */
  | { type: 'out-lost'; count: number };

export type BulkAction =
  | { type: 'rx-transition'; from: RxPhase; to: RxPhase; reason: string }
  | { type: 'tx-transition'; from: TxPhase; to: TxPhase; reason: string }
  /** Put a REC_CLEAR into `in` behind what already waits for it: what we hold is incomplete. */
  | { type: 'push-clear' }
  /** Send the peer a BulkRequest, and count a resync. */
  | { type: 'send-bulk-request'; reason: RxRequestReason }
  /** Put a REC_DUMP_REQUEST into `in` for our dataplane, and count a resync. */
  | { type: 'request-dump'; reason: SyncResyncReason; why: string }
  /** A dump request served by one already asked: on the queue, or on this connection. */
  | { type: 'dump-coalesced'; reason: SyncResyncReason; why: string; onto: 'queued' | 'this-connection' | 'in-flight' }
  /** The peer asked while we are not the sender: kept for when we are. */
  | { type: 'dump-deferred'; reason: string }
  /** The sender core's resync need is taken care of: ReliableSender.resyncStarted(). */
  | { type: 'resync-started' }
  /** We became `both`: the clears still queued for `in` were for the box that did not forward,
   * and would empty the copy it now forwards with (Inbound.dropQueuedClears()). */
  | { type: 'drop-queued-clears' }
  /** We stopped being the sender: our backlog no longer matters to the peer (forgotten, not lost). */
  | { type: 'sender-reset' }
  /** The connection is gone: the next one's batch seqs start at 1. As the sender, what was queued
   * or in flight is lost too: a resync follows. */
  | { type: 'connection-lost'; sender: boolean }
  /** A full dump from the peer is in our `in` ring (onBulkComplete). */
  | { type: 'bulk-complete'; sessions: number; received: number }
  /** What we hold stopped being a complete copy of the peer's table (onBulkIncomplete): the box
   * is tentative again until the next dump completes. */
  | { type: 'bulk-incomplete'; reason: string }
  /** A BULK_END that completes nothing: its BULK_BEGIN came before our last request or loss. */
  | { type: 'stale-end'; sessions: number }
  | { type: 'invalid-transition'; event: BulkEvent['type']; role: SyncRole; rx: RxPhase; tx: TxPhase };

export interface BulkStepResult {
  state: BulkState;
  actions: BulkAction[];
}

/** A box that just started: idle, down, nothing asked either way. */
export function initialBulkState(): BulkState {
  return {
    role: 'idle',
    connected: false,
    conn: 0,
    rx: { phase: 'idle', reason: 'startup', received: 0, lastComplete: null, completeConn: 0 },
    tx: { phase: 'idle', reason: 'startup', askedConn: 0, begunOnConn: 0, rodeOn: 0, deferred: null },
  };
}

/** Receiver: a dump was asked for (or what we hold is known partial) and its BULK_END not yet seen. */
export function rxPending(s: BulkState): boolean {
  return s.rx.phase === 'requested' || s.rx.phase === 'receiving' || s.rx.phase === 'interrupted';
}

/** Sender: a dump has been asked of our dataplane and its BULK_BEGIN has not come out yet. */
export function txQueued(s: BulkState): boolean {
  return s.tx.phase === 'queued' || s.tx.phase === 'dumping-queued';
}

/** What the machine hears of a record drained from our `out` ring: our dataplane's dumps and losses. */
export function outEvent(r: SessionRecord): BulkEvent | null {
  switch (r.op) {
    case REC_BULK_BEGIN:
      return { type: 'begin-out' };
    case REC_BULK_END:
      return { type: 'end-out' };
    case REC_LOST:
      return { type: 'out-lost', count: r.origSrc };
    default:
      return null;
  }
}

/** What becomes of a record drained from our `out` ring: sent, or discarded and why. */
export function outFate(s: BulkState): 'send' | 'not-sender' | 'disconnected' {
  // only a forwarding box's changes are the pair's: a box that does not send discards its own
  if (!sends(s.role)) return 'not-sender';
  // a resync follows the connection's loss; what is drained until then is carried by its dump
  return s.connected ? 'send' : 'disconnected';
}

type Outcome = 'handled' | 'ignored' | 'invalid';

/** A working copy of the state plus the actions of one step, in the order they were decided. */
class Step {
  readonly s: BulkState;
  readonly actions: BulkAction[] = [];

  constructor(state: BulkState) {
    this.s = { ...state, rx: { ...state.rx }, tx: { ...state.tx } };
  }

  /**
   * The receiver's one transition function: never a no-op. Leaving `complete` (a loss, a new
   * connection or a dump begins) tells the agent the copy is no longer whole; becoming the sender
   * does not (the active's table is the original, not a copy).
   */
  rxGo(to: RxPhase, reason: string): void {
    const from = this.s.rx.phase;
    if (from === to) throw new Error(`bulk: no-op receiver transition ${from} -> ${to} (${reason})`);
    this.s.rx.phase = to;
    this.s.rx.reason = reason;
    this.actions.push({ type: 'rx-transition', from, to, reason });
    if (from === 'complete' && to !== 'idle') this.actions.push({ type: 'bulk-incomplete', reason });
  }

  /** The sender's one transition function: never a no-op. */
  txGo(to: TxPhase, reason: string): void {
    const from = this.s.tx.phase;
    if (from === to) throw new Error(`bulk: no-op sender transition ${from} -> ${to} (${reason})`);
    this.s.tx.phase = to;
    this.s.tx.reason = reason;
    this.actions.push({ type: 'tx-transition', from, to, reason });
  }

  emit(a: BulkAction): void {
    this.actions.push(a);
  }
}

/**
 * Advance the bulk machine by one event. Pure: the input state is not touched, and the same input
 * always gives the same output.
 */
export function step(state: BulkState, event: BulkEvent): BulkStepResult {
  const st = new Step(state);
  const outcome = onEvent(st, event);
  switch (outcome) {
    case 'handled':
      return { state: st.s, actions: st.actions };
    case 'ignored':
      return { state, actions: [] };
    case 'invalid':
      return { state, actions: [{ type: 'invalid-transition', event: event.type, role: state.role, rx: state.rx.phase, tx: state.tx.phase }] };
    default:
      return assertNever(outcome);
  }
}

function assertNever(x: never): never {
  throw new Error(`bulk: unhandled case ${JSON.stringify(x)}`);
}

function onEvent(st: Step, ev: BulkEvent): Outcome {
  switch (ev.type) {
    case 'role':
      return onRole(st, ev.to);
    case 'connected':
      return onConnected(st);
    case 'disconnected':
      return onDisconnected(st);
    case 'gap':
      return onLoss(st, 'gap');
    case 'overflow':
      return onOverflow(st);
    case 'request-timeout':
      return onRequestTimeout(st);
    case 'begin-pushed':
      return onBeginPushed(st);
    case 'records-pushed':
      // Only a dump's own sessions count towards `received`; live changes in between do not.
      if (st.s.rx.phase !== 'receiving' || ev.count <= 0) return 'ignored';
      st.s.rx.received += ev.count;
      return 'handled';
    case 'end-pushed':
      return onEndPushed(st, ev.sessions, ev.wallMs);
    case 'peer-request':
      return onPeerRequest(st, ev.reason, ev.beginsSeen);
    case 'resync-needed':
      // Our records were dropped unacked: a dump replaces them, but only a connected sender can
      // send one. Until then the need stays with the sender core, which asks again.
      if (!sends(st.s.role) || !st.s.connected) return 'ignored';
      st.emit({ type: 'resync-started' });
      askDataplane(st, ev.reason, 'sender backlog lost');
      return 'handled';
    case 'begin-out':
      return onBeginOut(st);
    case 'end-out':
      return onEndOut(st);
    case 'out-lost':
      // The peer's copy misses changes: a dump whose BULK_BEGIN comes out after the marker (one
      // still queued does) replaces it. Only a connected sender sends one; a sender that is down
      // resyncs on the next connection anyway, and no other role's changes reach the peer.
      if (!sends(st.s.role) || !st.s.connected) return 'ignored';
      askDataplane(st, 'out-overflow', `${ev.count} changes did not fit our ring`);
      return 'handled';
    default:
      return assertNever(ev);
  }
}

// ---------------------------------------------------------------------------------------------
// Role and connection

function onRole(st: Step, to: SyncRole): Outcome {
  const s = st.s;
  if (to === s.role) return 'ignored';
  const sent = sends(s.role);
  // our changes no longer matter to the peer: the backlog is forgotten (not a loss). A dump's
  // BULK_BEGIN among it may never leave, so no earlier dump can be counted on as the answer to
  // the peer's next request: counted as in flight, one that never left made that request wait
  // for good (a box that handed us the role stayed tentative; pair.test, 1 run in 5)
  if (sent && !sends(to)) {
    st.emit({ type: 'sender-reset' });
    s.tx.begunOnConn = 0;
    s.tx.rodeOn = 0;
  }
  s.role = to;
  switch (to) {
    // Made receiver while connected: ask for everything again (the table we hold stays until the
    // dump's BULK_BEGIN). While down, the connect that follows asks. But a copy already whole on
    // this connection (a dump that completed while we were idle, every change since applied in
    // order) or a dump running on it needs no new one: the whole copy is said again, for the
    // agent, which did not count it before we were a receiver. Asking anyway made a rejoining
    // box's peer dump twice (its own resync, then our request), and the second BULK_BEGIN undid
    // the bulk sync the first had just completed (passive -> tentative -> passive).
    case 'receiver':
      if (!s.connected || s.rx.phase === 'receiving') return 'handled';
      if (s.rx.phase === 'complete' && s.rx.completeConn === s.conn && s.rx.lastComplete !== null) {
        st.emit({ type: 'bulk-complete', sessions: s.rx.lastComplete.sessions, received: s.rx.received });
        return 'handled';
      }
      askPeer(st, 'role', false);
      return 'handled';
    // Made sender: whatever we received is the previous active's (still applied in order), but we
    // no longer wait for a dump. A request the peer made while we could not serve it is served now.
    case 'sender':
      if (s.rx.phase !== 'idle') st.rxGo('idle', 'became sender');
      serveDeferred(st);
      return 'handled';
    // Made both (active/active): we forward with the copy of the peer's table we hold, so a clear
    // queued for the box that did not forward must not empty it; the rx half goes on as it was
    // (a dump asked as receiver still completes), and asks nothing (see the file comment).
    case 'both':
      if (!sent) st.emit({ type: 'drop-queued-clears' });
      serveDeferred(st);
      return 'handled';
    // Idle: we apply what arrives but ask for nothing; a dump in progress goes on.
    case 'idle':
      return 'handled';
    default:
      return assertNever(to);
  }
}

/** Now a sending role: a request the peer made while we could not serve it is served now. */
function serveDeferred(st: Step): void {
  const tx = st.s.tx;
  if (tx.deferred === null) return;
  const why = tx.deferred;
  tx.deferred = null;
  askDataplane(st, 'peer-request', `peer asked earlier (${why})`);
}

function onConnected(st: Step): Outcome {
  const s = st.s;
  // The stream reports the old connection down before a new one comes up.
  if (s.connected) return 'invalid';
  s.connected = true;
  s.conn += 1;
  s.tx.begunOnConn = 0;
  s.tx.rodeOn = 0;
  // A receiver asks for everything on every connection: what it missed while down is unknown.
  // Both asks nothing: a peer that lost changes with the connection resyncs by itself.
  if (s.role === 'receiver') askPeer(st, 'connect', false);
  return 'handled';
}

function onDisconnected(st: Step): Outcome {
  const s = st.s;
  if (!s.connected) return 'ignored';
  s.connected = false;
  st.emit({ type: 'connection-lost', sender: sends(s.role) });
  // The peer's request belonged to that connection; it asks again on the next.
  s.tx.deferred = null;
  switch (s.rx.phase) {
    // The rest of the dump went with the connection: its tail may still come on the next one
    // (the peer drains what its dataplane dumped), but it must not complete anything.
    case 'receiving':
      st.rxGo('interrupted', 'connection-lost');
      return 'handled';
    // What we hold is as good as before; the next connection decides what to ask.
    case 'idle':
    case 'requested':
    case 'complete':
    case 'interrupted':
      return 'handled';
    default:
      return assertNever(s.rx.phase);
  }
}

// ---------------------------------------------------------------------------------------------
// Receiving

/**
 * Receiver: ask the peer for everything again. Only a dump begun after this can complete the
 * bulk sync. `clear`: what we hold is known incomplete, so a REC_CLEAR goes into `in` first
 * (behind what already waits): applying the rest on top of a hole would look whole.
 */
function askPeer(st: Step, reason: RxRequestReason, clear: boolean): void {
  if (st.s.rx.phase === 'requested') st.s.rx.reason = reason;
  else st.rxGo('requested', reason);
  if (clear) st.emit({ type: 'push-clear' });
  st.emit({ type: 'send-bulk-request', reason });
}

/**
 * Our request went unanswered: the dump it was to get (or the one in flight the peer said would
 * serve it) never began here. Without asking again the box would wait for good (tentative, or a
 * copy with a hole). What we hold stays: nothing is known lost beyond what the first request was
 * about.
 */
function onRequestTimeout(st: Step): Outcome {
  const s = st.s;
  if (s.rx.phase !== 'requested' || !s.connected || s.role === 'sender') return 'ignored';
  askPeer(st, 'no-answer', false);
  return 'handled';
}

/** A gap: records are missing from what we hold. Clear it (not as both) and ask for everything. */
function onLoss(st: Step, reason: 'gap'): Outcome {
  // The sender discards what it receives (split roles): nothing of ours is lost.
  if (st.s.role === 'sender') return 'invalid';
  askPeer(st, reason, st.s.role !== 'both');
  return 'handled';
}

/**
 * Our dataplane did not drain `in`: everything waiting for it was dropped. Clear (not as both), ask
 * for everything, and forget a dump we had queued: its REC_DUMP_REQUEST may have been among the
 * dropped (if it was not, its BULK_BEGIN still comes out and is taken as it comes). As both, that
 * dump is still owed to the peer: it is asked again.
 */
function onOverflow(st: Step): Outcome {
  const s = st.s;
  if (s.role === 'sender') return 'invalid';
  const owed = s.role === 'both' && txQueued(s);
  switch (s.tx.phase) {
    case 'queued':
      st.txGo('idle', 'overflow');
      break;
    case 'dumping-queued':
      st.txGo('dumping', 'overflow');
      break;
    case 'idle':
    case 'dumping':
      break;
    default:
      return assertNever(s.tx.phase);
  }
  askPeer(st, 'overflow', s.role !== 'both');
  if (owed) askDataplane(st, 'overflow', 'our dump request may have been dropped with the rest');
  return 'handled';
}

function onBeginPushed(st: Step): Outcome {
  // The sender copies nothing: what the peer sends it is discarded, so no dump can be whole here
  // (the channel still applies what it had received before, in order).
  if (st.s.role === 'sender') return 'ignored';
  const rx = st.s.rx;
  rx.received = 0;
  switch (rx.phase) {
    // The dump we asked for: it clears what we hold, and its records follow.
    case 'requested':
      st.rxGo('receiving', 'bulk-begin');
      return 'handled';
    // A dump we did not ask for (the peer's own resync after a loss on its side, or a dump
    // restarted by a second request): it clears all the same, so it is the one that completes.
    case 'idle':
    case 'complete':
    case 'interrupted':
      st.rxGo('receiving', 'unasked bulk-begin');
      return 'handled';
    case 'receiving':
      return restarted(rx);
    default:
      return assertNever(rx.phase);
  }
}

/** Either half: a BULK_BEGIN while its dump is running. The dataplane restarted it (a later
 * request): the same phase, and the reason says so. */
function restarted(half: { reason: string }): Outcome {
  half.reason = 'restarted bulk-begin';
  return 'handled';
}

function onEndPushed(st: Step, sessions: number, wallMs: number): Outcome {
  const rx = st.s.rx;
  switch (rx.phase) {
    // Every record from its BULK_BEGIN to here is in our ring: we hold the peer's full table.
    case 'receiving':
      st.rxGo('complete', 'bulk-end');
      rx.lastComplete = { wallMs, sessions };
      rx.completeConn = st.s.conn;
      st.emit({ type: 'bulk-complete', sessions, received: rx.received });
      return 'handled';
    // Its BULK_BEGIN came before our last request, clear or lost connection, or we are the
    // sender (always idle here): part of that dump is missing. The dump we asked for completes.
    case 'idle':
    case 'requested':
    case 'complete':
    case 'interrupted':
      st.emit({ type: 'stale-end', sessions });
      return 'handled';
    default:
      return assertNever(rx.phase);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

function onPeerRequest(st: Step, reason: string, beginsSeen: number | undefined): Outcome {
  const s = st.s;
  // A request arrives on a connection: one while down is a driver's mistake.
  if (!s.connected) return 'invalid';
  // Not sending: our table is not the one to copy. Keep the request for when we are.
  if (!sends(s.role)) {
    s.tx.deferred = reason;
    st.emit({ type: 'dump-deferred', reason });
    return 'handled';
  }
  // The peer asks on every connect; a dump already asked on this connection (our own resync after
  // the loss) reaches it after its connect, and its BULK_BEGIN clears what came before.
  if (reason === 'connect' && s.tx.askedConn === s.conn) {
    st.emit({ type: 'dump-coalesced', reason: 'peer-request', why: reason, onto: 'this-connection' });
    return 'handled';
  }
  // A dump whose BULK_BEGIN left on this connection but had not reached the peer when it asked is
  // on its way: it arrives after the request, and the peer takes it as the answer. Dumping again
  // made a rejoining peer complete its bulk sync on our resync dump, then see the second dump's
  // BULK_BEGIN clear it (passive -> tentative -> passive at every rejoin in the lab).
  // But only once per dump: a second request that would ride on the same one means the peer never
  // got it (it asks again when a request goes unanswered), so it gets a dump of its own.
  if (beginsSeen !== undefined && beginsSeen < s.tx.begunOnConn && s.tx.rodeOn !== s.tx.begunOnConn) {
    s.tx.rodeOn = s.tx.begunOnConn;
    st.emit({ type: 'dump-coalesced', reason: 'peer-request', why: reason, onto: 'in-flight' });
    return 'handled';
  }
  askDataplane(st, 'peer-request', reason);
  return 'handled';
}

/** Sender: ask our dataplane to dump its table into `out`, unless a queued dump serves. */
function askDataplane(st: Step, reason: SyncResyncReason, why: string): void {
  const tx = st.s.tx;
  tx.askedConn = st.s.connected ? st.s.conn : 0;
  switch (tx.phase) {
    // Its BULK_BEGIN has not come out: it reaches the peer after this request's cause.
    case 'queued':
    case 'dumping-queued':
      st.emit({ type: 'dump-coalesced', reason, why, onto: 'queued' });
      return;
    case 'idle':
      st.txGo('queued', reason);
      st.emit({ type: 'request-dump', reason, why });
      return;
    // The running dump began before this request's cause: a new one (the dataplane restarts).
    case 'dumping':
      st.txGo('dumping-queued', reason);
      st.emit({ type: 'request-dump', reason, why });
      return;
    default:
      assertNever(tx.phase);
  }
}

function onBeginOut(st: Step): Outcome {
  const tx = st.s.tx;
  // counted only when it leaves on the wire (outFate): a dump our dataplane made while we were
  // not sending (a box going idle mid-request) never reaches the peer, and counting it made the
  // peer's next request ride on it for good (a box handing the role over stayed tentative)
  if (outFate(st.s) === 'send') tx.begunOnConn += 1;
  switch (tx.phase) {
    // The dump asked for begins (or a restart of the running one on a later request).
    case 'queued':
    case 'dumping-queued':
      st.txGo('dumping', 'bulk-begin');
      return 'handled';
    // A dump we no longer counted on (its request survived an overflow we assumed dropped it).
    case 'idle':
      st.txGo('dumping', 'unasked bulk-begin');
      return 'handled';
    case 'dumping':
      return restarted(tx);
    default:
      return assertNever(tx.phase);
  }
}

function onEndOut(st: Step): Outcome {
  switch (st.s.tx.phase) {
    case 'dumping':
      st.txGo('idle', 'bulk-end');
      return 'handled';
    // The running dump finished before our dataplane took the next request: that one is still due.
    case 'dumping-queued':
      st.txGo('queued', 'bulk-end, next still queued');
      return 'handled';
    // The end of a dump whose BULK_BEGIN we never saw (drained before we started): nothing to do.
    case 'idle':
    case 'queued':
      return 'ignored';
    default:
      return assertNever(st.s.tx.phase);
  }
}
