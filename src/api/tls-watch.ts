// Certificate renewal without a restart: the API's TLS files are polled (fs.watchFile: stat follows
// symlinks and sees a new inode, so certbot's symlink swaps and `mv new.crt api.crt` are seen as
// well as writes in place), and once they have been quiet for a moment the new set is read,
// checked (tls-context.ts planReload) and handed to the server for new connections. Connections
// already open keep the context they were made with.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Server } from 'node:https';
import type { ApiTlsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { DEVICE_API_TLS, planReload, readTlsFiles, TlsFileError, type ReloadState, type TlsFiles, type TlsMaterial } from './tls-context.js';

/** What a TLS listener reports (the box's Metrics; tandem central's own). */
export interface TlsMetrics {
  apiTlsReload(result: 'ok' | 'failed'): void;
  setApiTlsCertExpiry(notAfter: Date): void;
}

export interface TlsWatchOptions {
  /** Stat poll interval per file (default 2000 ms). */
  intervalMs?: number;
  /**
   * Quiet time after the last change before reading (default 500 ms): a renewal writes the
   * certificate and the key one after the other, and the pair in between does not match.
   */
  settleMs?: number;
  /** Where the files are named in the config, for errors (default device.api.tls). */
  where?: string;
}

export const DEFAULT_TLS_POLL_MS = 2000;
export const DEFAULT_TLS_SETTLE_MS = 500;

/** Log lines and metrics of the certificate now served (at start and after each reload). */
export function reportServed(material: TlsMaterial, file: string, log: Logger, metrics: TlsMetrics, how: 'loaded' | 'reloaded'): void {
  metrics.setApiTlsCertExpiry(material.notAfter);
  const days = Math.floor((material.notAfter.getTime() - Date.now()) / 86_400_000);
  const fields = { certFile: file, subject: material.subject, serial: material.serial, notAfter: material.notAfter.toISOString(), daysLeft: days };
  if (days < 0) log.error(fields, `API TLS certificate ${how}: it has EXPIRED`);
  else if (days < 14) log.warn(fields, `API TLS certificate ${how}: it expires in ${days} days`);
  else log.info(fields, `API TLS certificate ${how}`);
}

/** Starts watching; returns the function that stops it. */
export function watchTlsFiles(
  cfg: ApiTlsConfig,
  served: TlsMaterial,
  server: Server,
  deps: { log: Logger; metrics: TlsMetrics },
  opts: TlsWatchOptions = {},
): () => void {
  const where = opts.where ?? DEVICE_API_TLS;
  const state: ReloadState = { served, lastFailure: null };
  const settleMs = opts.settleMs ?? DEFAULT_TLS_SETTLE_MS;
  let timer: NodeJS.Timeout | null = null;
  const reload = (): void => {
    timer = null;
    try {
      applyPlan(cfg, state, readOrError(cfg, where), server, deps, where);
    } catch (err) {
      // a timer callback's throw would take the control thread down: a reload is never worth that
      deps.metrics.apiTlsReload('failed');
      deps.log.error({ err }, 'API TLS reload failed: the previous certificate keeps serving');
    }
  };
  const onChange = (curr: Stats, prev: Stats): void => {
    // watchFile also calls back when nothing but the access time moved
    if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size && curr.ctimeMs === prev.ctimeMs) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, settleMs);
    timer.unref();
  };
  const files = [cfg.certFile, cfg.keyFile, ...(cfg.clientCaFile === undefined ? [] : [cfg.clientCaFile])];
  // persistent: false: the watchers never keep the process alive on their own
  for (const f of new Set(files)) watchFile(f, { interval: opts.intervalMs ?? DEFAULT_TLS_POLL_MS, persistent: false }, onChange);
  return () => {
    if (timer) clearTimeout(timer);
    for (const f of new Set(files)) unwatchFile(f, onChange);
  };
}

function readOrError(cfg: ApiTlsConfig, where: string): TlsFiles | TlsFileError {
  try {
    return readTlsFiles(cfg, where);
  } catch (err) {
    if (err instanceof TlsFileError) return err;
    throw err;
  }
}

function applyPlan(
  cfg: ApiTlsConfig,
  state: ReloadState,
  next: TlsFiles | TlsFileError,
  server: Server,
  { log, metrics }: { log: Logger; metrics: TlsMetrics },
  where: string,
): void {
  const plan = planReload(cfg, state, next, where);
  if (plan.action === 'keep') return;
  if (plan.action === 'reject') {
    state.lastFailure = plan.failure;
    metrics.apiTlsReload('failed');
    log.error(
      { file: plan.error.file, key: `${where}.${plan.error.role}`, err: plan.error.message },
      'API TLS reload failed: the previous certificate keeps serving',
    );
    return;
  }
  server.setSecureContext(plan.material.options);
  state.served = plan.material;
  state.lastFailure = null;
  metrics.apiTlsReload('ok');
  reportServed(plan.material, cfg.certFile, log, metrics, 'reloaded');
}
