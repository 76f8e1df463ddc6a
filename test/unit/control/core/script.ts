// Scenario scripts for the HA core (src/control/core), in the election's style (../election/
// script.ts, after etcd raft's testdata): each command line is an event at a time (ms); the
// indented lines under it are what the core answered, recorded, then `= ` and a state summary.
// The test replays the commands and compares the whole text; UPDATE_SCENARIOS=1 rewrites it.
//
//   config [id=1 priority=100 preempt=on initial-wait=300 promotion-hold=10 preempt-hold=5000
//           flap-max=3 degraded-hold=0 dead=100 hello=1000 sync=on links=ha1,ha1-backup]
//   <now> start | tick [announced=<ms>] | wake
//   <now> heartbeat <link> <state> [id=0 priority=50 preempt=off incomplete late echo=<ms>]
//   <now> hello <link> <state> [id=0 priority=50 preempt=off name=<n> group=<n>]
//   <now> state-update <link> <state> [reason]
//   <now> take-over <link> <reason...> | goodbye <link> <reason...> | config-msg <link>
//   <now> session-down <link> [by-peer] | session-up <link>
//   <now> bulk-complete <sessions>
//   <now> bulk-incomplete <reason words>
//   <now> timer <name> | operator-suspend | operator-functional | operator-failover
//   <now> fault-add <reason> | fault-clear <reason>
//
// Links are named as in status (ha1, ha1-backup, heartbeat-backup). The harness plays the driver's
// part of the sessions: an HA1 link's session is open from the start, closes on session-down or
// when the core marks it stale, and opens again on session-up. A heartbeat echoes, unless told
// (echo=<ms>), the last heartbeat the core had us send.
import { failoverRefusal, initialCore, step } from '../../../../src/control/core/step.js';
import { health } from '../../../../src/control/core/health.js';
import type { CoreAction, CoreEvent, CoreState, SessionMessage } from '../../../../src/control/core/types.js';
import { HA_STATES, type HaState, type TimerName } from '../../../../src/control/election/types.js';
import { parseConfig as parseElectionConfig } from '../election/script.js';

const TIMERS: TimerName[] = ['initial-wait', 'promotion-hold', 'preempt-hold', 'degraded-hold'];

function kv(words: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of words) {
    const i = w.indexOf('=');
    if (i < 0) m.set(w, 'true');
    else m.set(w.slice(0, i), w.slice(i + 1));
  }
  return m;
}

function num(m: Map<string, string>, key: string, dflt: number): number {
  const v = m.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`scenario: ${key}=${v} is not a number`);
  return n;
}

function haState(word: string | undefined, line: string): HaState {
  if (!HA_STATES.includes(word as HaState)) throw new Error(`scenario: bad state in "${line}"`);
  return word as HaState;
}

/** A replay in progress: the core, plus the driver's facts the harness keeps. */
class Harness {
  core: CoreState;
  sessions: boolean[];
  lastSentMs = 0;

  constructor(words: string[]) {
    const m = kv(words);
    const names = (m.get('links') ?? 'ha1,ha1-backup').split(',');
    const links = names.map((name) => ({ name, hasSession: name !== 'heartbeat-backup' }));
    this.core = initialCore(
      {
        deadIntervalMs: num(m, 'dead', 100),
        helloIntervalMs: num(m, 'hello', 1000),
        sync: (m.get('sync') ?? 'on') === 'on',
        activeActive: (m.get('mode') ?? 'ap') === 'aa',
        links,
      },
      parseElectionConfig(words),
    );
    this.sessions = links.map((l) => l.hasSession);
  }

  link(name: string | undefined, line: string): number {
    const i = this.core.config.links.findIndex((l) => l.name === name);
    if (i < 0) throw new Error(`scenario: no link ${String(name)} in "${line}"`);
    return i;
  }

  /** The command line as a core event, or null for the harness's own (session-up). */
  event(line: string): CoreEvent | null {
    const [nowText, type, ...rest] = line.trim().split(/\s+/);
    const now = Number(nowText);
    if (!Number.isFinite(now)) throw new Error(`scenario: bad time in "${line}"`);
    const m = kv(rest);
    const sessionsOpen = [...this.sessions];
    switch (type) {
      case 'start':
      case 'wake':
      case 'operator-suspend':
      case 'operator-functional':
      case 'operator-failover':
        return { type, now };
      case 'tick':
        return { type, now, sessionsOpen, peerAnnouncedAtMs: num(m, 'announced', 0) };
      case 'heartbeat': {
        const [name, state, ...more] = rest;
        const h = kv(more);
        const hb = {
          sender: num(h, 'id', 0),
          state: haState(state, line),
          priority: num(h, 'priority', 50),
          preempt: (h.get('preempt') ?? 'on') === 'on',
          incomplete: h.has('incomplete'),
          echoNs: Math.round(num(h, 'echo', this.lastSentMs) * 1e6),
        };
        return { type, now, link: this.link(name, line), sessionsOpen, age: h.has('late') ? 'late' : 'fresh', hb };
      }
      case 'hello':
      case 'state-update':
      case 'take-over':
      case 'goodbye':
      case 'config-msg': {
        const [name, ...more] = rest;
        return { type: 'session-message', now, link: this.link(name, line), sessionsOpen, sender: 0, message: sessionMessage(type, more, line) };
      }
      case 'session-down': {
        const i = this.link(rest[0], line);
        this.sessions[i] = false;
        return { type, now, link: i, closedByPeer: m.has('by-peer'), sessionsOpen: [...this.sessions] };
      }
      case 'session-up':
        this.sessions[this.link(rest[0], line)] = true;
        return null;
      case 'bulk-complete':
        return { type, now, sessions: Number(rest[0] ?? 0) };
      case 'bulk-incomplete':
        return { type, now, reason: rest.join(' ') };
      case 'timer':
        if (!TIMERS.includes(rest[0] as TimerName)) throw new Error(`scenario: bad timer in "${line}"`);
        return { type, now, name: rest[0] as TimerName };
      case 'fault-add':
      case 'fault-clear':
        return { type, now, reason: rest.join(' ') };
      default:
        throw new Error(`scenario: unknown event in "${line}"`);
    }
  }

  /** Carry out the driver's part of an action, as far as the harness models it. */
  after(a: CoreAction, now: number): void {
    if (a.type === 'send-heartbeats' || a.type === 'send-state') this.lastSentMs = now;
    if (a.type === 'session-stale') this.sessions[a.link] = false;
  }
}

function sessionMessage(type: string, words: string[], line: string): SessionMessage {
  const m = kv(words);
  switch (type) {
    case 'hello':
      return {
        kind: 'hello',
        name: m.get('name') ?? 'peer',
        stateReason: m.get('reason') ?? '',
        state: haState(words[0], line),
        priority: num(m, 'priority', 50),
        preempt: (m.get('preempt') ?? 'on') === 'on',
        mismatch: m.has('group') ? { peerGroup: num(m, 'group', 0), peerMode: 'active-passive' } : null,
      };
    case 'state-update':
      return { kind: 'state-update', state: haState(words[0], line), reason: words.slice(1).join(' ') };
    case 'take-over':
      return { kind: 'command', command: 'take-over', reason: words.join(' ') };
    case 'goodbye':
      return { kind: 'goodbye', reason: words.join(' ') };
    default:
      return { kind: 'config' };
  }
}

function fields(f: Record<string, unknown>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

function classNames(served: number): string {
  return (['device0', 'device1', 'primary'] as const).filter((_, i) => (served & (1 << i)) !== 0).join(',');
}

export function formatAction(a: CoreAction, c: CoreState): string {
  const link = (i: number): string => c.config.links[i].name;
  const self = (s: { state: HaState; incomplete: boolean }): string => `${s.state}${s.incomplete ? ' incomplete' : ''}`;
  switch (a.type) {
    case 'transition':
      return `transition ${a.from} -> ${a.to} (${a.reason})${a.outageS > 0 ? ` outage=${a.outageS}s` : ''}`;
    case 'arm-timer':
      return `arm-timer ${a.name} ${a.ms}ms`;
    case 'cancel-timer':
      return `cancel-timer ${a.name}`;
    case 'send-take-over':
      return `send-take-over (${a.reason})`;
    case 'refused':
      return `refused ${a.event}: ${a.reason}`;
    case 'send-state':
      return `send-state ${self(a)} (${a.reason})`;
    case 'send-heartbeats':
      return `send-heartbeats ${self(a)}`;
    case 'send-hellos':
    case 'announce':
    case 'peer-up':
    case 'peer-down':
      return a.type;
    case 'dataplane-role':
      return `dataplane-role ${a.role}`;
    case 'pair-view':
      return `pair-view serve=[${classNames(a.view.served)}]${a.view.accepted !== 0 ? ` accept=[${classNames(a.view.accepted)}]` : ''} peer-forwarding=${a.view.peerForwarding ? 'yes' : 'no'} primary=${a.view.primary}`;
    case 'renew-lease':
      return `renew-lease until=${a.untilMs}`;
    case 'handing-over':
      return `handing-over ${a.on ? 'on' : 'off'}`;
    case 'sync-role':
      return `sync-role ${a.role}`;
    case 'link-heartbeat':
      return `link-heartbeat ${link(a.link)} ${a.up ? 'up' : 'down'}`;
    case 'session-refresh':
    case 'session-stale':
      return `${a.type} ${link(a.link)}`;
    case 'control-stall':
      return `control-stall ${a.kind}`;
    case 'drop-stale':
      return `drop-stale ${a.channel}`;
    case 'log':
      return `log ${a.level}: ${a.msg}${Object.keys(a.fields).length > 0 ? ` {${fields(a.fields)}}` : ''}`;
  }
}

export function summary(c: CoreState, sessions: readonly boolean[]): string {
  const e = c.election;
  const peer = c.peer.alive ? (c.peer.view?.state ?? 'up') : 'dead';
  const links = c.config.links
    .map((l, i) => `${l.name}:${c.links[i].heartbeatUp ? 'hears' : '-'}${l.hasSession ? (sessions[i] ? '+session' : '') : ''}`)
    .join(',');
  let out = `= ${e.state} (${e.reason}) peer=${peer} links=${links} armed=[${e.armed.join(',')}]`;
  const s = c.stall;
  if (s.leaseHeldUntilMs > 0) out += ` lease-held-until=${s.leaseHeldUntilMs}`;
  if (s.awaitPeerYield) out += ' await-peer-yield';
  if (s.freshAfterNs > 0) out += ` fresh-after=${s.freshAfterNs / 1e6}`;
  if (c.handoverUntilMs > 0) out += ` handover-until=${c.handoverUntilMs}`;
  const h = health(c);
  if (h.length > 0) out += ` health=[${h.join(',')}]`;
  return out;
}

/** Replay a script and return its text with freshly recorded output. */
export function replay(text: string): string {
  const out: string[] = [];
  let h: Harness | null = null;
  for (const line of text.split('\n')) {
    if (/^\s+\S/.test(line)) continue; // recorded output: regenerated below
    out.push(line);
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (t.startsWith('config')) {
      h = new Harness(t.split(/\s+/).slice(1));
      out.push(`  ${summary(h.core, h.sessions)}`);
      continue;
    }
    if (h === null) throw new Error('scenario: an event before the first config line');
    const ev = h.event(t);
    if (ev !== null) {
      // the driver checks an operator failover before it waits for the sync backlog
      const refusal = ev.type === 'operator-failover' ? failoverRefusal(h.core, h.sessions) : null;
      if (refusal !== null) out.push(`  refused by the driver: ${refusal}`);
      else {
        const r = step(h.core, ev);
        for (const a of r.actions) {
          out.push(`  ${formatAction(a, r.core)}`);
          h.after(a, ev.now);
        }
        h.core = r.core;
      }
    }
    out.push(`  ${summary(h.core, h.sessions)}`);
  }
  return out.join('\n');
}
