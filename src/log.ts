// One pino logger per process; components take a child with their name. JSON to stdout, which
// the lab and systemd capture.
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: Level; name?: string; base?: Record<string, unknown> } = {}): Logger {
  return pino({
    level: opts.level ?? 'info',
    name: opts.name ?? 'tandem',
    base: { pid: process.pid, ...(opts.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
