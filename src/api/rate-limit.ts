// The management API's request rate limit: a token bucket per client address plus one global
// bucket, and a bounded table of client buckets. Pure: time is an argument (milliseconds); the
// server answers a refusal with 429 and Retry-After.
//
// Why both: a per-client bucket keeps one noisy script from starving the CLI and the status page;
// the global bucket caps what many addresses together can cost the control thread, which also
// keeps the heartbeats. The client table is bounded (least recently seen forgotten first), so a
// sweep of source addresses cannot grow memory; a forgotten client comes back with a full bucket,
// which the global bucket still caps.

export interface RateLimitOptions {
  /** Sustained requests per second one client address may make. */
  perClientPerS: number;
  /** Requests one client may make back to back after being idle (the bucket's size). */
  perClientBurst: number;
  /** Sustained requests per second all clients together may make. */
  globalPerS: number;
  /** Requests all clients together may make back to back. */
  globalBurst: number;
  /** Client addresses tracked at once; past it the least recently seen one is forgotten. */
  maxClients: number;
}

/**
 * The status page polls two routes once per second (20 a second at its shortest interval), the
 * CLI makes a handful per command, the lab demo asks every 500 ms, and the lab's own waits
 * (Lab.waitFor) poll every 20 ms, sometimes two calls at a time: 100/s per address with a burst of
 * 200 is above all of them, and still a bound on what one looping script costs the control thread
 * (which also keeps the heartbeats). The global bucket caps many addresses together.
 */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  perClientPerS: 100,
  perClientBurst: 200,
  globalPerS: 1000,
  globalBurst: 2000,
  maxClients: 4096,
};

export type RateScope = 'client' | 'global';
export type RateDecision = { ok: true } | { ok: false; scope: RateScope; retryAfterS: number };

/** A token bucket: `burst` tokens at most, refilled at `perS` tokens per second. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly perS: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(perS > 0) || !(burst >= 1)) throw new RangeError(`TokenBucket: perS must be > 0 and burst >= 1 (got ${perS}, ${burst})`);
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Tokens available at `nowMs` (refills first; a clock going backwards refills nothing). */
  available(nowMs: number): number {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.perS) / 1000);
      this.lastMs = nowMs;
    }
    return this.tokens;
  }

  /** Call after available() >= 1. */
  take(): void {
    this.tokens -= 1;
  }

  /** Whole seconds until one token is there (at least 1: Retry-After counts seconds). */
  retryAfterS(nowMs: number): number {
    const missing = 1 - this.available(nowMs);
    return Math.max(1, Math.ceil(missing / this.perS));
  }
}

export class RateLimiter {
  readonly opts: RateLimitOptions;
  private readonly global: TokenBucket;
  /** Insertion order is recency order: a hit moves its client to the end. */
  private readonly clients = new Map<string, TokenBucket>();
  /** Clients forgotten because the table was full. */
  evicted = 0;

  constructor(opts: Partial<RateLimitOptions> = {}, nowMs = 0) {
    this.opts = { ...DEFAULT_RATE_LIMIT, ...opts };
    if (!Number.isInteger(this.opts.maxClients) || this.opts.maxClients < 1) {
      throw new RangeError(`RateLimiter: maxClients must be a positive integer (got ${this.opts.maxClients})`);
    }
    this.global = new TokenBucket(this.opts.globalPerS, this.opts.globalBurst, nowMs);
  }

  /** Client buckets held (never more than maxClients). */
  get size(): number {
    return this.clients.size;
  }

  /**
   * One request from `client` at `nowMs`: allowed (a token taken from both buckets) or refused
   * (nothing taken, so a refused client does not also drain the global bucket for others).
   */
  check(client: string, nowMs: number): RateDecision {
    let bucket = this.clients.get(client);
    if (bucket === undefined) {
      if (this.clients.size >= this.opts.maxClients) {
        const oldest = this.clients.keys().next().value as string;
        this.clients.delete(oldest);
        this.evicted++;
      }
      bucket = new TokenBucket(this.opts.perClientPerS, this.opts.perClientBurst, nowMs);
    } else {
      this.clients.delete(client);
    }
    this.clients.set(client, bucket);
    if (bucket.available(nowMs) < 1) return { ok: false, scope: 'client', retryAfterS: bucket.retryAfterS(nowMs) };
    if (this.global.available(nowMs) < 1) return { ok: false, scope: 'global', retryAfterS: this.global.retryAfterS(nowMs) };
    bucket.take();
    this.global.take();
    return { ok: true };
  }
}
