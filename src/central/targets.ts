// The members to poll, each with its client: the box API client with the member's token, its TLS
// files and central's poll timeout. A TLS file the client cannot use is a ConfigError naming the
// inventory key, all of them at once, before central starts.
import { ApiClient, ApiError } from '../api/client.js';
import type { PushClient } from './push.js';
import { ConfigError } from '../config/errors.js';
import type { ConfigIssue } from '../config/types.js';
import type { Inventory, MemberEntry } from './inventory.js';
import { memberSource, type PollTarget, type StatusSource } from './poller.js';
import { memberKey, type InventorySecrets } from './secrets.js';

/** Builds one member's client (tests replace it with a canned source). */
export type SourceFactory = (pair: string, member: MemberEntry, token: Buffer, timeoutMs: number) => StatusSource;

export const boxApiSource: SourceFactory = (_pair, m, token, timeoutMs) => memberSource(m.api, token, timeoutMs, memberTransport(m));

/** A member's TLS files and relay socket, as the API client takes them. */
function memberTransport(m: MemberEntry): { caFile?: string; certFile?: string; keyFile?: string; socketPath?: string } {
  return {
    ...(m.caFile !== undefined ? { caFile: m.caFile } : {}),
    ...(m.certFile !== undefined ? { certFile: m.certFile } : {}),
    ...(m.keyFile !== undefined ? { keyFile: m.keyFile } : {}),
    ...(m.socket !== undefined ? { socketPath: m.socket } : {}),
  };
}

/** A push waits for a commit, which waits for the peer's acknowledgement (up to 8 s on the box). */
export const PUSH_TIMEOUT_MS = 15_000;

/** One member's client for pushes (push.ts): the box API client, with the push's longer timeout. */
export type PushClientFactory = (pair: string, member: MemberEntry, token: Buffer) => PushClient;

export const boxApiPushClient: PushClientFactory = (_pair, m, token) => new ApiClient({ url: m.api, token, timeoutMs: PUSH_TIMEOUT_MS, ...memberTransport(m) });

export function pollTargets(inv: Inventory, secrets: InventorySecrets, source: SourceFactory, configPath: string): PollTarget[] {
  const issues: ConfigIssue[] = [];
  const targets: PollTarget[] = [];
  inv.pairs.forEach((p, i) =>
    p.members.forEach((m, j) => {
      try {
        targets.push({ pair: p.name, member: m.name, source: source(p.name, m, secrets.members.get(memberKey(p.name, m.name))!, inv.pollTimeoutMs) });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // the client names the file in its message; the key is ours
        const key = err.code === 'bad-tls-file' ? 'caFile' : 'api';
        issues.push({
          path: `pairs[${i}].members[${j}].${key}`,
          value: key === 'api' ? m.api : m.caFile,
          expected: `what the API client can use (${err.message})`,
        });
      }
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues, configPath);
  return targets;
}
