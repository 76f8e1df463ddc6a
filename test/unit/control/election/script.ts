// A tiny script language for election scenarios, after etcd raft's testdata: each command line is
// an event at a time (ms); the indented lines under it are what the machine answered, recorded.
// The test replays the commands and compares the whole text; UPDATE_SCENARIOS=1 rewrites it.
//
//   config id=1 priority=100 preempt=on initial-wait=300 promotion-hold=10 preempt-hold=5000 flap-max=3 degraded-hold=0 sync=off
//   <now> start
//   <now> peer-heard <state> id=<n> priority=<n> [preempt=off]
//   <now> peer-dead heartbeat-timeout|peer-closed|goodbye
//   <now> timer initial-wait|promotion-hold|preempt-hold
//   <now> operator-suspend | operator-functional | operator-failover
//   <now> peer-take-over <reason...>
//   <now> fault-add <reason...> | fault-clear <reason...>
//   <now> frozen <gapMs>
//   <now> bulk-complete
//   <now> bulk-incomplete <reason words>
//
// A `config` line starts a fresh machine. Output lines: one per action, then `= ` and a summary.
import { initialState, step } from '../../../../src/control/election/step.js';
import type {
  ElectionAction,
  ElectionConfig,
  ElectionEvent,
  ElectionState,
  HaState,
  PeerDeathCause,
  TimerName,
} from '../../../../src/control/election/types.js';
import { HA_STATES } from '../../../../src/control/election/types.js';

const TIMERS: TimerName[] = ['initial-wait', 'promotion-hold', 'preempt-hold', 'degraded-hold'];
const CAUSES: PeerDeathCause[] = ['heartbeat-timeout', 'peer-closed', 'goodbye'];

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

export function parseConfig(words: string[]): ElectionConfig {
  const m = kv(words);
  return {
    deviceId: num(m, 'id', 1),
    priority: num(m, 'priority', 100),
    preempt: (m.get('preempt') ?? 'on') === 'on',
    initialWaitMs: num(m, 'initial-wait', 300),
    promotionHoldMs: num(m, 'promotion-hold', 10),
    preemptHoldMs: num(m, 'preempt-hold', 5000),
    flapMax: num(m, 'flap-max', 3),
    degradedHandOverMs: num(m, 'degraded-hold', 0),
    sync: (m.get('sync') ?? 'off') === 'on',
    activeActive: (m.get('mode') ?? 'active-passive') === 'active-active',
  };
}

export function parseEvent(line: string): ElectionEvent {
  const [nowText, type, ...rest] = line.trim().split(/\s+/);
  const now = Number(nowText);
  if (!Number.isFinite(now)) throw new Error(`scenario: bad time in "${line}"`);
  const arg = rest.join(' ');
  switch (type) {
    case 'start':
    case 'operator-suspend':
    case 'operator-functional':
    case 'operator-failover':
    case 'bulk-complete':
      return { type, now };
    case 'bulk-incomplete':
      return { type, now, reason: rest.join(' ') };
    case 'peer-heard': {
      const [state, ...more] = rest;
      if (!HA_STATES.includes(state as HaState)) throw new Error(`scenario: bad peer state in "${line}"`);
      const m = kv(more);
      return {
        type,
        now,
        peer: {
          state: state as HaState,
          deviceId: num(m, 'id', 0),
          priority: num(m, 'priority', 50),
          preempt: (m.get('preempt') ?? 'on') === 'on',
        },
      };
    }
    case 'peer-dead':
      if (!CAUSES.includes(arg as PeerDeathCause)) throw new Error(`scenario: bad cause in "${line}"`);
      return { type, now, cause: arg as PeerDeathCause };
    case 'timer':
      if (!TIMERS.includes(arg as TimerName)) throw new Error(`scenario: bad timer in "${line}"`);
      return { type, now, name: arg as TimerName };
    case 'peer-take-over':
    case 'fault-add':
    case 'fault-clear':
      return { type, now, reason: arg };
    case 'frozen':
      return { type, now, gapMs: Number(arg) };
    default:
      throw new Error(`scenario: unknown event in "${line}"`);
  }
}

export function formatAction(a: ElectionAction): string {
  switch (a.type) {
    case 'transition':
      return `transition ${a.from} -> ${a.to} (${a.reason})`;
    case 'arm-timer':
      return `arm-timer ${a.name} ${a.ms}ms`;
    case 'cancel-timer':
      return `cancel-timer ${a.name}`;
    case 'send-state':
    case 'announce':
      return a.type;
    case 'send-take-over':
      return `send-take-over (${a.reason})`;
    case 'refused':
      return `refused ${a.event}: ${a.reason}`;
    case 'invalid-transition':
      return `invalid-transition ${a.state} x ${a.event}`;
  }
}

export function summary(s: ElectionState): string {
  const peer = s.peer === null ? '-' : `${s.peer.deviceId}:${s.peer.state}`;
  let out = `= ${s.state} (${s.reason}) peer=${peer} armed=[${s.armed.join(',')}]`;
  if (s.faults.length > 0) out += ` faults=[${s.faults.join(',')}]`;
  if (s.preemptSuspended !== null) out += ` preempt-suspended="${s.preemptSuspended}"`;
  return out;
}

/** Replay a script and return its text with freshly recorded output. */
export function replay(text: string): string {
  const out: string[] = [];
  let s: ElectionState | null = null;
  for (const line of text.split('\n')) {
    if (/^\s+\S/.test(line)) continue; // recorded output: regenerated below
    out.push(line);
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (t.startsWith('config')) {
      s = initialState(parseConfig(t.split(/\s+/).slice(1)));
      out.push(`  ${summary(s)}`);
      continue;
    }
    if (s === null) throw new Error('scenario: an event before the first config line');
    const r = step(s, parseEvent(t));
    for (const a of r.actions) out.push(`  ${formatAction(a)}`);
    s = r.state;
    out.push(`  ${summary(s)}`);
  }
  return out.join('\n');
}
