// The one clock of the control, sync and data planes: CLOCK_MONOTONIC in milliseconds, the same
// in every thread of the process (timers and leases are compared across threads).

/** Milliseconds on the process-wide monotonic clock (CLOCK_MONOTONIC, the same in every thread). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * A cheaper monotonicMs for the per-frame path: performance.now() does not allocate a BigInt.
 * Each thread calibrates its own offset once, since each thread has its own timeOrigin.
 */
export function makeFastMonotonicMs(): () => number {
  const offset = monotonicMs() - performance.now();
  return () => performance.now() + offset;
}
