// Polls every member on its own timer, through the box API client (GET /v1/status), each call
// bounded by its own timeout. Members never wait for each other (no Promise.all across them): a
// member that hangs or answers garbage delays only its own next poll. The next poll of a member
// starts one interval after the previous one started (or at once if that one took longer), so
// polls of one member never overlap. The members' first polls are spread over one interval.
import { ApiClient, ApiError, type ApiTlsFiles } from '../api/client.js';
import type { PollResult } from './member-record.js';
import type { PollOutcome } from './protocol.js';
import { summarizeStatus } from './status-shape.js';

export interface StatusSource {
  status(): Promise<unknown>;
}

export interface PollTarget {
  pair: string;
  member: string;
  source: StatusSource;
}

export interface PollerOptions {
  intervalMs: number;
  now?: () => number;
  /** A failure of onResult (the store, say): reported, and the member is polled on regardless. */
  onError?: (t: PollTarget, err: unknown) => void;
}

export interface Poller {
  stop(): void;
}

/**
 * A member's client: the box API client with the member's token, TLS files and central's poll
 * timeout. Reads the TLS files now: an unusable one is an ApiError 'bad-tls-file'.
 */
export function memberSource(api: string, token: Buffer, timeoutMs: number, tls: ApiTlsFiles & { socketPath?: string } = {}): StatusSource {
  return new ApiClient({ url: api, token, timeoutMs, ...tls });
}

export function startPolling(targets: readonly PollTarget[], opts: PollerOptions, onResult: (t: PollTarget, r: PollResult) => void): Poller {
  const now = opts.now ?? Date.now;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const schedule = (t: PollTarget, delayMs: number): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      void pollOnce(t, now).then((r) => {
        if (stopped) return;
        try {
          onResult(t, r);
        } catch (err) {
          opts.onError?.(t, err);
        }
        schedule(t, Math.max(0, opts.intervalMs - (now() - r.atMs)));
      });
    }, delayMs);
    timers.add(timer);
  };
  // first polls spread over one interval, so a large inventory's requests never leave in one burst
  targets.forEach((t, i) => schedule(t, Math.floor((i * opts.intervalMs) / targets.length)));
  return {
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** One poll; never rejects: every failure is a PollResult with its outcome. `atMs`: when it started. */
export async function pollOnce(t: PollTarget, now: () => number = Date.now): Promise<PollResult> {
  const atMs = now();
  let raw: unknown;
  try {
    raw = await t.source.status();
  } catch (err) {
    return { atMs, outcome: outcomeOf(err), message: err instanceof Error ? err.message : String(err) };
  }
  const shape = summarizeStatus(raw);
  if (!shape.ok) return { atMs, outcome: 'bad-response', message: shape.why };
  return { atMs, outcome: 'ok', summary: shape.summary };
}

function outcomeOf(err: unknown): PollOutcome {
  if (!(err instanceof ApiError)) return 'bad-response';
  if (err.status === 401 || err.code === 'unauthorized') return 'unauthorized';
  if (err.status === 0 && (err.code === 'timeout' || err.code === 'unreachable')) return err.code;
  // no answer to trust: its certificate does not verify, or it refused ours (the message says which)
  if (err.code === 'tls') return 'unreachable';
  // an answer, but not a status: a 5xx, a proxy's page, a rate limit
  return 'bad-response';
}
