// The dataplane's end of HA3 (src/dataplane/ha3-port.ts) in an engine: what it refuses and how it
// counts it, what it needs to start, HELLO and the peer's MAC, the status it gives.
import { describe, expect, it } from 'vitest';
import { HA3_ACK, HA3_DATA, HA3_HELLO, HA3_INSERT, HA3_OVERHEAD_BYTES, HA3_REJECTS, Ha3Sealer, type Ha3Kind } from '../../../src/wire/ha3.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { parseConfig } from '../../../src/config/load.js';
import { stringify } from 'yaml';
import { HA_KEY, HA3_MTU, makeBox, makePair } from './pair-rig.js';
import { CLIENT, CLIENT_MAC, SERVER, frame, labRaw, udpPacket } from './firewall-helpers.js';

const A_MAC = parseMac('0a:00:00:00:03:02');
const B_MAC = parseMac('0a:00:00:01:03:02');
const EPOCH = 1_700_000_000_000;

/** Box B (device 1) alone, and a sealer that speaks as its peer A (device 0). */
function boxB() {
  let now = 1_000_000;
  const b = makeBox(1, () => now);
  const asA = new Ha3Sealer(HA_KEY, 0, EPOCH);
  const seal = (kind: number, payload: Uint8Array, ingress = 0, flags = 0) => asA.seal(kind as Ha3Kind, flags, ingress, payload, B_MAC, A_MAC);
  const counted = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, b.counter(n)]).filter(([, v]) => v !== 0));
  return { b, seal, counted, tick: (ms: number) => ((now += ms), b.engine.tick()) };
}

describe('HA3 frames refused', () => {
  it('are counted by the reason the opener gives', () => {
    const { b, seal, counted } = boxB();
    const hello = seal(HA3_HELLO, new Uint8Array(0));
    b.rx('ha3', hello);
    b.rx('ha3', hello); // replay
    b.rx('ha3', hello.subarray(0, HA3_OVERHEAD_BYTES - 1)); // short
    const tampered = seal(HA3_HELLO, new Uint8Array(4));
    tampered[tampered.length - 1] ^= 1;
    b.rx('ha3', tampered); // bad-mac
    b.rx('ha3', new Ha3Sealer(Buffer.from('another key of 32 bytes at least!'), 0, EPOCH).seal(HA3_HELLO, 0, 0, new Uint8Array(0), B_MAC, A_MAC));
    b.rx('ha3', new Ha3Sealer(HA_KEY, 1, EPOCH).seal(HA3_HELLO, 0, 0, new Uint8Array(0), B_MAC, A_MAC)); // from ourselves
    b.rx('ha3', new Ha3Sealer(HA_KEY, 0, EPOCH - 1).seal(HA3_HELLO, 0, 0, new Uint8Array(0), B_MAC, A_MAC)); // an older run of A
    b.rx('ha3', seal(9, new Uint8Array(0))); // unknown kind
    const v2 = seal(HA3_HELLO, new Uint8Array(0));
    v2[14] = 2;
    b.rx('ha3', v2);
    const long = seal(HA3_HELLO, new Uint8Array(8));
    b.rx('ha3', long.subarray(0, long.length - 4)); // shorter than it says
    expect(counted([...HA3_REJECTS, 'ha3-rx'])).toEqual({
      'ha3-rx': 1,
      'ha3-replay': 1,
      'ha3-short': 1,
      'ha3-bad-mac': 2,
      'ha3-wrong-sender': 1,
      'ha3-stale-epoch': 1,
      'ha3-kind': 1,
      'ha3-version': 1,
      'ha3-length': 1,
    });
  });

  it('an authenticated payload that does not fit its kind is ha3-bad-payload; the link is not crashed by it', () => {
    const { b, seal, counted } = boxB();
    b.rx('ha3', seal(HA3_INSERT, new Uint8Array(10)));
    b.rx('ha3', seal(HA3_ACK, new Uint8Array(3)));
    const datagram = frame('02:00:00:00:00:01', CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 1, dport: 5001 }));
    b.rx('ha3', seal(HA3_DATA, datagram, 7)); // no interface 7
    b.rx('ha3', seal(HA3_INSERT, new Uint8Array(64))); // op 0: no record HA3 carries
    expect(counted(['ha3-bad-payload', 'ha3-rx'])).toEqual({ 'ha3-bad-payload': 4, 'ha3-rx': 4 });
  });

  it('random frames, HA3 or not, never crash the port and each ends in one counter', () => {
    const { b, seal } = boxB();
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
    const outcomes = [...HA3_REJECTS, 'ha3-rx', 'to-kernel'];
    const total = () => outcomes.reduce((n, o) => n + b.counter(o), 0);
    for (let i = 0; i < 3000; i++) {
      let f: Uint8Array;
      if (i % 3 === 0) {
        f = seal(HA3_DATA, Uint8Array.from({ length: rand() }, rand), rand() & 3);
        f[14 + (rand() % (f.length - 14))] ^= 1 << (rand() & 7);
      } else {
        f = Uint8Array.from({ length: rand() + 1 }, rand);
        if (i % 3 === 1 && f.length > 14) [f[12], f[13]] = [0x88, 0xb5];
      }
      const before = total();
      b.rx('ha3', f);
      expect(total() - before, `frame ${i}`).toBe(1);
    }
  });

  it('the kernel’s own frames on the link are left to it', () => {
    const { b, counted } = boxB();
    b.rx('ha3', new Uint8Array(60).fill(0x33)); // an IPv6 multicast frame, say
    expect(counted(['to-kernel'])).toEqual({ 'to-kernel': 1 });
  });
});

describe('HELLO and the peer’s MAC', () => {
  it('HELLOs go to broadcast until the peer is heard, then to its MAC; the status says so', () => {
    const { b, seal, tick } = boxB();
    tick(2);
    expect(b.out.ha3).toHaveLength(1);
    expect(Array.from(b.out.ha3[0].subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    expect(b.out.ha3[0][15]).toBe(HA3_HELLO);
    expect(b.engine.status().activeActive?.ha3).toMatchObject({ hearsPeer: false, peerMac: null, open: true, device: 'ha3' });
    b.rx('ha3', seal(HA3_HELLO, new Uint8Array(0)));
    tick(50);
    expect(b.out.ha3).toHaveLength(1); // one per 100 ms
    tick(60);
    expect(b.out.ha3).toHaveLength(2);
    expect(b.out.ha3[1].subarray(0, 6)).toEqual(Buffer.from(A_MAC));
    expect(b.engine.status().activeActive).toMatchObject({
      device: 1,
      sessionsOwned: [0, 0],
      ha3: { hearsPeer: true, peerMac: '0a:00:00:00:03:02', rx: { frames: 1 }, tx: { frames: 2 } },
    });
  });

  it('both boxes of a pair hear each other', () => {
    const pair = makePair();
    pair.advance(250);
    for (const box of [pair.a, pair.b]) expect(box.engine.status().activeActive?.ha3.hearsPeer).toBe(true);
  });
});

describe('an HA3 handle that refuses frames (its device is down)', () => {
  it('a packet for the peer is lost as send-failed; a HELLO that does not leave is no packet lost', () => {
    let now = 1_000_000;
    const b = makeBox(1, () => now, {}, { ha3Refuses: true });
    b.rx('ha3', new Ha3Sealer(HA_KEY, 0, EPOCH).seal(HA3_HELLO, 0, 0, new Uint8Array(0), B_MAC, A_MAC));
    for (let i = 0; i < 100; i++) {
      now += 2;
      b.engine.tick();
    }
    expect(b.counter('send-failed')).toBe(0);
    const datagram = frame('02:00:00:00:00:01', CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 1, dport: 5001 }));
    expect(b.engine.pipeline.peer!.forward(0, 0, datagram, datagram.length, now)).toBe(false);
    expect([b.counter('send-failed'), b.counter('ha3-tx')]).toEqual([1, 0]);
  });
});

describe('starting an active/active engine', () => {
  it('refuses an HA3 device whose MTU cannot carry the largest traffic frame', () => {
    expect(() => makeBox(0, () => 0, {}, { ha3Mtu: HA3_MTU - 1 })).toThrow(/HA3 device ha3 has MTU 1549; it must be at least 1550/);
    expect(() => makeBox(0, () => 0, {}, { ha3Mtu: HA3_MTU })).not.toThrow();
  });

  it('active/passive opens no HA3 device and says nothing of active/active', () => {
    const raw = labRaw();
    raw.device.ha.ha3 = { device: 'ha3' };
    const config = parseConfig(stringify(raw), { source: 'ha3-port-test.yaml' });
    const box = makeBox(0, () => 0, {}, { config });
    expect(box.opened).toEqual(['lan0', 'wan0']);
    expect(box.engine.status().activeActive).toBeUndefined();
  });
});
