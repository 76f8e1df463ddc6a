// `tandem run`: wires the planes of one box. The control agent runs on this (main) thread; the
// dataplane runs in its own worker thread and shares a SharedArrayBuffer with the agent.
import { mkdirSync, readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { createLogger, type Logger } from '../log.js';
import { loadSecretFile } from '../wire/keyfile.js';
import { SharedState } from '../dataplane/shared-state.js';
import { COUNTER_COUNT } from '../dataplane/counters.js';
import { Metrics } from '../metrics/registry.js';
import { startMetricsServer } from '../metrics/server.js';
import { startApiServer } from '../api/server.js';
import { ControlAgent } from '../control/agent.js';
import { DataplaneHost } from './dataplane-host.js';
import type { TandemConfig } from '../config/types.js';

export async function runDaemon(configPath: string): Promise<void> {
  const config = loadConfig(configPath);
  const log = createLogger({ level: config.device.log.level, base: { box: config.device.name } });
  log.info({ config: configPath, deviceId: config.device.id }, 'tandem starting');
  checkKernelForwarding(config, log);

  const key = loadSecretFile(config.device.ha.keyFile, 'key');
  const token = loadSecretFile(config.device.api.tokenFile, 'token');
  mkdirSync(config.device.stateDir, { recursive: true, mode: 0o700 });

  const metrics = new Metrics();
  const shared = new SharedState(COUNTER_COUNT);
  metrics.attachDataplane(shared);

  let agent: ControlAgent | null = null;
  const fatal = (why: string) => {
    // Fail safe: a box that cannot forward must not hold the active role. Exiting closes the HA1
    // sessions, which the peer takes as an immediate failure signal.
    shared.setRole(0);
    log.fatal({ why }, 'fatal error, exiting');
    process.exit(1);
  };
  process.on('uncaughtException', (err) => fatal(`uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => fatal(`unhandled rejection: ${String(err)}`));

  const dataplane = new DataplaneHost(config, shared, log.child({ component: 'dataplane-host' }), fatal);
  await dataplane.start();

  agent = new ControlAgent({ config, key, shared, metrics, log });
  await agent.start();

  const api = await startApiServer({
    listen: config.device.api.listen,
    token,
    controller: agent,
    metrics,
    log: log.child({ component: 'api' }),
    dataplaneStatus: () => dataplane.status(),
  });
  const metricsServer = await startMetricsServer(config.device.metrics.listen, metrics);
  log.info({ api: config.device.api.listen, metrics: config.device.metrics.listen }, 'tandem running');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    await agent?.stop(`shutdown (${signal})`);
    await Promise.allSettled([api.close(), metricsServer.close(), dataplane.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The kernel must not forward on traffic interfaces, or it races the dataplane. */
function checkKernelForwarding(config: TandemConfig, log: Logger): void {
  for (const [name, iface] of Object.entries(config.device.interfaces)) {
    try {
      const v = readFileSync(`/proc/sys/net/ipv4/conf/${iface.device}/forwarding`, 'utf8').trim();
      if (v !== '0') log.warn({ interface: name, device: iface.device }, 'kernel IPv4 forwarding is on for a traffic interface; turn it off (sysctl net.ipv4.ip_forward=0)');
    } catch {
      log.warn({ interface: name, device: iface.device }, 'traffic interface not found in /proc/sys/net/ipv4/conf');
    }
  }
}
