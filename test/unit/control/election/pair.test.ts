// Two election machines wired to each other through a simulated pair of HA1 links, on a virtual
// clock in 1 ms ticks: heartbeats every 10 ms, the peer declared dead after 5 missed, state
// updates and take-over requests delivered as peer-heard / peer-take-over, a process crash seen
// as peer-closed (the kernel resets its TCP sessions), a frozen process that hears and sends
// nothing and then reports the clock jump.
//
// Invariants checked on every tick: never two active boxes that can both forward (running, not
// frozen) unless the HA1 links are cut (or were healed less than a dead interval ago). After
// every scenario step: exactly one such box is active.
import { describe, expect, it } from 'vitest';
import { initialState, selfView, step } from '../../../../src/control/election/step.js';
import type { ElectionConfig, ElectionEvent, ElectionState, TimerName } from '../../../../src/control/election/types.js';

const HEARTBEAT_MS = 10;
const DEAD_MS = 50;
const LINK_DELAY_MS = 1;

interface Node {
  name: string;
  cfg: ElectionConfig;
  s: ElectionState;
  running: boolean;
  frozenUntil: number | null;
  frozenAt: number;
  timers: Map<TimerName, number>;
  lastHeard: number | null;
  peerAlive: boolean;
  log: string[];
}

type Msg = { at: number; to: Node; ev: (now: number) => ElectionEvent };

class Pair {
  now = 0;
  linkUp = true;
  healedAt = -Infinity;
  queue: Msg[] = [];
  a: Node;
  b: Node;

  constructor(a: Partial<ElectionConfig>, b: Partial<ElectionConfig>) {
    const base: ElectionConfig = {
      deviceId: 0,
      priority: 100,
      preempt: true,
      initialWaitMs: 300,
      promotionHoldMs: 10,
      preemptHoldMs: 2000,
      flapMax: 3,
      degradedHandOverMs: 0,
      sync: false,
      activeActive: false,
    };
    this.a = this.node('A', { ...base, deviceId: 0, ...a });
    this.b = this.node('B', { ...base, deviceId: 1, ...b });
  }

  private node(name: string, cfg: ElectionConfig): Node {
    return { name, cfg, s: initialState(cfg), running: false, frozenUntil: null, frozenAt: 0, timers: new Map(), lastHeard: null, peerAlive: false, log: [] };
  }

  other(n: Node): Node {
    return n === this.a ? this.b : this.a;
  }

  live(n: Node): boolean {
    return n.running && n.frozenUntil === null;
  }

  dispatch(n: Node, ev: ElectionEvent): void {
    const r = step(n.s, ev);
    n.s = r.state;
    for (const a of r.actions) {
      switch (a.type) {
        case 'transition':
          n.log.push(`${this.now} ${a.from} -> ${a.to} (${a.reason})`);
          break;
        case 'arm-timer':
          n.timers.set(a.name, this.now + a.ms);
          break;
        case 'cancel-timer':
          n.timers.delete(a.name);
          break;
        case 'send-state':
          this.send(n, () => ({ type: 'peer-heard', now: 0, peer: selfView(n.s) }));
          break;
        case 'send-take-over': {
          const reason = a.reason;
          this.send(n, () => ({ type: 'peer-take-over', now: 0, reason }));
          break;
        }
        case 'announce':
          break;
        case 'refused':
        case 'invalid-transition':
          n.log.push(`${this.now} ${JSON.stringify(a)}`);
          break;
      }
    }
  }

  send(from: Node, ev: (now: number) => ElectionEvent): void {
    if (!this.linkUp) return;
    const view = ev(this.now); // captured at send time
    this.queue.push({ at: this.now + LINK_DELAY_MS, to: this.other(from), ev: () => view });
  }

  boot(n: Node): void {
    n.s = initialState(n.cfg);
    n.running = true;
    n.frozenUntil = null;
    n.timers.clear();
    n.lastHeard = null;
    n.peerAlive = false;
    this.dispatch(n, { type: 'start', now: this.now });
  }

  /** kill -9: the process is gone; its kernel resets the HA1 TCP sessions. */
  crash(n: Node): void {
    n.running = false;
    n.timers.clear();
    // The RST follows whatever the dead process sent before it on the same link (FIFO).
    if (this.linkUp) this.queue.push({ at: this.now + LINK_DELAY_MS, to: this.other(n), ev: (now) => ({ type: 'peer-dead', now, cause: 'peer-closed' }) });
  }

  freeze(n: Node, ms: number): void {
    n.frozenAt = this.now;
    n.frozenUntil = this.now + ms;
  }

  cut(): void {
    this.linkUp = false;
    this.queue = [];
  }

  heal(): void {
    this.linkUp = true;
    this.healedAt = this.now;
  }

  tick(): void {
    this.now++;
    for (const n of [this.a, this.b]) {
      if (n.running && n.frozenUntil !== null && this.now >= n.frozenUntil) {
        // The driver notices the jump before it handles anything else.
        n.frozenUntil = null;
        n.peerAlive = false;
        n.lastHeard = null;
        this.dispatch(n, { type: 'frozen', now: this.now, gapMs: this.now - n.frozenAt });
      }
    }
    const due = this.queue.filter((m) => m.at <= this.now);
    this.queue = this.queue.filter((m) => m.at > this.now);
    for (const m of due) {
      if (!this.live(m.to)) continue;
      const ev = { ...m.ev(this.now), now: this.now };
      if (ev.type === 'peer-heard') this.heard(m.to);
      if (ev.type === 'peer-dead') {
        if (!m.to.peerAlive) continue;
        m.to.peerAlive = false;
      }
      this.dispatch(m.to, ev);
    }
    for (const n of [this.a, this.b]) {
      if (!this.live(n)) continue;
      for (const [name, at] of [...n.timers]) {
        if (at <= this.now && n.timers.get(name) === at) {
          n.timers.delete(name);
          this.dispatch(n, { type: 'timer', now: this.now, name });
        }
      }
      if (this.now % HEARTBEAT_MS === 0) this.send(n, () => ({ type: 'peer-heard', now: 0, peer: selfView(n.s) }));
      if (n.peerAlive && n.lastHeard !== null && this.now - n.lastHeard > DEAD_MS) {
        n.peerAlive = false;
        this.dispatch(n, { type: 'peer-dead', now: this.now, cause: 'heartbeat-timeout' });
      }
    }
    this.checkTick();
  }

  private heard(n: Node): void {
    n.lastHeard = this.now;
    n.peerAlive = true;
  }

  forwarding(): Node[] {
    return [this.a, this.b].filter((n) => this.live(n) && n.s.state === 'active');
  }

  private checkTick(): void {
    const partitioned = !this.linkUp || this.now - this.healedAt <= DEAD_MS;
    if (!partitioned && this.forwarding().length > 1) {
      throw new Error(`t=${this.now}: two active boxes\nA: ${this.a.log.join('\n   ')}\nB: ${this.b.log.join('\n   ')}`);
    }
  }

  run(ms: number): void {
    for (let i = 0; i < ms; i++) this.tick();
  }

  states(): string {
    const st = (n: Node) => (n.running ? (n.frozenUntil !== null ? `${n.s.state}(frozen)` : n.s.state) : 'down');
    return `A=${st(this.a)} B=${st(this.b)}`;
  }

  /** After a scenario step: exactly one box can forward. */
  expectOneActive(): void {
    expect(this.forwarding().length, this.states()).toBe(1);
  }
}

describe('election: a simulated pair', () => {
  it('cold start, crash, rejoin, preemption, split brain, freeze, operator, faults', () => {
    // A is the better box (priority 50), both preempt.
    const p = new Pair({ priority: 50 }, { priority: 100 });
    const step_ = (what: () => void, ms: number, expected: string) => {
      what();
      p.run(ms);
      p.expectOneActive();
      expect(p.states()).toBe(expected);
    };
    // Let the flap window (3 preempt holds = 6000 ms) empty between phases: each phase below costs
    // B two or three transitions, and back-to-back phases would (rightly) suspend preemption.
    const calm = () => step_(() => {}, 6000, p.states());

    // Cold start of both boxes.
    step_(() => (p.boot(p.a), p.boot(p.b)), 1000, 'A=active B=passive');
    expect(p.a.s.reason).toBe('election-won');

    // kill -9 of the active: the passive takes over at once.
    step_(() => p.crash(p.a), 5, 'A=down B=active');
    expect(p.b.s.reason).toBe('peer-closed');

    // A restarts: joins as passive, then preempts after the hold.
    step_(() => p.boot(p.a), 1000, 'A=passive B=active');
    step_(() => {}, 1500, 'A=active B=passive');
    expect(p.b.s.reason).toBe('preempted');

    calm();
    // Silent failure: A hangs (no heartbeat, no FIN): B takes over after dead interval + hold.
    step_(() => p.freeze(p.a, 3000), 100, 'A=active(frozen) B=active');
    expect(p.b.s.reason).toBe('peer-dead');
    // A wakes: it must not forward as active; it drops to initial and joins as passive.
    step_(() => {}, 2850, 'A=active(frozen) B=active');
    step_(() => {}, 100, 'A=passive B=active');
    expect(p.a.log.some((l) => l.includes('active -> initial (frozen: 3000 ms)'))).toBe(true);
    // ... and preempts back after the hold.
    step_(() => {}, 2500, 'A=active B=passive');

    calm();
    // Split brain: both HA1 links cut, B takes over; heal: B (worse) yields at once.
    p.cut();
    p.run(200);
    expect(p.states()).toBe('A=active B=active');
    step_(() => p.heal(), 100, 'A=active B=passive');
    expect(p.b.s.reason).toBe('split-brain-resolved');

    calm();
    // Operator suspends the active A: B takes over; functional: A back to passive, then preempts.
    step_(() => p.dispatch(p.a, { type: 'operator-suspend', now: p.now }), 50, 'A=suspended B=active');
    expect(p.b.s.reason).toBe('peer-request');
    step_(() => p.dispatch(p.a, { type: 'operator-functional', now: p.now }), 50, 'A=passive B=active');
    step_(() => {}, 2500, 'A=active B=passive');

    calm();
    // A fault on the active A: B takes over; A clears and preempts back after the hold.
    step_(() => p.dispatch(p.a, { type: 'fault-add', now: p.now, reason: 'link: lan down' }), 50, 'A=non-functional B=active');
    step_(() => p.dispatch(p.a, { type: 'fault-clear', now: p.now, reason: 'link: lan down' }), 50, 'A=passive B=active');
    step_(() => {}, 2500, 'A=active B=passive');

    calm();
    // Operator failover: B takes over, and with preemption on A takes it back after the hold.
    step_(() => p.dispatch(p.a, { type: 'operator-failover', now: p.now }), 50, 'A=passive B=active');
    step_(() => {}, 2500, 'A=active B=passive');

    calm();
    // The better box flaps (faults right after it takes traffic back): B suspends preemption.
    for (let i = 0; i < 3; i++) {
      p.dispatch(p.a, { type: 'fault-add', now: p.now, reason: 'link: lan down' });
      p.run(50);
      p.dispatch(p.a, { type: 'fault-clear', now: p.now, reason: 'link: lan down' });
      p.run(2500);
      p.expectOneActive();
    }
    expect(p.b.s.preemptSuspended ?? '').toMatch(/^flap-max: \d+ transitions in 6000 ms$/);
    expect(p.states()).toBe('A=passive B=active');
    // Once the window empties, a full hold later A takes over again.
    p.run(9000);
    p.expectOneActive();
    expect(p.states()).toBe('A=active B=passive');
    expect(p.b.s.preemptSuspended).toBeNull();
  });

  it('no preemption: whoever is active stays active', () => {
    const p = new Pair({ priority: 50, preempt: false }, { priority: 100, preempt: false });
    p.boot(p.b);
    p.run(1000);
    p.expectOneActive();
    p.boot(p.a);
    p.run(5000);
    p.expectOneActive();
    expect(p.states()).toBe('A=passive B=active');
  });

  it('both boxes boot at the same instant with equal priority: the lower id wins', () => {
    const p = new Pair({ priority: 100 }, { priority: 100 });
    p.boot(p.a);
    p.boot(p.b);
    p.run(1000);
    p.expectOneActive();
    expect(p.states()).toBe('A=active B=passive');
  });

  it('a box that boots alone and a late peer: one active at every step', () => {
    const p = new Pair({ priority: 100 }, { priority: 50 });
    p.boot(p.a);
    p.run(1000);
    p.expectOneActive();
    p.boot(p.b);
    p.run(100);
    p.expectOneActive();
    expect(p.states()).toBe('A=active B=passive');
    p.run(2500);
    p.expectOneActive();
    expect(p.states()).toBe('A=passive B=active');
  });
});

describe('election: a simulated pair with monitor faults', () => {
  const fault = (p: Pair, n: Node, reason: string) => p.dispatch(n, { type: 'fault-add', now: p.now, reason });
  const clear = (p: Pair, n: Node, reason: string) => p.dispatch(n, { type: 'fault-clear', now: p.now, reason });
  const roleChanges = (n: Node) => n.log.filter((l) => / -> active | active -> /.test(l)).length;

  it('a shared outage seen by the passive first (additional hold-up on the active) moves nothing', () => {
    const p = new Pair({ priority: 50, preempt: false }, { priority: 100, preempt: false });
    p.boot(p.a);
    p.boot(p.b);
    p.run(1000);
    expect(p.states()).toBe('A=active B=passive');
    const before = roleChanges(p.a);
    fault(p, p.b, 'path-monitor:upstream');
    p.run(500);
    fault(p, p.a, 'path-monitor:upstream');
    p.run(2000);
    p.expectOneActive();
    expect(p.states()).toBe('A=active B=non-functional');
    expect(p.a.s.reason).toBe('degraded: path-monitor:upstream');
    clear(p, p.a, 'path-monitor:upstream');
    clear(p, p.b, 'path-monitor:upstream');
    p.run(2000);
    expect(p.states()).toBe('A=active B=passive');
    expect(roleChanges(p.a)).toBe(before);
  });

  it('the end of a shared outage: the passive recovering first does not take the role', () => {
    const p = new Pair({ priority: 50, preempt: false, degradedHandOverMs: 500 }, { priority: 100, preempt: false, degradedHandOverMs: 500 });
    p.boot(p.a);
    p.boot(p.b);
    p.run(1000);
    fault(p, p.b, 'path-monitor:upstream');
    p.run(500);
    fault(p, p.a, 'path-monitor:upstream');
    p.run(1000);
    const before = roleChanges(p.a);
    clear(p, p.b, 'path-monitor:upstream');
    p.run(70);
    clear(p, p.a, 'path-monitor:upstream');
    p.run(2000);
    expect(p.states()).toBe('A=active B=passive');
    expect(roleChanges(p.a)).toBe(before);
    // ... but a peer that stays able while we stay degraded gets the role after the hold
    fault(p, p.a, 'link-monitor:links');
    p.run(5);
    expect(p.states()).toBe('A=non-functional B=active');
  });

  it('a shared outage seen by the active first: one failover, no ping-pong', () => {
    const p = new Pair({ priority: 50, preempt: false }, { priority: 100, preempt: false });
    p.boot(p.a);
    p.boot(p.b);
    p.run(1000);
    fault(p, p.a, 'path-monitor:upstream');
    p.run(5);
    fault(p, p.b, 'path-monitor:upstream');
    p.run(3000);
    p.expectOneActive();
    expect(p.states()).toBe('A=non-functional B=active');
    expect(p.b.log.filter((l) => l.includes('-> active')).length).toBe(1);
  });

  it('both boxes boot faulted: the better one forwards, degraded', () => {
    const p = new Pair({ priority: 50 }, { priority: 100 });
    p.boot(p.a);
    p.boot(p.b);
    fault(p, p.a, 'link-monitor:links');
    fault(p, p.b, 'link-monitor:links');
    p.run(1000);
    p.expectOneActive();
    expect(p.states()).toBe('A=active B=non-functional');
    // B's link comes up: the degraded A hands the role to it at once
    clear(p, p.b, 'link-monitor:links');
    p.run(50);
    p.expectOneActive();
    expect(p.states()).toBe('A=non-functional B=active');
  });

  // A deterministic random walk over faults on both boxes, crashes and restarts: after every
  // settle exactly one running box forwards (never two, never none), whatever the faults.
  for (const preempt of [false, true]) {
    it(`never nobody forwarding, never two (random faults, preempt ${preempt ? 'on' : 'off'})`, () => {
      const p = new Pair({ priority: 50, preempt }, { priority: 100, preempt });
      let seed = preempt ? 7 : 3;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      p.boot(p.a);
      p.boot(p.b);
      p.run(1000);
      const reasons = ['link-monitor:links', 'path-monitor:upstream'];
      for (let i = 0; i < 300; i++) {
        const n = rnd(2) === 0 ? p.a : p.b;
        const r = reasons[rnd(2)];
        const op = rnd(10);
        if (op < 4) fault(p, n, r);
        else if (op < 8) clear(p, n, r);
        else if (op === 8 && p.forwarding().length === 1 && p.a.running && p.b.running) p.crash(n);
        else if (!n.running) p.boot(n);
        p.run(rnd(3) === 0 ? 5 : 400);
        if (p.a.running || p.b.running) p.expectOneActive();
      }
    });
  }
});
