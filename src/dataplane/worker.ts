// The dataplane worker thread: the only thread of the process that loads `cap`.
// workerData: { config: TandemConfig, sharedBuffer: SharedArrayBuffer, logLevel }.
// Posts  {type:'ready', interfaces:[{name, device, mac, virtualMac}]}  or  {type:'fatal', error}.
// Answers {type:'status-request', id} with {type:'status', id, data: DataplaneStatus};
// {type:'stop'} closes the handles, posts {type:'stopped'} and ends the thread.
//
// Role, lease and GARP requests are read from the SharedState on every frame and on a ~2 ms idle
// tick, never from messages: under load the cap binding starves the event loop, so messages and
// timers here may wait (DESIGN.md "The `cap` binding").
import { parentPort, workerData } from 'node:worker_threads';
import type { TandemConfig } from '../config/types.js';
import { createLogger } from '../log.js';
import { COUNTER_COUNT } from './counters.js';
import { Engine } from './engine.js';
import { CapIo } from './io.js';
import { SharedState, makeFastMonotonicMs } from './shared-state.js';

export interface DataplaneWorkerData {
  config: TandemConfig;
  sharedBuffer: SharedArrayBuffer;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}

export type DataplaneRequest = { type: 'status-request'; id: number } | { type: 'stop' };

/** Idle tick for GARP bursts and ARP retries (~2 ms: GARP intervals are tens of ms). */
const TICK_MS = 2;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('src/dataplane/worker.ts must run as a worker thread');
  const data = workerData as DataplaneWorkerData;
  const log = createLogger({ level: data.logLevel ?? 'info', name: 'dataplane' });
  const shared = new SharedState(COUNTER_COUNT, data.sharedBuffer);

  let engine: Engine;
  try {
    engine = new Engine(data.config, shared, new CapIo(), makeFastMonotonicMs(), log);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.error({ err }, 'dataplane failed to start');
    port.postMessage({ type: 'fatal', error });
    port.close();
    return;
  }

  const timer = setInterval(() => engine.tick(), TICK_MS);
  const interfaces = engine.status().interfaces.map((i) => ({ name: i.name, device: i.device, mac: i.mac, virtualMac: i.virtualMac }));
  log.info({ interfaces }, 'dataplane ready');
  port.postMessage({ type: 'ready', interfaces });

  port.on('message', (msg: DataplaneRequest) => {
    if (msg?.type === 'status-request') {
      port.postMessage({ type: 'status', id: msg.id, data: engine.status() });
    } else if (msg?.type === 'stop') {
      clearInterval(timer);
      engine.stop();
      log.info('dataplane stopped');
      port.postMessage({ type: 'stopped' });
      // Closed cap handles keep a libuv handle alive: end the thread explicitly.
      setImmediate(() => process.exit(0));
    }
  });
}

main();
