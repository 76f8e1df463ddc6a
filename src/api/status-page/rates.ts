// Per-second rates from two samples of GET /v1/counters. Browser code: no imports but types.
import type { CountersResponse } from '../protocol.js';

export interface Rates {
  /** Seconds between the two samples, by the daemon's own monotonic clock. */
  intervalS: number;
  packets: Record<string, number>;
  drops: Record<string, number>;
}

/**
 * null when there is no earlier sample, no time passed, or the daemon restarted in between (its
 * clock or any counter went backwards): a rate across a restart would be a negative spike.
 */
export function computeRates(prev: CountersResponse | null, cur: CountersResponse): Rates | null {
  if (!prev) return null;
  const intervalS = (cur.sampledAtMs - prev.sampledAtMs) / 1000;
  if (!(intervalS > 0)) return null;
  const per = (a: Record<string, number>, b: Record<string, number>): Record<string, number> | null => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(b)) {
      const before = a[k] ?? 0;
      if (v < before) return null;
      out[k] = (v - before) / intervalS;
    }
    return out;
  };
  const packets = per(prev.packets, cur.packets);
  const drops = per(prev.drops, cur.drops);
  if (!packets || !drops) return null;
  return { intervalS, packets, drops };
}
