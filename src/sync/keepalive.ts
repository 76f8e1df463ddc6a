// HA2's own liveness check, pure. A pulled HA2 cable sends no FIN: TCP would sit "established" for
// minutes. So each side says something at least every HA2_KEEPALIVE_MS (an ack, which the peer
// takes as a no-op when nothing is new), and a connection silent for HA2_DEAD_MS is dropped and
// redialled (then resynced).

export const HA2_KEEPALIVE_MS = 500;
export const HA2_DEAD_MS = 2_000;

/** What a connection needs at `now`: to be dropped (the peer went silent), a keepalive, or nothing. */
export function keepaliveDue(now: number, lastRxMs: number, lastTxMs: number): 'drop' | 'keepalive' | null {
  if (now - lastRxMs > HA2_DEAD_MS) return 'drop';
  if (now - lastTxMs > HA2_KEEPALIVE_MS) return 'keepalive';
  return null;
}
