// ARP load sharing's assignment (src/dataplane/arp-share.ts) and the proof that matters: with the
// served classes each box gets from the control plane's pair view (control/core/pair-view.ts),
// exactly one box answers each requester while both forward, and the one that forwards answers
// every requester while the other does not (dead, tentative, suspended, non-functional).
import { describe, expect, test } from 'vitest';
import type { ArpLoadSharingConfig } from '../../../src/config/types.js';
import { pairViewOf } from '../../../src/control/core/pair-view.js';
import { initialCore } from '../../../src/control/core/step.js';
import type { HaState } from '../../../src/control/election/types.js';
import { answersShared, arpShareDevice } from '../../../src/dataplane/arp-share.js';
import { ipHashDevice } from '../../../src/dataplane/owner.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY } from '../../../src/wire/shared-state.js';

const MODULO: ArpLoadSharingConfig = { method: 'ip-modulo', seed: 0 };
const hash = (seed: number): ArpLoadSharingConfig => ({ method: 'ip-hash', seed });
const ip = parseIpv4;
/** A /22 of requesters, and the corners of the address space. */
const REQUESTERS = [...Array.from({ length: 1024 }, (_, i) => ip('10.0.0.0') + i), 0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** What the pair view serves box `me` when it is in `mine` and its peer in `peer` ('dead': not heard). */
function served(me: 0 | 1, mine: HaState, peer: HaState | 'dead'): number {
  const c = initialCore(
    { deadIntervalMs: 100, helloIntervalMs: 1000, sync: true, activeActive: true, links: [] },
    { deviceId: me, priority: 50, preempt: false, initialWaitMs: 0, promotionHoldMs: 0, preemptHoldMs: 0, flapMax: 3, degradedHandOverMs: 0 },
  );
  c.election.state = mine;
  c.peer = { ...c.peer, alive: peer !== 'dead', view: peer === 'dead' ? null : { deviceId: 1 - me, state: peer, priority: 100, preempt: false } };
  return pairViewOf(c, 0)?.served ?? 0;
}

/** For each requester, how many of the two boxes answer it. */
function answerCounts(cfg: ArpLoadSharingConfig, box0: number, box1: number): number[] {
  return REQUESTERS.map((r) => Number(answersShared(cfg, box0, r)) + Number(answersShared(cfg, box1, r)));
}

describe('the assignment of a requester to a device', () => {
  test('ip-modulo: even addresses device 0, odd device 1 (the lab clients 10.0.1.10 and 10.0.1.11 split)', () => {
    expect(arpShareDevice(MODULO, ip('10.0.1.10'))).toBe(0);
    expect(arpShareDevice(MODULO, ip('10.0.1.11'))).toBe(1);
    expect(arpShareDevice(MODULO, 0xffffffff)).toBe(1);
    expect(arpShareDevice(MODULO, 0)).toBe(0);
  });

  test('ip-hash: the seeded source hash of session setup (same seed, same device), both devices get a share, the seed moves it', () => {
    for (const r of REQUESTERS) expect(arpShareDevice(hash(9), r)).toBe(ipHashDevice(9, 'source', r >>> 0, 0));
    const ones = REQUESTERS.slice(0, 1024).filter((r) => arpShareDevice(hash(0), r) === 1).length;
    expect(ones).toBeGreaterThan(450);
    expect(ones).toBeLessThan(575);
    const split = (seed: number) => REQUESTERS.map((r) => arpShareDevice(hash(seed), r)).join('');
    expect(split(1)).not.toBe(split(0));
    // a signed 32-bit reading of the same address picks the same device
    expect(arpShareDevice(hash(5), ip('200.1.2.3') | 0)).toBe(arpShareDevice(hash(5), ip('200.1.2.3')));
  });

  test('deterministic: a pure function of the address and the shared config, so both boxes pick alike', () => {
    for (const cfg of [MODULO, hash(0), hash(0xdeadbeef)]) {
      const first = REQUESTERS.map((r) => arpShareDevice(cfg, r));
      expect(REQUESTERS.map((r) => arpShareDevice({ ...cfg }, r))).toEqual(first);
    }
  });
});

describe('who answers, with the classes the pair view serves', () => {
  test('the pair view serves as docs/active-active.md says (the inputs of the proof below)', () => {
    expect(served(0, 'active', 'passive')).toBe(CLASS_DEVICE0 | CLASS_PRIMARY);
    expect(served(1, 'passive', 'active')).toBe(CLASS_DEVICE1);
    expect(served(0, 'active', 'dead')).toBe(CLASS_DEVICE0 | CLASS_DEVICE1 | CLASS_PRIMARY);
    expect(served(1, 'tentative', 'active')).toBe(0);
  });

  for (const cfg of [MODULO, hash(0), hash(12345)]) {
    const name = cfg.method === 'ip-hash' ? `ip-hash seed ${cfg.seed}` : 'ip-modulo';

    test(`${name}: both forwarding (either primary), exactly one box answers each requester, and each box answers some`, () => {
      for (const primary of [0, 1] as const) {
        const box0 = served(0, primary === 0 ? 'active' : 'passive', primary === 0 ? 'passive' : 'active');
        const box1 = served(1, primary === 1 ? 'active' : 'passive', primary === 1 ? 'passive' : 'active');
        expect(answerCounts(cfg, box0, box1)).toEqual(REQUESTERS.map(() => 1));
        expect(REQUESTERS.some((r) => answersShared(cfg, box0, r))).toBe(true);
        expect(REQUESTERS.some((r) => answersShared(cfg, box1, r))).toBe(true);
      }
    });

    test(`${name}: one box does not forward, the one that does answers every requester`, () => {
      const peerDown: HaState[] = ['tentative', 'suspended', 'non-functional', 'initial'];
      for (const survivor of [0, 1] as const) {
        const other = (1 - survivor) as 0 | 1;
        const cases: [number, number][] = [
          [served(survivor, 'active', 'dead'), 0],
          ...peerDown.map((s): [number, number] => [served(survivor, 'active', s), served(other, s, 'active')]),
        ];
        for (const [up, down] of cases) {
          expect(REQUESTERS.every((r) => answersShared(cfg, up, r))).toBe(true);
          expect(REQUESTERS.some((r) => answersShared(cfg, down, r))).toBe(false);
        }
      }
    });
  }

  test('a box serving only the primary class answers nobody: the primary has no share of its own', () => {
    expect(REQUESTERS.some((r) => answersShared(MODULO, CLASS_PRIMARY, r))).toBe(false);
  });
});
