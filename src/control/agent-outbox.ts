// What the control agent sends to the peer on the HA1 links: heartbeats, hellos, state updates,
// take-over requests, config messages and the goodbye, built (agent-messages.ts), sealed and
// counted. The links and their sockets are the agent's (agent-links.ts); what to send, and when,
// is the core's (core/step.ts actions).
import type { TandemConfig } from '../config/types.js';
import type { Metrics } from '../metrics/registry.js';
import { clipString, REASON_MAX, type EnvelopeBody } from '../wire/codec.js';
import { sendSession, type Link } from './agent-links.js';
import { heartbeatBody, helloBody, stateUpdateBody, takeOverBody, type SelfView } from './agent-messages.js';
import type { CoreAction, CoreState } from './core/types.js';

/** The core's actions that send to the peer. */
export type SendAction = Extract<CoreAction, { type: 'send-state' | 'send-heartbeats' | 'send-hellos' | 'send-take-over' }>;

/** What a message is built from, read when it is sent. */
export interface OutboxSources {
  cfg(): TandemConfig;
  core(): CoreState;
  /** The monitor groups we vouch for (Monitors.healthyGroups). */
  healthyGroups(): string[];
  /** The running shared config (version 0 without config sync). */
  config(): { version: number; hash: string };
  uptimeMs(): number;
}

export class Outbox {
  constructor(
    private readonly links: readonly Link[],
    private readonly metrics: Metrics,
    private readonly from: OutboxSources,
  ) {}

  /** Carry out a core action that sends to the peer. */
  send(a: SendAction, now: number): void {
    switch (a.type) {
      case 'send-state':
        for (const link of this.links) {
          this.session(link, stateUpdateBody(a.state, a.reason));
          this.heartbeat(link, now, a);
        }
        return;
      case 'send-heartbeats':
        for (const link of this.links) this.heartbeat(link, now, a);
        return;
      case 'send-hellos':
        return this.hellos();
      case 'send-take-over':
        for (const link of this.links) this.session(link, takeOverBody(a.reason, Date.now()));
        return;
      default: {
        const never: never = a;
        throw new Error(`unknown send action ${JSON.stringify(never)}`);
      }
    }
  }

  /** A hello on every HA1 session. */
  hellos(): void {
    for (const link of this.links) if (link.session) this.hello(link);
  }

  hello(link: Link): void {
    this.session(link, helloBody(this.from.cfg(), this.from.core(), this.from.config(), this.from.uptimeMs()));
  }

  /**
   * A config message: one session is enough, the primary first. A push lost with its session is
   * sent again when the next hello shows the peer still runs another config.
   */
  configMessage(body: EnvelopeBody): boolean {
    for (const link of this.links) if (link.session?.up && this.session(link, body)) return true;
    return false;
  }

  /** On every session: we are going away (the peer takes over at once). */
  goodbye(reason: string): void {
    for (const link of this.links) this.session(link, { kind: 'goodbye', goodbye: { reason: clipString(reason, REASON_MAX) } });
  }

  private heartbeat(link: Link, now: number, self: SelfView): void {
    link.heartbeat.send(link.hbSealer.seal(heartbeatBody(this.from.cfg(), link, now, self, this.from.healthyGroups())));
    this.metrics.message('ha1-heartbeat', 'tx', 'heartbeat');
  }

  private session(link: Link, body: EnvelopeBody): boolean {
    return sendSession(link, body, this.metrics);
  }
}
