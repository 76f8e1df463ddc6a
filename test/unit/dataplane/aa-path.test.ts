// Active/active: which box handles a packet (src/dataplane/aa-path.ts), as tables of cases.
import { describe, expect, it } from 'vitest';
import {
  BIND_DEVICE0,
  BIND_DEVICE1,
  BIND_PRIMARY,
  bindingBit,
  knownPath,
  missPath,
  natBindings,
  ownerOf,
  PATH_ADOPT,
  PATH_HERE,
  PATH_MISMATCH,
  PATH_PEER,
  setupPath,
  withOwner,
} from '../../../src/dataplane/aa-path.js';
import type { DeviceId, PairView } from '../../../src/dataplane/owner.js';
import { SESSION_FLAG_OWNER1 } from '../../../src/wire/session-record.js';
import { SESSION_FLAG_LOOSE } from '../../../src/dataplane/session-table.js';

const view = (me: DeviceId, peerUp: boolean, primary: DeviceId = 0): PairView => ({ me, peerUp, primary });

describe('the owner bit', () => {
  it('is SESSION_FLAG_OWNER1, beside the loose flag', () => {
    expect(ownerOf(0)).toBe(0);
    expect(ownerOf(SESSION_FLAG_OWNER1 | SESSION_FLAG_LOOSE)).toBe(1);
    expect(withOwner(SESSION_FLAG_LOOSE, 1)).toBe(SESSION_FLAG_LOOSE | SESSION_FLAG_OWNER1);
    expect(withOwner(SESSION_FLAG_LOOSE | SESSION_FLAG_OWNER1, 0)).toBe(SESSION_FLAG_LOOSE);
  });
});

describe('a packet of a known session', () => {
  const cases: [string, PairView, DeviceId, boolean, number][] = [
    ['ours, off the wire', view(0, true), 0, false, PATH_HERE],
    ['ours, from the peer', view(1, true), 1, true, PATH_HERE],
    ["the peer's, which forwards", view(0, true), 1, false, PATH_PEER],
    ["the peer's, which does not forward: adopted", view(0, false), 1, false, PATH_ADOPT],
    ["the peer's, from the peer: never sent back", view(1, true), 0, true, PATH_MISMATCH],
    ["the peer's, from a peer that no longer forwards", view(1, false), 0, true, PATH_MISMATCH],
  ];
  it.each(cases)('%s', (_, v, owner, fromPeer, path) => {
    expect(knownPath(v, owner, fromPeer)).toBe(path);
  });
});

describe('a packet no session knows', () => {
  it('that cannot open one goes to a forwarding peer, once', () => {
    expect(missPath(view(0, true), false)).toBe(PATH_PEER);
    expect(missPath(view(0, false), false)).toBe(PATH_HERE);
    expect(missPath(view(0, true), true)).toBe(PATH_HERE);
  });

  it('that opens one goes to its setup device, once', () => {
    expect(setupPath(view(0, true), 0, false)).toBe(PATH_HERE);
    expect(setupPath(view(0, true), 1, false)).toBe(PATH_PEER);
    expect(setupPath(view(0, true), 1, true)).toBe(PATH_HERE);
  });
});

describe('NAT bindings that apply on a device', () => {
  const cases: [string, PairView, number][] = [
    ['device 0, secondary, peer up', view(0, true, 1), BIND_DEVICE0],
    ['device 0, primary, peer up', view(0, true, 0), BIND_DEVICE0 | BIND_PRIMARY],
    ['device 1, secondary, peer up', view(1, true, 0), BIND_DEVICE1],
    ['device 1, peer down: its own, the primary, the peer', view(1, false, 1), BIND_DEVICE0 | BIND_DEVICE1 | BIND_PRIMARY],
    ['device 1, peer down, primary not yet moved: the primary too', view(1, false, 0), BIND_DEVICE0 | BIND_DEVICE1 | BIND_PRIMARY],
  ];
  it.each(cases)('%s', (_, v, bits) => {
    expect(natBindings(v)).toBe(bits);
  });

  it('a binding has one bit', () => {
    expect([bindingBit(0), bindingBit(1), bindingBit('primary')]).toEqual([BIND_DEVICE0, BIND_DEVICE1, BIND_PRIMARY]);
  });
});
