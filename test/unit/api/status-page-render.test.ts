// The status page's HTML from status JSON: every fact `tandem status` shows, escaped, and nothing
// the page's Content-Security-Policy would block (no inline style or script, no handlers).
import { describe, expect, it } from 'vitest';
import { esc, duration, pageTitle, renderBanner, renderPage, TRANSITIONS_SHOWN } from '../../../src/api/status-page/render.js';
import { initialState, type PageState } from '../../../src/api/status-page/poll.js';
import type { CountersResponse, StatusResponse } from '../../../src/api/protocol.js';
import { fixedStatus } from './fixtures.js';
import type { ActiveActiveStatus } from '../../../src/wire/pair-status.js';

const NOW = Date.parse('2025-01-01T12:05:00.000Z');

function live(status: StatusResponse, extra: Partial<PageState> = {}): PageState {
  return { ...initialState(), status, connection: { kind: 'live' }, lastUpdatedMs: NOW - 300, ...extra };
}

/** The text of the first element carrying data-field=`field` (the tests' hook, as the browser test's). */
function field(html: string, name: string): string | null {
  const m = new RegExp(`data-field="${name}"[^>]*>([\\s\\S]*?)</(?:span|dd|div)>`).exec(html);
  return m ? m[1].replace(/<[^>]+>/g, '').trim() : null;
}

const TAGS = new Set(['div', 'span', 'section', 'h2', 'dl', 'dt', 'dd', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'p', 'time', 'br']);
const ATTRIBUTES = new Set(['class', 'id', 'role', 'datetime', 'data-field', 'data-link', 'data-drop']);

/**
 * Every "<" of the output opens a tag from a fixed list, with attributes from a fixed list (so no
 * script, no handler, no inline style the CSP would refuse), values double-quoted without a quote
 * inside: whatever the data held stayed text.
 */
function assertSafe(html: string): void {
  const tag = /<(\/?)([a-z0-9]+)((?:\s[a-z-]+="[^"<>]*")*)\s*>/g;
  let tags = 0;
  for (const m of html.matchAll(tag)) {
    tags++;
    expect(TAGS, m[0]).toContain(m[2]);
    for (const a of m[3].matchAll(/\s([a-z-]+)="/g)) expect(ATTRIBUTES, m[0]).toContain(a[1]);
  }
  expect(html.split('<').length - 1).toBe(tags);
}

function counters(over: Partial<CountersResponse> = {}): CountersResponse {
  return {
    sampledAtMs: 10_000,
    packets: { rx: 1000, tx: 900, forwarded: 800 },
    drops: { 'policy-deny': 7, 'bad-ip-checksum': 0, passive: 2 },
    sessions: { active: { tcp: 3, udp: 1, icmp: 0 }, created: { tcp: 10, udp: 4, icmp: 2 }, tableFull: 0 },
    ...over,
  };
}

/** What an active/active box (device 0, primary) reports under dataplane.activeActive. */
function pairStatus(): ActiveActiveStatus {
  return {
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
      { class: 'device1', served: false, handingBack: false, addresses: [{ interface: 'lan', address: '10.0.1.4' }] },
      { class: 'primary', served: true, handingBack: false, addresses: [] },
    ],
    decisions: { setupLocal: 40, setupToPeer: 3, toOwner: 1200, missToPeer: 1, sessionAdopted: 0, deferAcked: 38, deferTimeout: 2, deferFull: 0 },
    ha3: {
      device: 'ha3',
      open: true,
      mac: '0a:00:00:00:03:01',
      hearsPeer: true,
      peerMac: '0a:00:00:00:03:02',
      lastHeardAgoMs: 20,
      rx: { frames: 5, bytes: 700 },
      tx: { frames: 9, bytes: 1200 },
      held: 0,
    },
  };
}

describe('status page rendering', () => {
  it('esc escapes the five HTML specials', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(esc(42)).toBe('42');
  });

  it('shows local and peer state with reasons, priorities, links, timers and transitions', () => {
    const html = renderPage(live(fixedStatus()), NOW);
    assertSafe(html);
    expect(field(html, 'local-state')).toBe('active');
    expect(field(html, 'local-reason')).toBe('(reason: peer-dead)');
    expect(field(html, 'local-name')).toBe('fw-a (id 0)');
    expect(field(html, 'local-priority')).toBe('50');
    expect(field(html, 'peer-state')).toBe('passive');
    expect(field(html, 'peer-up')).toBe('up');
    expect(field(html, 'connection')).toBe('live last updated 300 ms ago');
    expect(html).toContain('for 5m 0s'); // in the state since 12:00
    expect(html).toContain('(reason: peer-active)');
    expect(html).toContain('enabled, hold 60000 ms');
    expect(html).toContain('10 ms x 5 missed (dead interval 50 ms)');
    expect(html).toMatch(
      /data-link="ha1">ha1<\/span><\/td><td>172\.31\.0\.1<\/td><td>172\.31\.0\.2<\/td><td><span class="badge ok">up<\/span><\/td><td><span class="badge ok">up<\/span>/,
    );
    expect(html).toMatch(
      /data-link="ha1-backup">ha1-backup<\/span><\/td><td>172\.31\.1\.1<\/td><td>172\.31\.1\.2<\/td><td><span class="badge bad">down<\/span><\/td><td><span class="badge bad">down<\/span><\/td><td>never<\/td>/,
    );
    // newest transition first, with its reason
    const rows = [...html.matchAll(/<tr><td><time datetime="([^"]+)"/g)].map((m) => m[1]);
    expect(rows).toEqual(['2025-01-01T12:00:00.000Z', '2025-01-01T11:58:00.000Z']);
    expect(html).toContain('5m 0s ago');
  });

  it('escapes every operator- or peer-controlled string', () => {
    const s = fixedStatus();
    const evil = `<img src=x onerror="alert(1)">'&`;
    s.local.name = evil;
    s.local.reason = evil;
    s.local.faults = [evil];
    s.peer.name = evil;
    s.peer.reason = evil;
    s.links[0].name = `"><script>alert(1)</script>`;
    s.transitions.push({ at: evil, from: 'active', to: 'passive', reason: evil });
    s.preemption.suspended = evil;
    s.monitors = {
      faults: [evil],
      holdUpMs: 0,
      link: {
        failureCondition: 'any',
        groups: [
          {
            name: evil,
            failureCondition: 'any',
            failed: true,
            faulted: true,
            failedForMs: 5,
            interfaces: [{ name: evil, device: evil, up: false, why: evil, adminUp: true, carrier: false, operstate: evil }],
          },
        ],
      },
      path: null,
    };
    const html = renderPage(live(s, { counters: counters({ drops: { [evil]: 3 } }) }), NOW);
    assertSafe(html);
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;');
    expect(html).toContain('data-link="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(pageTitle(live(s))).toContain(evil); // document.title is text, not HTML
  });

  it('a state name never becomes a class name it does not look like', () => {
    const s = fixedStatus();
    (s.local as { state: string }).state = 'active" onclick="x';
    const html = renderPage(live(s), NOW);
    assertSafe(html);
    expect(html).toContain('<span data-field="local-state" class="state state-unknown">active&quot; onclick=&quot;x</span>');
  });

  it('a peer never heard: unknown name, down, no state', () => {
    const s = fixedStatus();
    s.peer = { id: 1, up: false, name: null, state: null, reason: null, priority: null, preempt: null, lastHeardMsAgo: null };
    const html = renderPage(live(s), NOW);
    expect(field(html, 'peer-name')).toBe('unknown (id 1)');
    expect(field(html, 'peer-up')).toBe('down');
    expect(field(html, 'peer-state')).toBe('-');
    expect(html).toContain('never heard');
  });

  it('links down, a heartbeat-only link, and no links at all', () => {
    const s = fixedStatus();
    s.links = [
      {
        name: 'heartbeat-backup',
        local: '172.31.9.1',
        peer: '172.31.9.2',
        heartbeatUp: false,
        sessionUp: false,
        heartbeatOnly: true,
        lastHeardMsAgo: 1500,
        rttMs: null,
      },
    ];
    const html = renderPage(live(s), NOW);
    expect(html).toContain('<span class="badge bad">down</span></td><td><span class="muted">heartbeats only</span></td><td>1500 ms ago</td><td>-</td>');
    s.links = [];
    expect(renderPage(live(s), NOW)).toMatch(/<h2>HA links<\/h2><p>none<\/p>/);
  });

  it('config and session sync: version, hash, in sync or not, lag, records; tentative is the state', () => {
    const s = fixedStatus();
    s.config = {
      version: 7,
      hash: 'abcdef0123456789',
      origin: 'commit',
      committedAt: '2025-01-01T11:00:00.000Z',
      committedBy: 'fw-a',
      restartRequired: [],
      peer: { up: true, version: 6, hash: '99999999999999', inSync: false, lastError: 'refused: <busy>' },
      keptAside: [],
    };
    s.local.state = 'tentative';
    s.sync = {
      incomplete: false,
      connected: true,
      role: 'receiver',
      backlog: 3,
      lagMs: { p50: 1.5, p99: 4, max: 9 },
      recordsSent: 0,
      recordsReceived: 120,
      resyncs: 1,
    };
    const html = renderPage(live(s), NOW);
    expect(field(html, 'config-version')).toBe('v7 hash abcdef012345');
    expect(field(html, 'config-sync')).toBe('NOT in sync');
    expect(html).toContain('peer runs v6 (hash 999999999999): refused: &lt;busy&gt;');
    expect(field(html, 'sync-connected')).toBe('up');
    expect(html).toContain('<span data-field="local-state" class="state state-tentative">tentative</span>');
    expect(html).not.toContain('Tentative');
    expect(html).toContain('p50 1.5 ms, p99 4 ms, max 9 ms');
    expect(html).toContain('0 sent, 120 received');
    s.config.peer = { up: true, version: 7, hash: s.config.hash, inSync: true, lastError: null };
    s.sync = null;
    const again = renderPage(live(s), NOW);
    expect(field(again, 'config-sync')).toBe('in sync');
    expect(again).toMatch(/Session sync \(HA2\)<\/h2><p class="muted">off<\/p>/);
  });

  it('only the last transitions are shown, newest first', () => {
    const s = fixedStatus();
    s.transitions = Array.from({ length: TRANSITIONS_SHOWN + 5 }, (_, i) => ({
      at: new Date(NOW - (100 - i) * 1000).toISOString(),
      from: i % 2 ? 'active' : 'passive',
      to: i % 2 ? 'passive' : 'active',
      reason: `r${i}`,
    }));
    const html = renderPage(live(s), NOW);
    const reasons = [...html.matchAll(/<td>(r\d+)<\/td>/g)].map((m) => m[1]);
    expect(reasons).toHaveLength(TRANSITIONS_SHOWN);
    expect(reasons[0]).toBe(`r${TRANSITIONS_SHOWN + 4}`);
    expect(reasons.at(-1)).toBe('r5');
  });

  it('live counters: rates, sessions by protocol, non-zero drops by reason', () => {
    const rates = { intervalS: 2, packets: { rx: 50, tx: 40, forwarded: 12.34 }, drops: { 'policy-deny': 1.5, 'bad-ip-checksum': 0, passive: 0 } };
    const html = renderPage(live(fixedStatus(), { counters: counters(), rates }), NOW);
    expect(field(html, 'rate-forwarded')).toBe('12.3/s');
    expect(field(html, 'total-forwarded')).toBe('800');
    expect(field(html, 'sessions-active')).toBe('4');
    expect(html).toContain('active (tcp 3, udp 1), 16 created');
    expect(html).toContain('<span data-drop="policy-deny">policy-deny</span></td><td>1.5/s</td><td>7</td>');
    expect(html).toContain('<span data-drop="passive">passive</span></td><td>0/s</td><td>2</td>');
    expect(html).not.toContain('data-drop="bad-ip-checksum"');
    // before a second sample there is no rate, only totals
    const first = renderPage(live(fixedStatus(), { counters: counters() }), NOW);
    expect(field(first, 'rate-forwarded')).toBe('-');
    expect(renderPage(live(fixedStatus()), NOW)).toContain('no sample yet');
  });

  it('the dataplane part: role and floating IPs, or why it did not answer', () => {
    const s = fixedStatus() as StatusResponse;
    s.dataplane = { role: 'active', mayActAsActive: true, floatingIps: [{ interface: 'lan', address: '10.0.1.1', announced: true }] };
    let html = renderPage(live(s), NOW);
    expect(field(html, 'dataplane-role')).toBe('active');
    expect(html).toContain('10.0.1.1 on lan <span class="badge ok">owned</span>');
    s.dataplane = { error: 'timeout' };
    html = renderPage(live(s), NOW);
    expect(html).toContain('<span class="badge bad">unavailable</span> timeout');
  });

  it('active/active: both roles, who holds each class, sessions per owner, HA3 with rates, setup decisions', () => {
    const s = fixedStatus() as StatusResponse;
    s.mode = 'active-active';
    s.local.state = 'active-primary';
    s.peer.state = 'active-secondary';
    s.dataplane = { role: 'active', mayActAsActive: true, floatingIps: [], activeActive: pairStatus() };
    const rates = { intervalS: 1, packets: { 'ha3-tx': 1500, 'ha3-rx': 900.4, 'to-owner': 1400, 'setup-local': 2.5 }, drops: {} };
    const html = renderPage(live(s, { counters: counters(), rates, ha3Bytes: { txPerS: 180_000, rxPerS: 95_000 } }), NOW);
    assertSafe(html);
    expect(html).toContain('<section id="active-active"><h2>Active/active</h2>');
    expect(field(html, 'aa-local-role')).toBe('active-primary');
    expect(field(html, 'aa-peer-role')).toBe('active-secondary');
    expect(html).toContain('<span data-field="aa-local-role" class="state state-active-primary">');
    expect(field(html, 'aa-peer-forwarding')).toBe('peer forwards');
    expect(field(html, 'aa-held-device0')).toBe('fw-a (this box)');
    expect(field(html, 'aa-held-device1')).toBe('fw-b');
    expect(field(html, 'aa-held-primary')).toBe('fw-a (this box)');
    expect(html).toContain('10.0.1.1 on lan<br>10.0.2.1 on wan');
    expect(html).toContain('<span class="muted">no addresses</span>');
    expect(field(html, 'aa-owned-0')).toBe('12');
    expect(field(html, 'aa-owned-1')).toBe('30');
    expect(field(html, 'aa-ha3-tx')).toBe('1500/s frames, 180000/s bytes');
    expect(field(html, 'aa-ha3-rx')).toBe('900/s frames, 95000/s bytes');
    expect(field(html, 'aa-ha3-peer')).toBe('hears the peer');
    expect(html).toContain('<span data-field="aa-to-owner">to-owner</span></td><td>packets sent to the owner over HA3</td><td>1400/s</td><td>1200</td>');
    expect(html).toContain('<span data-field="aa-setup-local">setup-local</span></td><td>new sessions set up here</td><td>2.5/s</td><td>40</td>');
    expect(html).toContain(
      '<span data-field="aa-defer-timeout">defer-timeout</span></td><td>first packets held, sent without the ack</td><td>-</td><td>2</td>',
    );
  });

  it('active/active: the peer gone leaves its class to nobody until taken; a class handed back says so', () => {
    const s = fixedStatus() as StatusResponse;
    const aa = pairStatus();
    aa.peerForwarding = false;
    aa.classes[1] = { ...aa.classes[1], served: false, handingBack: false };
    s.dataplane = { activeActive: aa };
    let html = renderPage(live(s), NOW);
    expect(field(html, 'aa-held-device1')).toBe('nobody');
    expect(field(html, 'aa-peer-forwarding')).toBe('peer does not forward: its sessions are adopted here');
    expect(field(html, 'aa-ha3-tx')).toBe('- frames, - bytes'); // no second sample yet
    aa.peerForwarding = true;
    aa.classes[2] = { ...aa.classes[2], served: false, handingBack: true };
    html = renderPage(live(s), NOW);
    expect(field(html, 'aa-held-primary')).toBe('handing back to fw-b');
  });

  it('active/passive has no active/active section; an older daemon without classes or decisions still shows the rest', () => {
    expect(renderPage(live(fixedStatus()), NOW)).not.toContain('active-active');
    const s = fixedStatus() as StatusResponse;
    const { device, sessionsOwned, ha3 } = pairStatus();
    s.dataplane = { activeActive: { device, sessionsOwned, ha3 } };
    const html = renderPage(live(s), NOW);
    assertSafe(html);
    expect(field(html, 'aa-owned-1')).toBe('30');
    expect(html).not.toContain('Setup decision');
    expect(html).not.toContain('Held by');
  });

  it('the banner: connecting, live, wrong token, unreachable, HTTP error; stale data greyed', () => {
    expect(field(renderBanner(initialState(), NOW), 'connection')).toBe('connecting...');
    expect(renderPage({ ...initialState(), connection: { kind: 'unauthorized', message: '401: wrong token' } }, NOW)).toBe(
      '<div class="banner bad" data-field="connection" role="alert">401: wrong token</div>',
    );
    const gone = live(fixedStatus(), { connection: { kind: 'unreachable', sinceMs: NOW - 4000, error: 'Failed to fetch' }, lastUpdatedMs: NOW - 4500 });
    const html = renderPage(gone, NOW);
    expect(field(html, 'connection')).toBe('API unreachable for 4s (Failed to fetch); the data below is from 4s ago');
    expect(html).toContain('<div class="sections stale">');
    expect(field(html, 'local-state')).toBe('active');
    expect(pageTitle(gone)).toBe('fw-a: active (unreachable) - tandem');
    const failing = live(fixedStatus(), { connection: { kind: 'error', sinceMs: NOW, httpStatus: 503, message: '503: shutting <down>' } });
    expect(field(renderPage(failing, NOW), 'connection')).toBe('503: shutting &lt;down&gt;; the data below is from 300 ms ago');
    expect(pageTitle(live(fixedStatus()))).toBe('fw-a: active - tandem');
    expect(pageTitle(initialState())).toBe('tandem');
  });

  it('durations as the CLI prints them', () => {
    expect(duration(0.25)).toBe('250 ms');
    expect(duration(42)).toBe('42s');
    expect(duration(3725)).toBe('1h 2m 5s');
    expect(duration(90061)).toBe('1d 1h 1m');
    expect(duration(-1)).toBe('-');
  });
});
