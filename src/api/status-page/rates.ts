// Per-second rates from two samples of GET /v1/counters. Browser code: no imports but types.
import type { CountersResponse, StatusResponse } from '../protocol.js';
import type { ActiveActiveStatus } from '../../wire/pair-status.js';

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

/** Active/active: HA3 bytes per second each way. */
export interface Ha3ByteRates {
  txPerS: number;
  rxPerS: number;
}

/** The HA3 byte counters of a status answer (dataplane.activeActive.ha3), or null. */
function ha3Bytes(s: StatusResponse | null): { tx: number; rx: number } | null {
  const ha3 = (s?.dataplane as { activeActive?: Partial<ActiveActiveStatus> } | undefined)?.activeActive?.ha3;
  return typeof ha3?.tx?.bytes === 'number' && typeof ha3.rx?.bytes === 'number' ? { tx: ha3.tx.bytes, rx: ha3.rx.bytes } : null;
}

/**
 * HA3 bytes per second between two status answers `intervalS` apart (the counters route carries
 * frames, not bytes); null without an earlier answer, without HA3, or across a restart.
 */
export function computeHa3ByteRates(prev: StatusResponse | null, cur: StatusResponse, intervalS: number): Ha3ByteRates | null {
  const a = ha3Bytes(prev);
  const b = ha3Bytes(cur);
  if (a === null || b === null || !(intervalS > 0) || b.tx < a.tx || b.rx < a.rx) return null;
  return { txPerS: (b.tx - a.tx) / intervalS, rxPerS: (b.rx - a.rx) / intervalS };
}
