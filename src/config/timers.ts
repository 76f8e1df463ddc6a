// HA timer presets and their bounds. A profile is a consistent set; any field may be overridden
// in shared.ha.timers, and the result is always a complete Timers.
import type { TimerProfile, Timers } from './types.js';

export type TimerField = Exclude<keyof Timers, 'profile'>;

/** What shared.ha.timers accepts: a profile and any field as an override. */
export type TimersInput = { profile?: TimerProfile } & Partial<Record<TimerField, number>>;

export const TIMER_FIELDS: readonly TimerField[] = [
  'heartbeatIntervalMs',
  'heartbeatMissed',
  'helloIntervalMs',
  'promotionHoldMs',
  'preemptHoldMs',
  'flapMax',
  'initialWaitMs',
  'monitorFailHoldUpMs',
  'additionalActiveHoldUpMs',
];

// The two monitor hold-ups are PAN-OS's "monitor fail hold up time" and "additional master hold up
// time", with its values in both profiles (0 and 500 ms). No extra fail hold by default: a link or
// path monitor already has its own debounce (a dead link is a dead link; a path group needs
// `failures` lost echoes), and every ms of hold is a ms of dropped traffic. The 500 ms on the
// active is what keeps a shared outage (an upstream router both boxes probe) from moving the role:
// the passive's monitor faults first, so when the active's does it finds the peer non-functional
// and stays active, degraded (docs/monitors.md). 500 ms covers the skew between the two boxes'
// probe rounds (one path interval, 200 ms by default) plus the state update on HA1.

export const TIMER_PROFILES: Readonly<Record<TimerProfile, Readonly<Timers>>> = {
  // For ordinary LANs and VMs. Dead interval 100 ms x 3 = 300 ms, plus a 100 ms hold: a silent
  // failure is taken over in ~400 ms, an order of magnitude below keepalived's default (3 s
  // advertisements x 3) and well inside TCP's first retransmission (1 s initial RTO, RFC 6298
  // 2.1), so established connections ride through. Three misses tolerate two lost datagrams.
  // A 60 s preempt hold follows PAN-OS: the better box must prove stable for a minute before it
  // takes traffic back, so a flapping box does not drag the pair through repeated failovers.
  recommended: {
    profile: 'recommended',
    heartbeatIntervalMs: 100,
    heartbeatMissed: 3,
    helloIntervalMs: 1000,
    promotionHoldMs: 100,
    preemptHoldMs: 60000,
    flapMax: 3,
    initialWaitMs: 1000,
    monitorFailHoldUpMs: 0,
    additionalActiveHoldUpMs: 500,
  },
  // For dedicated HA links (back-to-back cables). Dead interval 5 ms x 4 = 20 ms and no hold:
  // a silent failure (frozen box, cut cables) costs 24-30 ms of traffic, ahead of keepalived with
  // 10 ms VRRPv3 adverts (32 ms measured in the same lab; its default is 3 s). It relies on the
  // control agent's own thread at real-time priority: measured with the dataplane saturated on
  // the same two cores, 0 false failovers in 30 s (bench/README.md, failover-gap). Costs 200
  // datagrams/s per HA1 link each way. On a loaded or shared host, use `recommended`.
  aggressive: {
    profile: 'aggressive',
    heartbeatIntervalMs: 5,
    heartbeatMissed: 4,
    helloIntervalMs: 500,
    promotionHoldMs: 0,
    preemptHoldMs: 5000,
    flapMax: 3,
    initialWaitMs: 300,
    monitorFailHoldUpMs: 0,
    additionalActiveHoldUpMs: 500,
  },
};

/** Inclusive bounds per field: the schema enforces them and names them in its errors. */
export const TIMER_BOUNDS: Readonly<Record<TimerField, { min: number; max: number }>> = {
  // below 5 ms the timer wheel of a loaded Node process cannot keep the beat
  heartbeatIntervalMs: { min: 5, max: 10000 },
  // one miss would fail over on a single lost datagram
  heartbeatMissed: { min: 2, max: 100 },
  helloIntervalMs: { min: 100, max: 60000 },
  promotionHoldMs: { min: 0, max: 60000 },
  preemptHoldMs: { min: 0, max: 3600000 },
  flapMax: { min: 1, max: 100 },
  initialWaitMs: { min: 0, max: 600000 },
  // PAN-OS's ranges for both hold-ups: 0-60000 ms
  monitorFailHoldUpMs: { min: 0, max: 60000 },
  additionalActiveHoldUpMs: { min: 0, max: 60000 },
};

/** The profile's preset with the given overrides applied. Input is assumed already in bounds. */
export function resolveTimers(input: TimersInput = {}): Timers {
  const profile = input.profile ?? 'recommended';
  const out: Timers = { ...TIMER_PROFILES[profile], profile };
  for (const field of TIMER_FIELDS) {
    const value = input[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Heartbeat interval x missed count: how long every HA1 link must be silent before the peer is dead. */
export function deadIntervalMs(timers: Timers): number {
  return timers.heartbeatIntervalMs * timers.heartbeatMissed;
}
