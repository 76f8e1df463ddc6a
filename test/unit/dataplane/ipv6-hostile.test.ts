// Hostile IPv6 input through every reader of the pure IPv6 modules: random bytes and random
// mutations of valid frames never throw, never send a reader past the frame, and never make the
// error builder write more than a 1280-byte packet.
import { describe, expect, it } from 'vitest';
import { parseIpv6 } from '../../../src/net/ipv6.js';
import { buildIcmp6Error, ICMP6_ERROR_MAX_FRAME } from '../../../src/dataplane/icmp6-build.js';
import { newQuotedFlow6, parseQuoted6 } from '../../../src/dataplane/icmp6-error.js';
import { newNdMessage, parseNd } from '../../../src/dataplane/nd.js';
import { ipv6End, l4MinLen6, newIpv6Walk, validateIpv6, walkIpv6 } from '../../../src/dataplane/packet6.js';
import { mac } from './frames.js';
import { eth6, ext, frag, icmp6, ip6, tcp6 } from './frames6.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

const A = '2001:db8::a';
const B = 'ff02::1:ff00:b';
const seeds = [
  eth6('33:33:ff:00:00:0b', '02:00:00:00:00:0a', {
    src: A,
    dst: B,
    next: 58,
    hopLimit: 255,
    payload: icmp6(A, B, 135, 0, [0, 0, 0, 0, ...ip6('2001:db8::b'), 1, 1, 2, 0, 0, 0, 0, 10]),
  }),
  eth6('02:00:00:00:00:0b', '02:00:00:00:00:0a', {
    src: A,
    dst: '2001:db8::b',
    next: 0,
    payload: [...ext(60, [5, 2, 0, 0, 1, 0]), ...ext(44, [1, 4, 0, 0, 0, 0]), ...frag(6, 0, true), ...tcp6(A, '2001:db8::b', 1, 2)],
  }),
  eth6('02:00:00:00:00:0b', '02:00:00:00:00:0a', {
    src: '2001:db8::b',
    dst: A,
    next: 58,
    payload: icmp6('2001:db8::b', A, 1, 4, [0, 0, 0, 0, 0x60, 0, 0, 0, 0, 20, 6, 64, ...ip6(A), ...ip6('2001:db8::c'), ...tcp6(A, '2001:db8::c', 1, 2)]),
  }),
];

/** `f` behind a proxy that fails the test on a read at or past `len` (a typed array answers undefined, silently). */
function guarded(f: Uint8Array, len: number): Uint8Array {
  return new Proxy(f, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key) && +key >= len) throw new Error(`read at ${key}, frame of ${len}`);
      const v: unknown = Reflect.get(target, key);
      return v;
    },
  });
}

function exercise(raw: Uint8Array, len: number, out: Uint8Array): void {
  const f = guarded(raw, len);
  if (validateIpv6(f, len) !== null) return;
  const end = ipv6End(f, 14);
  const w = newIpv6Walk();
  if (walkIpv6(f, 14, end, w) === null) {
    expect(w.l4).toBeGreaterThanOrEqual(54);
    expect(w.l4).toBeLessThanOrEqual(end);
    expect(w.extBytes).toBeLessThanOrEqual(256);
    if (w.proto === 58 && end - w.l4 >= l4MinLen6(58)) {
      parseNd(f, 14, w, newNdMessage());
      parseQuoted6(f, w.l4, end, newQuotedFlow6());
    }
  }
  const n = buildIcmp6Error(out, f, len, 1, 1, 0, parseIpv6('2001:db8::1'), new Uint8Array(6), Uint8Array.from(mac('02:00:00:00:00:0a')));
  expect(n).toBeLessThanOrEqual(ICMP6_ERROR_MAX_FRAME);
}

describe('hostile IPv6 frames', () => {
  it('the guard sees a read past the frame', () => {
    expect(() => walkIpv6(guarded(seeds[1], 70), 14, ipv6End(seeds[1], 14), newIpv6Walk())).toThrow(/read at 7\d/);
  });

  it('random mutations and truncations of valid frames', () => {
    const r = rng(16);
    const out = new Uint8Array(ICMP6_ERROR_MAX_FRAME);
    for (let i = 0; i < 5000; i++) {
      const f = seeds[i % seeds.length].slice();
      const flips = 1 + (r() % 4);
      for (let k = 0; k < flips; k++) f[54 + (r() % (f.length - 54))] = r() & 255;
      if (r() % 4 === 0) f[18 + (r() % 2)] = r() & 255; // payload length
      exercise(f, f.length - (r() % 4 === 0 ? r() % 20 : 0), out);
    }
  });

  it('random bytes behind a plausible IPv6 header', () => {
    const r = rng(61);
    const out = new Uint8Array(ICMP6_ERROR_MAX_FRAME);
    for (let i = 0; i < 5000; i++) {
      const len = 54 + (r() % 400);
      const f = new Uint8Array(len);
      for (let k = 0; k < len; k++) f[k] = r() & 255;
      f[14] = 0x60;
      f[18] = (len - 54) >> 8;
      f[19] = (len - 54) & 255;
      f[20] = [0, 43, 44, 51, 58, 60][r() % 6];
      exercise(f, len, out);
    }
  });
});
