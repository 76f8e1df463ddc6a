// The peer's liveness verdict over the links: silence, closure, and what contradicts a closure.
import { describe, expect, test } from 'vitest';
import { linkHears, peerVerdict, type LinkLiveness, type PeerVerdict } from '../../../../src/control/ha1/liveness.js';

const DEAD_MS = 20;
const NOW = 1000;

/** An HA1 link with an open session that heard the peer `agoMs` ago. */
const ha1 = (agoMs: number | null, extra: Partial<LinkLiveness> = {}): LinkLiveness => ({
  lastHeardMs: agoMs === null ? null : NOW - agoMs,
  closedByPeerAtMs: null,
  sessionOpen: true,
  ...extra,
});
/** The same link after the peer's kernel closed its session `agoMs` ago. */
const closed = (heardAgoMs: number, closedAgoMs: number): LinkLiveness => ha1(heardAgoMs, { closedByPeerAtMs: NOW - closedAgoMs, sessionOpen: false });
/** The heartbeat backup: heartbeats only. */
const hbBackup = (agoMs: number | null): LinkLiveness => ha1(agoMs, { sessionOpen: false });

const ALIVE: PeerVerdict = { alive: true };
const CLOSED: PeerVerdict = { alive: false, cause: 'peer-closed' };
const SILENT: PeerVerdict = { alive: false, cause: 'heartbeat-timeout' };

describe('peerVerdict', () => {
  test.each<[string, LinkLiveness[], PeerVerdict]>([
    ['both HA1 links hear', [ha1(3), ha1(3)], ALIVE],
    ['primary cut, backup hears', [ha1(50), ha1(3)], ALIVE],
    ['both HA1 links cut, heartbeat backup hears', [ha1(50), ha1(50), hbBackup(3)], ALIVE],
    ['exactly the dead interval ago still counts', [ha1(DEAD_MS)], ALIVE],
    ['every link silent', [ha1(50), ha1(50), hbBackup(50)], SILENT],
    ['never heard on any link', [ha1(null), ha1(null)], SILENT],
    ['no links at all', [], SILENT],
    // a process death: the kernel closes every session within a millisecond
    ['every session closed, nothing heard since', [closed(3, 1), closed(3, 1)], CLOSED],
    ['every session closed, the heartbeat backup last heard before', [closed(3, 1), closed(4, 1), hbBackup(2)], CLOSED],
    ['every session closed, silent afterwards too', [closed(50, 40), closed(50, 40)], CLOSED],
    // one session reset by a live peer must not kill it while another link still hears it
    ['primary reset, backup session open and hearing', [closed(3, 1), ha1(3)], ALIVE],
    ['primary reset, the heartbeat backup heard after the reset', [closed(3, 2), ha1(50, { sessionOpen: false }), hbBackup(1)], ALIVE],
    ['sessions closed, a later heartbeat on the backup link (its session down)', [closed(5, 4), ha1(1, { sessionOpen: false })], ALIVE],
    // a link whose session is down or stale and which heard the peer before the closure is no proof of life
    ['primary reset, backup link silent with its session stale', [closed(3, 1), ha1(50, { sessionOpen: false })], CLOSED],
    ['primary reset, backup session open but its link silent', [closed(3, 1), ha1(50)], CLOSED],
    ['primary reset, backup link heard before the reset but its session down', [closed(3, 1), ha1(3, { sessionOpen: false })], CLOSED],
    // the heartbeat that arrived in the same millisecond as the first closure is older news
    ['heard in the same millisecond as the closure', [closed(3, 1), hbBackup(1)], CLOSED],
  ])('%s', (_name, links, expected) => {
    expect(peerVerdict(links, NOW, DEAD_MS)).toEqual(expected);
  });

  test('the first closure is the reference: a heartbeat between two closures proves life', () => {
    expect(peerVerdict([closed(10, 5), closed(10, 1), hbBackup(3)], NOW, DEAD_MS)).toEqual(ALIVE);
  });
});

describe('linkHears', () => {
  test.each<[string, LinkLiveness, boolean]>([
    ['heard recently', ha1(3), true],
    ['heard longer ago than the dead interval', ha1(DEAD_MS + 1), false],
    ['never heard', ha1(null), false],
    ['session closed by the peer since', closed(3, 1), false],
    ['the heartbeat backup', hbBackup(3), true],
  ])('%s', (_name, link, expected) => {
    expect(linkHears(link, NOW, DEAD_MS)).toBe(expected);
  });
});
