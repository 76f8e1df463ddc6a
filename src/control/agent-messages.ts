// The HA1 messages' content as the control agent sends and reads them: our heartbeat and hello
// built from the config and the core's state, an inbound session message reduced to what the core
// decides on, and what else an inbound message feeds (config sync, the RTT). The sealing and the
// sending are agent-outbox.ts's; the sockets are the agent's.
import type { TandemConfig } from '../config/types.js';
import type { Metrics } from '../metrics/registry.js';
import { clipString, REASON_MAX, type Envelope, type EnvelopeBody } from '../wire/codec.js';
import type { Link } from './agent-links.js';
import type { ConfigSync } from './config-sync.js';
import type { CoreState, HaState, HeartbeatFields, SessionMessage } from './core/types.js';

/** This box's software version: in the hello to the peer, and in status (central compares a pair's two). */
export const SOFTWARE_VERSION = '0.1.0';

/** How we look in a heartbeat: a snapshot taken when the core decided to send it. */
export interface SelfView {
  state: HaState;
  incomplete: boolean;
}

/** `healthyGroups`: the monitor groups we vouch for (Monitors.healthyGroups). */
export function heartbeatBody(cfg: TandemConfig, link: Link, now: number, self: SelfView, healthyGroups: string[]): EnvelopeBody {
  const echoDelayNs = link.peerSentNs > 0 ? Math.max(0, Math.round((now - link.peerRxMs) * 1e6)) : 0;
  return {
    kind: 'heartbeat',
    heartbeat: {
      state: self.state,
      priority: cfg.device.priority,
      preempt: cfg.shared.ha.preempt.enabled,
      sentNs: Math.round(now * 1e6),
      echoNs: link.peerSentNs,
      echoDelayNs,
      link: link.index,
      incomplete: self.incomplete,
      healthyGroups,
    },
  };
}

export function helloBody(cfg: TandemConfig, core: CoreState, config: { version: number; hash: string }, uptimeMs: number): EnvelopeBody {
  const t = cfg.shared.ha.timers;
  return {
    kind: 'hello',
    hello: {
      name: cfg.device.name,
      priority: cfg.device.priority,
      preempt: cfg.shared.ha.preempt.enabled,
      state: core.election.state,
      stateReason: clipString(core.election.reason, REASON_MAX),
      softwareVersion: SOFTWARE_VERSION,
      groupId: cfg.shared.ha.groupId,
      mode: cfg.shared.ha.mode,
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      heartbeatMissed: t.heartbeatMissed,
      configVersion: config.version,
      configHash: config.hash,
      uptimeMs: Math.round(uptimeMs),
    },
  };
}

/** What the core needs of an inbound session message. */
export function sessionMessageOf(cfg: TandemConfig, env: Envelope): SessionMessage {
  const body = env.body;
  switch (body.kind) {
    case 'hello': {
      const h = body.hello;
      const ha = cfg.shared.ha;
      const mismatch = h.groupId !== ha.groupId || h.mode !== ha.mode ? { peerGroup: h.groupId, peerMode: h.mode } : null;
      return { kind: 'hello', name: h.name, stateReason: h.stateReason, state: h.state, priority: h.priority, preempt: h.preempt, mismatch };
    }
    case 'stateUpdate':
      return { kind: 'state-update', state: body.stateUpdate.state, reason: body.stateUpdate.reason };
    case 'command':
      return { kind: 'command', command: body.command.type, reason: body.command.reason };
    case 'goodbye':
      return { kind: 'goodbye', reason: body.goodbye.reason };
    case 'configPush':
    case 'configAck':
    case 'configRequest':
      return { kind: 'config' };
    default:
      return { kind: 'other' };
  }
}

export function stateUpdateBody(state: HaState, reason: string): EnvelopeBody {
  return { kind: 'stateUpdate', stateUpdate: { state, reason: clipString(reason, REASON_MAX) } };
}

export function takeOverBody(reason: string, id: number): EnvelopeBody {
  return { kind: 'command', command: { type: 'take-over', reason: clipString(reason, REASON_MAX), id } };
}

type HeartbeatMessage = Extract<EnvelopeBody, { kind: 'heartbeat' }>['heartbeat'];

/** What the core needs of an authenticated heartbeat. */
export function heartbeatFieldsOf(sender: number, hb: HeartbeatMessage): HeartbeatFields {
  return {
    sender,
    state: hb.state,
    priority: hb.priority,
    preempt: hb.preempt,
    incomplete: hb.incomplete === true,
    echoNs: hb.echoNs,
  };
}

/** The round trip a heartbeat's echo measures (ms, to the microsecond), null when none or implausible. */
export function rttMsOf(now: number, hb: HeartbeatMessage): number | null {
  if (hb.echoNs <= 0) return null;
  const rttMs = now - hb.echoNs / 1e6 - hb.echoDelayNs / 1e6;
  return rttMs >= 0 && rttMs < 60_000 ? rttMs : null;
}

/** A believed heartbeat: the round trip of ours it echoes, kept for status and counted. */
export function noteRtt(link: Link, now: number, hb: HeartbeatMessage, metrics: Metrics): void {
  const rttMs = rttMsOf(now, hb);
  if (rttMs === null) return;
  link.rttMs = Math.round(rttMs * 1000) / 1000;
  metrics.heartbeatRtt(link.name, rttMs / 1000);
}

/**
 * After the core took a session message: config sync gets the hello's config version and the
 * config messages. Returns why the message is refused, null when it is not.
 */
export function deliverToConfigSync(body: EnvelopeBody, configSync: ConfigSync | null, now: number): string | null {
  switch (body.kind) {
    case 'hello':
      configSync?.onPeerHello(body.hello.configVersion, body.hello.configHash, now);
      return null;
    case 'configPush':
    case 'configAck':
    case 'configRequest':
      if (!configSync) return 'config-sync-off';
      configSync.onMessage(body, now);
      return null;
    case 'heartbeat':
      return 'unexpected-type';
    case 'stateUpdate':
    case 'command':
    case 'goodbye':
      return null;
    default: {
      const never: never = body;
      return `unknown-body-${String((never as { kind?: string }).kind)}`;
    }
  }
}

/**
 * What the peer's latest believed heartbeat vouched for: the monitor groups it sees healthy, and
 * the send time (our clock) of our heartbeat it echoed, so its report was composed after it heard
 * that one. A group of ours in its hold-up may fault at once when the peer vouches for the same
 * group in a report composed after ours failed (docs/monitors.md, "A pulled cable").
 */
export class PeerHealthReport {
  private last: { groups: ReadonlySet<string>; composedAfterMs: number } | null = null;

  note(groups: readonly string[] | undefined, echoNs: number): void {
    this.last = { groups: new Set(groups ?? []), composedAfterMs: echoNs / 1e6 };
  }

  /** The report vouches for `group` and was composed after `sinceMs` (our monotonic clock). */
  vouches(group: string, sinceMs: number): boolean {
    const h = this.last;
    return h !== null && h.composedAfterMs >= sinceMs && h.groups.has(group);
  }
}
