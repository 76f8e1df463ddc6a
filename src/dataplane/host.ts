// Runs the dataplane in the calling thread and speaks the dataplane protocol over a message port:
//   -> {type:'ready', interfaces:[{name, device, mac, virtualMac}]}  or  {type:'fatal', error}
//   <- {type:'status-request', id}   -> {type:'status', id, data: DataplaneStatus}
//   <- {type:'apply-shared', id, shared} -> {type:'applied', id, result: ApplyResult} (see apply.ts)
//   <- {type:'stop'}                 -> {type:'stopped'}; handles closed, port closed
//
// WHERE IT MUST RUN: with the `pcap` backend (io-pcap.ts), cap 0.2.1 registers its libpcap poll handle on uv_default_loop()
// (binding.cc, Open: uv_poll_init(uv_default_loop(), ...)), the MAIN thread's loop, whatever thread
// opened it. Opened in a worker, the first received frame is dispatched on the main thread into the
// worker's isolate and the process aborts ("Cannot create a handle without a HandleScope",
// measured). So the dataplane runs on the main thread of its process (startDataplaneInThisThread),
// and the control agent, which must keep its schedule anyway, runs in a worker thread. The `ring`
// backend (io-ring.ts) loads in any thread; the dataplane stays where both backends work.
//
// Role, lease and GARP requests are read from the SharedState on every frame and on a ~2 ms idle
// tick, never from messages: under load the cap binding starves the event loop, so messages and
// timers here may wait (DESIGN.md "The `cap` binding").
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { SharedConfig, TandemConfig } from '../config/types.js';
import type { ApplyResult } from './apply.js';
import { createLogger } from '../log.js';
import { COUNTER_COUNT } from '../wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from './engine.js';
import { CapIo } from './io-pcap.js';
import { RingIo } from './io-ring.js';
import { makeFastMonotonicMs } from '../clock.js';
import { SharedState } from '../wire/shared-state.js';
import { FirewallStats } from '../wire/firewall-stats.js';
import type { SessionFilter } from '../wire/session-view.js';
import { randomInt } from 'node:crypto';
import { RecordRing } from '../wire/record-ring.js';
import { getHeapStatistics } from 'node:v8';

export interface DataplaneStartData {
  config: TandemConfig;
  sharedBuffer: SharedArrayBuffer;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** The stateful firewall (sessions, policy, NAT) is on unless this is false (routing-only tests). */
  firewall?: boolean;
  /** FirewallStats layout shared with the metrics (see src/wire/firewall-stats.ts). */
  firewallBuffer?: SharedArrayBuffer;
  /** HA2 rings shared with the control worker (src/wire/record-ring.ts): our changes out, the peer's in. */
  sync?: { out: SharedArrayBuffer; in: SharedArrayBuffer; capacity: number };
  /** The HA key: active/active authenticates HA3 frames with it (unused in active/passive). */
  haKey?: Buffer;
}

/** What the control worker asks of the dataplane (its client is src/daemon/dataplane-client.ts). */
export type DataplaneQuery = { type: 'status-request'; id: number } | { type: 'sessions-request'; id: number; filter: SessionFilter; limit: number };

/** Not a query (it changes the dataplane), so not in DataplaneQuery. */
export type ApplySharedRequest = { type: 'apply-shared'; id: number; shared: SharedConfig };

export type DataplaneRequest = DataplaneQuery | ApplySharedRequest | { type: 'stop' };

/** The end of a port the dataplane talks through (a MessagePort or a worker's parentPort). */
export interface DataplanePort {
  postMessage(msg: unknown): void;
  on(event: 'message', listener: (msg: DataplaneRequest) => void): unknown;
  close(): void;
}

/** Idle tick for GARP bursts and ARP retries (~2 ms: GARP intervals are tens of ms). */
export const TICK_MS = 2;

/**
 * Starts the engine on this thread and serves `port`. Returns the engine, or null after posting
 * 'fatal'. `io` is injectable for tests; by default cap.
 */
export function runDataplane(data: DataplaneStartData, port: DataplanePort, io: DataplaneIo = ioFor(data.config), onStopped?: () => void): Engine | null {
  const log = createLogger({ level: data.logLevel ?? 'info', name: 'dataplane' });
  const shared = new SharedState(COUNTER_COUNT, data.sharedBuffer);

  const clock = makeFastMonotonicMs();
  let engine: Engine;
  try {
    const shared_ = data.config.shared;
    const stats = data.firewallBuffer ? new FirewallStats(shared_.policy.rules.length, shared_.nat.length, data.firewallBuffer) : null;
    const sync = data.sync ? { out: new RecordRing(data.sync.capacity, data.sync.out), in: new RecordRing(data.sync.capacity, data.sync.in) } : undefined;
    engine = new Engine(
      data.config,
      shared,
      io,
      clock,
      log,
      data.firewall === false ? {} : { firewall: { shared: shared_, stats, seed: randomInt(0x7fffffff) }, sync, ha3: ha3Of(data) },
    );
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.error({ err }, 'dataplane failed to start');
    port.postMessage({ type: 'fatal', error });
    port.close();
    return null;
  }

  const timer = setInterval(() => engine.tick(), TICK_MS);
  const interfaces = engine
    .status()
    .interfaces.map((i) => ({ name: i.name, device: i.device, ...(i.vlan !== null ? { vlan: i.vlan } : {}), mac: i.mac, virtualMac: i.virtualMac }));
  log.info({ interfaces }, 'dataplane ready');
  port.postMessage({ type: 'ready', interfaces });

  port.on('message', (msg: DataplaneRequest) => {
    if (msg?.type === 'status-request') {
      // this thread's own heap and external memory (the control worker's are in its metrics): soak runs watch both
      const heap = getHeapStatistics();
      port.postMessage({ type: 'status', id: msg.id, data: { ...engine.status(), heapUsedBytes: heap.used_heap_size, externalBytes: heap.external_memory } });
    } else if (msg?.type === 'sessions-request') {
      const fw = engine.pipeline.firewall;
      try {
        const data = fw ? fw.sessions(msg.filter, msg.limit, clock()) : { total: 0, matched: 0, sessions: [], truncated: false };
        port.postMessage({ type: 'sessions', id: msg.id, data });
      } catch (err) {
        port.postMessage({ type: 'sessions', id: msg.id, error: err instanceof Error ? err.message : String(err) });
      }
    } else if (msg?.type === 'apply-shared') {
      port.postMessage({ type: 'applied', id: msg.id, result: applyShared(engine, msg.shared) });
    } else if (msg?.type === 'stop') {
      clearInterval(timer);
      engine.stop();
      log.info('dataplane stopped');
      port.postMessage({ type: 'stopped' });
      port.close();
      onStopped?.();
    }
  });
  return engine;
}

/**
 * HA3's key and epoch: this run's start time in ms, as HA1's epoch is (control/agent.ts), so the
 * peer takes a restart for a newer sender and starts its replay window again.
 */
function ha3Of(data: DataplaneStartData): { key: Buffer; epochMs: number } | undefined {
  return data.haKey === undefined ? undefined : { key: data.haKey, epochMs: Date.now() };
}

/** The frame I/O backend the config asks for (device.dataplane.io). */
export function ioFor(config: TandemConfig): DataplaneIo {
  const dp = config.device.dataplane;
  if (dp?.io === 'pcap') return new CapIo();
  return new RingIo(dp?.ring ? { version: dp.ring.version, blockTimeoutMs: dp.ring.blockTimeoutMs, txThread: dp.ring.txThread } : {});
}

/** A commit's shared half, applied; whatever the message holds, the answer is an ApplyResult. */
function applyShared(engine: Engine, shared: unknown): ApplyResult {
  if (shared === null || typeof shared !== 'object' || Array.isArray(shared)) {
    return { ok: false, error: `apply-shared needs the shared half of a config as an object, got ${shared === null ? 'null' : typeof shared}` };
  }
  try {
    return engine.applyShared(shared as SharedConfig);
  } catch (err) {
    // applyShared catches what compiling throws; this is for a shape it did not expect
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Runs the dataplane on the calling thread (which must be the process's main thread, see the
 * header) and returns the controlling end of its port: postMessage({type:'status-request', id}),
 * on('message', ...), exactly as with a worker. The engine starts at once; 'ready' or 'fatal' is
 * the first message.
 */
export function startDataplaneInThisThread(data: DataplaneStartData, io?: DataplaneIo): MessagePort {
  const { port1, port2 } = new MessageChannel();
  runDataplane(data, port1, io);
  return port2;
}
