// Central's API shapes, shared by its server and the CLI: the fleet view (GET /v1/fleet) and the
// merged event timeline (GET /v1/events). Types and constants only: the CLI imports this file
// without loading the store or the poller.

export const DEFAULT_CENTRAL_URL = 'http://127.0.0.1:9490';
export const DEFAULT_CENTRAL_TOKEN_FILE = '/etc/tandem/central.token';

export const ROUTE_FLEET = '/v1/fleet';
export const ROUTE_EVENTS = '/v1/events';
export const ROUTE_METRICS = '/metrics';
export const ROUTE_PUSH = '/v1/push';

/** tandem_central_pairs{health}: see fleet-health.ts for the definitions. */
export type PairHealth = 'ok' | 'degraded' | 'down' | 'unknown';
export const PAIR_HEALTHS: readonly PairHealth[] = ['ok', 'degraded', 'down', 'unknown'];

/** How a poll ended: tandem_central_polls_total{result}. */
export type PollOutcome = 'ok' | 'unreachable' | 'timeout' | 'bad-response' | 'unauthorized';
export const POLL_OUTCOMES: readonly PollOutcome[] = ['ok', 'unreachable', 'timeout', 'bad-response', 'unauthorized'];

export type EventKind = 'transition' | 'reachability' | 'config' | 'push';
export const EVENT_KINDS: readonly EventKind[] = ['transition', 'reachability', 'config', 'push'];

/** tandem_central_pushes_total{result}: the config push (a later version of central) counts these. */
export type PushResult = 'committed' | 'refused' | 'skipped' | 'failed';
export const PUSH_RESULTS: readonly PushResult[] = ['committed', 'refused', 'skipped', 'failed'];

/** One event of the timeline. */
export interface CentralEvent {
  /** ISO 8601. Transitions: the member's clock; reachability and config changes: central's. */
  at: string;
  pair: string;
  member: string;
  kind: EventKind;
  /** transition: HA states; reachability: reachable|unreachable|unknown; config: versions. */
  from: string | null;
  to: string;
  /** transition: the member's reason; reachability: the poll's error code; config: the new hash. */
  reason: string;
  detail: Record<string, unknown> | null;
}

export interface MemberView {
  name: string;
  api: string;
  /** null: never polled (and nothing known from before a restart). */
  reachable: boolean | null;
  /** When it became unreachable (ISO), null while reachable. */
  unreachableSince: string | null;
  /** Seconds since unreachableSince, 0 while reachable. */
  unreachableForS: number;
  /** The last poll's failure: its code (PollOutcome) and message; null after a good one. */
  error: { code: string; message: string } | null;
  lastPollAt: string | null;
  lastOkAt: string | null;
  /** What follows is from the last good answer (lastOkAt); null fields were never known. */
  state: string | null;
  reason: string | null;
  stateSince: string | null;
  mode: string | null;
  lastTransition: { at: string; from: string; to: string; reason: string } | null;
  configVersion: number | null;
  configHash: string | null;
  softwareVersion: string | null;
  sync: { connected: boolean; backlog: number; lagP99Ms: number } | null;
  /** Monitor faults ("link-monitor:<group>", ...), from status.local.faults. */
  faults: string[];
  /** The box's own not-ready reasons (status.local.health). */
  health: string[];
}

export interface PairView {
  name: string;
  labels: Record<string, string>;
  health: PairHealth;
  /** Why the health is not ok, in words; empty when ok. */
  problems: string[];
  /** Reachable members in an active state (active, active-primary, active-secondary). */
  activeMembers: number;
  /** Exactly one active, or in active/active one active-primary and one active-secondary; null while a member is unreachable. */
  rolesAgree: boolean | null;
  /** Both members' config hashes equal; null unless both are known. */
  configAgree: boolean | null;
  configVersion: number | null;
  /** Both members run the same software; null unless both are known. */
  versionsMatch: boolean | null;
  /** The active's HA2 sync lag (p99, ms) and backlog; null when no active reports one. */
  syncLagMs: number | null;
  syncBacklog: number | null;
  members: MemberView[];
}

/** GET /v1/fleet */
export interface FleetResponse {
  at: string;
  pairs: PairView[];
}

/** GET /v1/events?since=&pair=&limit= (oldest first, newest last) */
export interface EventsResponse {
  events: CentralEvent[];
  /** More matched than `limit`: these are the newest ones. */
  truncated: boolean;
}

/** POST /v1/push: a config template (src/central/template.ts) for every pair, or the named ones. */
export interface PushRequest {
  /** The template file's text. */
  template: string;
  /** Its name, for errors and the history ("fleet.yaml"). */
  source?: string;
  /** Only these pairs (default every pair of the inventory). */
  pairs?: string[];
  /** Render, validate on each pair's active and show the diff; commit nothing. */
  dryRun?: boolean;
}

/** What a push did to one pair. */
export interface PairPushResult {
  pair: string;
  /**
   * committed; refused (the template or the box refused the rendered config: `issues`, `reason`);
   * skipped (the pair was not in a state to take it: `reason`); failed (a member stopped answering
   * part-way); unchanged (the pair runs it already); dry-run (it would be committed: `diff`).
   */
  outcome: 'committed' | 'refused' | 'skipped' | 'failed' | 'unchanged' | 'dry-run';
  /** The member committed on (the active), null when skipped before one was chosen. */
  member: string | null;
  /** In words: why skipped, refused or failed; the peer's sync for a commit. */
  reason: string;
  /** The pair's running config before, and the committed one. */
  fromVersion: number | null;
  version: number | null;
  hash: string | null;
  /** Both members reported `version` and `hash` after the commit (checked through each member's API); null when nothing was committed. */
  inSync: boolean | null;
  /** The rendered config against the running one (config/diff.ts entries). */
  diff: { path: string; kind: string; from?: unknown; to?: unknown }[];
  /** Why the rendered config is invalid: the template's or the box's checks, each naming its key. */
  issues: { path: string; value?: unknown; expected: string }[];
  /** Committed fields that take effect at the boxes' next restart. */
  restartRequired: string[];
}

export interface PushResponse {
  source: string;
  dryRun: boolean;
  results: PairPushResult[];
}
