// Peer liveness over the links: per-link hearing (link-up / link-lost), the pair's verdict
// (../ha1/liveness.ts: split-brain protection), HA1-down detection, and the one peer-down sequence.
import type { ElectionEvent, PeerView } from '../election/types.js';
import { linkHears, peerVerdict } from '../ha1/liveness.js';
import { incomplete } from './health.js';
import type { Run } from './run.js';

/** The heartbeat-only link's name, as status, logs and metric labels show it. */
export const HEARTBEAT_BACKUP_LINK = 'heartbeat-backup';

/**
 * The one peer-down sequence: the peer is no longer alive, config sync and the metric learn it
 * (peer-down), its view is forgotten, and the election gets the event (peer-dead, or frozen).
 */
export function peerDown(r: Run, event: Extract<ElectionEvent, { type: 'peer-dead' | 'frozen' }>, deathLog?: Record<string, unknown>): void {
  r.c.peer.alive = false;
  r.emit({ type: 'peer-down' });
  r.c.peer.view = null;
  if (deathLog) r.log('warn', deathLog, 'peer is dead');
  r.dispatch(event);
}

/** A message from the peer on link `index` (view: what it says of itself, null when nothing new). */
export function heard(r: Run, index: number, now: number, view: PeerView | null, sessionsOpen: readonly boolean[]): void {
  const c = r.c;
  const link = c.links[index];
  link.lastHeardMs = now;
  link.closedByPeerAtMs = null;
  c.peer.lastHeardMs = now;
  if (!link.heartbeatUp) evaluatePeer(r, now, sessionsOpen);
  if (!c.peer.alive) {
    c.peer.alive = true;
    r.emit({ type: 'peer-up' });
    r.log('info', { link: r.linkName(index) }, 'peer is up');
  }
  if (view) {
    c.peer.view = view;
    // the peer accepted us as active (passive, or tentative while it takes our table): ours is the pair's
    const peerStandsBy = view.state === 'passive' || view.state === 'tentative';
    if (!c.tableComplete && c.election.state === 'active' && peerStandsBy) markTableComplete(r, 'active with the peer standing by');
    r.dispatch({ type: 'peer-heard', now, peer: view, selfIncomplete: incomplete(c) });
  }
}

export function markTableComplete(r: Run, why: string): void {
  r.c.tableComplete = true;
  r.log('info', { why }, 'session table complete: this box may now win the role over its peer');
}

/**
 * The peer is dead only when no link hears it, or when its kernel closed every open HA1 session
 * and nothing was heard since (../ha1/liveness.ts): split-brain protection. One link losing the
 * peer is a warning, never a failover.
 */
export function evaluatePeer(r: Run, now: number, sessionsOpen: readonly boolean[]): void {
  const c = r.c;
  const dead = c.config.deadIntervalMs;
  const lost: number[] = [];
  c.links.forEach((link, i) => {
    const alive = linkHears(link, now, dead);
    if (alive === link.heartbeatUp) return;
    link.heartbeatUp = alive;
    r.emit({ type: 'link-heartbeat', link: i, up: alive });
    const name = r.linkName(i);
    if (alive) {
      // the connection that lived through the outage may hold old messages: use a fresh one
      if (c.config.links[i].hasSession) r.emit({ type: 'session-refresh', link: i });
      r.log('info', { event: 'ha1-link-up', link: name }, `HA1 link ${name} hears the peer`);
    } else {
      if (c.config.links[i].hasSession) r.emit({ type: 'session-stale', link: i });
      lost.push(i);
    }
  });
  // a session just marked stale is no longer open
  const verdict = peerVerdict(
    c.links.map((l, i) => ({ lastHeardMs: l.lastHeardMs, closedByPeerAtMs: l.closedByPeerAtMs, sessionOpen: (sessionsOpen[i] ?? false) && !lost.includes(i) })),
    now,
    dead,
  );
  if (c.peer.alive && verdict.alive) {
    const heardOn = c.links.flatMap((l, i) => (l.heartbeatUp ? [r.linkName(i)] : []));
    for (const i of lost) {
      const name = r.linkName(i);
      r.log(
        'warn',
        { event: 'ha1-link-lost', link: name, closedByPeer: c.links[i].closedByPeerAtMs !== null, heardOn },
        `HA1 link ${name} lost the peer (still heard on ${heardOn.join(', ')})`,
      );
    }
  }
  checkHa1Down(r, now);
  if (c.peer.alive && !verdict.alive) {
    const cause = verdict.cause;
    const lastHeardMsAgo = c.peer.lastHeardMs === null ? null : Math.round(now - c.peer.lastHeardMs);
    peerDown(r, { type: 'peer-dead', now, cause }, { cause, lastHeardMsAgo });
  }
}

/**
 * Only the heartbeat backup hears the peer: both boxes still know each other's state, so no
 * split brain, but hellos, commands and config sync (TCP on HA1) cannot reach the peer.
 */
function checkHa1Down(r: Run, now: number): void {
  const c = r.c;
  const hears = (session: boolean): boolean => c.links.some((l, i) => c.config.links[i].hasSession === session && l.heartbeatUp);
  const ha1Hears = hears(true);
  const onlyBackup = !ha1Hears && hears(false);
  if (!onlyBackup) {
    c.onlyBackupSinceMs = null;
    if (c.ha1Down && ha1Hears) {
      c.ha1Down = false;
      r.log('info', { event: 'ha1-up' }, 'HA1 hears the peer again');
    }
    return;
  }
  // for a dead interval first: at start-up the backup's first heartbeat may simply beat HA1's
  c.onlyBackupSinceMs ??= now;
  if (!c.ha1Down && now - c.onlyBackupSinceMs >= c.config.deadIntervalMs) {
    c.ha1Down = true;
    r.log(
      'warn',
      { event: 'ha1-down', link: HEARTBEAT_BACKUP_LINK },
      'HA1 is down on every link; the peer is heard only on the heartbeat backup: states are exchanged by heartbeat (no split brain), but config sync and commands are unavailable',
    );
  }
}
