// The control worker's view of the dataplane, which runs on the main thread (see
// src/dataplane/host.ts for why). Role, lease and GARP requests go through the SharedState and
// the firewall counters through FirewallStats (src/wire/firewall-stats.ts); this port
// carries only slow things (queries), each with a timeout because a saturated capture loop can
// hold messages back.
//
// The protocol on the port (the dataplane side is src/dataplane/host.ts):
//   dataplane -> {type:'ready', interfaces:[{name, device, mac, virtualMac}]}  or {type:'fatal', error}
//   <- {type:'status-request', id}                        -> {type:'status', id, data: DataplaneStatus}
//   <- {type:'sessions-request', id, filter, limit}       -> {type:'sessions', id, data: SessionList}
//                                                         or {type:'sessions', id, error: string}
//        filter: SessionFilter, already validated (src/api/sessions.ts); limit: 0..10 000.
//        data.total counts the whole table, data.matched every session matching the filter,
//        data.sessions the first `limit` matches in table order, data.truncated = matched > length.
//        listSessions() in session-view.ts builds exactly this from an iterable of SessionView.
//   <- {type:'apply-shared', id, shared}                  -> {type:'applied', id, result: ApplyResult}
//        shared: a SharedConfig already validated (validateSharedConfig); the dataplane compiles it,
//        switches in one step or changes nothing (src/dataplane/apply.ts, Engine.applyShared).
//   <- {type:'stop'}                                      -> {type:'stopped'}
// `id` is chosen by this side and echoed; an answer with an unknown id (one that already timed
// out) is ignored.
import type { MessagePort } from 'node:worker_threads';
import { SessionsUnavailable } from '../api/sessions.js';
import type { SharedConfig } from '../config/types.js';
import type { ApplyResult } from '../dataplane/apply.js';
import type { SessionFilter, SessionList } from '../wire/session-view.js';
import type { ApplySharedRequest, DataplaneQuery } from '../dataplane/host.js';

export type { ApplySharedRequest, DataplaneQuery } from '../dataplane/host.js';

export type { ApplyResult } from '../dataplane/apply.js';

/** A status is cheap for the dataplane: a slow answer means a starved event loop. */
const STATUS_TIMEOUT_MS = 1_000;
/** A listing walks the table (a million sessions, filtered, take a while): below the API's 3 s. */
const SESSIONS_TIMEOUT_MS = 2_500;
/** An apply compiles the rules and re-matches every session (a million take a while): generous. */
const APPLY_TIMEOUT_MS = 10_000;

type DataplaneAnswer =
  | { type: 'ready'; interfaces?: unknown[] }
  | { type: 'status'; id: number; data: unknown }
  | { type: 'sessions'; id: number; data?: SessionList; error?: string }
  | { type: 'applied'; id: number; result: ApplyResult };

type Pending = (msg: { data?: unknown; error?: string; result?: ApplyResult }) => void;

export class DataplaneClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  interfaces: unknown[] = [];
  /**
   * Told of an apply that answered after its request had timed out: the dataplane did switch, so
   * the caller must still re-attach the metrics to result.firewallBuffer and record the version.
   */
  onLateApply: ((result: ApplyResult) => void) | null = null;
  /** Ids of applies that timed out, whose late answer goes to onLateApply. */
  private readonly lateApplies = new Set<number>();

  constructor(
    private readonly port: Pick<MessagePort, 'on' | 'postMessage' | 'unref'>,
    private readonly timeouts: { statusMs?: number; sessionsMs?: number; applyMs?: number } = {},
  ) {
    port.on('message', (msg: DataplaneAnswer) => {
      if (msg === null || typeof msg !== 'object') return;
      if (msg.type === 'ready') this.interfaces = msg.interfaces ?? [];
      else if ((msg.type === 'status' || msg.type === 'sessions' || msg.type === 'applied') && typeof msg.id === 'number') {
        const done = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (done) done(msg);
        else if (msg.type === 'applied' && this.lateApplies.delete(msg.id) && isApplyResult(msg.result)) this.onLateApply?.(msg.result);
      }
    });
    // The port must not keep the worker alive on its own.
    port.unref();
  }

  /** The dataplane's status, or { error: 'timeout' } when it does not answer in time. */
  status(): Promise<unknown> {
    return new Promise((resolve) => {
      this.ask(
        (id) => ({ type: 'status-request', id }),
        this.timeouts.statusMs ?? STATUS_TIMEOUT_MS,
        (msg) => resolve(msg.data),
        () => resolve({ error: 'timeout' }),
      );
    });
  }

  /**
   * The sessions matching `filter` (at most `limit` of them). Rejects with SessionsUnavailable:
   * 'timeout' when the dataplane does not answer in time, 'error' when it answers an error.
   */
  sessions(filter: SessionFilter, limit: number): Promise<SessionList> {
    const timeoutMs = this.timeouts.sessionsMs ?? SESSIONS_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      this.ask(
        (id) => ({ type: 'sessions-request', id, filter, limit }),
        timeoutMs,
        (msg) => {
          if (typeof msg.error === 'string') reject(new SessionsUnavailable('error', `the dataplane could not list sessions: ${msg.error}`));
          else if (msg.data === undefined) reject(new SessionsUnavailable('error', 'the dataplane answered no session list'));
          else resolve(msg.data as SessionList);
        },
        () => reject(new SessionsUnavailable('timeout', `the dataplane did not list sessions within ${timeoutMs} ms`)),
      );
    });
  }

  /**
   * Applies a committed shared half to the running dataplane: every frame after the answer sees
   * the new config, or, on ok: false, nothing changed. A timeout answers ok: false with an error
   * that says the outcome is unknown: the dataplane may still apply it (see onLateApply).
   */
  applyShared(shared: SharedConfig): Promise<ApplyResult> {
    const timeoutMs = this.timeouts.applyMs ?? APPLY_TIMEOUT_MS;
    return new Promise((resolve) => {
      const id = this.ask(
        (id) => ({ type: 'apply-shared', id, shared }),
        timeoutMs,
        (msg) => resolve(isApplyResult(msg.result) ? msg.result : { ok: false, error: 'the dataplane answered the apply without a result' }),
        () => {
          this.lateApplies.add(id);
          resolve({ ok: false, error: `the dataplane did not answer the apply within ${timeoutMs} ms; it may still apply it (outcome unknown)` });
        },
      );
    });
  }

  /** Requests still waiting for an answer (for tests: none should outlive its timeout). */
  get pendingCount(): number {
    return this.pending.size;
  }

  private ask(build: (id: number) => DataplaneQuery | ApplySharedRequest, timeoutMs: number, onAnswer: Pending, onTimeout: () => void): number {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      onTimeout();
    }, timeoutMs);
    this.pending.set(id, (msg) => {
      clearTimeout(timer);
      onAnswer(msg);
    });
    this.port.postMessage(build(id));
    return id;
  }
}

function isApplyResult(r: unknown): r is ApplyResult {
  return typeof r === 'object' && r !== null && typeof (r as { ok?: unknown }).ok === 'boolean';
}
