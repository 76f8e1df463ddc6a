// `tandem run`: wires the planes of one box. The dataplane runs on this (main) thread, because the
// `cap` binding only works there; the control agent, API and metrics run in a worker thread so
// that a saturated packet path cannot delay a heartbeat. Both share one SharedArrayBuffer (role,
// lease, GARP requests, counters).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { loadConfig } from '../config/load.js';
import { resolveRunningConfig } from '../config/running.js';
import { ConfigStore } from '../config/store.js';
import { createLogger, type Logger } from '../log.js';
import { loadSecretFile } from '../wire/keyfile.js';
import { readTlsFiles, tlsMaterial } from '../api/tls-context.js';
import { ROLE_PASSIVE, SharedState } from '../wire/shared-state.js';
import { COUNTER_COUNT } from '../wire/dataplane-counters.js';
import { runDataplane } from '../dataplane/host.js';
import { FirewallStats } from '../wire/firewall-stats.js';
import { RecordRing } from '../wire/record-ring.js';
import type { TandemConfig } from '../config/types.js';
import type { ControlWorkerData, ControlWorkerReply } from './control-worker.js';

const CONTROL_READY_TIMEOUT_MS = 15_000;
/** Records per HA2 ring (192 bytes each: 48 MiB): ~3 s of 20,000 new sessions/s with room to spare. */
const SYNC_RING_RECORDS = 1 << 18;
const STOP_GRACE_MS = 3_000;

export async function runDaemon(configPath: string): Promise<void> {
  const fileConfig = loadConfig(configPath);
  const log = createLogger({ level: fileConfig.device.log.level, base: { box: fileConfig.device.name } });
  log.info({ config: configPath, deviceId: fileConfig.device.id }, 'tandem starting');
  checkKernelForwarding(fileConfig, log);

  const key = loadSecretFile(fileConfig.device.ha.keyFile, 'key');
  const token = loadSecretFile(fileConfig.device.api.tokenFile, 'token');
  // checked here too, before any plane starts, so a bad certificate or key is one clear line
  // (the control thread reads them again: it watches them for renewal)
  const tls = fileConfig.device.api.tls;
  if (tls) tlsMaterial(tls, readTlsFiles(tls));
  mkdirSync(fileConfig.device.stateDir, { recursive: true, mode: 0o700 });
  // the shared half last committed (or pushed by the active) wins over the file's
  const running = resolveRunningConfig(fileConfig, new ConfigStore(fileConfig.device.stateDir), log);
  const config = running.config;
  log.info({ version: running.record.version, hash: running.record.hash, origin: running.record.origin }, `running shared config v${running.record.version}`);

  const shared = new SharedState(COUNTER_COUNT);
  const fatal = (why: string): never => {
    // Fail safe: a box that cannot run both planes must not hold the active role. Exiting closes
    // the HA1 sessions, which the peer takes as an immediate failure signal.
    shared.setRole(ROLE_PASSIVE);
    log.fatal({ why }, 'fatal error, exiting');
    process.exit(1);
  };
  process.on('uncaughtException', (err) => fatal(`uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => fatal(`unhandled rejection: ${String(err)}`));

  const firewallStats = new FirewallStats(config.shared.policy.rules.length, config.shared.nat.length);
  // HA2 rings: the dataplane's session changes out to the control worker, the peer's changes in
  const sync = { out: new RecordRing(SYNC_RING_RECORDS).buffer, in: new RecordRing(SYNC_RING_RECORDS).buffer, capacity: SYNC_RING_RECORDS };
  const { port1, port2 } = new MessageChannel();
  const engine = runDataplane(
    { config, sharedBuffer: shared.buffer, logLevel: config.device.log.level, firewallBuffer: firewallStats.buffer, sync, haKey: key },
    port1,
  );
  if (!engine) fatal('the dataplane could not start (see the error above)');

  const workerData: ControlWorkerData = {
    config,
    configPath: resolve(configPath),
    configRecord: running.record,
    sharedBuffer: shared.buffer,
    dataplanePort: port2,
    key,
    token,
    firewallBuffer: firewallStats.buffer,
    sync,
  };
  const control = new Worker(new URL('./control-worker.js', import.meta.url), { workerData, transferList: [port2] });
  let stopping = false;
  control.on('error', (err) => fatal(`control plane failed: ${err.stack ?? err.message}`));
  control.on('exit', (code) => {
    if (!stopping) fatal(`control plane exited (code ${code})`);
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => fatal(`control plane not ready after ${CONTROL_READY_TIMEOUT_MS} ms`), CONTROL_READY_TIMEOUT_MS);
    control.on('message', (msg: ControlWorkerReply) => {
      if (msg.type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  log.info('tandem running');
  notifySystemdReady(log);

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    control.on('message', (msg: ControlWorkerReply) => {
      if (msg.type !== 'stopped') return;
      engine?.stop();
      process.exit(0);
    });
    control.postMessage({ type: 'stop', reason: `shutdown (${signal})` });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * Under systemd (Type=notify, deploy/systemd/tandem.service) the unit is started once both planes
 * run. No native sd_notify binding: systemd-notify does it (hence NotifyAccess=all), and it waits
 * until the service manager has taken the message, so a child that exits at once is not lost.
 */
function notifySystemdReady(log: Logger): void {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', ['--ready'], { timeout: 10_000 }, (err) => {
    if (err) log.warn({ err: err.message }, 'cannot tell systemd that the daemon is ready (systemd-notify); the unit will time out starting');
  });
}

/** The kernel must not forward on traffic interfaces, or it races the dataplane. */
function checkKernelForwarding(config: TandemConfig, log: Logger): void {
  for (const [name, iface] of Object.entries(config.device.interfaces)) {
    try {
      const v = readFileSync(`/proc/sys/net/ipv4/conf/${iface.device}/forwarding`, 'utf8').trim();
      if (v !== '0')
        log.warn({ interface: name, device: iface.device }, 'kernel IPv4 forwarding is on for a traffic interface; turn it off (sysctl net.ipv4.ip_forward=0)');
    } catch {
      log.warn({ interface: name, device: iface.device }, 'traffic interface not found in /proc/sys/net/ipv4/conf');
    }
    try {
      if (readFileSync(`/proc/sys/net/ipv6/conf/${iface.device}/forwarding`, 'utf8').trim() !== '0')
        log.warn(
          { interface: name, device: iface.device },
          'kernel IPv6 forwarding is on for a traffic interface; turn it off (sysctl net.ipv6.conf.all.forwarding=0)',
        );
    } catch {
      // no IPv6 on the device: nothing to race
    }
  }
}
