// /v1/config (GET: the running shared config), /v1/config/peer (GET: the peer's, over HA1),
// /v1/config/commit and /v1/config/validate (POST { text, source? }: a whole config file). Each
// failure of the config sync maps to its own status: an invalid file 422 with every issue, a
// refusal 409, a peer that cannot be asked 503/504.
import { ConfigError } from '../../config/errors.js';
import {
  CommitRefused,
  ConfigApplyError,
  PeerConfigUnavailable,
  type CommitResult,
  type ConfigRecordView,
  type ConfigSyncStatus,
  type ValidateResult,
} from '../../control/config-sync.js';
import {
  ROUTE_CONFIG,
  ROUTE_CONFIG_COMMIT,
  ROUTE_CONFIG_PEER,
  ROUTE_CONFIG_VALIDATE,
  type CommitResponse,
  type ConfigResponse,
  type PeerConfigResponse,
  type ValidateResponse,
} from '../protocol.js';
import { HttpError, bigBody, type RouteTable } from './route.js';

/** The shared-config operations the API serves (src/control/config-sync.ts implements them). */
export interface ConfigApi {
  status(): ConfigSyncStatus;
  running(): ConfigRecordView;
  fetchPeer(): Promise<ConfigRecordView>;
  commit(text: string, source: string): Promise<CommitResult>;
  validate(text: string, source: string): Promise<ValidateResult>;
}

/** Without `config` (a daemon that does not sync its config) every route answers 503. */
export function configRoutes(config: ConfigApi | undefined): RouteTable {
  const api = (): ConfigApi => {
    if (!config) throw new HttpError(503, 'unavailable', 'this daemon does not serve its config');
    return config;
  };
  return {
    [ROUTE_CONFIG]: { GET: async (): Promise<ConfigResponse> => ({ ...api().status(), shared: api().running().shared }) },
    [ROUTE_CONFIG_PEER]: {
      GET: async (): Promise<PeerConfigResponse> => {
        try {
          return await api().fetchPeer();
        } catch (err) {
          if (err instanceof PeerConfigUnavailable)
            throw err.reason === 'timeout' ? new HttpError(504, 'peer-timeout', err.message) : new HttpError(503, 'peer-unavailable', err.message);
          throw err;
        }
      },
    },
    [ROUTE_CONFIG_COMMIT]: {
      POST: bigBody(async ({ body }): Promise<CommitResponse> => {
        const { text, source } = configText(body);
        try {
          return await api().commit(text, source);
        } catch (err) {
          if (err instanceof ConfigError)
            throw new HttpError(422, 'invalid-config', `${err.issues.length} problem(s) in ${source}; nothing was applied`, {}, err.issues);
          if (err instanceof CommitRefused) throw new HttpError(409, 'command-refused', err.message);
          if (err instanceof ConfigApplyError) throw new HttpError(409, 'apply-failed', err.message);
          throw err;
        }
      }),
    },
    [ROUTE_CONFIG_VALIDATE]: {
      POST: bigBody(async ({ body }): Promise<ValidateResponse> => {
        const { text, source } = configText(body);
        return api().validate(text, source);
      }),
    },
  };
}

/** { text, source? } of a config commit or validate request. */
function configText(body: unknown): { text: string; source: string } {
  const b = body as { text?: unknown; source?: unknown } | undefined;
  if (b === undefined || typeof b.text !== 'string')
    throw new HttpError(400, 'bad-json', 'expected a JSON object { "text": "<the config file>", "source": "<its name>" }');
  const extra = Object.keys(b).filter((k) => k !== 'text' && k !== 'source');
  if (extra.length > 0) throw new HttpError(400, 'bad-json', `unknown field(s) ${extra.join(', ')} (expected text and source)`);
  if (b.source !== undefined && (typeof b.source !== 'string' || b.source.length > 4096))
    throw new HttpError(400, 'bad-json', 'source must be a string of at most 4096 characters');
  return { text: b.text, source: typeof b.source === 'string' && b.source !== '' ? b.source : '<commit>' };
}
