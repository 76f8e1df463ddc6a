import { describe, expect, test } from 'vitest';
import type { ActiveActiveConfig } from '../../../src/config/types.js';
import { ipHashDevice, natPortRange, ownerDevice, setupDevice, type PairView } from '../../../src/dataplane/owner.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';

const cfg = (over: Partial<ActiveActiveConfig> = {}): ActiveActiveConfig => ({
  sessionOwner: 'first-packet',
  sessionSetup: 'ip-modulo',
  ipHash: { key: 'source', seed: 0 },
  deferMs: 10,
  arpLoadSharing: { method: 'ip-modulo', seed: 0 },
  ...over,
});
const both = (me: 0 | 1, primary: 0 | 1 = 0): PairView => ({ me, peerUp: true, primary });
const alone = (me: 0 | 1): PairView => ({ me, peerUp: false, primary: me });
const ip = parseIpv4;

describe('session setup', () => {
  test('ip-modulo: the source address parity, whichever box the packet reached', () => {
    for (const me of [0, 1] as const) {
      expect(setupDevice(cfg(), both(me), me, ip('10.0.1.10'), ip('10.0.2.5'))).toBe(0);
      expect(setupDevice(cfg(), both(me), me, ip('10.0.1.11'), ip('10.0.2.5'))).toBe(1);
    }
  });

  test('first-packet: the box the first packet reached (also when the peer forwarded it)', () => {
    const c = cfg({ sessionSetup: 'first-packet' });
    expect(setupDevice(c, both(0), 0, ip('10.0.1.11'), 0)).toBe(0);
    expect(setupDevice(c, both(0), 1, ip('10.0.1.11'), 0)).toBe(1);
  });

  test('primary: the active-primary', () => {
    const c = cfg({ sessionSetup: 'primary' });
    expect(setupDevice(c, both(0, 1), 0, ip('10.0.1.10'), 0)).toBe(1);
    expect(setupDevice(c, both(1, 1), 1, ip('10.0.1.10'), 0)).toBe(1);
  });

  test('ip-hash: both boxes agree, both devices get a share, the seed and the key change the split', () => {
    const c = cfg({ sessionSetup: 'ip-hash' });
    let ones = 0;
    for (let i = 0; i < 1000; i++) {
      const src = ip('10.0.0.0') + i;
      const a = setupDevice(c, both(0), 0, src, ip('10.0.2.5'));
      expect(setupDevice(c, both(1), 1, src, ip('10.0.2.5'))).toBe(a);
      ones += a;
    }
    expect(ones).toBeGreaterThan(400);
    expect(ones).toBeLessThan(600);
    const split = (seed: number, key: 'source' | 'source-and-destination', dst: number) =>
      Array.from({ length: 64 }, (_, i) => ipHashDevice(seed, key, ip('10.0.0.0') + i, dst)).join('');
    expect(split(1, 'source', 0)).not.toBe(split(0, 'source', 0));
    expect(split(0, 'source', ip('10.0.2.5'))).toBe(split(0, 'source', ip('10.0.2.6')));
    expect(split(0, 'source-and-destination', ip('10.0.2.5'))).not.toBe(split(0, 'source-and-destination', ip('10.0.2.6')));
  });

  test('a peer that is down sets nothing up: the survivor does it all', () => {
    for (const sessionSetup of ['first-packet', 'ip-modulo', 'ip-hash', 'primary'] as const) {
      for (let i = 0; i < 16; i++) expect(setupDevice(cfg({ sessionSetup }), alone(0), 0, ip('10.0.1.0') + i, i)).toBe(0);
    }
  });
});

describe('session owner', () => {
  test('first-packet: the box the first packet reached; primary: the primary; never a peer that is down', () => {
    expect(ownerDevice(cfg(), both(0), 1)).toBe(1);
    expect(ownerDevice(cfg({ sessionOwner: 'primary' }), both(0, 1), 0)).toBe(1);
    expect(ownerDevice(cfg({ sessionOwner: 'primary' }), alone(0), 0)).toBe(0);
  });
});

describe('NAT port ranges', () => {
  test('the two devices get disjoint halves that cover the range', () => {
    const a = natPortRange(0, 1024, 65535);
    const b = natPortRange(1, 1024, 65535);
    expect(a).toEqual({ lo: 1024, hi: 33279 });
    expect(b).toEqual({ lo: 33280, hi: 65535 });
  });
});
