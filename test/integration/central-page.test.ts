// Central's fleet page in a real browser: Debian's headless chromium, driven by playwright-core,
// opens the page of a central watching a real two-pair lab (labels site=dc1 and site=dc2), is
// refused with a wrong token, logs in, sees both pairs with each member's state and colour, sees a
// kill -9 of dc1's active as a takeover (the other member active, the killed one grey and
// unreachable) within a few seconds, filters by label (kept in the URL across a reload), opens
// dc1's timeline with the takeover and its reason, and keeps the last data when central goes.
//
// Central listens on 127.0.0.1 in the host's namespace and reaches the boxes through their unix
// sockets, so the browser runs on the host too (unlike the box page's test).
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetResponse } from '../../src/central/protocol.js';
import { Lab, pairLabName, type LabBox, type LabStatus } from '../../src/lab/lab.js';
import { CENTRAL_TOKEN, eventually, startCentralProcess, writeInventory, type CentralProcess } from './helpers/central.js';
import { ensureBuilt, isRoot, upLab } from './helpers/lab.js';

const CHROMIUM = '/usr/bin/chromium';
/** Short periods, so each step shows within a second or two. */
const POLL_MS = 300;
const PAGE_INTERVAL_MS = 300;
/** The colours, as the stylesheet has them (computed background colours). */
const COLOUR = { active: 'rgb(26, 127, 55)', passive: 'rgb(191, 135, 0)', unreachable: 'rgb(140, 149, 159)' };
const SITES = ['dc1', 'dc2'] as const;
/** The browser's, inside page.evaluate (the project's types have no DOM). */
declare const getComputedStyle: (el: unknown) => { backgroundColor: string };

let lab: Lab | null = null;
let central: CentralProcess | null = null;
let config: string | null = null;
let browser: Browser | null = null;
/** Pair name (dc1, dc2) -> its lab. */
const labs = new Map<string, Lab>();

beforeAll(async () => {
  if (!isRoot()) return;
  await ensureBuilt(['src/central/page/app.js', 'src/api/status-page/session.js', 'src/cli/main.js']);
  lab = await upLab({ pairs: 2 });
  const st = await lab.status();
  const pairs = st.pairs ?? [];
  expect(pairs.map((p) => p.name)).toEqual([lab.name, pairLabName(lab.name, 2)]);
  const spec = (p: LabStatus, site: string) => {
    const token = readFileSync(join(p.runDir, 'api.token'), 'utf8').trim();
    labs.set(site, new Lab(p.name));
    const member = (box: LabBox) => ({ name: box, api: p.boxes[box].api, token });
    return { name: site, labels: { site, role: 'edge' }, members: [member('fwa'), member('fwb')] as [ReturnType<typeof member>, ReturnType<typeof member>] };
  };
  config = writeInventory(
    pairs.map((p, i) => spec(p, SITES[i])),
    { pollIntervalMs: POLL_MS, pollTimeoutMs: POLL_MS - 50 },
  );
  central = await startCentralProcess(config);
  // root needs --no-sandbox; /dev/shm may be small on test machines
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'], timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await central?.stop();
  await lab?.down();
  if (config) rmSync(dirname(config), { recursive: true, force: true });
});

async function text(page: Page, selector: string): Promise<string | null> {
  const loc = page.locator(selector).first();
  return (await loc.count()) > 0 ? ((await loc.textContent()) ?? '').trim() : null;
}

/** Waits until `fn` holds; the error names what `last` said last. */
async function waitUntil(what: string, timeoutMs: number, fn: () => Promise<boolean>, last: () => unknown = () => ''): Promise<number> {
  const t0 = Date.now();
  try {
    await eventually(what, timeoutMs, async () => ((await fn()) ? true : undefined));
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last())}`, { cause: err });
  }
  return Date.now() - t0;
}

async function waitText(page: Page, selector: string, want: RegExp, timeoutMs = 10_000): Promise<string> {
  let last: string | null = null;
  await waitUntil(
    `${selector} to match ${want}`,
    timeoutMs,
    async () => {
      last = await text(page, selector);
      return last !== null && want.test(last);
    },
    () => last,
  );
  return last!;
}

const row = (pair: string, box: LabBox): string => `tr.member[data-pair="${pair}"][data-member="${box}"]`;

/** A member as the page shows it: its tone, state text and the state badge's background colour. */
async function shown(page: Page, pair: string, box: LabBox): Promise<{ tone: string | null; state: string | null; colour: string | null }> {
  const r = page.locator(row(pair, box));
  if ((await r.count()) === 0) return { tone: null, state: null, colour: null };
  const badge = r.locator('[data-field=state]');
  return {
    tone: await r.getAttribute('data-tone'),
    state: ((await badge.textContent()) ?? '').trim(),
    colour: await badge.evaluate((el) => getComputedStyle(el).backgroundColor),
  };
}

/** Waits until the page shows `pair` settled as its boxes' APIs give it now: one active, one passive. */
async function waitPairShown(page: Page, pair: string): Promise<{ active: LabBox; passive: LabBox }> {
  const l = labs.get(pair)!;
  let last: unknown;
  let roles: { active: LabBox; passive: LabBox } | null = null;
  await waitUntil(
    `${pair} shown as its boxes are`,
    20_000,
    async () => {
      const [a, b] = [(await l.boxState('fwa'))?.state, (await l.boxState('fwb'))?.state];
      const page_ = { fwa: await shown(page, pair, 'fwa'), fwb: await shown(page, pair, 'fwb') };
      last = { apis: [a, b], page: page_ };
      if ([a, b].sort().join() !== 'active,passive') return false;
      roles = a === 'active' ? { active: 'fwa', passive: 'fwb' } : { active: 'fwb', passive: 'fwa' };
      const act = page_[roles.active];
      const pas = page_[roles.passive];
      return act.state === 'active' && act.colour === COLOUR.active && pas.state === 'passive' && pas.colour === COLOUR.passive;
    },
    () => last,
  );
  return roles!;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.TANDEM_SCREENSHOT_DIR;
  if (dir) await page.screenshot({ path: join(dir, `central-${name}.png`), fullPage: true });
}

describe.skipIf(!isRoot())("central's fleet page in headless chromium", () => {
  it('refuses a wrong token, shows both pairs, a takeover after a kill -9, the label filter, the timeline, central gone', async () => {
    const problems: string[] = [];
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    const res = await page.goto(`${central!.address}/ui?interval=${PAGE_INTERVAL_MS}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    // a wrong token: the page says so and shows no data
    await waitText(page, '[data-field=connection]', /enter the API token of tandem central/);
    await page.locator('#token').fill(`${CENTRAL_TOKEN}x`);
    await page.locator('#login button[type=submit]').click();
    await waitText(page, '[data-field=connection]', /^401: wrong token$/);
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('tr.member').count()).toBe(0);

    // the right token: both pairs, each member's state and colour as its box says
    await page.locator('#token').fill(CENTRAL_TOKEN);
    await page.locator('#login button[type=submit]').click();
    await waitText(page, '[data-field=connection]', /^live/);
    expect(await page.locator('#login').isVisible()).toBe(false);
    for (const site of SITES) await waitPairShown(page, site);
    await waitText(page, 'tbody[data-pair=dc1] [data-field=roles]', /^agree$/);
    await waitText(page, 'tbody[data-pair=dc2] [data-field=versions]', /^match$/);
    expect(await page.locator('tbody[data-pair=dc1]').getAttribute('data-health')).toBe('ok');
    await screenshot(page, 'fleet');

    // kill -9 of dc1's active: the page shows the takeover within a few seconds
    const dc1 = labs.get('dc1')!;
    const { active: killed, passive: survivor } = await dc1.waitForPair(20_000);
    const killedAt = Date.now();
    await dc1.killBox(killed, 'SIGKILL');
    let last: unknown;
    await waitUntil(
      'the takeover on the page',
      10_000,
      async () => {
        const [k, s] = [await shown(page, 'dc1', killed), await shown(page, 'dc1', survivor)];
        last = { killed: k, survivor: s };
        return k.tone === 'unreachable' && k.state === 'unreachable' && k.colour === COLOUR.unreachable && s.tone === 'active' && s.colour === COLOUR.active;
      },
      () => last,
    );
    const seenMs = Date.now() - killedAt;
    process.stderr.write(`central page: takeover shown ${seenMs} ms after the kill\n`);
    expect(seenMs).toBeLessThan(8000);
    await waitText(page, `${row('dc1', killed)} [data-field=unreachable]`, /^for .+ \(unreachable\)$/);
    expect(await page.locator('tbody[data-pair=dc1]').getAttribute('data-health')).toBe('degraded');
    // the other pair is untouched
    await waitPairShown(page, 'dc2');
    await screenshot(page, 'takeover');

    // the label filter: only dc2, kept in the hash, so a reload shows the same view
    await page.locator('a[data-label="site=dc2"]').click();
    await waitUntil('only dc2 shown', 5000, async () => (await page.locator('tbody.pair-block').count()) === 1);
    expect(await page.locator('tbody.pair-block').getAttribute('data-pair')).toBe('dc2');
    expect(new URL(page.url()).hash).toBe('#label=site%3Ddc2');
    expect(await text(page, '[data-field=shown]')).toBe('1 of 2 pairs');
    await screenshot(page, 'filter');
    await page.reload();
    await waitText(page, '[data-field=connection]', /^live/);
    expect(await page.locator('tbody.pair-block').getAttribute('data-pair')).toBe('dc2');
    expect(await page.locator('tbody.pair-block').count()).toBe(1);
    await page.locator('a[data-label=""]').click();
    await waitUntil('both pairs shown again', 5000, async () => (await page.locator('tbody.pair-block').count()) === 2);

    // the drill-down: dc1's timeline, newest first, with the takeover and the survivor's reason
    await page.locator('tbody[data-pair=dc1] [data-field=pair-link]').click();
    await waitText(page, '[data-field=timeline-pair]', /^dc1$/);
    expect(new URL(page.url()).hash).toBe('#pair=dc1');
    const reason = (await dc1.api(survivor).status()).transitions.at(-1)!;
    expect(reason).toMatchObject({ from: 'passive', to: 'active' });
    const takeover = await waitText(page, `#timeline tr[data-kind=transition][data-member=${survivor}]`, /passive\s*→\s*active/);
    expect(takeover).toContain(reason.reason);
    await waitText(page, `#timeline tr[data-kind=reachability][data-member=${killed}]`, /reachable\s*→\s*unreachable/);
    // only dc1's events, newest first
    const fleet = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
    expect(fleet.pairs.map((p) => p.name)).toEqual(['dc1', 'dc2']);
    const times = await page.locator('#timeline tbody tr time').evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute('datetime') ?? '')));
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    await screenshot(page, 'timeline');

    // central goes away: the page says so and keeps the last data
    await central!.stop();
    await waitText(page, '[data-field=connection]', /^central unreachable for/);
    expect(await page.locator('tr.member').count()).toBe(4);
    expect(await page.locator('.sections.stale').count()).toBe(1);
    await screenshot(page, 'central-gone');

    expect(problems).toEqual([]);
  }, 180_000);
});
