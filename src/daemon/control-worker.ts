// The control plane's thread: the HA1 agent, the management API and the metrics listener. It
// lives apart from the dataplane (on the main thread, where `cap` must run) so that a saturated
// packet path, which starves its own event loop, cannot delay a heartbeat or an API answer.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { TandemConfig } from '../config/types.js';
import { createLogger } from '../log.js';
import { SharedState } from '../dataplane/shared-state.js';
import { COUNTER_COUNT } from '../dataplane/counters.js';
import { Metrics } from '../metrics/registry.js';
import { startMetricsServer } from '../metrics/server.js';
import { startApiServer } from '../api/server.js';
import { ControlAgent } from '../control/agent.js';
import { DataplaneClient } from './dataplane-client.js';

export interface ControlWorkerData {
  config: TandemConfig;
  sharedBuffer: SharedArrayBuffer;
  dataplanePort: MessagePort;
  key: Uint8Array;
  token: Uint8Array;
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
  const metrics = new Metrics();
  metrics.attachDataplane(shared);
  const dataplane = new DataplaneClient(data.dataplanePort);

  const agent = new ControlAgent({ config, key: Buffer.from(data.key), shared, metrics, log });
  await agent.start();
  const api = await startApiServer({
    listen: config.device.api.listen,
    token: Buffer.from(data.token),
    controller: agent,
    metrics,
    log,
    dataplaneStatus: () => dataplane.status(),
  });
  const metricsServer = await startMetricsServer(config.device.metrics.listen, metrics);
  log.info({ api: config.device.api.listen, metrics: config.device.metrics.listen }, 'control plane running');

  port.on('message', (msg: ControlWorkerRequest) => {
    if (msg?.type !== 'stop') return;
    void (async () => {
      await agent.stop(msg.reason);
      await Promise.allSettled([api.close(), metricsServer.close()]);
      port.postMessage({ type: 'stopped' } satisfies ControlWorkerReply);
    })();
  });
  port.postMessage({ type: 'ready' } satisfies ControlWorkerReply);
}

await main();
