// The HA core as a pure machine: step(core, event) -> { core, actions }. It owns everything the
// control agent decides beside the election (which it drives from inside, see run.ts): peer
// liveness over the links (liveness.ts), stalls and the lease hold (stall.ts), the planned
// hand-over, the session table's readiness and HA1-down detection; health.ts derives the reasons
// the box is not ready. No clock, no sockets, no timers, no logger, no metrics: time arrives as
// `event.now`, and logs and metrics leave as actions the driver (../agent.ts) carries out.
// `step` never mutates its input.
import { handingOver, initialState as initialElection } from '../election/step.js';
import type { ElectionConfig, PeerView } from '../election/types.js';
import { incomplete } from './health.js';
import { forwards, HAND_BACK_MS, handedBack, pairViewOf, samePairView } from './pair-view.js';
import { evaluatePeer, heard, markTableComplete, peerDown } from './liveness.js';
import { endHandover, Run } from './run.js';
import { checkFrozen, heartbeatAfterStall, releaseLease } from './stall.js';
import type { CoreConfig, CoreEvent, CoreResult, CoreState, HaState, SessionMessage } from './types.js';
import { shownHaState } from '../../wire/ha-state.js';

/**
 * After our dataplane saw the new active's gratuitous ARP on every floating interface. Each
 * capture ring is in order, so what the switches sent us before they moved was already handled by
 * then: this only covers frames still crossing the switch.
 */
export const HANDOVER_TAIL_MS = 5;

/**
 * A box that just started: the election in initial, the peer unknown, nothing heard. The election
 * learns from the core whether HA2 runs (a box becoming passive is tentative until its bulk sync).
 */
export function initialCore(config: CoreConfig, election: Omit<ElectionConfig, 'sync' | 'activeActive'>): CoreState {
  return {
    config: { ...config, links: config.links.map((l) => ({ ...l })) },
    election: initialElection({ ...election, sync: config.sync, activeActive: config.activeActive }),
    pairView: null,
    handBack: { classes: 0, untilMs: 0 },
    lastTickMs: 0,
    nextHelloMs: 0,
    peer: { alive: false, lastHeardMs: null, name: null, reason: null, view: null },
    links: config.links.map(() => ({ lastHeardMs: null, closedByPeerAtMs: null, heartbeatUp: false })),
    stall: { freshAfterNs: 0, leaseHeldUntilMs: 0, awaitPeerYield: false },
    handoverUntilMs: 0,
    tableComplete: false,
    ha1Down: false,
    onlyBackupSinceMs: null,
  };
}

/**
 * An operator failover that cannot work: the take-over request travels on an HA1 session, so
 * without one the peer would never hear it and we would hand the role to nobody (the heartbeat
 * backup carries no commands). Checked before the driver waits for the sync backlog to drain.
 */
export function failoverRefusal(c: CoreState, sessionsOpen: readonly boolean[]): string | null {
  if (c.election.state === 'active' && c.peer.alive && !sessionsOpen.some(Boolean)) {
    return 'HA1 is down (no session on any HA1 link): the peer cannot be asked to take over';
  }
  return null;
}

/** An operator command's answer once the core took it: the state change, or that there was none. */
export function commandAnswer(before: HaState, e: CoreState['election'], activeActive = false): string {
  // in the names the operator sees everywhere else (active-primary, active-secondary in active/active)
  const [from, to] = [shownHaState(before, activeActive), shownHaState(e.state, activeActive)];
  return before === e.state ? `state unchanged: ${to} (${e.reason})` : `${from} -> ${to} (${e.reason})`;
}

/**
 * Active beside a tentative peer (still receiving our table): an operator failover first waits a
 * moment for its bulk sync (the driver bounds the wait); past that the election refuses.
 */
export function peerSyncing(c: CoreState): boolean {
  return c.election.state === 'active' && c.election.peer?.state === 'tentative';
}

/** Advance the core by one event. Pure: the same input always gives the same output. */
export function step(core: CoreState, event: CoreEvent): CoreResult {
  const r = new Run(core);
  const c = r.c;
  switch (event.type) {
    case 'start':
      c.lastTickMs = event.now;
      r.dispatch(event);
      break;
    case 'tick':
      onTick(r, event.now, event.sessionsOpen, event.peerAnnouncedAtMs);
      break;
    case 'wake':
      checkFrozen(r, event.now);
      break;
    case 'heartbeat': {
      checkFrozen(r, event.now);
      if (!heartbeatAfterStall(r, event.link, event.now, event.age, event.hb)) break;
      const hb = event.hb;
      // a late one proves the link works, but its state is no newer than what we already know
      const view: PeerView | null =
        event.age === 'late' ? null : { deviceId: hb.sender, state: hb.state, priority: hb.priority, preempt: hb.preempt, incomplete: hb.incomplete };
      heard(r, event.link, event.now, view, event.sessionsOpen);
      break;
    }
    case 'session-message':
      checkFrozen(r, event.now);
      // queued while we were frozen: stale until a fresh heartbeat proves the peer heard us again
      if (c.stall.freshAfterNs > 0) r.emit({ type: 'drop-stale', channel: 'ha1-session' });
      else onSessionMessage(r, event.link, event.now, event.sender, event.message, event.sessionsOpen);
      break;
    case 'session-down':
      // a session we closed, or one gone stale with its link, says nothing about the peer
      if (!event.closedByPeer) break;
      c.links[event.link].closedByPeerAtMs = event.now;
      evaluatePeer(r, event.now, event.sessionsOpen);
      break;
    case 'bulk-complete':
      // the table first, so that the state update of tentative -> passive says complete
      if (c.election.state === 'tentative') r.log('info', { sessions: event.sessions }, 'session table in sync with the peer (bulk complete)');
      if (!c.tableComplete) markTableComplete(r, 'bulk sync complete');
      r.dispatch({ type: 'bulk-complete', now: event.now });
      break;
    case 'bulk-incomplete':
      // active/active: a forwarding box holds its own sessions whatever HA2 lost of the peer's; the
      // resync is information, not a reason to stop forwarding (docs/sync.md "Both ways")
      if (forwards(c) && c.config.activeActive) {
        r.log('info', { why: event.reason }, "copy of the peer's sessions being resynced");
        break;
      }
      // the sender's table is the pair's whatever HA2 lost; any other box's table is no longer complete
      if (c.election.state !== 'active' && c.tableComplete) {
        c.tableComplete = false;
        r.log('warn', { why: event.reason }, 'session table no longer in sync with the peer: resyncing');
      }
      r.dispatch({ type: 'bulk-incomplete', now: event.now, reason: event.reason });
      break;
    case 'reconfigure':
      c.config.deadIntervalMs = event.deadIntervalMs;
      c.config.helloIntervalMs = event.helloIntervalMs;
      c.election = { ...c.election, config: { ...c.election.config, ...event.election } };
      break;
    case 'timer':
    case 'operator-suspend':
    case 'operator-functional':
    case 'operator-failover':
    case 'fault-add':
    case 'fault-clear':
      r.dispatch(event);
      break;
    default: {
      const never: never = event;
      throw new Error(`core: unknown event ${JSON.stringify(never)}`);
    }
  }
  updatePairView(r, event.now);
  return { core: c, actions: r.out };
}

/** Active/active: the dataplane hears of every change of the pair view, at the end of the step that made it. */
function updatePairView(r: Run, now: number): void {
  // a hold that ended lets its classes go for good (they are not handed back again)
  const ended = now >= r.c.handBack.untilMs ? r.c.handBack.classes : 0;
  if (ended !== 0) r.c.handBack = { classes: 0, untilMs: 0 };
  const view = pairViewOf(r.c, now);
  const handed = view === null ? 0 : handedBack(r.c, view) & ~ended;
  if (handed !== 0 && view !== null) {
    r.c.handBack = { classes: handed, untilMs: now + HAND_BACK_MS };
    view.accepted |= handed & ~view.served;
  }
  if (samePairView(view, r.c.pairView)) return;
  r.c.pairView = view;
  if (view !== null) r.emit({ type: 'pair-view', view });
}

/**
 * Every heartbeat interval: our heartbeats, the peer's verdict, the lease (renewed while active
 * and not held after a stall), the end of a hand-over, and a hello when one is due.
 */
function onTick(r: Run, now: number, sessionsOpen: readonly boolean[], peerAnnouncedAtMs: number): void {
  const c = r.c;
  checkFrozen(r, now);
  c.lastTickMs = now;
  r.emit({ type: 'send-heartbeats', state: c.election.state, incomplete: incomplete(c) });
  evaluatePeer(r, now, sessionsOpen);
  // nobody answered within a dead interval of the stall: the peer is not there to have taken over
  if (c.stall.leaseHeldUntilMs > 0 && now >= c.stall.leaseHeldUntilMs) releaseLease(r, 'no fresh word from the peer within the dead interval');
  const held = c.stall.leaseHeldUntilMs > 0;
  const renew = { type: 'renew-lease', untilMs: now + c.config.deadIntervalMs } as const;
  if (forwards(c)) {
    if (!held) r.emit(renew);
  } else if (c.handoverUntilMs > 0) {
    if (peerAnnouncedAtMs > 0 && now >= peerAnnouncedAtMs + HANDOVER_TAIL_MS) endHandover(r, 'the peer announced the floating IPs on every interface');
    else if (now >= c.handoverUntilMs) endHandover(r, 'no announcement from the peer seen in time');
    else if (!held) r.emit(renew);
  }
  if (now >= c.nextHelloMs) {
    c.nextHelloMs = now + c.config.helloIntervalMs;
    r.emit({ type: 'send-hellos' });
  }
  askAgainToTakeOver(r);
}

/**
 * While we hand the role over and the peer has not taken it, the request goes again every tick: a
 * peer that stalled just then drops what arrived meanwhile as stale (a take-over request too), and
 * the failover was lost, the role coming back to us when the hand-over wait ran out. A peer already
 * active refuses the repeats.
 */
function askAgainToTakeOver(r: Run): void {
  const e = r.c.election;
  const peer = r.c.peer;
  if (!handingOver(e) || !peer.alive || peer.view?.state === 'active') return;
  r.emit({ type: 'send-take-over', reason: e.reason });
}

function onSessionMessage(r: Run, link: number, now: number, sender: number, m: SessionMessage, sessionsOpen: readonly boolean[]): void {
  const c = r.c;
  switch (m.kind) {
    case 'hello':
      c.peer.name = m.name;
      c.peer.reason = m.stateReason;
      if (m.mismatch !== null) r.log('warn', m.mismatch, 'peer hello: group or mode differs from ours');
      heard(
        r,
        link,
        now,
        { deviceId: sender, state: m.state, priority: m.priority, preempt: m.preempt, incomplete: c.peer.view?.incomplete ?? false },
        sessionsOpen,
      );
      return;
    case 'state-update': {
      c.peer.reason = m.reason;
      const prev = c.peer.view;
      heard(
        r,
        link,
        now,
        {
          deviceId: sender,
          state: m.state,
          priority: prev?.priority ?? 255,
          preempt: prev?.preempt ?? false,
          incomplete: prev?.incomplete ?? false,
        },
        sessionsOpen,
      );
      return;
    }
    case 'command':
      heard(r, link, now, null, sessionsOpen);
      if (m.command === 'take-over') {
        r.log('info', { reason: m.reason }, 'peer asks us to take over');
        r.dispatch({ type: 'peer-take-over', now, reason: m.reason });
      }
      return;
    case 'goodbye':
      r.log('info', { reason: m.reason }, 'peer said goodbye');
      for (const l of c.links) l.closedByPeerAtMs = now;
      if (c.peer.alive) peerDown(r, { type: 'peer-dead', now, cause: 'goodbye' });
      return;
    case 'config':
      heard(r, link, now, null, sessionsOpen);
      return;
    case 'other':
      return;
    default: {
      const never: never = m;
      throw new Error(`core: unknown session message ${JSON.stringify(never)}`);
    }
  }
}
