// tandem central's config push (src/central/push.ts, push-plan.ts) against in-memory boxes: a
// pair is skipped unless both members answer and agree; the template is rendered over the
// active's running config, validated by the active, committed there, and both members are
// watched until they run it; a refusal or a member failing part-way leaves the pair as it was;
// every real outcome is counted and kept in the history; pairs never wait for each other.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ApiError } from '../../../src/api/client.js';
import type { StatusResponse } from '../../../src/api/protocol.js';
import { parseConfig } from '../../../src/config/load.js';
import { parseSharedShape } from '../../../src/config/schema.js';
import { sharedConfigHash } from '../../../src/config/hash.js';
import type { SharedConfig } from '../../../src/config/types.js';
import type { CentralEvent, FleetResponse, MemberView, PairView, PushResult } from '../../../src/central/protocol.js';
import { pushJob, pushTemplate, UnknownPairs, type PushClient, type PushDeps } from '../../../src/central/push.js';
import { pushTarget } from '../../../src/central/push-plan.js';
import { TemplateError } from '../../../src/central/template.js';

const LAB = parseConfig(readFileSync(new URL('../../../deploy/lab/fwa.yaml', import.meta.url), 'utf8'), { source: 'fwa.yaml' }).shared;

const TEMPLATE = `
shared:
  policy:
    default: deny
    rules:
      - { name: "web-\${site}", from: [trust], to: [untrust], service: [tcp/80], action: allow }
`;

/** One box: its running shared config, what it answers, and whether it follows its peer's commits. */
class FakeBox implements PushClient {
  version = 1;
  shared: SharedConfig = LAB;
  hash = sharedConfigHash(LAB);
  peer: FakeBox | null = null;
  fail: Partial<Record<'config' | 'validate' | 'commit' | 'status', Error>> = {};
  commits = 0;
  /** A config the box refuses (as its device half would): zones naming an interface it lacks. */
  private issuesOf(shared: SharedConfig) {
    return Object.values(shared.zones)
      .flat()
      .filter((i) => i !== 'lan' && i !== 'wan')
      .map((i) => ({ path: 'shared.zones', value: i, expected: `an interface of device.interfaces (lan, wan), not ${i}` }));
  }
  private parsed(text: string): SharedConfig {
    const r = parseSharedShape((parse(text) as { shared: unknown }).shared);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.shared;
  }
  async config() {
    if (this.fail.config) throw this.fail.config;
    return { version: this.version, hash: this.hash, shared: this.shared } as Awaited<ReturnType<PushClient['config']>>;
  }
  async validateConfig(text: string) {
    if (this.fail.validate) throw this.fail.validate;
    const issues = this.issuesOf(this.parsed(text));
    return { valid: issues.length === 0, issues, hash: sharedConfigHash(this.parsed(text)) };
  }
  async commitConfig(text: string) {
    if (this.fail.commit) throw this.fail.commit;
    this.commits++;
    this.shared = this.parsed(text);
    this.hash = sharedConfigHash(this.shared);
    this.version++;
    if (this.peer !== null) Object.assign(this.peer, { shared: this.shared, hash: this.hash, version: this.version });
    return { changed: true, version: this.version, hash: this.hash, restartRequired: [], sessionsRemoved: 0, deviceDiffers: false, peer: {} } as never;
  }
  async status() {
    if (this.fail.status) throw this.fail.status;
    return { config: { version: this.version, hash: this.hash } } as StatusResponse;
  }
}

function member(name: string, state: string, box: FakeBox, reachable: boolean | null = true): MemberView {
  return {
    name,
    api: `unix:/${name}`,
    reachable,
    unreachableSince: reachable === false ? '2026-12-07T10:00:00.000Z' : null,
    unreachableForS: 0,
    error: reachable === false ? { code: 'timeout', message: 'no answer within 1500 ms' } : null,
    lastPollAt: null,
    lastOkAt: null,
    state,
    reason: 'x',
    stateSince: null,
    mode: 'active-passive',
    lastTransition: null,
    configVersion: box.version,
    configHash: box.hash,
    softwareVersion: '0.1.0',
    sync: null,
    faults: [],
    health: [],
  };
}

interface FakePair {
  view: PairView;
  boxes: Record<string, FakeBox>;
}

function pair(name: string, opts: { reachableB?: boolean | null; states?: [string, string]; configsDiffer?: boolean } = {}): FakePair {
  const a = new FakeBox();
  const b = new FakeBox();
  a.peer = b;
  if (opts.configsDiffer) b.hash = 'other';
  const [sa, sb] = opts.states ?? ['active', 'passive'];
  const members = [member('fwa', sa, a), member('fwb', sb, b, opts.reachableB === undefined ? true : opts.reachableB)];
  const actives = members.filter((m) => m.state?.startsWith('active')).length;
  const roles = [sa, sb].sort().join();
  const view: PairView = {
    name,
    labels: {},
    health: 'ok',
    problems: [],
    activeMembers: actives,
    rolesAgree: members.every((m) => m.reachable) ? roles === 'active,passive' || roles === 'active-primary,active-secondary' : null,
    configAgree: members.every((m) => m.reachable) ? a.hash === b.hash : null,
    configVersion: 1,
    versionsMatch: true,
    syncLagMs: null,
    syncBacklog: null,
    members,
  };
  return { view, boxes: { fwa: a, fwb: b } };
}

function deps(pairs: FakePair[], variables: Record<string, Record<string, unknown>> = {}) {
  const events: CentralEvent[] = [];
  const counted: PushResult[] = [];
  const d: PushDeps = {
    view: (): FleetResponse => ({ at: '2026-12-07T10:00:00.000Z', pairs: pairs.map((p) => p.view) }),
    pair: (name) => ({ name, members: [] as never, variables: variables[name] ?? { site: name } }),
    client: (p, m) => pairs.find((x) => x.view.name === p)!.boxes[m],
    record: (e) => events.push(...e),
    count: (r) => counted.push(r),
    now: () => Date.parse('2026-12-07T10:00:00.000Z'),
    settleMs: 0,
  };
  return { d, events, counted };
}

const job = (pairs: string[], dryRun = false, text = TEMPLATE) => pushJob({ template: text, source: 'fleet.yaml', pairs, dryRun }, pairs);

describe('central push: which member, or why not', () => {
  it('the active of a pair whose members answer and agree; otherwise skipped with the reason', () => {
    expect(pushTarget(pair('p').view)).toEqual({ ok: true, member: 'fwa' });
    expect(pushTarget(pair('p', { states: ['passive', 'active'] }).view)).toEqual({ ok: true, member: 'fwb' });
    expect(pushTarget(pair('p', { states: ['active-secondary', 'active-primary'] }).view)).toEqual({ ok: true, member: 'fwb' });
    expect(pushTarget(pair('p', { reachableB: false }).view)).toEqual({ ok: false, reason: 'fwb not reachable (fwb: timeout)' });
    expect(pushTarget(pair('p', { reachableB: null }).view)).toMatchObject({ ok: false, reason: expect.stringMatching(/not polled yet/) });
    expect(pushTarget(pair('p', { states: ['active', 'active'] }).view)).toMatchObject({ ok: false, reason: expect.stringMatching(/disagree on their roles/) });
    expect(pushTarget(pair('p', { configsDiffer: true }).view)).toMatchObject({ ok: false, reason: expect.stringMatching(/run different configs/) });
  });
});

describe('central push', () => {
  it('commits the rendered template on each active; both members run it; counted and kept', async () => {
    const pairs = [pair('dc1'), pair('dc2')];
    const { d, events, counted } = deps(pairs);
    const r = await pushTemplate(d, job(['dc1', 'dc2']));
    expect(r.results.map((x) => [x.pair, x.outcome, x.member, x.fromVersion, x.version, x.inSync])).toEqual([
      ['dc1', 'committed', 'fwa', 1, 2, true],
      ['dc2', 'committed', 'fwa', 1, 2, true],
    ]);
    expect(pairs[1].boxes.fwb.shared.policy.rules.map((x) => x.name)).toEqual(['web-dc2']);
    expect(r.results[0].diff.map((x) => x.path)).toContain('policy.rules[name=web-dc1]');
    expect(counted).toEqual(['committed', 'committed']);
    expect(events.map((e) => [e.pair, e.kind, e.from, e.to])).toEqual([
      ['dc1', 'push', 'v1', 'v2'],
      ['dc2', 'push', 'v1', 'v2'],
    ]);
    // the same template again: unchanged, nothing committed, nothing counted
    const again = await pushTemplate(d, job(['dc1', 'dc2']));
    expect(again.results.map((x) => x.outcome)).toEqual(['unchanged', 'unchanged']);
    expect(pairs[0].boxes.fwa.commits).toBe(1);
    expect(counted).toHaveLength(2);
  });

  it('a dry run validates and shows the diff, commits nothing, counts nothing', async () => {
    const pairs = [pair('dc1')];
    const { d, counted } = deps(pairs);
    const r = await pushTemplate(d, job(['dc1'], true));
    expect(r.results[0]).toMatchObject({ outcome: 'dry-run', member: 'fwa', version: null });
    expect(r.results[0].diff.length).toBeGreaterThan(0);
    expect(pairs[0].boxes.fwa.commits).toBe(0);
    expect(counted).toEqual([]);
  });

  it('skips a pair with a member down, pushes the others, never half-applies', async () => {
    const pairs = [pair('dc1', { reachableB: false }), pair('dc2')];
    const { d, counted } = deps(pairs);
    const r = await pushTemplate(d, job(['dc1', 'dc2']));
    expect(r.results.map((x) => x.outcome)).toEqual(['skipped', 'committed']);
    expect(r.results[0].reason).toBe('fwb not reachable (fwb: timeout)');
    expect(pairs[0].boxes.fwa.commits).toBe(0);
    expect(counted).toEqual(['skipped', 'committed']);
  });

  it('refuses what the template cannot render or the box refuses, with every issue; the pair is left as it was', async () => {
    const pairs = [pair('dc1'), pair('dc2')];
    const { d } = deps(pairs, { dc1: {}, dc2: { site: 'x' } });
    const dmz =
      'shared:\n  zones: { trust: [lan], untrust: [wan], dmz: [dmz0] }\n  policy: { default: deny, rules: [{ name: "r-${site}", from: [trust], to: [untrust], service: [tcp/80], action: allow }] }\n';
    const r = await pushTemplate(d, job(['dc1', 'dc2'], false, dmz));
    expect(r.results[0]).toMatchObject({ outcome: 'refused', reason: 'the template does not render for this pair' });
    expect(r.results[0].issues.map((i) => i.path)).toEqual(['shared.policy.rules[0].name']);
    expect(r.results[1]).toMatchObject({ outcome: 'refused', reason: 'fwa refused it' });
    expect(r.results[1].issues[0]).toMatchObject({ path: 'shared.zones', value: 'dmz0' });
    expect(pairs[1].boxes.fwa.commits).toBe(0);
  });

  it('a commit the box refuses (409) is refused; a member that stops answering part-way is failed; the peer not following is said', async () => {
    const pairs = [pair('dc1'), pair('dc2'), pair('dc3')];
    pairs[0].boxes.fwa.fail.commit = new ApiError(409, 'command-refused', 'this box is passive');
    pairs[1].boxes.fwa.fail.config = new ApiError(0, 'timeout', 'no complete answer within 15000 ms');
    pairs[2].boxes.fwa.peer = null; // the passive never gets it
    const { d, counted } = deps(pairs);
    const r = await pushTemplate(d, job(['dc1', 'dc2', 'dc3']));
    expect(r.results.map((x) => [x.outcome, x.reason])).toEqual([
      ['refused', 'fwa: this box is passive'],
      ['failed', 'fwa: timeout: no complete answer within 15000 ms'],
      ['committed', 'committed on fwa; the other member did not report it within 0 s'],
    ]);
    expect(r.results[2].inSync).toBe(false);
    expect([...counted].sort()).toEqual(['committed', 'failed', 'refused']);
  });

  it('pairs do not wait for each other: a hanging member costs its own pair only', async () => {
    const pairs = [pair('slow'), pair('fast')];
    let release: () => void = () => undefined;
    pairs[0].boxes.fwa.config = () => new Promise((res) => (release = () => res({ version: 1, hash: 'h', shared: LAB } as never)));
    const { d } = deps(pairs);
    const pending = pushTemplate(d, job(['slow', 'fast']));
    await new Promise((res) => setTimeout(res, 20));
    expect(pairs[1].boxes.fwa.commits).toBe(1);
    release();
    expect((await pending).results.map((x) => x.outcome)).toEqual(['committed', 'committed']);
  });

  it('a request naming an unknown pair, or a template that does not parse, pushes nothing', () => {
    expect(() => pushJob({ template: TEMPLATE, pairs: ['nope'] }, ['dc1'])).toThrow(UnknownPairs);
    expect(() => pushJob({ template: 'shared: {}' }, ['dc1'])).toThrow(TemplateError);
    expect(pushJob({ template: TEMPLATE }, ['dc1', 'dc2']).pairs).toEqual(['dc1', 'dc2']);
  });
});
