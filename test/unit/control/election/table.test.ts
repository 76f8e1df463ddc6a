// Every state x every event type, each with its expected outcome. The coverage test at the end
// fails when a state or an event type is added without a row here.
import { describe, expect, it } from 'vitest';
import { initialState, step } from '../../../../src/control/election/step.js';
import { HA_STATES } from '../../../../src/control/election/types.js';
import type { ElectionEvent, ElectionState, HaState, TimerName } from '../../../../src/control/election/types.js';
import { better, config, reach, run, types, worse } from './helpers.js';

type Expect = { to: HaState; reason: string } | { stay: true; reason?: string } | { refused: string } | { invalid: true } | { ignored: true };

interface Case {
  name: string;
  from: HaState;
  /** State to start from; defaults to reach.of(from). */
  state?: () => ElectionState;
  event: ElectionEvent;
  expect: Expect;
  /** Exact action types, in order (not checked for refused/invalid/ignored, which are fixed). */
  actions?: string[];
}

const EVENT_TYPES: ElectionEvent['type'][] = [
  'start',
  'peer-heard',
  'peer-dead',
  'timer',
  'operator-suspend',
  'operator-functional',
  'operator-failover',
  'peer-take-over',
  'fault-add',
  'fault-clear',
  'frozen',
  'bulk-complete',
  'bulk-incomplete',
];

const T = 1000;
const heard = (peer: ReturnType<typeof better>): ElectionEvent => ({ type: 'peer-heard', now: T, peer });
const timer = (name: TimerName, now = T): ElectionEvent => ({ type: 'timer', now, name });

const CASES: Case[] = [
  // ---- initial
  {
    name: 'start arms initial-wait',
    from: 'initial',
    state: () => initialState(config()),
    event: { type: 'start', now: 0 },
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  { name: 'start twice', from: 'initial', event: { type: 'start', now: T }, expect: { invalid: true } },
  {
    name: 'peer active',
    from: 'initial',
    event: heard(better('active')),
    expect: { to: 'passive', reason: 'peer-active' },
    actions: ['transition', 'cancel-timer', 'send-state'],
  },
  { name: 'worse peer active still wins nothing', from: 'initial', event: heard(worse('active')), expect: { to: 'passive', reason: 'peer-active' } },
  { name: 'better peer initial', from: 'initial', event: heard(better('initial')), expect: { to: 'passive', reason: 'election-lost' } },
  {
    name: 'worse peer initial',
    from: 'initial',
    event: heard(worse('initial')),
    expect: { to: 'active', reason: 'election-won' },
    actions: ['transition', 'cancel-timer', 'send-state', 'announce'],
  },
  { name: 'better peer passive', from: 'initial', event: heard(better('passive')), expect: { to: 'passive', reason: 'election-lost' } },
  { name: 'worse peer passive', from: 'initial', event: heard(worse('passive')), expect: { to: 'active', reason: 'election-won' } },
  { name: 'peer suspended', from: 'initial', event: heard(better('suspended')), expect: { to: 'active', reason: 'peer-not-functional' } },
  { name: 'peer non-functional', from: 'initial', event: heard(better('non-functional')), expect: { to: 'active', reason: 'peer-not-functional' } },
  { name: 'peer dead: keep waiting', from: 'initial', event: { type: 'peer-dead', now: T, cause: 'peer-closed' }, expect: { stay: true }, actions: [] },
  {
    name: 'initial-wait fires alone',
    from: 'initial',
    event: timer('initial-wait', 300),
    expect: { to: 'active', reason: 'no-peer' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'stale promotion-hold', from: 'initial', event: timer('promotion-hold'), expect: { ignored: true } },
  { name: 'stale preempt-hold', from: 'initial', event: timer('preempt-hold'), expect: { ignored: true } },
  {
    name: 'suspend',
    from: 'initial',
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'cancel-timer', 'send-state'],
  },
  { name: 'functional', from: 'initial', event: { type: 'operator-functional', now: T }, expect: { refused: 'not suspended' } },
  { name: 'failover', from: 'initial', event: { type: 'operator-failover', now: T }, expect: { refused: 'not active' } },
  { name: 'take-over', from: 'initial', event: { type: 'peer-take-over', now: T, reason: 'preempt' }, expect: { refused: 'in initial: the election decides' } },
  {
    name: 'fault',
    from: 'initial',
    event: { type: 'fault-add', now: T, reason: 'path: upstream' },
    expect: { to: 'non-functional', reason: 'path: upstream' },
    actions: ['transition', 'send-state'],
  },
  { name: 'unknown fault clears', from: 'initial', event: { type: 'fault-clear', now: T, reason: 'nope' }, expect: { ignored: true } },
  {
    name: 'frozen restarts the wait',
    from: 'initial',
    event: { type: 'frozen', now: T, gapMs: 900 },
    expect: { stay: true },
    actions: ['cancel-timer', 'arm-timer'],
  },
  { name: 'bulk complete (not a receiver yet)', from: 'initial', event: { type: 'bulk-complete', now: T }, expect: { ignored: true } },
  { name: 'bulk incomplete (not a receiver yet)', from: 'initial', event: { type: 'bulk-incomplete', now: T, reason: 'gap' }, expect: { ignored: true } },
  {
    name: 'peer active, HA2 on: join tentative',
    from: 'initial',
    state: () => reach.initial(config({ sync: true })),
    event: heard(better('active')),
    expect: { to: 'tentative', reason: 'peer-active' },
    actions: ['transition', 'cancel-timer', 'send-state'],
  },
  {
    name: 'election lost, HA2 on: join tentative',
    from: 'initial',
    state: () => reach.initial(config({ sync: true })),
    event: heard(better('initial')),
    expect: { to: 'tentative', reason: 'election-lost' },
  },
  {
    name: 'better peer tentative, nobody active: it wins',
    from: 'initial',
    event: heard(better('tentative')),
    expect: { to: 'passive', reason: 'election-lost' },
  },

  // ---- passive (beside a better active peer)
  { name: 'start', from: 'passive', event: { type: 'start', now: T }, expect: { invalid: true } },
  { name: 'peer active', from: 'passive', event: heard(better('active')), expect: { stay: true }, actions: [] },
  { name: 'better peer passive', from: 'passive', event: heard(better('passive')), expect: { stay: true }, actions: [] },
  {
    name: 'worse peer passive, nobody active',
    from: 'passive',
    event: heard(worse('passive')),
    expect: { to: 'active', reason: 'election-won' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'worse peer initial, nobody active', from: 'passive', event: heard(worse('initial')), expect: { to: 'active', reason: 'election-won' } },
  { name: 'better peer initial', from: 'passive', event: heard(better('initial')), expect: { stay: true } },
  { name: 'peer suspended', from: 'passive', event: heard(better('suspended')), expect: { to: 'active', reason: 'peer-not-functional' } },
  { name: 'peer non-functional', from: 'passive', event: heard(better('non-functional')), expect: { to: 'active', reason: 'peer-not-functional' } },
  {
    name: 'peer closed',
    from: 'passive',
    event: { type: 'peer-dead', now: T, cause: 'peer-closed' },
    expect: { to: 'active', reason: 'peer-closed' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'peer goodbye', from: 'passive', event: { type: 'peer-dead', now: T, cause: 'goodbye' }, expect: { to: 'active', reason: 'goodbye' } },
  {
    name: 'heartbeat timeout arms the hold',
    from: 'passive',
    event: { type: 'peer-dead', now: T, cause: 'heartbeat-timeout' },
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  {
    name: 'heartbeat timeout, hold 0',
    from: 'passive',
    state: () => reach.passive(config({ promotionHoldMs: 0 })),
    event: { type: 'peer-dead', now: T, cause: 'heartbeat-timeout' },
    expect: { to: 'active', reason: 'peer-dead' },
  },
  {
    name: 'promotion-hold fires',
    from: 'passive',
    state: () => run(reach.passive(), [{ type: 'peer-dead', now: 900, cause: 'heartbeat-timeout' }]),
    event: timer('promotion-hold', 910),
    expect: { to: 'active', reason: 'peer-dead' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'peer heard during the hold cancels it',
    from: 'passive',
    state: () => run(reach.passive(), [{ type: 'peer-dead', now: 900, cause: 'heartbeat-timeout' }]),
    event: heard(better('active')),
    expect: { stay: true },
    actions: ['cancel-timer'],
  },
  {
    name: 'lone passive after a freeze: initial-wait fires',
    from: 'passive',
    state: () => run(reach.passive(), [{ type: 'frozen', now: 900, gapMs: 700 }]),
    event: timer('initial-wait', 1200),
    expect: { to: 'active', reason: 'no-peer' },
  },
  { name: 'stale preempt-hold', from: 'passive', event: timer('preempt-hold'), expect: { ignored: true } },
  { name: 'stale promotion-hold', from: 'passive', event: timer('promotion-hold'), expect: { ignored: true } },
  {
    name: 'suspend',
    from: 'passive',
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'send-state'],
  },
  { name: 'functional', from: 'passive', event: { type: 'operator-functional', now: T }, expect: { refused: 'not suspended' } },
  { name: 'failover', from: 'passive', event: { type: 'operator-failover', now: T }, expect: { refused: 'not active' } },
  {
    name: 'take-over',
    from: 'passive',
    event: { type: 'peer-take-over', now: T, reason: 'preempt' },
    expect: { to: 'active', reason: 'peer-request' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'fault',
    from: 'passive',
    event: { type: 'fault-add', now: T, reason: 'link: lan down' },
    expect: { to: 'non-functional', reason: 'link: lan down' },
    actions: ['transition', 'send-state'],
  },
  { name: 'unknown fault clears', from: 'passive', event: { type: 'fault-clear', now: T, reason: 'nope' }, expect: { ignored: true } },
  // Just after handing the role over, the peer's heartbeats still say passive until it has acted
  // on the take-over request: electing ourselves on them would take the role straight back.
  {
    name: 'handing over: the worse peer still says passive',
    from: 'passive',
    state: () => run(reach.active(), [{ type: 'operator-failover', now: T }]),
    event: heard(worse('passive')),
    expect: { stay: true },
    actions: [],
  },
  {
    name: 'hand-over timed out: the election runs again',
    from: 'passive',
    state: () => run(reach.active(), [{ type: 'operator-failover', now: T }, heard(worse('passive'))]),
    event: timer('initial-wait', T + 300),
    expect: { to: 'active', reason: 'election-won' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'frozen forgets the peer', from: 'passive', event: { type: 'frozen', now: T, gapMs: 700 }, expect: { stay: true }, actions: ['arm-timer'] },

  { name: 'bulk complete again (a resync after an HA2 gap)', from: 'passive', event: { type: 'bulk-complete', now: T }, expect: { ignored: true } },
  {
    name: 'bulk incomplete: tentative again until the resync completes',
    from: 'passive',
    event: { type: 'bulk-incomplete', now: T, reason: 'gap' },
    expect: { to: 'tentative', reason: 'bulk sync incomplete: gap' },
    actions: ['transition', 'send-state'],
  },

  // ---- tentative (HA2 on, bulk sync pending, beside a better active peer)
  { name: 'start', from: 'tentative', event: { type: 'start', now: T }, expect: { invalid: true } },
  { name: 'peer active', from: 'tentative', event: heard(better('active')), expect: { stay: true }, actions: [] },
  {
    name: 'nobody active, we are better: take the role (as a passive would)',
    from: 'tentative',
    event: heard(worse('passive')),
    expect: { to: 'active', reason: 'election-won' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'peer closed: take over at once (a partial table beats none)',
    from: 'tentative',
    event: { type: 'peer-dead', now: T, cause: 'peer-closed' },
    expect: { to: 'active', reason: 'peer-closed' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'peer silent: promotion hold',
    from: 'tentative',
    event: { type: 'peer-dead', now: T, cause: 'heartbeat-timeout' },
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  {
    name: 'promotion hold runs out: take over',
    from: 'tentative',
    state: () => run(reach.tentative(), [{ type: 'peer-dead', now: T, cause: 'heartbeat-timeout' }]),
    event: timer('promotion-hold', T + 10),
    expect: { to: 'active', reason: 'peer-dead' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'stale initial-wait', from: 'tentative', event: timer('initial-wait'), expect: { ignored: true } },
  {
    name: 'suspend',
    from: 'tentative',
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'send-state'],
  },
  { name: 'functional', from: 'tentative', event: { type: 'operator-functional', now: T }, expect: { refused: 'not suspended' } },
  { name: 'failover', from: 'tentative', event: { type: 'operator-failover', now: T }, expect: { refused: 'not active' } },
  {
    name: 'take-over request: the peer gives the role up, take it',
    from: 'tentative',
    event: { type: 'peer-take-over', now: T, reason: 'operator-failover' },
    expect: { to: 'active', reason: 'peer-request' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'fault',
    from: 'tentative',
    event: { type: 'fault-add', now: T, reason: 'link: lan down' },
    expect: { to: 'non-functional', reason: 'link: lan down' },
    actions: ['transition', 'send-state'],
  },
  { name: 'unknown fault clears', from: 'tentative', event: { type: 'fault-clear', now: T, reason: 'nope' }, expect: { ignored: true } },
  { name: 'frozen forgets the peer', from: 'tentative', event: { type: 'frozen', now: T, gapMs: 700 }, expect: { stay: true }, actions: ['arm-timer'] },
  { name: 'bulk incomplete: still tentative', from: 'tentative', event: { type: 'bulk-incomplete', now: T, reason: 'gap' }, expect: { ignored: true } },
  {
    name: 'bulk complete: passive',
    from: 'tentative',
    event: { type: 'bulk-complete', now: T },
    expect: { to: 'passive', reason: 'bulk sync complete' },
    actions: ['transition', 'send-state'],
  },

  // ---- active (beside a worse passive peer)
  { name: 'start', from: 'active', event: { type: 'start', now: T }, expect: { invalid: true } },
  { name: 'split brain, we are better', from: 'active', event: heard(worse('active')), expect: { stay: true }, actions: ['announce'] },
  {
    name: 'split brain, we are worse',
    from: 'active',
    event: heard(better('active')),
    expect: { to: 'passive', reason: 'split-brain-resolved' },
    actions: ['transition', 'send-state'],
  },
  { name: 'better passive peer with preempt arms the hold', from: 'active', event: heard(better('passive')), expect: { stay: true }, actions: ['arm-timer'] },
  { name: 'better passive peer without preempt', from: 'active', event: heard(better('passive', { preempt: false })), expect: { stay: true }, actions: [] },
  { name: 'better tentative peer: no preemption', from: 'active', event: heard(better('tentative')), expect: { stay: true }, actions: [] },
  {
    name: 'we do not preempt',
    from: 'active',
    state: () => reach.active(config({ preempt: false })),
    event: heard(better('passive')),
    expect: { stay: true },
    actions: [],
  },
  { name: 'peer initial', from: 'active', event: heard(better('initial')), expect: { stay: true }, actions: [] },
  { name: 'peer dead', from: 'active', event: { type: 'peer-dead', now: T, cause: 'heartbeat-timeout' }, expect: { stay: true }, actions: [] },
  {
    name: 'preempt-hold fires',
    from: 'active',
    state: () => run(reach.active(), [heard(better('passive'))]),
    event: timer('preempt-hold', T + 5000),
    expect: { to: 'passive', reason: 'preempted' },
    actions: ['transition', 'arm-timer', 'send-take-over', 'send-state'],
  },
  {
    name: 'preempt hold cancelled when the peer is no longer eligible',
    from: 'active',
    state: () => run(reach.active(), [heard(better('passive'))]),
    event: { type: 'peer-dead', now: T + 100, cause: 'heartbeat-timeout' },
    expect: { stay: true },
    actions: ['cancel-timer'],
  },
  { name: 'stale preempt-hold', from: 'active', event: timer('preempt-hold'), expect: { ignored: true } },
  { name: 'stale initial-wait', from: 'active', event: timer('initial-wait'), expect: { ignored: true } },
  {
    name: 'suspend with a live peer',
    from: 'active',
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'send-take-over', 'send-state'],
  },
  {
    name: 'suspend alone',
    from: 'active',
    state: () => reach.activeAlone(),
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'send-state'],
  },
  { name: 'functional', from: 'active', event: { type: 'operator-functional', now: T }, expect: { refused: 'not suspended' } },
  {
    name: 'failover',
    from: 'active',
    event: { type: 'operator-failover', now: T },
    expect: { to: 'passive', reason: 'operator-failover' },
    actions: ['transition', 'arm-timer', 'send-take-over', 'send-state'],
  },
  {
    name: 'failover alone',
    from: 'active',
    state: () => reach.activeAlone(),
    event: { type: 'operator-failover', now: T },
    expect: { refused: 'no peer to fail over to' },
  },
  {
    name: 'failover to a tentative peer: refused, it lacks our sessions',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('tentative'))]),
    event: { type: 'operator-failover', now: T },
    expect: { refused: 'peer is still receiving its session bulk sync: try again when it is in sync' },
  },
  {
    name: 'suspend beside a tentative peer: refused, it lacks our sessions',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('tentative'))]),
    event: { type: 'operator-suspend', now: T },
    expect: { refused: 'peer is still receiving its session bulk sync: try again when it is in sync' },
  },
  {
    name: "failover with HA2: we step down tentative (our table will be the peer's dump)",
    from: 'active',
    state: () => reach.of('active', config({ sync: true })),
    event: { type: 'operator-failover', now: T },
    expect: { to: 'tentative', reason: 'operator-failover' },
    actions: ['transition', 'arm-timer', 'send-take-over', 'send-state'],
  },
  { name: 'bulk complete (a sender completes nothing)', from: 'active', event: { type: 'bulk-complete', now: T }, expect: { ignored: true } },
  {
    name: 'bulk incomplete (the sender holds the pair table)',
    from: 'active',
    event: { type: 'bulk-incomplete', now: T, reason: 'gap' },
    expect: { ignored: true },
  },
  {
    name: 'failover to a non-functional peer',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('non-functional'))]),
    event: { type: 'operator-failover', now: T },
    expect: { refused: 'peer is non-functional, not passive' },
  },
  { name: 'take-over', from: 'active', event: { type: 'peer-take-over', now: T, reason: 'preempt' }, expect: { refused: 'already active' } },
  {
    name: 'fault with a live peer',
    from: 'active',
    event: { type: 'fault-add', now: T, reason: 'link: wan down' },
    expect: { to: 'non-functional', reason: 'link: wan down' },
    actions: ['transition', 'send-take-over', 'send-state'],
  },
  // Nobody could take over: stay active, degraded (the no-ping-pong and never-nobody rules).
  {
    name: 'fault alone: degraded',
    from: 'active',
    state: () => reach.activeAlone(),
    event: { type: 'fault-add', now: T, reason: 'link: wan down' },
    expect: { stay: true, reason: 'degraded: link: wan down' },
    actions: ['send-state'],
  },
  {
    name: 'fault, peer non-functional: degraded',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('non-functional'))]),
    event: { type: 'fault-add', now: T, reason: 'path-monitor:up' },
    expect: { stay: true, reason: 'degraded: path-monitor:up' },
    actions: ['send-state'],
  },
  {
    name: 'fault, peer tentative: degraded',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('tentative'))]),
    event: { type: 'fault-add', now: T, reason: 'path-monitor:up' },
    expect: { stay: true, reason: 'degraded: path-monitor:up' },
    actions: ['send-state'],
  },
  {
    name: 'fault, peer initial: degraded',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('initial'))]),
    event: { type: 'fault-add', now: T, reason: 'path-monitor:up' },
    expect: { stay: true, reason: 'degraded: path-monitor:up' },
    actions: ['send-state'],
  },
  {
    name: 'fault, peer suspended: degraded',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('suspended'))]),
    event: { type: 'fault-add', now: T, reason: 'path-monitor:up' },
    expect: { stay: true, reason: 'degraded: path-monitor:up' },
    actions: ['send-state'],
  },
  {
    name: 'degraded, the peer becomes able to take over: hand over at once',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('non-functional')), { type: 'fault-add', now: T, reason: 'link-monitor:wan' }]),
    event: heard(worse('passive')),
    expect: { to: 'non-functional', reason: 'link-monitor:wan' },
    actions: ['transition', 'send-take-over', 'send-state'],
  },
  {
    name: 'degraded, the peer stops being tentative: hand over at once',
    from: 'active',
    state: () => run(reach.active(), [heard(worse('tentative')), { type: 'fault-add', now: T, reason: 'link-monitor:wan' }]),
    event: heard(worse('passive')),
    expect: { to: 'non-functional', reason: 'link-monitor:wan' },
    actions: ['transition', 'send-take-over', 'send-state'],
  },
  {
    name: 'degraded, the peer recovers, with a hold: wait for our own fault to clear',
    from: 'active',
    state: () =>
      run(reach.active(config({ degradedHandOverMs: 500 })), [heard(worse('non-functional')), { type: 'fault-add', now: T, reason: 'path-monitor:up' }]),
    event: heard(worse('passive')),
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  {
    name: 'degraded-hold fires, the peer still able: hand over',
    from: 'active',
    state: () =>
      run(reach.active(config({ degradedHandOverMs: 500 })), [
        heard(worse('non-functional')),
        { type: 'fault-add', now: T, reason: 'path-monitor:up' },
        heard(worse('passive')),
      ]),
    event: timer('degraded-hold', T + 500),
    expect: { to: 'non-functional', reason: 'path-monitor:up' },
    actions: ['transition', 'send-take-over', 'send-state'],
  },
  {
    name: 'degraded-hold running, our fault clears: no hand-over',
    from: 'active',
    state: () =>
      run(reach.active(config({ degradedHandOverMs: 500 })), [
        heard(worse('non-functional')),
        { type: 'fault-add', now: T, reason: 'path-monitor:up' },
        heard(worse('passive')),
      ]),
    event: { type: 'fault-clear', now: T + 100, reason: 'path-monitor:up' },
    expect: { stay: true, reason: 'faults-cleared' },
    actions: ['cancel-timer', 'send-state'],
  },
  {
    name: 'degraded, the fault clears: active again',
    from: 'active',
    state: () => run(reach.activeAlone(), [{ type: 'fault-add', now: 500, reason: 'link-monitor:wan' }]),
    event: { type: 'fault-clear', now: T, reason: 'link-monitor:wan' },
    expect: { stay: true, reason: 'faults-cleared' },
    actions: ['send-state'],
  },
  {
    name: 'degraded, one of two faults clears',
    from: 'active',
    state: () =>
      run(reach.activeAlone(), [
        { type: 'fault-add', now: 500, reason: 'a' },
        { type: 'fault-add', now: 600, reason: 'b' },
      ]),
    event: { type: 'fault-clear', now: T, reason: 'a' },
    expect: { stay: true, reason: 'degraded: b' },
    actions: ['send-state'],
  },
  {
    name: 'degraded split brain, we are worse: non-functional',
    from: 'active',
    state: () => run(reach.activeAlone(), [{ type: 'fault-add', now: 500, reason: 'link-monitor:wan' }]),
    event: heard(better('active')),
    expect: { to: 'non-functional', reason: 'split-brain-resolved' },
  },
  {
    name: 'degraded and frozen: non-functional, waiting to hear the peer',
    from: 'active',
    state: () => run(reach.activeAlone(), [{ type: 'fault-add', now: 500, reason: 'link-monitor:wan' }]),
    event: { type: 'frozen', now: T, gapMs: 2000 },
    expect: { to: 'non-functional', reason: 'frozen: 2000 ms' },
    actions: ['transition', 'arm-timer', 'send-state'],
  },
  { name: 'unknown fault clears', from: 'active', event: { type: 'fault-clear', now: T, reason: 'nope' }, expect: { ignored: true } },
  {
    name: 'frozen',
    from: 'active',
    event: { type: 'frozen', now: T, gapMs: 2000 },
    expect: { to: 'initial', reason: 'frozen: 2000 ms' },
    actions: ['transition', 'arm-timer', 'send-state'],
  },

  // ---- suspended (beside a better active peer)
  { name: 'start', from: 'suspended', event: { type: 'start', now: T }, expect: { invalid: true } },
  { name: 'peer heard', from: 'suspended', event: heard(worse('passive')), expect: { stay: true }, actions: [] },
  { name: 'peer dead', from: 'suspended', event: { type: 'peer-dead', now: T, cause: 'peer-closed' }, expect: { stay: true }, actions: [] },
  { name: 'stale timer', from: 'suspended', event: timer('initial-wait'), expect: { ignored: true } },
  { name: 'suspend again', from: 'suspended', event: { type: 'operator-suspend', now: T }, expect: { refused: 'already suspended' } },
  {
    name: 'functional beside an active peer',
    from: 'suspended',
    event: { type: 'operator-functional', now: T },
    expect: { to: 'passive', reason: 'operator-functional' },
    actions: ['transition', 'send-state'],
  },
  {
    name: 'functional alone arms initial-wait',
    from: 'suspended',
    state: () => run(reach.suspended(), [{ type: 'peer-dead', now: 600, cause: 'peer-closed' }]),
    event: { type: 'operator-functional', now: T },
    expect: { to: 'passive', reason: 'operator-functional' },
    actions: ['transition', 'arm-timer', 'send-state'],
  },
  {
    name: 'functional with a fault left',
    from: 'suspended',
    state: () => run(reach.suspended(), [{ type: 'fault-add', now: 600, reason: 'path: upstream' }]),
    event: { type: 'operator-functional', now: T },
    expect: { to: 'non-functional', reason: 'path: upstream' },
  },
  { name: 'failover', from: 'suspended', event: { type: 'operator-failover', now: T }, expect: { refused: 'not active' } },
  { name: 'take-over', from: 'suspended', event: { type: 'peer-take-over', now: T, reason: 'preempt' }, expect: { refused: 'suspended' } },
  {
    name: 'fault recorded, suspended wins',
    from: 'suspended',
    event: { type: 'fault-add', now: T, reason: 'link: lan down' },
    expect: { stay: true },
    actions: [],
  },
  {
    name: 'fault cleared while suspended',
    from: 'suspended',
    state: () => run(reach.suspended(), [{ type: 'fault-add', now: 600, reason: 'link: lan down' }]),
    event: { type: 'fault-clear', now: T, reason: 'link: lan down' },
    expect: { stay: true },
    actions: [],
  },
  { name: 'frozen', from: 'suspended', event: { type: 'frozen', now: T, gapMs: 700 }, expect: { stay: true }, actions: [] },
  { name: 'bulk complete (not a receiver)', from: 'suspended', event: { type: 'bulk-complete', now: T }, expect: { ignored: true } },
  { name: 'bulk incomplete (not a receiver)', from: 'suspended', event: { type: 'bulk-incomplete', now: T, reason: 'gap' }, expect: { ignored: true } },

  // ---- non-functional (fault 'link: lan down', beside a better active peer)
  { name: 'start', from: 'non-functional', event: { type: 'start', now: T }, expect: { invalid: true } },
  { name: 'peer heard', from: 'non-functional', event: heard(worse('passive')), expect: { stay: true }, actions: [] },
  { name: 'peer initial', from: 'non-functional', event: heard(worse('initial')), expect: { stay: true }, actions: [] },
  // Nobody active and the peer cannot be: take the role, degraded (the better of two broken boxes).
  {
    name: 'worse peer non-functional',
    from: 'non-functional',
    event: heard(worse('non-functional')),
    expect: { to: 'active', reason: 'peer-not-functional' },
    actions: ['transition', 'send-state', 'announce'],
  },
  { name: 'better peer non-functional', from: 'non-functional', event: heard(better('non-functional')), expect: { stay: true }, actions: [] },
  { name: 'better peer suspended', from: 'non-functional', event: heard(better('suspended')), expect: { to: 'active', reason: 'peer-not-functional' } },
  {
    name: 'peer closed: take the role degraded',
    from: 'non-functional',
    event: { type: 'peer-dead', now: T, cause: 'peer-closed' },
    expect: { to: 'active', reason: 'peer-closed' },
    actions: ['transition', 'send-state', 'announce'],
  },
  {
    name: 'peer silent: promotion hold',
    from: 'non-functional',
    event: { type: 'peer-dead', now: T, cause: 'heartbeat-timeout' },
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  {
    name: 'promotion-hold fires: take the role degraded',
    from: 'non-functional',
    state: () => run(reach.nonFunctional(), [{ type: 'peer-dead', now: 900, cause: 'heartbeat-timeout' }]),
    event: timer('promotion-hold', 910),
    expect: { to: 'active', reason: 'peer-dead' },
  },
  {
    name: 'faulted in initial, nobody heard: take the role degraded',
    from: 'non-functional',
    state: () => run(reach.initial(), [{ type: 'fault-add', now: 100, reason: 'link-monitor:wan' }]),
    event: timer('initial-wait', 300),
    expect: { to: 'active', reason: 'no-peer' },
  },
  { name: 'stale timer', from: 'non-functional', event: timer('promotion-hold'), expect: { ignored: true } },
  {
    name: 'suspend',
    from: 'non-functional',
    event: { type: 'operator-suspend', now: T },
    expect: { to: 'suspended', reason: 'operator-suspend' },
    actions: ['transition', 'send-state'],
  },
  { name: 'functional', from: 'non-functional', event: { type: 'operator-functional', now: T }, expect: { refused: 'not suspended' } },
  { name: 'failover', from: 'non-functional', event: { type: 'operator-failover', now: T }, expect: { refused: 'not active' } },
  { name: 'take-over', from: 'non-functional', event: { type: 'peer-take-over', now: T, reason: 'preempt' }, expect: { refused: 'non-functional' } },
  { name: 'second fault', from: 'non-functional', event: { type: 'fault-add', now: T, reason: 'path: upstream' }, expect: { stay: true }, actions: [] },
  { name: 'same fault again', from: 'non-functional', event: { type: 'fault-add', now: T, reason: 'link: lan down' }, expect: { stay: true }, actions: [] },
  {
    name: 'last fault clears',
    from: 'non-functional',
    event: { type: 'fault-clear', now: T, reason: 'link: lan down' },
    expect: { to: 'passive', reason: 'faults-cleared' },
    actions: ['transition', 'send-state'],
  },
  {
    name: 'one of two faults clears',
    from: 'non-functional',
    state: () => run(reach.nonFunctional(), [{ type: 'fault-add', now: 600, reason: 'path: upstream' }]),
    event: { type: 'fault-clear', now: T, reason: 'link: lan down' },
    expect: { stay: true, reason: 'path: upstream' },
    actions: [],
  },
  {
    name: 'last fault clears, nobody active: arms initial-wait',
    from: 'non-functional',
    state: () => run(reach.nonFunctional(), [heard(better('passive'))]),
    event: { type: 'fault-clear', now: T, reason: 'link: lan down' },
    expect: { to: 'passive', reason: 'faults-cleared' },
    actions: ['transition', 'arm-timer', 'send-state'],
  },
  {
    name: 'frozen: wait to hear the peer',
    from: 'non-functional',
    event: { type: 'frozen', now: T, gapMs: 700 },
    expect: { stay: true },
    actions: ['arm-timer'],
  },
  { name: 'bulk complete (not a receiver)', from: 'non-functional', event: { type: 'bulk-complete', now: T }, expect: { ignored: true } },
  { name: 'bulk incomplete (not a receiver)', from: 'non-functional', event: { type: 'bulk-incomplete', now: T, reason: 'gap' }, expect: { ignored: true } },
  {
    name: 'last fault cleared, HA2 on: back tentative',
    from: 'non-functional',
    state: () => reach.nonFunctional(config({ sync: true })),
    event: { type: 'fault-clear', now: T, reason: 'link: lan down' },
    expect: { to: 'tentative', reason: 'faults-cleared' },
  },
];

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

describe('election step: state x event table', () => {
  for (const c of CASES) {
    it(`${c.from} + ${c.event.type}: ${c.name}`, () => {
      const before = (c.state ?? (() => reach.of(c.from)))();
      expect(before.state).toBe(c.from);
      const snapshot = structuredClone(before);
      const r = step(deepFreeze(before), c.event);
      expect(before).toEqual(snapshot); // input untouched (and frozen: a write would throw)
      const e = c.expect;
      if ('invalid' in e) {
        expect(r.actions).toEqual([{ type: 'invalid-transition', state: c.from, event: c.event.type }]);
        expect(r.state).toBe(before);
        return;
      }
      if ('refused' in e) {
        expect(r.actions).toEqual([{ type: 'refused', event: c.event.type, reason: e.refused }]);
        expect(r.state).toBe(before);
        return;
      }
      if ('ignored' in e) {
        expect(r.actions).toEqual([]);
        expect(r.state).toBe(before);
        return;
      }
      if ('stay' in e) {
        expect(r.state.state).toBe(c.from);
        expect(r.state.reason).toBe(e.reason ?? before.reason);
        expect(types(r.actions)).not.toContain('transition');
      } else {
        expect(r.state.state).toBe(e.to);
        expect(r.state.reason).toBe(e.reason);
        expect(r.actions[0]).toEqual({ type: 'transition', from: c.from, to: e.to, reason: e.reason });
        expect(r.state.recentTransitionsMs).toContain(c.event.now);
      }
      if (c.actions) expect(types(r.actions)).toEqual(c.actions);
    });
  }

  it('has a row for every state x event type', () => {
    const missing: string[] = [];
    for (const s of HA_STATES) for (const t of EVENT_TYPES) if (!CASES.some((c) => c.from === s && c.event.type === t)) missing.push(`${s} x ${t}`);
    expect(missing).toEqual([]);
    expect(HA_STATES.length * EVENT_TYPES.length).toBe(78);
  });
});

describe('election step: invariants over the table', () => {
  for (const c of CASES) {
    it(`${c.from} + ${c.event.type}: ${c.name}`, () => {
      const before = (c.state ?? (() => reach.of(c.from)))();
      const r = step(before, c.event);
      // `armed` follows the actions exactly (a timer that fired is no longer armed).
      const armed = new Set(before.armed);
      if (c.event.type === 'timer' && r.state !== before) armed.delete(c.event.name);
      for (const a of r.actions) {
        if (a.type === 'arm-timer') {
          expect(armed.has(a.name)).toBe(false);
          armed.add(a.name);
        }
        if (a.type === 'cancel-timer') {
          expect(armed.has(a.name)).toBe(true);
          armed.delete(a.name);
        }
      }
      expect([...armed].sort()).toEqual([...r.state.armed].sort());
      // A state change comes with exactly one transition and a send-state; active announces.
      const changed = r.state.state !== before.state;
      expect(types(r.actions).filter((t) => t === 'transition').length).toBe(changed ? 1 : 0);
      if (changed) expect(types(r.actions)).toContain('send-state');
      if (changed && r.state.state === 'active') expect(types(r.actions)).toContain('announce');
      // Timers only run where they apply.
      const allowed: Record<HaState, TimerName[]> = {
        initial: ['initial-wait'],
        tentative: ['initial-wait', 'promotion-hold'],
        passive: ['initial-wait', 'promotion-hold'],
        active: ['preempt-hold', 'degraded-hold'],
        suspended: [],
        'non-functional': ['initial-wait', 'promotion-hold'],
      };
      for (const n of r.state.armed) expect(allowed[r.state.state]).toContain(n);
      // Suspended wins; non-functional only with faults; faults outside suspended mean
      // non-functional, or active degraded (nobody else could take the role).
      if (r.state.state === 'non-functional') expect(r.state.faults.length).toBeGreaterThan(0);
      if (r.state.faults.length > 0) expect(['suspended', 'non-functional', 'active']).toContain(r.state.state);
      // ... and a degraded active beside a peer able to take over is counting down to hand over
      if (r.state.state === 'active' && r.state.faults.length > 0 && r.state.peer?.state === 'passive') expect(r.state.armed).toContain('degraded-hold');
    });
  }
});
