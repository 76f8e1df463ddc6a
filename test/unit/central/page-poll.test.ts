// The fleet page between polls (live, wrong token, central unreachable, an HTTP error), what it
// accepts as central's answers, the routes it polls, and the rule that its browser modules import
// only what central serves.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WRONG_TOKEN } from '../../../src/api/status-page/connection.js';
import { PAGE_MODULES, SHARED_MODULES } from '../../../src/central/page.js';
import {
  EVENTS_PATH,
  FLEET_PATH,
  applyFleetPoll,
  eventsPath,
  initialFleetState,
  isEvents,
  isFleet,
  timelineOf,
  type FleetPageState,
} from '../../../src/central/page/fleet-poll.js';
import { renderFleetPage } from '../../../src/central/page/render.js';
import { ROUTE_EVENTS, ROUTE_FLEET, type EventsResponse, type FleetResponse } from '../../../src/central/protocol.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const FLEET = JSON.parse(readFileSync(join(DIR, 'fleet-settled.json'), 'utf8')) as FleetResponse;
const EVENTS = JSON.parse(readFileSync(join(DIR, 'events-after-kill.json'), 'utf8')) as EventsResponse;
const ALL = { labels: [], pair: null };

function liveAt(atMs: number): FleetPageState {
  return applyFleetPoll(initialFleetState(), { kind: 'ok', atMs, fleet: FLEET, timeline: null });
}

describe('the page between polls', () => {
  it('a wrong token shows "401: wrong token" and no data', () => {
    const s = applyFleetPoll(liveAt(1000), { kind: 'http-error', atMs: 2000, httpStatus: 401, message: '401: missing or wrong bearer token' });
    expect(s).toEqual({ ...initialFleetState(), connection: { kind: 'unauthorized', message: WRONG_TOKEN } });
    const html = renderFleetPage(s, ALL, 2000);
    expect(html).toContain('>401: wrong token</div>');
    expect(html).not.toContain('dc1-edge');
  });

  it('central unreachable: says so since when, keeps the last data, greyed', () => {
    const first = applyFleetPoll(liveAt(1000), { kind: 'network-error', atMs: 3000, error: 'Failed to fetch' });
    const s = applyFleetPoll(first, { kind: 'network-error', atMs: 9000, error: 'Failed to fetch' });
    expect(s.connection).toEqual({ kind: 'unreachable', sinceMs: 3000, error: 'Failed to fetch' });
    expect(s.fleet).toBe(FLEET);
    const html = renderFleetPage(s, ALL, 9000);
    expect(html).toContain('central unreachable for 6s (Failed to fetch); the data below is from 8s ago');
    expect(html).toContain('<div class="sections stale">');
    expect(html).toContain('dc1-edge');
    // back: live again
    expect(applyFleetPoll(s, { kind: 'ok', atMs: 10_000, fleet: FLEET, timeline: null }).connection).toEqual({ kind: 'live' });
  });

  it('an HTTP error keeps the data and names the error', () => {
    const s = applyFleetPoll(liveAt(1000), { kind: 'http-error', atMs: 2000, httpStatus: 429, message: '429: too many requests; retry in 1 s' });
    expect(s.fleet).toBe(FLEET);
    expect(renderFleetPage(s, ALL, 2000)).toContain('429: too many requests; retry in 1 s; the data below is from 1s ago');
  });
});

describe("central's answers", () => {
  it('takes a fleet and events as recorded, refuses what the page cannot draw', () => {
    expect(isFleet(FLEET)).toBe(true);
    expect(isEvents(EVENTS)).toBe(true);
    for (const bad of [null, 'x', [], {}, { pairs: {} }, { pairs: [null] }, { pairs: [{ name: 1 }] }, { pairs: [{ ...FLEET.pairs[0], members: [{}] }] }])
      expect(isFleet(bad), JSON.stringify(bad)).toBe(false);
    for (const bad of [null, { events: 'x' }, { events: [{ at: 1 }] }]) expect(isEvents(bad)).toBe(false);
  });

  it("the open pair's timeline, or why it has none", () => {
    expect(timelineOf('p', { status: 200, body: EVENTS })).toEqual({ pair: 'p', events: EVENTS, error: null });
    expect(timelineOf('p', { status: 400, body: { error: { code: 'bad-query', message: 'pair: expected a pair name' } } }).error).toBe(
      '400: pair: expected a pair name',
    );
    expect(timelineOf('p', { status: 200, body: { nope: 1 } }).error).toMatch(/does not understand/);
    expect(timelineOf('p', { failed: 'Failed to fetch' }).error).toBe('central did not answer: Failed to fetch');
  });

  it('polls the routes central serves, the pair name encoded', () => {
    expect(FLEET_PATH).toBe(ROUTE_FLEET);
    expect(EVENTS_PATH).toBe(ROUTE_EVENTS);
    expect(eventsPath('a&b=c d')).toBe('/v1/events?pair=a%26b%3Dc%20d&limit=200');
  });
});

describe('browser modules', () => {
  const src = fileURLToPath(new URL('../../../src/', import.meta.url));
  const files = [
    ...PAGE_MODULES.map((m) => ({ file: join(src, 'central/page', m.replace(/\.js$/, '.ts')), own: true })),
    ...SHARED_MODULES.map((m) => ({ file: join(src, 'api/status-page', m.replace(/\.js$/, '.ts')), own: false })),
  ];

  it('import only types and modules central serves, by relative URL', () => {
    const served = (own: boolean) => [
      ...PAGE_MODULES.map((m) => (own ? `./${m}` : `../../central/page/${m}`)),
      ...SHARED_MODULES.map((m) => (own ? `../../api/status-page/${m}` : `./${m}`)),
    ];
    for (const { file, own } of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s+(type\s+)?[\s\S]*?from\s+'([^']+)';/gm)) {
        if (m[1]) continue; // erased by tsc
        expect(served(own), `${file} imports ${m[2]}`).toContain(m[2]);
      }
      expect(text, `${file} must not use node`).not.toMatch(/from 'node:|require\(|process\./);
    }
  });
});
