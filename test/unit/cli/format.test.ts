import { describe, expect, it } from 'vitest';
import { formatDuration, table } from '../../../src/cli/format.js';
import { formatConfigSummary } from '../../../src/cli/format-config.js';
import { formatStatus } from '../../../src/cli/format-status.js';
import { fixedStatus } from '../api/fixtures.js';

const NOW = Date.parse('2025-01-01T12:05:00.000Z');

describe('formatStatus', () => {
  it('renders a fixed status like `show high-availability state`', () => {
    expect(formatStatus({ ...fixedStatus(), dataplane: { error: 'timeout' } }, NOW)).toBe(
      `Group 1 (active-passive)

Local Information:
  Device     : fw-a (id 0)
  State      : active (reason: peer-dead) for 5m 0s
  Priority   : 50
  Preemptive : yes
  Faults     : none
  Uptime     : 1h 2m 5s

Peer Information:
  Device     : fw-b (id 1)
  Connection : up (last heard 4 ms ago)
  State      : passive (reason: peer-active)
  Priority   : 100
  Preemptive : yes

Preemption:
  Enabled   : yes (hold 60000 ms)
  Suspended : no

HA1 Links:
  LINK        LOCAL       PEER        HEARTBEAT  SESSION  LAST HEARD  RTT
  ha1         172.31.0.1  172.31.0.2  up         up       4 ms ago    0.213 ms
  ha1-backup  172.31.1.1  172.31.1.2  down       down     never       -

Timers (profile aggressive):
  Heartbeat interval : 10 ms
  Heartbeats missed  : 5 (dead interval 50 ms)
  Hello interval     : 500 ms
  Promotion hold     : 10 ms
  Preempt hold       : 5000 ms
  Flap max           : 3
  Initial wait       : 300 ms

Recent transitions (newest first):
  2025-01-01T12:00:00.000Z  passive -> active   (peer-dead)
  2025-01-01T11:58:00.000Z  initial -> passive  (peer-active)

Dataplane: unavailable (timeout)
`,
    );
  });

  it('a lone box: peer unknown, faults, suspended preemption, no transitions, no dataplane', () => {
    const s = fixedStatus();
    s.local.state = 'non-functional';
    s.local.reason = 'link-monitor';
    s.local.faults = ['link-monitor:lan', 'path-monitor:upstream'];
    s.peer = { id: 1, up: false, name: null, state: null, reason: null, priority: null, preempt: null, lastHeardMsAgo: null };
    s.preemption = { enabled: true, holdMs: 60000, suspended: 'flap: 4 transitions in 60000 ms' };
    s.transitions = [];
    s.links = [];
    const text = formatStatus(s, NOW);
    expect(text).toContain('  Faults     : link-monitor:lan, path-monitor:upstream\n');
    expect(text).toContain('  Device     : unknown (id 1)\n  Connection : down (never heard)\n  State      : -\n');
    expect(text).toContain('  Suspended : yes: flap: 4 transitions in 60000 ms\n');
    expect(text).toContain('HA1 Links:\n  none\n');
    expect(text).toContain('Recent transitions (newest first):\n  none\n');
    expect(text).not.toContain('Dataplane');
  });

  it('shows the frame I/O backend and each capture handle, open or closed with why and for how long', () => {
    const s = fixedStatus();
    const interfaces = [
      { name: 'lan', device: 'lan0', mtu: 1500, capture: { open: true, error: null, downMs: null, stats: null } },
      { name: 'wan', device: 'wan0', mtu: 1400, capture: { open: false, error: 'ENETDOWN: Network is down on wan0', downMs: 2150, stats: null } },
    ];
    const text = formatStatus({ ...s, dataplane: { io: 'ring', interfaces } }, NOW);
    expect(text).toContain('capture : ring: lan(lan0, MTU 1500) open, wan(wan0, MTU 1400) CLOSED for 2.1 s (ENETDOWN: Network is down on wan0)');
    expect(text).not.toContain('interfaces');
  });

  it("names a VLAN interface's trunk and VLAN", () => {
    const s = fixedStatus();
    const open = { open: true, error: null, downMs: null, stats: null };
    const interfaces = [
      { name: 'guest', device: 'eth1', vlan: 20, mtu: 1500, capture: open },
      { name: 'lan', device: 'eth1', vlan: null, mtu: 1500, capture: open },
    ];
    const text = formatStatus({ ...s, dataplane: { io: 'ring', interfaces } }, NOW);
    expect(text).toContain('capture : ring: guest(eth1 vlan 20, MTU 1500) open, lan(eth1, MTU 1500) open');
  });

  it('shows at most the 10 newest transitions, and dataplane fields', () => {
    const s = fixedStatus();
    s.transitions = Array.from({ length: 15 }, (_, i) => ({
      at: `t${String(i).padStart(2, '0')}`,
      from: 'passive' as const,
      to: 'active' as const,
      reason: `r${i}`,
    }));
    const text = formatStatus({ ...s, dataplane: { sessions: 12, interfaces: ['lan', 'wan'] } }, NOW);
    expect(text).toContain('(r14)');
    expect(text).toContain('(r5)');
    expect(text).not.toContain('(r4)');
    expect(text.indexOf('(r14)')).toBeLessThan(text.indexOf('(r5)'));
    expect(text).toContain('Dataplane:\n  interfaces : ["lan","wan"]\n  sessions   : 12\n');
  });
});

describe('helpers', () => {
  it.each([
    [0.25, '250 ms'],
    [42, '42s'],
    [300, '5m 0s'],
    [3725, '1h 2m 5s'],
    [90061, '1d 1h 1m'],
    [-1, '-'],
  ])('formatDuration(%d) = %s', (s, text) => expect(formatDuration(s)).toBe(text));

  it('table pads all but the last column', () => {
    expect(
      table([
        ['a', 'bb', 'c'],
        ['ccc', 'd', 'eeee'],
      ]),
    ).toBe('a    bb  c\nccc  d   eeee');
  });

  it('formatConfigSummary', () => {
    const c = {
      device: { id: 1, name: 'fw-b', priority: 100, interfaces: { lan: {}, wan: {} } },
      shared: {
        ha: { mode: 'active-passive', groupId: 7, timers: { profile: 'recommended' }, preempt: { enabled: false } },
        floatingIps: [{}],
        policy: { rules: [{}, {}] },
        nat: [],
        routes: [{}],
      },
    } as never;
    expect(formatConfigSummary('b.yaml', c)).toBe(
      'b.yaml: valid (device fw-b, id 1, priority 100, active-passive, group 7, timers recommended, preempt off, 2 interfaces, 1 floating IP, 2 policy rules, 0 NAT rules, 1 route)',
    );
  });
});

describe('formatStatus: session sync', () => {
  it('shows HA2 state, backlog, lag and bulk progress; tentative is the local state', () => {
    const s = fixedStatus();
    s.local.state = 'tentative';
    s.local.reason = 'peer-active';
    s.sync = {
      incomplete: true,
      connected: true,
      role: 'receiver',
      backlog: 0,
      lagMs: { p50: 1.2, p99: 4.5, max: 9 },
      recordsSent: 0,
      recordsReceived: 1234,
      resyncs: 2,
      bulk: { inProgress: true, received: 1000, lastCompleteAt: null },
    };
    const text = formatStatus(s, NOW);
    expect(text).toContain('  State      : tentative (reason: peer-active)');
    expect(text).toContain('Session Sync (HA2):\n  Connection : up\n  Role       : receiver\n  Backlog    : 0 records\n');
    expect(text).not.toContain('Tentative');
    expect(text).toContain('  Bulk sync  : in progress\n');
    expect(text).toContain('  Records    : 0 sent, 1234 received\n');
    expect(formatStatus(fixedStatus(), NOW)).not.toContain('Session Sync');
  });
});

describe('formatStatus: session sync in active/active', () => {
  it('shows each direction: our changes to the peer and its to us', () => {
    const s = fixedStatus();
    s.sync = {
      incomplete: false,
      connected: true,
      role: 'both',
      backlog: 3,
      recordsSent: 10,
      recordsReceived: 20,
      resyncs: 1,
      directions: {
        tx: { records: 10, batches: 2, backlog: 3, dump: 'dumping', dumpReason: 'peer-request', resyncs: 1 },
        rx: { records: 20, batches: 4, pending: 0, bulk: 'complete', bulkReason: 'bulk-end', lastCompleteAt: null, lastSessions: 5, resyncs: 0 },
      },
    };
    const text = formatStatus(s, NOW);
    expect(text).toContain('  To peer    : 10 records, 3 unacked, dump of ours dumping, 1 resyncs\n');
    expect(text).toContain('  From peer  : 20 records, 0 waiting, copy of its table complete, 0 resyncs');
  });
});

describe('formatStatus: the active/active dataplane', () => {
  it('shows the sessions each device owns and the HA3 link, and leaves them out of the raw dataplane lines', () => {
    const activeActive = {
      device: 1,
      sessionsOwned: [12, 30],
      ha3: { device: 'ha3', open: true, hearsPeer: true, peerMac: '0a:00:00:00:03:02', rx: { frames: 5, bytes: 700 }, tx: { frames: 9, bytes: 1200 }, held: 0 },
    };
    const text = formatStatus({ ...fixedStatus(), dataplane: { io: 'ring', activeActive } }, NOW);
    expect(text).toContain('Active/active (this box is device 1):\n');
    expect(text).toContain('  Sessions owned     : device 0: 12, device 1: 30\n');
    expect(text).toContain('  HA3 link           : ha3 open, hears the peer (0a:00:00:00:03:02)\n');
    expect(text).toContain('  HA3 to peer        : 9 frames, 1200 bytes\n');
    expect(text).not.toContain('activeActive');
    const silent = { ...activeActive, ha3: { ...activeActive.ha3, hearsPeer: false } };
    expect(formatStatus({ ...fixedStatus(), dataplane: { activeActive: silent } }, NOW)).toContain('does NOT hear the peer');
    expect(formatStatus(fixedStatus(), NOW)).not.toContain('Active/active');
  });

  it('shows both boxes roles, the addresses held by class, and the setup decisions', () => {
    const s = { ...fixedStatus(), mode: 'active-active' };
    s.local = { ...s.local, state: 'active-primary' };
    s.peer = { ...s.peer, state: 'active-secondary' };
    const activeActive = {
      device: 0,
      primary: 0,
      peerForwarding: true,
      sessionsOwned: [12, 30],
      classes: [
        {
          class: 'device0',
          served: true,
          handingBack: false,
          addresses: [
            { interface: 'lan', address: '10.0.1.1' },
            { interface: 'wan', address: '10.0.2.1' },
          ],
        },
        { class: 'device1', served: false, handingBack: true, addresses: [{ interface: 'lan', address: '10.0.1.4' }] },
        { class: 'primary', served: true, handingBack: false, addresses: [] },
      ],
      decisions: { setupLocal: 40, setupToPeer: 3, toOwner: 1200, missToPeer: 1, sessionAdopted: 7, deferAcked: 38, deferTimeout: 2, deferFull: 0 },
      ha3: { device: 'ha3', open: true, hearsPeer: true, peerMac: '0a:00:00:00:03:02', rx: { frames: 5, bytes: 700 }, tx: { frames: 9, bytes: 1200 }, held: 1 },
    };
    const text = formatStatus({ ...s, dataplane: { activeActive } }, NOW);
    expect(text).toContain('Active/active (this box is device 0):\n');
    expect(text).toContain('  Roles              : fw-a (device 0) active-primary, fw-b (device 1) active-secondary\n');
    expect(text).toContain('  Primary            : device 0 (this box)\n');
    expect(text).toContain('  Peer forwards      : yes\n');
    expect(text).toContain('  Addresses held     : device 0 (lan 10.0.1.1, wan 10.0.2.1); primary (no addresses)\n');
    expect(text).toContain('  Handing back       : device 1 (lan 10.0.1.4)\n');
    expect(text).toContain('  Left to the peer   : none\n');
    expect(text).toContain('  First packets held : 1 now\n');
    expect(text).toContain('  Set up here        : 40 new sessions (setup-local)\n');
    expect(text).toContain('  Sent to the peer   : 3 first packets to set up (setup-to-peer), 1200 to the owner (to-owner), 1 misses (miss-to-peer)\n');
    expect(text).toContain('  Sessions adopted   : 7\n');
    expect(text).toContain('  Defer outcomes     : 38 acked, 2 timed out, 0 not held (queue full)\n');
    // the peer gone: its state unknown, its class adopted here
    const alone = { ...s, peer: { ...s.peer, up: false, state: null }, dataplane: { activeActive: { ...activeActive, peerForwarding: false } } };
    const aloneText = formatStatus(alone, NOW);
    expect(aloneText).toContain('  Roles              : fw-a (device 0) active-primary, fw-b (device 1) not heard\n');
    expect(aloneText).toContain('  Peer forwards      : no (its sessions are adopted here)\n');
  });
});

describe('formatStatus: monitors', () => {
  it('shows each link and path group with its members, and the faults', () => {
    const s = fixedStatus();
    s.monitors = {
      faults: ['path-monitor:upstream'],
      holdUpMs: 500,
      link: {
        failureCondition: 'any',
        groups: [
          {
            name: 'links',
            failureCondition: 'any',
            failed: false,
            faulted: false,
            failedForMs: null,
            interfaces: [{ name: 'wan', device: 'wan0', up: true, why: 'up', adminUp: true, carrier: true, operstate: 'up' }],
          },
        ],
      },
      path: {
        failureCondition: 'any',
        prober: { running: true, restarts: 0 },
        groups: [
          {
            name: 'upstream',
            failureCondition: 'any',
            failed: true,
            faulted: true,
            failedForMs: 1200,
            intervalMs: 200,
            failures: 3,
            targets: [{ address: '10.0.2.10', up: false, consecutiveFailures: 6, lastRttMs: null }],
          },
        ],
      },
    };
    const text = formatStatus(s, Date.parse('2025-01-01T12:05:00.000Z'));
    expect(text).toMatch(/Monitors \(hold-up 500 ms; faults: path-monitor:upstream\):/);
    expect(text).toMatch(/link\s+links\s+any\s+ok\s+wan\(wan0\) up/);
    expect(text).toMatch(/path\s+upstream\s+any, 3 x 200 ms\s+FAILED \(1200 ms\)\s+10\.0\.2\.10 down \(6 lost\)/);
  });
});
