// tandem central's config push (docs/central.md "Config push"): one template, every pair (or the
// named ones), each pair on its own:
//
//   skip unless both members answer and agree (push-plan.ts)     -> skipped
//   the active's running shared half (GET /v1/config)            (a member failing here -> failed)
//   render the template over it (template.ts)                    -> refused (template issues)
//   no difference                                                -> unchanged
//   validate on the active against its device half               -> refused (the box's issues)
//   dry run                                                      -> dry-run (the diff)
//   commit on the active (POST /v1/config/commit)                -> refused (409/422) / failed
//   both members' status until they run the new version and hash -> committed, inSync
//
// Pairs run in parallel and never wait for each other: a hanging member costs its pair's push
// its timeouts, nothing more. Every outcome but unchanged and dry-run is kept in the history
// (kind push) and counted (tandem_central_pushes_total).
import { diffConfig } from '../config/diff.js';
import { ApiError, type ApiClient } from '../api/client.js';
import type { PairEntry } from './inventory.js';
import { countedResult, pushTarget } from './push-plan.js';
import type { CentralEvent, FleetResponse, PairPushResult, PushRequest, PushResponse, PushResult } from './protocol.js';
import { parseTemplate, renderTemplate, type FleetTemplate } from './template.js';

/** How long after a commit both members may take to report the new config. */
export const PUSH_SETTLE_MS = 10_000;
const SETTLE_POLL_MS = 250;

/** What a push asks of a member's API. */
export type PushClient = Pick<ApiClient, 'config' | 'validateConfig' | 'commitConfig' | 'status'>;

export interface PushDeps {
  /** The fleet as the pollers see it now. */
  view(): FleetResponse;
  /** The inventory's pair (its variables). */
  pair(name: string): PairEntry | undefined;
  client(pair: string, member: string): PushClient;
  record(events: CentralEvent[]): void;
  count(result: PushResult): void;
  now(): number;
  settleMs?: number;
}

export interface PushJob {
  template: FleetTemplate;
  source: string;
  pairs: readonly string[];
  dryRun: boolean;
}

/** A push naming pairs the inventory does not have: nothing is pushed. */
export class UnknownPairs extends Error {}

/** The job a request asks for: its template parsed (TemplateError), its pairs known (UnknownPairs; default: every pair). */
export function pushJob(req: PushRequest, inventoryPairs: readonly string[]): PushJob {
  const source = req.source ?? '<template>';
  const template = parseTemplate(req.template, source);
  const pairs = req.pairs === undefined || req.pairs.length === 0 ? [...inventoryPairs] : [...new Set(req.pairs)];
  const unknown = pairs.filter((p) => !inventoryPairs.includes(p));
  if (unknown.length > 0) throw new UnknownPairs(`no pair ${unknown.join(', ')} in the inventory (it has ${inventoryPairs.join(', ')})`);
  return { template, source, pairs, dryRun: req.dryRun === true };
}

export async function pushTemplate(deps: PushDeps, job: PushJob): Promise<PushResponse> {
  const view = deps.view();
  const results = await Promise.all(
    job.pairs.map(async (name) => {
      const pv = view.pairs.find((p) => p.name === name);
      const r = pv === undefined ? result(name, 'skipped', null, `no pair ${name} in the inventory`) : await pushPair(deps, job, pv);
      keep(deps, job, r);
      return r;
    }),
  );
  return { source: job.source, dryRun: job.dryRun, results };
}

async function pushPair(deps: PushDeps, job: PushJob, pv: FleetResponse['pairs'][number]): Promise<PairPushResult> {
  const target = pushTarget(pv);
  if (!target.ok) return result(pv.name, 'skipped', null, target.reason);
  const active = deps.client(pv.name, target.member);
  const r = result(pv.name, 'failed', target.member, '');
  try {
    const running = await active.config();
    r.fromVersion = running.version;
    const rendered = renderTemplate(job.template, deps.pair(pv.name)?.variables ?? {}, running.shared);
    if (!rendered.ok) return { ...r, outcome: 'refused', reason: 'the template does not render for this pair', issues: rendered.issues };
    r.diff = diffConfig(running.shared, rendered.shared);
    if (r.diff.length === 0)
      return { ...r, outcome: 'unchanged', reason: `runs it already (v${running.version})`, version: running.version, hash: running.hash };
    const checked = await active.validateConfig(rendered.text, job.source);
    if (!checked.valid) return { ...r, outcome: 'refused', reason: `${target.member} refused it`, issues: checked.issues };
    if (job.dryRun) return { ...r, outcome: 'dry-run', reason: `would commit on ${target.member}`, hash: checked.hash ?? null };
    return await commit(deps, active, pv, r, rendered.text, job.source);
  } catch (err) {
    return failure(r, err);
  }
}

/** The commit on the active, then both members watched until they run it. */
async function commit(
  deps: PushDeps,
  active: PushClient,
  pv: FleetResponse['pairs'][number],
  r: PairPushResult,
  text: string,
  source: string,
): Promise<PairPushResult> {
  const c = await active.commitConfig(text, source);
  const done = { ...r, outcome: 'committed' as const, version: c.version, hash: c.hash, restartRequired: c.restartRequired };
  const settled = await bothRun(deps, pv, c.version, c.hash);
  return {
    ...done,
    inSync: settled,
    reason: settled
      ? 'both members run it'
      : `committed on ${r.member}; the other member did not report it within ${(deps.settleMs ?? PUSH_SETTLE_MS) / 1000} s`,
  };
}

/** Both members report `version` and `hash` (their own status, not the active's word for the peer). */
async function bothRun(deps: PushDeps, pv: FleetResponse['pairs'][number], version: number, hash: string): Promise<boolean> {
  const until = deps.now() + (deps.settleMs ?? PUSH_SETTLE_MS);
  const clients = pv.members.map((m) => deps.client(pv.name, m.name));
  for (;;) {
    const runs = await Promise.all(
      clients.map((c) =>
        c.status().then(
          (s) => s.config?.version === version && s.config?.hash === hash,
          () => false,
        ),
      ),
    );
    if (runs.every(Boolean)) return true;
    if (deps.now() >= until) return false;
    await new Promise((res) => setTimeout(res, SETTLE_POLL_MS));
  }
}

/** A member's API failed part-way: refused when the box said no (409, 422), failed otherwise. */
function failure(r: PairPushResult, err: unknown): PairPushResult {
  if (err instanceof ApiError && (err.status === 409 || err.status === 422)) {
    return { ...r, outcome: 'refused', reason: `${r.member}: ${err.message}`, issues: err.issues ?? [] };
  }
  const why = err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  return { ...r, outcome: 'failed', reason: `${r.member}: ${why}` };
}

function result(pair: string, outcome: PairPushResult['outcome'], member: string | null, reason: string): PairPushResult {
  return { pair, outcome, member, reason, fromVersion: null, version: null, hash: null, inSync: null, diff: [], issues: [], restartRequired: [] };
}

/** The history and the counter: every real push outcome (not a dry run, not a pair that runs it already). */
function keep(deps: PushDeps, job: PushJob, r: PairPushResult): void {
  const counted = countedResult(r.outcome);
  if (counted === null) return;
  deps.count(counted);
  deps.record([
    {
      at: new Date(deps.now()).toISOString(),
      pair: r.pair,
      member: r.member ?? '-',
      kind: 'push',
      from: r.fromVersion === null ? null : `v${r.fromVersion}`,
      to: r.version === null ? r.outcome : `v${r.version}`,
      reason: r.outcome === 'committed' ? `committed from ${job.source}` : `${r.outcome}: ${r.reason}`,
      detail: { template: job.source, outcome: r.outcome, hash: r.hash, inSync: r.inSync, changes: r.diff.length, issues: r.issues.slice(0, 20) },
    },
  ]);
}
