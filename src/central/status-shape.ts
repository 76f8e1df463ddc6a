// A member's GET /v1/status, checked before central believes any of it: a box of another
// version, a proxy's error page or a hostile answer must become a 'bad-response' poll, never a
// crash or a poisoned view. Only the fields central reads are checked (the rest may grow freely),
// and each is bounded, then reduced to the summary central keeps.
import { z } from 'zod';

const text = (max: number) => z.string().max(max);
const state = text(64);
const iso = text(64).refine((s) => Number.isFinite(Date.parse(s)), 'an ISO time');

const transition = z.looseObject({ at: iso, from: state, to: state, reason: text(1024) });

const statusSchema = z.looseObject({
  local: z.looseObject({
    name: text(256),
    state,
    reason: text(1024),
    since: iso,
    faults: z.array(text(256)).max(256),
    health: z.array(text(256)).max(256).optional(),
    softwareVersion: text(64).optional(),
  }),
  mode: text(64),
  sync: z
    .looseObject({
      connected: z.boolean(),
      backlog: z.number().finite().nonnegative(),
      lagMs: z.looseObject({ p99: z.number().finite().nonnegative() }),
    })
    .nullish(),
  config: z.looseObject({ version: z.number().int().nonnegative(), hash: text(128) }).nullish(),
  transitions: z.array(transition).max(10_000),
});

export interface StatusTransition {
  at: string;
  from: string;
  to: string;
  reason: string;
}

/** What central keeps of one good answer. */
export interface StatusSummary {
  boxName: string;
  state: string;
  reason: string;
  since: string;
  mode: string;
  faults: string[];
  health: string[];
  softwareVersion: string | null;
  configVersion: number | null;
  configHash: string | null;
  sync: { connected: boolean; backlog: number; lagP99Ms: number } | null;
  transitions: StatusTransition[];
}

export type ShapeCheck = { ok: true; summary: StatusSummary } | { ok: false; why: string };

export function summarizeStatus(raw: unknown): ShapeCheck {
  const parsed = statusSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, why: `not a tandem status: ${first.path.join('.') || '(top level)'}: ${first.message}` };
  }
  const s = parsed.data;
  return {
    ok: true,
    summary: {
      boxName: s.local.name,
      state: s.local.state,
      reason: s.local.reason,
      since: s.local.since,
      mode: s.mode,
      faults: s.local.faults,
      health: s.local.health ?? [],
      softwareVersion: s.local.softwareVersion ?? null,
      configVersion: s.config?.version ?? null,
      configHash: s.config?.hash ?? null,
      sync: s.sync ? { connected: s.sync.connected, backlog: s.sync.backlog, lagP99Ms: s.sync.lagMs.p99 } : null,
      transitions: s.transitions.map((t) => ({ at: t.at, from: t.from, to: t.to, reason: t.reason })),
    },
  };
}
