import type { HaStatus, HaController } from '../../../src/control/status.js';
import { CommandRefused } from '../../../src/control/status.js';
import type { SessionList } from '../../../src/api/sessions.js';

export function fixedStatus(): HaStatus {
  return {
    local: {
      id: 0,
      name: 'fw-a',
      state: 'active',
      reason: 'peer-dead',
      since: '2025-01-01T12:00:00.000Z',
      priority: 50,
      preempt: true,
      faults: [],
      uptimeS: 3725,
      health: [],
    },
    peer: {
      id: 1,
      up: true,
      name: 'fw-b',
      state: 'passive',
      reason: 'peer-active',
      priority: 100,
      preempt: true,
      lastHeardMsAgo: 4,
    },
    mode: 'active-passive',
    groupId: 1,
    timers: {
      profile: 'aggressive',
      heartbeatIntervalMs: 10,
      heartbeatMissed: 5,
      helloIntervalMs: 500,
      promotionHoldMs: 10,
      preemptHoldMs: 5000,
      flapMax: 3,
      initialWaitMs: 300,
      monitorFailHoldUpMs: 0,
      additionalActiveHoldUpMs: 500,
    },
    preemption: { enabled: true, holdMs: 60000, suspended: null },
    links: [
      { name: 'ha1', local: '172.31.0.1', peer: '172.31.0.2', heartbeatUp: true, sessionUp: true, lastHeardMsAgo: 4, rttMs: 0.213 },
      { name: 'ha1-backup', local: '172.31.1.1', peer: '172.31.1.2', heartbeatUp: false, sessionUp: false, lastHeardMsAgo: null, rttMs: null },
    ],
    transitions: [
      { at: '2025-01-01T11:58:00.000Z', from: 'initial', to: 'passive', reason: 'peer-active' },
      { at: '2025-01-01T12:00:00.000Z', from: 'passive', to: 'active', reason: 'peer-dead' },
    ],
  };
}

/** A controller whose commands can be scripted: 'ok', 'refuse' or 'throw'. */
export class FakeController implements HaController {
  calls: string[] = [];
  next: 'ok' | 'refuse' | 'throw' = 'ok';
  statusThrows = false;

  status(): HaStatus {
    if (this.statusThrows) throw new Error('status exploded');
    return fixedStatus();
  }
  private run(name: string): Promise<string> {
    this.calls.push(name);
    if (this.next === 'refuse') return Promise.reject(new CommandRefused(`${name} refused: not active`));
    if (this.next === 'throw') return Promise.reject(new Error('boom'));
    return Promise.resolve(`${name} done`);
  }
  suspend(): Promise<string> {
    return this.run('suspend');
  }
  functional(): Promise<string> {
    return this.run('functional');
  }
  failover(): Promise<string> {
    return this.run('failover');
  }
}

/** A fixed listing: one source-NATed TCP session, one plain UDP, one loose destination-NATed TCP. */
export function fixedSessions(): SessionList {
  return {
    total: 5,
    matched: 4,
    truncated: true,
    sessions: [
      {
        id: 7,
        protocol: 'tcp',
        state: 'established',
        original: { src: '10.0.1.10', srcPort: 51234, dst: '93.184.216.34', dstPort: 443 },
        reply: { src: '93.184.216.34', srcPort: 443, dst: '10.0.2.1', dstPort: 40001 },
        nat: 'source',
        rule: 'web-out',
        natRule: 'hide-lan',
        ingress: 'lan',
        egress: 'wan',
        packets: [12, 10],
        bytes: [1480, 234567],
        ageS: 65,
        expiresInS: 3595,
        loose: false,
      },
      {
        id: 8,
        protocol: 'udp',
        state: 'new',
        original: { src: '10.0.1.10', srcPort: 5353, dst: '10.0.2.10', dstPort: 53 },
        reply: { src: '10.0.2.10', srcPort: 53, dst: '10.0.1.10', dstPort: 5353 },
        nat: 'none',
        rule: '(default)',
        natRule: null,
        ingress: 'lan',
        egress: 'wan',
        packets: [1, 1],
        bytes: [60, 120],
        ageS: 0.25,
        expiresInS: 29.75,
        loose: false,
      },
      {
        id: 9,
        protocol: 'tcp',
        state: 'established',
        original: { src: '198.51.100.7', srcPort: 40000, dst: '10.0.2.1', dstPort: 8080 },
        reply: { src: '10.0.1.20', srcPort: 80, dst: '198.51.100.7', dstPort: 40000 },
        nat: 'destination',
        rule: 'web-in',
        natRule: 'publish-web',
        ingress: 'wan',
        egress: 'lan',
        packets: [1_234_567, 2_000_000],
        bytes: [98_765_432, 3_000_000_000],
        ageS: 90061,
        expiresInS: 0,
        loose: true,
      },
    ],
  };
}
