// The control agent's HA1 links: for each configured link its heartbeat socket, its TCP session
// (none on the heartbeat backup) and the sealers and openers of both channels. What the links
// know of the peer's liveness lives in the core (core/types.ts CoreLink); here is only I/O.
import type { HaLinkConfig, TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { LogLimiter } from '../log-limit.js';
import type { Metrics } from '../metrics/registry.js';
import { Opener, Sealer } from '../wire/auth.js';
import type { HaEncryption } from '../wire/crypto.js';
import type { EnvelopeBody } from '../wire/codec.js';
import { HEARTBEAT_BACKUP_LINK } from './core/liveness.js';
import { HeartbeatSocket } from './ha1/heartbeat.js';
import { Ha1Session } from './ha1/session.js';

/** Largest HA1 heartbeat we accept: one datagram of a few dozen bytes. */
const HA1_MAX_MESSAGE_BYTES = 16 * 1024;
/** Largest HA1 session frame: a config push carries the whole shared half (a config file is at most 1 MiB of YAML). */
export const HA1_SESSION_MAX_BYTES = 4 * 1024 * 1024;

export interface Link {
  name: string;
  /** Position in the agent's list: the core's link number. */
  at: number;
  /** What the heartbeat's link field reports (the heartbeat backup is always 2). */
  index: number;
  cfg: { local: string; peer: string };
  heartbeat: HeartbeatSocket;
  hbSealer: Sealer;
  hbOpener: Opener;
  /** The HA1 TCP session; null on the heartbeat backup, which carries heartbeats only. */
  session: Ha1Session | null;
  sessSealer: Sealer;
  sessOpener: Opener;
  /** For the RTT echo: the peer's last heartbeat sent_ns and when we received it. */
  peerSentNs: number;
  peerRxMs: number;
  rttMs: number | null;
}

/** Where the links' sockets deliver. */
export interface LinkHandlers {
  onDatagram(link: Link, msg: Buffer): void;
  onFrame(link: Link, frame: Buffer): void;
  onUp(link: Link): void;
  onDown(link: Link, closedByPeer: boolean, why: string): void;
  /** A message refused before it could be opened (counted and rate-limited by the agent). */
  onReject(channel: 'ha1-heartbeat' | 'ha1-session', reason: string): void;
  /** Counted only (never logged): a frame on a stale connection, a send refused by a full buffer. */
  onCount(channel: 'ha1-session', reason: 'stale-link' | 'send-backlog'): void;
}

/** The configured links in order: ha1, ha1-backup, then the heartbeat backup. */
export function buildLinks(config: TandemConfig, key: Buffer, epoch: number, log: Logger, on: LinkHandlers): Link[] {
  const ha = config.device.ha;
  const specs: [string, number, HaLinkConfig | undefined, string?][] = [
    ['ha1', 0, ha.ha1],
    ['ha1-backup', 1, ha.ha1Backup],
  ];
  // heartbeats only (no session): its own channel name, so a heartbeat captured on one link
  // cannot be replayed on another; index 2 is what it reports in the heartbeat's link field
  const hbb = ha.heartbeatBackup;
  if (hbb) specs.push([HEARTBEAT_BACKUP_LINK, 2, { local: hbb.local, peer: hbb.peer, port: 0, heartbeatPort: hbb.port }, 'ha1-heartbeat-mgmt']);
  const links: Link[] = [];
  for (const [name, index, cfg, heartbeatOnlyChannel] of specs) {
    if (cfg) links.push(makeLink({ config, key, epoch, log, on }, name, links.length, index, cfg, heartbeatOnlyChannel));
  }
  return links;
}

interface LinkContext {
  config: TandemConfig;
  key: Buffer;
  epoch: number;
  log: Logger;
  on: LinkHandlers;
}

function makeLink(x: LinkContext, name: string, at: number, index: number, cfg: HaLinkConfig, heartbeatOnlyChannel?: string): Link {
  const me = x.config.device.id;
  const peerId = 1 - me;
  const groupId = x.config.shared.ha.groupId;
  const encryption = x.config.shared.ha.encryption;
  const hbChannel = heartbeatOnlyChannel ?? `ha1-heartbeat-${index}`;
  const sessChannel = `ha1-session-${index}`;
  const key = x.key;
  const log = x.log.child({ link: name });
  const link: Link = {
    name,
    at,
    index,
    cfg,
    hbSealer: new Sealer({ key, sender: me, groupId, epoch: x.epoch, channel: hbChannel, encryption }),
    hbOpener: new Opener({ key, expectedSender: peerId, groupId, channel: hbChannel, maxBytes: HA1_MAX_MESSAGE_BYTES }),
    sessSealer: new Sealer({ key, sender: me, groupId, epoch: x.epoch, channel: sessChannel, encryption }),
    sessOpener: new Opener({ key, expectedSender: peerId, groupId, channel: sessChannel, maxBytes: HA1_SESSION_MAX_BYTES }),
    peerSentNs: 0,
    peerRxMs: 0,
    rttMs: null,
    heartbeat: null as unknown as HeartbeatSocket,
    session: null,
  };
  link.heartbeat = new HeartbeatSocket({
    local: cfg.local,
    peer: cfg.peer,
    port: cfg.heartbeatPort,
    log,
    onDatagram: (msg) => x.on.onDatagram(link, msg),
    onForeign: () => x.on.onReject('ha1-heartbeat', 'foreign-source'),
  });
  if (heartbeatOnlyChannel !== undefined) return link;
  link.session = new Ha1Session({
    link: name,
    local: cfg.local,
    peer: cfg.peer,
    port: cfg.port,
    role: me === 0 ? 'dial' : 'listen',
    maxFrameBytes: HA1_SESSION_MAX_BYTES,
    reconnectMs: Math.min(200, x.config.shared.ha.timers.helloIntervalMs),
    log,
    onFrame: (frame) => x.on.onFrame(link, frame),
    onUp: () => x.on.onUp(link),
    onDown: (byPeer, why) => x.on.onDown(link, byPeer, why),
    onReject: (reason) => x.on.onReject('ha1-session', reason),
    // Not believed, but opened: its sequence number enters the replay window. A frame dropped
    // unread could be captured and replayed later as one the window never saw, and believed.
    onStale: (frame) => {
      link.sessOpener.open(frame);
      x.on.onCount('ha1-session', 'stale-link');
    },
    onSendRefused: () => x.on.onCount('ha1-session', 'send-backlog'),
  });
  return link;
}

/**
 * shared.ha.encryption changed: what we send switches now, seq unbroken. The peer's openers
 * take both formats, so the two boxes applying the commit a few ms apart lose nothing.
 */
export function setLinkEncryption(links: readonly Link[], mode: HaEncryption): void {
  for (const link of links) {
    link.hbSealer.setEncryption(mode);
    link.sessSealer.setEncryption(mode);
  }
}

/** A shared config commit: HA1 and HA2 (`ha2`, absent without it) switch to its encryption, logged. */
export function switchEncryption(
  links: readonly Link[],
  ha2: ((mode: HaEncryption) => void) | undefined,
  from: HaEncryption,
  to: HaEncryption,
  log: Logger,
): void {
  if (to === from) return;
  setLinkEncryption(links, to);
  ha2?.(to);
  log.info({ from, to }, `HA link encryption: ${from} -> ${to}`);
}

/** Per link: the HA1 session is established and trusted now (always false on the heartbeat backup). */
export function sessionsOpen(links: readonly Link[]): boolean[] {
  return links.map((l) => l.session?.up ?? false);
}

/** Rejected HA messages are logged at most this often per channel and reason (always counted). */
const REJECT_LOG_INTERVAL_MS = 1000;

/**
 * Rejected HA messages: counted always, logged at most once a second per channel and reason: a
 * link coming back releases a burst of queued heartbeats the replay window refuses, and an attack
 * would flood.
 */
export class RejectLog {
  private readonly limiter = new LogLimiter(REJECT_LOG_INTERVAL_MS);

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  reject(channel: string, reason: string): void {
    this.metrics.rejected(channel, reason);
    const allowed = this.limiter.allow(`${channel}/${reason}`);
    if (allowed) this.log.warn({ channel, reason, suppressed: allowed.suppressed }, 'HA message rejected');
  }
}

/** Open every link's heartbeat socket and session; their metrics start down. */
export async function openLinks(links: readonly Link[], metrics: Metrics): Promise<void> {
  for (const link of links) {
    await link.heartbeat.open();
    await link.session?.start();
    metrics.setLinkUp(link.name, 'heartbeat', false);
    if (link.session) metrics.setLinkUp(link.name, 'session', false);
  }
}

/** Close every session (flushing what is queued, a goodbye last) and heartbeat socket. */
export async function closeLinks(links: readonly Link[]): Promise<void> {
  await Promise.all(links.map(async (l) => l.session?.stop()));
  for (const link of links) link.heartbeat.close();
}

/** Seal and send on the link's session when it is up; false when not sent. Counted when sent. */
export function sendSession(link: Link, body: EnvelopeBody, metrics: Metrics): boolean {
  if (!link.session?.up) return false;
  if (!link.session.send(link.sessSealer.seal(body))) return false;
  metrics.message('ha1-session', 'tx', body.kind);
  return true;
}
