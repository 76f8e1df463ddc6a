// TCP MSS clamping (tcp-mss.ts): the option found among others, aligned or not, lowered only when
// larger, the checksum verified against a full computation; through the pipeline on an interface
// with mssClamp, in both directions; and the config key's bounds.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { clampMss } from '../../../src/dataplane/tcp-mss.js';
import { COUNTER_COUNT, DROP_REASONS, EVENT_COUNTERS } from '../../../src/wire/dataplane-counters.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { parseCidr, parseIpv4 } from '../../../src/net/ipv4.js';
import { parseConfig } from '../../../src/config/load.js';
import { badChecksums, CLIENT, CLIENT_MAC, LAN, LAN_REAL, LAN_V, SERVER, SERVER_MAC, WAN, WAN_REAL, WAN_V } from './firewall-helpers.js';
import { eth, ip, ipv4, refChecksum } from './frames.js';
import { minimal } from '../config/fixture.js';

const L3 = 14;
const L4 = L3 + 20;

/** A TCP segment with `options` (padded to 4 bytes by the caller), checksum computed from scratch. */
function syn(options: number[], flags = 0x02, src = CLIENT, dst = SERVER): Buffer {
  const hlen = 20 + options.length;
  const seg = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, (hlen / 4) << 4, flags, 0xff, 0xff, 0, 0, 0, 0, ...options];
  const c = refChecksum([...ip(src), ...ip(dst), 0, 6, seg.length >> 8, seg.length & 255, ...seg]);
  seg[16] = c >> 8;
  seg[17] = c & 255;
  return Buffer.from(eth(LAN_V, CLIENT_MAC, 0x0800, ipv4({ src, dst, proto: 6, payload: seg })));
}

const mssAt = (f: Uint8Array, off: number) => (f[off] << 8) | f[off + 1];

describe('clampMss', () => {
  it('an aligned MSS option above the clamp is lowered; the checksum verifies', () => {
    const f = syn([2, 4, 0x05, 0xb4, 1, 1, 4, 2]); // MSS 1460, NOP NOP, SACK permitted
    expect(clampMss(f, L3, 1360)).toBe(true);
    expect(mssAt(f, L4 + 22)).toBe(1360);
    expect(badChecksums(f)).toEqual([]);
  });

  it('an MSS at an odd offset (after one NOP) is found and the checksum still verifies', () => {
    const f = syn([1, 2, 4, 0x05, 0xb4, 1, 1, 1]);
    expect(clampMss(f, L3, 1200)).toBe(true);
    expect(mssAt(f, L4 + 23)).toBe(1200);
    expect(badChecksums(f)).toEqual([]);
  });

  it('after other options (window scale, timestamps), and in a SYN-ACK', () => {
    const f = syn([1, 3, 3, 7, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 4, 0x23, 0x28], 0x12); // MSS 9000
    expect(clampMss(f, L3, 1400)).toBe(true);
    expect(mssAt(f, L4 + 38)).toBe(1400);
    expect(badChecksums(f)).toEqual([]);
  });

  it('left alone: an MSS at or below the clamp, no MSS option, not a SYN, malformed options, not TCP', () => {
    const cases: [string, Buffer][] = [
      ['at the clamp', syn([2, 4, 0x05, 0x50])],
      ['below', syn([2, 4, 0x02, 0x18])],
      ['no MSS', syn([1, 1, 4, 2])],
      ['end of options first', syn([0, 0, 0, 0, 2, 4, 0x05, 0xb4])],
      ['not a SYN', syn([2, 4, 0x05, 0xb4], 0x10)],
      ['MSS with length 3', syn([2, 3, 0x05, 0xb4])],
      ['an option running past the header', syn([1, 1, 8, 10])],
      ['an option of length 0', syn([3, 0, 2, 4, 0x05, 0xb4, 0, 0])],
    ];
    for (const [name, f] of cases) {
      const copy = Buffer.from(f);
      expect(clampMss(f, L3, 1360), name).toBe(false);
      expect(f, name).toEqual(copy);
    }
    const udp = Buffer.from(eth(LAN_V, CLIENT_MAC, 0x0800, ipv4({ src: CLIENT, dst: SERVER, proto: 17, payload: [0, 1, 0, 2, 0, 12, 0, 0, 2, 4, 5, 0xb4] })));
    expect(clampMss(udp, L3, 1000)).toBe(false);
  });
});

function itf(name: string, real: string, v: string, address: string, floating: string, mssClamp?: number): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device: `${name}0`, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: [parseIpv4(floating)], mtu: 1500, mssClamp };
}

describe('the pipeline with mssClamp on wan', () => {
  function make() {
    const interfaces = [itf('lan', LAN_REAL, LAN_V, '10.0.1.2/24', '10.0.1.1'), itf('wan', WAN_REAL, WAN_V, '10.0.2.2/24', '10.0.2.1', 1360)];
    const routes = RouteTable.fromConfig({
      interfaces: [
        { name: 'lan', address: '10.0.1.2/24' },
        { name: 'wan', address: '10.0.2.2/24' },
      ],
      routes: [],
    });
    const role: RoleSource = { role: 1, mayActAsActive: () => true };
    const counters = new Float64Array(COUNTER_COUNT);
    const sent: Buffer[] = [];
    const sink = { send: (_i: number, f: Uint8Array, n: number) => (sent.push(Buffer.from(f.subarray(0, n))), true) };
    const p = new Pipeline(interfaces, routes, role, counters, sink, { neighbours: { reachableMs: 1e12, refreshMs: 1e12 } });
    p.neighbours[WAN].learn(parseIpv4(SERVER), parseMac(SERVER_MAC), 0, 0);
    p.neighbours[LAN].learn(parseIpv4(CLIENT), parseMac(CLIENT_MAC), 0, 0);
    const names = [...EVENT_COUNTERS, ...DROP_REASONS];
    const clamped = () => counters[names.indexOf('mss-clamped')];
    return { p, sent, clamped };
  }

  it('a SYN leaving by wan and the SYN-ACK coming in by it are clamped; a data segment is not touched', () => {
    const t = make();
    const out = syn([2, 4, 0x05, 0xb4]);
    t.p.handle(LAN, out, out.length, 1000);
    expect(mssAt(t.sent[0], L4 + 22)).toBe(1360);
    expect(badChecksums(t.sent[0])).toEqual([]);
    const back = syn([2, 4, 0x05, 0xb4], 0x12, SERVER, CLIENT);
    back.set(parseMac(WAN_V), 0);
    t.p.handle(WAN, back, back.length, 1001);
    expect(mssAt(t.sent[1], L4 + 22)).toBe(1360);
    expect(badChecksums(t.sent[1])).toEqual([]);
    expect(t.clamped()).toBe(2);
    const data = syn([2, 4, 0x05, 0xb4], 0x10);
    t.p.handle(LAN, data, data.length, 1002);
    expect(mssAt(t.sent[2], L4 + 22)).toBe(1460);
    expect(t.clamped()).toBe(2);
  });
});

describe('device.interfaces.*.mssClamp', () => {
  const withClamp = (v: unknown) => {
    const c = minimal();
    c.device.interfaces.lan.mssClamp = v;
    return stringify(c);
  };
  it('536 to 65495, optional', () => {
    expect(parseConfig(withClamp(1360), { source: 't.yaml' }).device.interfaces.lan.mssClamp).toBe(1360);
    expect(parseConfig(stringify(minimal()), { source: 't.yaml' }).device.interfaces.lan.mssClamp).toBeUndefined();
    for (const bad of [535, 65496, 1360.5, '1360']) expect(() => parseConfig(withClamp(bad), { source: 't.yaml' }), String(bad)).toThrow();
  });
});
