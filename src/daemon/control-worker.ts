// The control plane's thread: the HA1 agent, the management API and the metrics listener. It
// lives apart from the dataplane (on the main thread, where `cap` must run) so that a saturated
// packet path, which starves its own event loop, cannot delay a heartbeat or an API answer.
import { setPriority } from 'node:os';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { TandemConfig } from '../config/types.js';
import { createLogger, type Logger } from '../log.js';

/** Nice value of the control thread when real-time scheduling is refused: ahead of the dataplane (0). */
const CONTROL_THREAD_NICE = -10;
/** SCHED_RR priority (1-99) of the control thread: low, above every normal task. */
const CONTROL_THREAD_RT_PRIORITY = 10;
import { SharedState } from '../wire/shared-state.js';
import { COUNTER_COUNT } from '../wire/dataplane-counters.js';
import { FirewallStats } from '../wire/firewall-stats.js';
import { Metrics } from '../metrics/registry.js';
import { startMetricsServer } from '../metrics/server.js';
import { startApiServer } from '../api/server.js';
import { ControlAgent } from '../control/agent.js';
import { DataplaneClient } from './dataplane-client.js';
import { SyncChannel } from '../sync/channel.js';
import { RecordRing } from '../wire/record-ring.js';
import { fileRecord, type ConfigRecord } from '../config/commit.js';
import { ConfigStore } from '../config/store.js';
import type { SharedConfig } from '../config/types.js';
import { ConfigSync } from '../control/config-sync.js';
import { WorkerValidator } from '../control/config-validator.js';

export interface ControlWorkerData {
  config: TandemConfig;
  /** The daemon's config file (absolute): commit files' relative device paths resolve against it. */
  configPath?: string;
  /** The running shared config's identity; absent: the config's shared half as version 0 (tests). */
  configRecord?: ConfigRecord;
  sharedBuffer: SharedArrayBuffer;
  dataplanePort: MessagePort;
  key: Uint8Array;
  token: Uint8Array;
  /**
   * The dataplane's FirewallStats buffer (src/wire/firewall-stats.ts), exported as the
   * tandem_sessions_* / policy / NAT metrics. Absent: those series stay at 0.
   */
  firewallBuffer?: SharedArrayBuffer;
  /** Policy and NAT rule names in the order the dataplane counts them; default: the config's. */
  ruleNames?: string[];
  natRuleNames?: string[];
  /** HA2 rings shared with the dataplane (src/wire/record-ring.ts); absent: no session replication. */
  sync?: { out: SharedArrayBuffer; in: SharedArrayBuffer; capacity: number };
}

export type ControlWorkerRequest = { type: 'stop'; reason: string };
export type ControlWorkerReply = { type: 'ready' } | { type: 'stopped' };

async function main(): Promise<void> {
  if (!parentPort) throw new Error('control-worker must run in a worker thread');
  const port = parentPort;
  const data = workerData as ControlWorkerData;
  const config = data.config;
  const log = createLogger({ level: config.device.log.level, base: { box: config.device.name } });
  const shared = new SharedState(COUNTER_COUNT, data.sharedBuffer);
  const metrics = controlMetrics(data, shared, log);
  const dataplane = new DataplaneClient(data.dataplanePort);

  raiseControlPriority(log);
  const key = Buffer.from(data.key);
  let agent: ControlAgent | null = null;
  const channel = syncChannel(data, key, metrics, log, {
    onBulkComplete: (n) => agent?.bulkComplete(n),
    onBulkIncomplete: (why) => agent?.bulkIncomplete(why),
  });
  // an answer that came after the client gave up: the dataplane did apply it, so count with it
  dataplane.onLateApply = (r) => {
    if (r.ok) attachStats(metrics, r);
  };
  const applyShared = async (next: SharedConfig) => {
    const r = await dataplane.applyShared(next);
    if (!r.ok) throw new Error(r.error);
    agent!.applySharedConfig(next);
    attachStats(metrics, r);
    return { restartRequired: r.restartRequired, sessionsRemoved: r.sessionsRemoved };
  };
  const configSync = new ConfigSync({
    device: config.device,
    configPath: data.configPath,
    record: data.configRecord ?? fileRecord(config.shared, config.device.name, new Date()),
    store: new ConfigStore(config.device.stateDir),
    apply: applyShared,
    metrics,
    log,
    validator: new WorkerValidator(config.device, data.configPath),
  });
  agent = new ControlAgent({ config, key, shared, metrics, log, sync: channel ?? undefined, configSync });
  const api = await startApiServer({
    listen: config.device.api.listen,
    token: Buffer.from(data.token),
    controller: agent,
    config: configSync,
    metrics,
    log,
    dataplaneStatus: () => dataplane.status(),
    sessions: (filter, limit) => dataplane.sessions(filter, limit),
    rateLimit: config.device.api.rateLimit,
    ...(config.device.api.tls ? { tls: config.device.api.tls } : {}),
  });
  const metricsServer = await startMetricsServer(config.device.metrics.listen, metrics);
  // the agent's heartbeats start last: listener setup and module loading above would otherwise
  // stall its first ticks past a 20 ms dead interval (seen as a "frozen" box at start)
  await channel?.start();
  await agent.start();
  log.info({ api: config.device.api.listen, metrics: config.device.metrics.listen }, 'control plane running');

  port.on('message', (msg: ControlWorkerRequest) => {
    if (msg?.type !== 'stop') return;
    void (async () => {
      await agent.stop(msg.reason);
      await Promise.allSettled([api.close(), metricsServer.close(), channel?.stop()]);
      port.postMessage({ type: 'stopped' } satisfies ControlWorkerReply);
    })();
  });
  port.postMessage({ type: 'ready' } satisfies ControlWorkerReply);
}

/** The metrics of this box, reading the dataplane's counters and (when shared) its firewall stats. */
function controlMetrics(data: ControlWorkerData, shared: SharedState, log: Logger): Metrics {
  const config = data.config;
  const metrics = new Metrics();
  metrics.attachDataplane(shared, Object.keys(config.device.interfaces).sort());
  if (data.firewallBuffer) {
    const ruleNames = data.ruleNames ?? config.shared.policy.rules.map((r) => r.name);
    const natRuleNames = data.natRuleNames ?? config.shared.nat.map((r) => r.name);
    try {
      metrics.attachFirewall(new FirewallStats(ruleNames.length, natRuleNames.length, data.firewallBuffer), ruleNames, natRuleNames);
    } catch (err) {
      // a layout that does not fit the rule names is a bug, but not one worth the HA role: the
      // control plane runs on without the firewall series
      log.error({ err }, 'firewall stats not exported');
    }
  }
  return metrics;
}

/** After an apply: the metrics follow the dataplane's new FirewallStats (the rules may be re-numbered). */
function attachStats(metrics: Metrics, r: { firewallBuffer: SharedArrayBuffer | null; ruleNames: string[]; natRuleNames: string[] }): void {
  if (r.firewallBuffer) metrics.attachFirewall(new FirewallStats(r.ruleNames.length, r.natRuleNames.length, r.firewallBuffer), r.ruleNames, r.natRuleNames);
}

/** HA2 session replication over the rings shared with the dataplane; null without rings or an HA2 link. */
function syncChannel(
  data: ControlWorkerData,
  key: Buffer,
  metrics: Metrics,
  log: Logger,
  on: { onBulkComplete: (n: number) => void; onBulkIncomplete: (why: string) => void },
): SyncChannel | null {
  const config = data.config;
  const ha2 = config.device.ha.ha2;
  if (!data.sync || !ha2) return null;
  return new SyncChannel({
    deviceId: config.device.id,
    groupId: config.shared.ha.groupId,
    key,
    link: { local: ha2.local, peer: ha2.peer, port: ha2.port },
    out: new RecordRing(data.sync.capacity, data.sync.out),
    in: new RecordRing(data.sync.capacity, data.sync.in),
    metrics,
    log: log.child({ component: 'sync' }),
    ...on,
    // the status shows each direction of HA2 on its own (the role 'both' is the HA core's)
    activeActive: config.shared.ha.mode === 'active-active',
  });
}

/**
 * The control plane's heartbeats must keep their schedule on a busy box: a saturated dataplane
 * and a traffic generator on two cores delayed this thread past the lease (measured in
 * bench/dataplane), even at nice -10. Like keepalived (vrrp_rt_priority), the control thread asks
 * for round-robin real-time scheduling; the kernel's RT throttling (sched_rt_runtime_us) keeps a
 * runaway thread from taking the whole CPU. Only this thread: sched_setscheduler and setpriority
 * apply to the thread whose id is given (/proc/thread-self is this worker's).
 */
function raiseControlPriority(log: Logger): void {
  let tid = '';
  try {
    tid = basename(readlinkSync('/proc/thread-self'));
    // --reset-on-fork: threads and processes started from this thread (the config validator, the
    // ICMP prober, `ip monitor`, libuv's pool) must not inherit real-time priority. They did, and a
    // box starting up then ran its module loading at RT priority on both cores, round-robin with
    // the peer's control thread: 20-40 ms stalls there, a false "frozen" (measured in the lab).
    execFileSync('chrt', ['--rr', '--reset-on-fork', '-p', String(CONTROL_THREAD_RT_PRIORITY), tid], { stdio: 'ignore', timeout: 2000 });
    log.info({ tid, policy: 'SCHED_RR', priority: CONTROL_THREAD_RT_PRIORITY }, 'control thread runs with real-time priority');
    return;
  } catch (err) {
    log.warn({ tid, err: (err as Error).message }, 'cannot give the control thread real-time priority (chrt, CAP_SYS_NICE); trying nice');
  }
  try {
    setPriority(0, CONTROL_THREAD_NICE);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot raise the control thread priority (needs CAP_SYS_NICE): heartbeats may be delayed under load');
  }
}

await main();
