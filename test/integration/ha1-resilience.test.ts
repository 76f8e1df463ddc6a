// HA1 resilience with real daemons in the lab: losing one HA1 link is a warning, not a failover;
// with both HA1 links cut the heartbeat backup (the lab's mgmt veth) keeps the pair from a split
// brain; and the control: with mgmt cut too, the split brain happens and heals.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/lab/lab.js';
import type { LabBox, LabLink } from '../../src/lab/topology.js';
import type { HaStatus } from '../../src/control/status.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith, ping, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
/** pino's number for warn. */
const WARN = 40;

let lab: Lab | null = null;
let configDir: string | null = null;

/**
 * The lab's configs with the recommended timers (300 ms dead interval): these tests are about
 * which links keep the pair together, not about speed, and the 5 ms profile reads a busy test
 * host's scheduling hiccups as peer loss.
 */
function recommendedTimers(): string {
  configDir ??= labConfigWith((cfg) => {
    cfg.shared.ha.timers = { profile: 'recommended' };
  });
  return configDir;
}

afterAll(() => {
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

afterEach(async () => {
  if (lab && process.env.KEEP_LOGS) for (const b of ['fwa', 'fwb'] as const) copyFileSync(lab.logPath(b), `${process.env.KEEP_LOGS}/${lab.name}-${b}.log`);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(l: Lab, box: LabBox): Promise<HaStatus> {
  return l.api(box).status();
}

function link(st: HaStatus, name: string) {
  const found = st.links.find((x) => x.name === name);
  if (!found) throw new Error(`no link ${name} in status: ${st.links.map((x) => x.name).join(', ')}`);
  return found;
}

/** The box's log events (pino JSON lines) whose message matches. */
function logEvents(l: Lab, box: LabBox, msg: RegExp): Array<{ level: number; msg: string; [k: string]: unknown }> {
  const out = [];
  for (const line of readFileSync(l.logPath(box), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as { level: number; msg: string };
      if (typeof e.msg === 'string' && msg.test(e.msg)) out.push(e);
    } catch {
      // a line cut by a crash: not an event
    }
  }
  return out;
}

async function metrics(l: Lab, box: LabBox): Promise<string> {
  return scrape(boxListeners(l, box).metrics);
}

/** Every transition the box made since it started (tandem_ha_transitions_total, all labels). */
async function transitions(l: Lab, box: LabBox): Promise<number> {
  return metricValue(await metrics(l, box), 'tandem_ha_transitions_total');
}

/**
 * Which box is active: fwa normally wins (priority 50), but a slow start-up can hand it to fwb,
 * and nothing here depends on which.
 */
async function roles(l: Lab): Promise<{ active: LabBox; passive: LabBox }> {
  const { active, passive } = await l.waitForPair(10_000);
  return { active, passive };
}

/** Samples both boxes' states every few ms for `ms`; returns each distinct pair seen, with counts. */
async function sampleStates(l: Lab, ms: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const [a, b] = await Promise.all([l.boxState('fwa'), l.boxState('fwb')]);
    const key = `fwa=${a?.state ?? 'no answer'} fwb=${b?.state ?? 'no answer'}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    await sleep(10);
  }
  return seen;
}

/** The sampleStates key of the pair with `active` active and the other box passive. */
function pairKey(active: LabBox): string {
  return active === 'fwa' ? 'fwa=active fwb=passive' : 'fwa=passive fwb=active';
}

async function cut(l: Lab, box: LabBox, links: LabLink[], up = false): Promise<void> {
  for (const x of links) await l.setLink(box, x, up);
}

/** Waits until both boxes report every HA1 link with its heartbeat and session up again. */
async function waitLinksUp(l: Lab, names: string[]): Promise<void> {
  await l.waitFor(
    async () => {
      for (const box of ['fwa', 'fwb'] as const) {
        const st = await status(l, box).catch(() => null);
        if (!st) return false;
        for (const n of names) {
          const x = link(st, n);
          if (!x.heartbeatUp || (!x.heartbeatOnly && !x.sessionUp)) return false;
        }
      }
      return true;
    },
    10_000,
    `links ${names.join(', ')} up on both boxes`,
  );
}

describe.skipIf(!isRoot())('HA1 resilience', () => {
  it('HA1 primary cut: a warning and metrics, no failover; an operator failover still works; the link comes back', async () => {
    lab = await upLab({ configDir: recommendedTimers() });
    await waitLinksUp(lab, ['ha1', 'ha1-backup', 'heartbeat-backup']);
    const { active, passive } = await roles(lab);
    const before = { fwa: await transitions(lab, 'fwa'), fwb: await transitions(lab, 'fwb') };

    await cut(lab, active, ['ha1']);
    const seen = await sampleStates(lab, 3000);
    expect([...seen.keys()]).toEqual([pairKey(active)]);
    expect(await transitions(lab, 'fwa')).toBe(before.fwa);
    expect(await transitions(lab, 'fwb')).toBe(before.fwb);

    for (const box of ['fwa', 'fwb'] as const) {
      const st = await status(lab, box);
      expect(st.peer.up, box).toBe(true);
      expect(link(st, 'ha1'), box).toMatchObject({ heartbeatUp: false, sessionUp: false });
      expect(link(st, 'ha1-backup'), box).toMatchObject({ heartbeatUp: true, sessionUp: true });
      expect(link(st, 'heartbeat-backup'), box).toMatchObject({ heartbeatUp: true, sessionUp: false, heartbeatOnly: true });
      const m = await metrics(lab, box);
      expect(metricValue(m, 'tandem_ha1_link_up', { link: 'ha1', channel: 'heartbeat' }), box).toBe(0);
      expect(metricValue(m, 'tandem_ha1_link_up', { link: 'ha1', channel: 'session' }), box).toBe(0);
      expect(metricValue(m, 'tandem_ha1_link_up', { link: 'ha1-backup', channel: 'heartbeat' }), box).toBe(1);
      expect(metricValue(m, 'tandem_ha1_link_up', { link: 'ha1-backup', channel: 'session' }), box).toBe(1);
      expect(metricValue(m, 'tandem_ha1_link_up', { link: 'heartbeat-backup', channel: 'heartbeat' }), box).toBe(1);
      expect(metricValue(m, 'tandem_ha_peer_up'), box).toBe(1);
      const lost = logEvents(lab, box, /^HA1 link ha1 lost the peer/);
      expect(lost.length, box).toBeGreaterThanOrEqual(1);
      expect(lost[0]).toMatchObject({ level: WARN, link: 'ha1' });
    }
    // not "HA1 is down": the backup link still carries the session
    for (const box of ['fwa', 'fwb'] as const) expect(logEvents(lab, box, /^HA1 is down/), box).toEqual([]);

    // commands still flow, on the backup link's session
    const r = await cli(lab, active, 'failover');
    expect(r.code, r.stderr).toBe(0);
    expect((await waitState(lab, passive, 'active', 5000)).reason).toBe('peer-request');
    expect((await waitState(lab, active, 'passive', 5000)).reason).toBe('operator-failover');
    expect(await ping(lab, SERVER)).toBe(true);

    // the cable back: the link hears the peer again on both boxes, with a fresh session
    const heardBefore = {
      fwa: logEvents(lab, 'fwa', /^HA1 link ha1 hears the peer/).length,
      fwb: logEvents(lab, 'fwb', /^HA1 link ha1 hears the peer/).length,
    };
    await cut(lab, active, ['ha1'], true);
    await waitLinksUp(lab, ['ha1', 'ha1-backup', 'heartbeat-backup']);
    for (const box of ['fwa', 'fwb'] as const) {
      expect(logEvents(lab, box, /^HA1 link ha1 hears the peer/).length, box).toBe(heardBefore[box] + 1);
      expect(metricValue(await metrics(lab, box), 'tandem_ha1_link_up', { link: 'ha1', channel: 'session' }), box).toBe(1);
    }
    // nothing sent into the cut link (queued heartbeats, buffered session messages) arrives late
    // and moves the pair back
    const after = await sampleStates(lab, 1000);
    expect([...after.keys()]).toEqual([pairKey(passive)]);
  });

  it('both HA1 links cut, heartbeat backup up: exactly one active the whole time', async () => {
    lab = await upLab({ configDir: recommendedTimers() });
    await waitLinksUp(lab, ['ha1', 'ha1-backup', 'heartbeat-backup']);
    const { active, passive } = await roles(lab);
    const before = { fwa: await transitions(lab, 'fwa'), fwb: await transitions(lab, 'fwb') };

    await cut(lab, passive, ['ha1', 'ha1b']);
    const seen = await sampleStates(lab, 4000);
    expect([...seen.keys()]).toEqual([pairKey(active)]);
    // and no transition between two samples either
    expect(await transitions(lab, 'fwa')).toBe(before.fwa);
    expect(await transitions(lab, 'fwb')).toBe(before.fwb);

    const st = await status(lab, passive);
    expect(st.peer).toMatchObject({ up: true, state: 'active' });
    expect(link(st, 'ha1').heartbeatUp).toBe(false);
    expect(link(st, 'ha1-backup').heartbeatUp).toBe(false);
    expect(link(st, 'heartbeat-backup').heartbeatUp).toBe(true);
    for (const box of ['fwa', 'fwb'] as const) {
      const down = logEvents(lab, box, /^HA1 is down on every link/);
      expect(down.length, box).toBe(1);
      expect(down[0].level).toBe(WARN);
    }
    // commands need an HA1 session: refused, not lost
    const r = await cli(lab, active, 'failover');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HA1 is down/);
    expect((await lab.boxState(active))?.state).toBe('active');

    await cut(lab, passive, ['ha1', 'ha1b'], true);
    await waitLinksUp(lab, ['ha1', 'ha1-backup']);
    expect(await transitions(lab, 'fwa')).toBe(before.fwa);
    expect(await transitions(lab, 'fwb')).toBe(before.fwb);
    for (const box of ['fwa', 'fwb'] as const) expect(logEvents(lab, box, /^HA1 hears the peer again/).length, box).toBe(1);
    expect(await ping(lab, SERVER)).toBe(true);
  });

  it('the control: both HA1 links and mgmt cut: split brain; links back: one active again', async () => {
    lab = await upLab({ configDir: recommendedTimers() });
    await waitLinksUp(lab, ['ha1', 'ha1-backup', 'heartbeat-backup']);
    const { active, passive } = await roles(lab);
    await cut(lab, passive, ['ha1', 'ha1b', 'mgmt']);
    // nothing tells the passive that the active lives: it takes over, beside the active
    expect((await waitState(lab, passive, 'active', 5000)).reason).toBe('peer-dead');
    expect((await lab.boxState(active))?.state).toBe('active');

    await cut(lab, passive, ['ha1', 'ha1b', 'mgmt'], true);
    // the worse box (fwb, priority 100) yields at its first heartbeat from the other active
    expect((await waitState(lab, 'fwb', 'passive', 5000)).reason).toBe('split-brain-resolved');
    const seen = await sampleStates(lab, 1000);
    expect([...seen.keys()]).toEqual([pairKey('fwa')]);
    await waitLinksUp(lab, ['ha1', 'ha1-backup', 'heartbeat-backup']);
    expect(await ping(lab, SERVER)).toBe(true);
  });
});
