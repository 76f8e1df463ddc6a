// `tandem central run`: wires the inventory, the tokens, the store, the fleet model, the pollers,
// the metrics and the API together. Central only reads the pairs: it may be down, slow or
// misconfigured and no pair notices.
import { ConfigError } from '../config/errors.js';
import { TlsFileError } from '../api/tls-context.js';
import type { Logger } from '../log.js';
import { createLogger } from '../log.js';
import { FleetModel } from './fleet-model.js';
import { loadInventory, type Inventory } from './inventory.js';
import { outcomeChanged, type PollResult } from './member-record.js';
import { CentralMetrics } from './metrics.js';
import { startPolling, type PollTarget } from './poller.js';
import { loadInventorySecrets, memberKey, type InventorySecrets } from './secrets.js';
import { startCentralApi } from './server.js';
import { CentralStore } from './store.js';
import { boxApiPushClient, boxApiSource, pollTargets, type PushClientFactory, type SourceFactory } from './targets.js';
import type { PushRequest, PushResponse } from './protocol.js';
import { pushJob, pushTemplate, type PushClient } from './push.js';

/** Retention runs at start and then this often. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

export interface CentralOptions {
  log?: Logger;
  now?: () => number;
  /** Tests replace members' clients; default: the box API client (targets.ts boxApiSource). */
  source?: SourceFactory;
  /** The same for pushes (targets.ts boxApiPushClient). */
  pushClient?: PushClientFactory;
}

export interface CentralService {
  /** Where the API listens ("http://host:port" with the real port, or "unix:/path"). */
  address: string;
  close(): Promise<void>;
}

export async function startCentral(configPath: string, opts: CentralOptions = {}): Promise<CentralService> {
  const inv = loadInventory(configPath);
  const secrets = loadInventorySecrets(inv, configPath);
  const targets = pollTargets(inv, secrets, opts.source ?? boxApiSource, configPath);
  const root = opts.log ?? createLogger({ name: 'tandem-central' });
  const now = opts.now ?? Date.now;
  const store = openStore(inv.database, configPath);
  try {
    const pusher = pushService(inv, secrets, opts.pushClient ?? boxApiPushClient);
    return await run(inv, secrets.api, targets, store, root, now, pusher, configPath);
  } catch (err) {
    store.close();
    throw err;
  }
}

/** The history database, or a ConfigError naming the `database` key (missing directory, not SQLite, newer schema). */
function openStore(path: string, configPath: string): CentralStore {
  try {
    return new CentralStore(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError([{ path: 'database', value: path, expected: `a history database central can open and write (${why})` }], configPath, { cause: err });
  }
}

async function run(
  inv: Inventory,
  apiToken: Buffer,
  targets: readonly PollTarget[],
  store: CentralStore,
  root: Logger,
  now: () => number,
  pusher: PushService,
  configPath: string,
): Promise<CentralService> {
  const log = root.child({ component: 'central' });
  const keys = new Set(inv.pairs.flatMap((p) => p.members.map((m) => memberKey(p.name, m.name))));
  store.forgetMembersExcept(keys);
  const model = new FleetModel(inv, store.records());
  const metrics = new CentralMetrics();
  const prune = (): void => {
    const removed = store.prune(now(), inv.retention.days, inv.retention.maxEvents);
    if (removed > 0) log.info({ removed }, 'history pruned (retention)');
  };
  prune();
  const pruneTimer = setInterval(() => {
    try {
      prune();
    } catch (err) {
      log.error({ err }, 'history pruning failed');
    }
  }, PRUNE_INTERVAL_MS);

  const onResult = resultHandler(model, store, metrics, log, now);
  const poller = startPolling(
    targets,
    { intervalMs: inv.pollIntervalMs, now, onError: (t, err) => log.error({ err, pair: t.pair, member: t.member }, 'storing a poll failed') },
    onResult,
  );

  let api;
  try {
    api = await startCentralApi({
      listen: inv.listen,
      ...(inv.tls !== undefined ? { tls: inv.tls } : {}),
      token: apiToken,
      fleet: () => model.view(now()),
      events: (q) => store.events(q),
      push: (req) => pusher.push(req, { model, store, metrics, log, now }),
      metrics,
      // the API names its own component
      log: root,
      now,
    });
  } catch (err) {
    poller.stop();
    clearInterval(pruneTimer);
    // a certificate, key or CA central cannot serve: a config error naming its key, as the daemon's
    if (err instanceof TlsFileError)
      throw new ConfigError([{ path: `tls.${err.role}`, value: err.file, expected: `a file central can serve HTTPS with (${err.message})` }], configPath, {
        cause: err,
      });
    throw err;
  }
  log.info({ pairs: inv.pairs.length, database: inv.database, schema: store.schemaVersion }, 'central started');
  let closed: Promise<void> | null = null;
  return {
    address: api.address,
    close: () =>
      (closed ??= (async () => {
        poller.stop();
        clearInterval(pruneTimer);
        await api.close();
        store.close();
        log.info('central stopped');
      })()),
  };
}

interface PushService {
  push(req: PushRequest, ctx: { model: FleetModel; store: CentralStore; metrics: CentralMetrics; log: Logger; now: () => number }): Promise<PushResponse>;
}

/** Config pushes (push.ts): one client per member, made at the first push that needs it. */
function pushService(inv: Inventory, secrets: InventorySecrets, factory: PushClientFactory): PushService {
  const clients = new Map<string, PushClient>();
  const client = (pair: string, member: string): PushClient => {
    const key = memberKey(pair, member);
    let c = clients.get(key);
    if (c === undefined) {
      const entry = inv.pairs.find((p) => p.name === pair)!.members.find((m) => m.name === member)!;
      c = factory(pair, entry, secrets.members.get(key)!);
      clients.set(key, c);
    }
    return c;
  };
  return {
    async push(req, { model, store, metrics, log, now }) {
      const job = pushJob(
        req,
        inv.pairs.map((p) => p.name),
      );
      const res = await pushTemplate(
        {
          view: () => model.view(now()),
          pair: (name) => inv.pairs.find((p) => p.name === name),
          client,
          record: (events) => void store.save(events, null, now()),
          count: (r) => metrics.push(r),
          now,
        },
        job,
      );
      for (const r of res.results)
        log.info({ pair: r.pair, outcome: r.outcome, member: r.member, version: r.version, why: r.reason, dryRun: job.dryRun }, 'config push');
      return res;
    },
  };
}

/** What each poll result does: count it, apply it to the model, store what changed, log changes once. */
function resultHandler(
  model: FleetModel,
  store: CentralStore,
  metrics: CentralMetrics,
  log: Logger,
  now: () => number,
): (t: PollTarget, r: PollResult) => void {
  return (t, r) => {
    metrics.poll(r.outcome);
    const prev = model.record(t.pair, t.member);
    const applied = model.apply(t.pair, t.member, r);
    if (!prev || !applied) return;
    try {
      store.save(applied.events, applied.record, now());
    } catch (err) {
      // unsaved events are not lost: with the old record back, the next poll finds them new again
      model.restore(prev);
      throw err;
    }
    const rec = applied.record;
    if (outcomeChanged(prev, rec)) {
      if (rec.reachable) log.info({ pair: t.pair, member: t.member }, 'member reachable');
      else log.warn({ pair: t.pair, member: t.member, code: rec.error?.code, why: rec.error?.message }, 'member unreachable');
    }
    for (const e of applied.events) {
      if (e.kind === 'transition') log.info({ pair: e.pair, member: e.member, from: e.from, to: e.to, reason: e.reason, at: e.at }, 'member transition');
    }
  };
}

/** Runs until SIGTERM or SIGINT, then closes cleanly (what `tandem central run` does). */
export async function runCentral(configPath: string): Promise<void> {
  const service = await startCentral(configPath);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await service.close();
}
