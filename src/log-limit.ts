// One line per key per interval: a refused message, a full buffer or a bad frame can repeat
// thousands of times a second (a flood, a link coming back), and the log must stay readable while
// the counters (never limited) keep the exact figure. The first occurrence is logged at once; the
// next one logged says how many were held back in between.
import { monotonicMs } from './clock.js';

export class LogLimiter {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  /**
   * Whether a line for `key` may be logged now: null when it is held back (and counted), else
   * how many were held back since the last line for this key.
   */
  allow(key: string): { suppressed: number } | null {
    const now = this.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last.atMs < this.everyMs) {
      last.suppressed++;
      return null;
    }
    this.last.set(key, { atMs: now, suppressed: 0 });
    return { suppressed: last?.suppressed ?? 0 };
  }
}
