// The fleet page's pure parts, fed with answers recorded from central watching a real two-pair lab
// (fleet-settled.json; fleet-after-kill.json and events-after-kill.json 4 s after a kill -9 of
// dc1-edge's active): the table, its colours, the label filter, the timeline, hostile names.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EventsResponse, FleetResponse, MemberView, PairView } from '../../../src/central/protocol.js';
import { fleetTable, memberTone } from '../../../src/central/page/render-fleet.js';
import { timelineSection } from '../../../src/central/page/render-timeline.js';
import { fleetTitle, renderFleetPage } from '../../../src/central/page/render.js';
import { initialFleetState, type FleetPageState } from '../../../src/central/page/fleet-poll.js';
import { formatView, labelsPresent, pairShown, parseView, toggleLabel, type FleetView } from '../../../src/central/page/view.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const recorded = <T>(name: string): T => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as T;
const SETTLED = recorded<FleetResponse>('fleet-settled');
const AFTER_KILL = recorded<FleetResponse>('fleet-after-kill');
const EVENTS = recorded<EventsResponse>('events-after-kill');
/** The recordings' own time: now is when they were taken. */
const NOW = Date.parse(AFTER_KILL.at);
const ALL: FleetView = { labels: [], pair: null };

function live(fleet: FleetResponse, timeline: FleetPageState['timeline'] = null): FleetPageState {
  return { fleet, timeline, connection: { kind: 'live' }, lastUpdatedMs: NOW };
}

/** The member rows as [pair, member, tone, state text]. */
function members(html: string): string[][] {
  return [
    ...html.matchAll(/<tr class="member" data-pair="([^"]*)" data-member="([^"]*)" data-tone="([^"]*)"><td>.*?<\/td><td>.*?data-field="state">([^<]*)</g),
  ].map((m) => m.slice(1, 5));
}

describe('the fleet table', () => {
  it('a settled fleet: both pairs ok, each with its active (green) and passive (yellow) member', () => {
    const html = fleetTable(SETTLED.pairs, ALL, Date.parse(SETTLED.at));
    expect(members(html)).toEqual([
      ['dc1-edge', 'fw-a', 'active', 'active'],
      ['dc1-edge', 'fw-b', 'passive', 'passive'],
      ['dc2-edge', 'fw-a', 'active', 'active'],
      ['dc2-edge', 'fw-b', 'passive', 'passive'],
    ]);
    expect([...html.matchAll(/data-pair="([^"]+)" data-health="([^"]+)"/g)].map((m) => [m[1], m[2]])).toEqual([
      ['dc1-edge', 'ok'],
      ['dc2-edge', 'ok'],
    ]);
    expect(html).toContain('<span class="badge ok" data-field="roles">agree</span>');
    expect(html).toContain('<span class="badge ok" data-field="config-agree">agree</span>');
    expect(html).toContain('<span class="badge ok" data-field="versions">match</span>');
    expect(html).toContain('lag p99 15 ms, backlog 0');
    // the pair's newest transition with its reason, and the pair's labels
    expect(html).toMatch(/fw-b: .*tentative.*passive.*\(bulk sync complete\)/);
    expect(html).toContain('<span class="label">site=dc1</span>');
  });

  it('after a kill -9 of the active: the pair degraded, the killed member grey with how long and the code, the other active', () => {
    const html = fleetTable(AFTER_KILL.pairs, ALL, NOW);
    expect(members(html).slice(0, 2)).toEqual([
      ['dc1-edge', 'fw-a', 'unreachable', 'unreachable'],
      ['dc1-edge', 'fw-b', 'active', 'active'],
    ]);
    expect(html).toMatch(/data-field="unreachable">for \d+s \(unreachable\)</);
    expect(html).toContain('data-pair="dc1-edge" data-health="degraded"');
    expect(html).toContain('fw-a unreachable (unreachable)');
    expect(html).toMatch(/fw-b: .*passive.*active.*\(peer-closed\)/);
    expect(html).toContain('<span class="badge off" data-field="roles">unknown</span>');
  });

  it('colours every state as the issue says', () => {
    const tone = (state: string | null, reachable: boolean | null = true) => memberTone({ state, reachable });
    expect(['active', 'active-primary', 'active-secondary'].map((s) => tone(s))).toEqual(['active', 'active', 'active']);
    expect(tone('passive')).toBe('passive');
    expect(['suspended', 'non-functional', 'tentative'].map((s) => tone(s))).toEqual(['failed', 'failed', 'failed']);
    expect(tone('active', false)).toBe('unreachable');
    expect([tone('active', null), tone('initial'), tone(null), tone('__proto__')]).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
  });
});

describe('the label filter', () => {
  it('lives in the hash, round trips, and ignores what is not a label', () => {
    const v = parseView('#label=site%3Ddc1&pair=dc1-edge&label=bogus&label=site%3Ddc1');
    expect(v).toEqual({ labels: ['site=dc1'], pair: 'dc1-edge' });
    expect(parseView(formatView(v))).toEqual(v);
    expect(formatView(ALL)).toBe('#');
    expect(parseView('')).toEqual(ALL);
    expect(toggleLabel(toggleLabel(v, 'role=edge'), 'site=dc1')).toEqual({ labels: ['role=edge'], pair: 'dc1-edge' });
  });

  it('shows the pairs that carry every label of the filter, and lists the labels present', () => {
    const only = (labels: string[]) => SETTLED.pairs.filter((p) => pairShown(p, { labels, pair: null })).map((p) => p.name);
    expect(only([])).toEqual(['dc1-edge', 'dc2-edge']);
    expect(only(['site=dc1'])).toEqual(['dc1-edge']);
    expect(only(['site=dc1', 'role=edge'])).toEqual(['dc1-edge']);
    expect(only(['site=dc3'])).toEqual([]);
    expect(only(['constructor=x'])).toEqual([]);
    expect(labelsPresent(SETTLED.pairs, { labels: ['site=gone'], pair: null })).toEqual(['role=edge', 'site=dc1', 'site=dc2', 'site=gone']);
    const page = renderFleetPage(live(SETTLED), { labels: ['site=dc2'], pair: null }, NOW);
    expect(members(page).map((m) => m[0])).toEqual(['dc2-edge', 'dc2-edge']);
    expect(page).toContain('data-field="shown">1 of 2 pairs');
    expect(page).toContain('class="filter on" data-label="site=dc2"');
    // the link of a selected label takes it out; of another, adds it
    expect(page).toContain('<a href="#" class="filter on" data-label="site=dc2">');
    expect(page).toContain('href="#label=site%3Ddc1&amp;label=site%3Ddc2" class="filter" data-label="site=dc1"');
  });
});

describe('the timeline', () => {
  const view: FleetView = { labels: [], pair: 'dc1-edge' };
  it("a pair's events newest first, with times, reasons and error codes", () => {
    const html = timelineSection(view, { pair: 'dc1-edge', events: EVENTS, error: null }, true, NOW);
    const rows = [...html.matchAll(/<tr data-kind="([^"]+)" data-member="([^"]+)">(.*?)<\/tr>/g)].map((m) => [m[1], m[2], m[3].replace(/<[^>]+>/g, '')]);
    expect(rows.map((r) => r.slice(0, 2))).toEqual([
      ['reachability', 'fw-a'],
      ['transition', 'fw-b'],
      ['transition', 'fw-b'],
      ['transition', 'fw-a'],
      ['transition', 'fw-b'],
    ]);
    expect(rows[0][2]).toMatch(/^2026-12-07 16:53:33Z .*ago.*reachable &rarr; unreachable.*unreachable$/);
    expect(rows[1][2]).toMatch(/passive &rarr; active.*peer-closed$/);
    expect(html).toContain('<a href="#" data-field="close-timeline">close</a>');
  });

  it('says why there is none: loading, an error, an unknown pair, no events', () => {
    expect(timelineSection(view, null, true, NOW)).toContain('loading...');
    expect(timelineSection(view, { pair: 'other', events: EVENTS, error: null }, true, NOW)).toContain('loading...');
    expect(timelineSection(view, { pair: 'dc1-edge', events: null, error: '400: pair: expected a pair name' }, true, NOW)).toContain(
      '400: pair: expected a pair name',
    );
    expect(timelineSection(view, null, false, NOW)).toContain('no such pair in the fleet');
    expect(timelineSection(view, { pair: 'dc1-edge', events: { events: [], truncated: false }, error: null }, true, NOW)).toContain('no events');
    expect(timelineSection(ALL, null, true, NOW)).toBe('');
  });
});

describe('hostile names and reasons', () => {
  const evil = '<img src=x onerror=alert(1)>"\'&';
  const member = (m: MemberView): MemberView => ({
    ...m,
    name: evil,
    state: evil,
    reason: evil,
    faults: [evil],
    health: [evil],
    softwareVersion: evil,
    mode: evil,
  });
  const pair: PairView = {
    ...AFTER_KILL.pairs[0],
    name: evil,
    labels: { [evil]: evil },
    health: evil as never,
    problems: [evil],
    members: AFTER_KILL.pairs[0].members.map((m) => ({
      ...member(m),
      lastTransition: { at: evil, from: evil, to: evil, reason: evil },
      error: { code: evil, message: evil },
    })),
  };
  const fleet: FleetResponse = { at: AFTER_KILL.at, pairs: [pair] };
  const events: EventsResponse = {
    events: [{ ...EVENTS.events[0], at: evil, member: evil, kind: evil as never, from: evil, to: evil, reason: evil }],
    truncated: true,
  };

  it('are escaped everywhere: no tag, no attribute break-out, no class from data', () => {
    const view: FleetView = { labels: [`${evil}=${evil}`], pair: evil };
    const html = renderFleetPage(live(fleet, { pair: evil, events, error: null }), { ...view, labels: [] }, NOW) + renderFleetPage(live(fleet), view, NOW);
    expect(html).not.toMatch(/<img|<script/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
    // every attribute value is a closed, quoted string without a raw quote inside
    for (const tag of html.match(/<[a-z][^>]*>/g) ?? []) expect(tag, tag).toMatch(/^<[a-z0-9]+(\s+[a-z-]+(="[^"<>]*")?)*\s*\/?>$/);
    expect(html).toContain('class="badge off" data-field="health"');
    expect(html).toContain('data-tone="unreachable"');
    expect(fleetTitle(live(fleet))).toBe('1 of 1 not ok - tandem central');
  });

  it('a payload missing fields still draws', () => {
    const bare = { at: 'x', pairs: [{ name: 'p', labels: {}, problems: [], members: [{ name: 'm', faults: [], health: [] }] }] } as unknown as FleetResponse;
    expect(() => renderFleetPage(live(bare), { labels: [], pair: 'p' }, NOW)).not.toThrow();
    expect(renderFleetPage(initialFleetState(), ALL, NOW)).toContain('connecting...');
  });
});
