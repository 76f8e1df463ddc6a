import { describe, expect, it } from 'vitest';
import { checkArp } from '../../../src/dataplane/arp.js';
import { formatMac, isFragment, isMartianSource, parseMac, validateIpv4 } from '../../../src/dataplane/packet.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { arp, buf, eth, ipv4, refChecksum, udp } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const good = () => eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', payload: udp(1, 2, [1, 2, 3, 4]) }));

function fixCsum(f: number[]): number[] {
  f[24] = f[25] = 0;
  const hlen = (f[14] & 15) * 4;
  const c = refChecksum(f.slice(14, 14 + hlen));
  f[24] = c >> 8;
  f[25] = c & 255;
  return f;
}

describe('validateIpv4', () => {
  const cases: [string, () => { f: number[]; len?: number }, ReturnType<typeof validateIpv4>][] = [
    ['a good packet', () => ({ f: good() }), null],
    ['a good packet with Ethernet padding', () => ({ f: [...good(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }), null],
    ['a frame cut inside the IPv4 header', () => ({ f: good(), len: 30 }), 'truncated'],
    ['a frame with only the Ethernet header', () => ({ f: good(), len: 14 }), 'truncated'],
    ['version 6 in an IPv4 EtherType', () => ({ f: fixCsum(Object.assign(good(), { 14: 0x65 })) }), 'bad-ip-header'],
    ['IHL 4', () => ({ f: fixCsum(Object.assign(good(), { 14: 0x44 })) }), 'bad-ip-header'],
    ['total length beyond the frame', () => ({ f: good(), len: good().length - 1 }), 'bad-ip-header'],
    ['total length below the header length', () => ({ f: fixCsum(Object.assign(good(), { 16: 0, 17: 19 })) }), 'bad-ip-header'],
    ['IHL beyond the frame', () => ({ f: fixCsum(Object.assign(good(), { 14: 0x4f })).slice(0, 40) }), 'truncated'],
    ['a corrupted header checksum', () => ({ f: Object.assign(good(), { 25: good()[25] ^ 1 }) }), 'bad-ip-checksum'],
    ['a corrupted source address', () => ({ f: Object.assign(good(), { 29: 99 }) }), 'bad-ip-checksum'],
    [
      'options (record route)',
      () => ({ f: eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', options: [7, 3, 4, 0], payload: udp(1, 2, []) })) }),
      null, // options are the pipeline's (ip-options.ts)
    ],
    [
      'a first fragment (MF)',
      () => ({ f: eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', frag: 0x2000, payload: [1, 2, 3, 4, 5, 6, 7, 8] })) }),
      null, // fragments are the reassembler's
    ],
    ['a later fragment (offset)', () => ({ f: eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', frag: 0x0010, payload: [1, 2] })) }), null],
    ['DF alone is fine', () => ({ f: eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', frag: 0x4000, payload: [1, 2] })) }), null],
  ];
  it.each(cases)('%s', (_name, make, expected) => {
    const { f, len } = make();
    expect(validateIpv4(buf(f), len ?? f.length)).toBe(expected);
  });
});

describe('isFragment', () => {
  const frag = (word: number) => buf(eth(A, B, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.10', frag: word, payload: [1, 2] })));
  it('is MF or an offset, never DF alone', () => {
    expect(isFragment(frag(0x2000))).toBe(true);
    expect(isFragment(frag(0x0001))).toBe(true);
    expect(isFragment(frag(0x4000))).toBe(false);
    expect(isFragment(frag(0))).toBe(false);
  });
});

describe('checkArp', () => {
  const req = () => eth('ff:ff:ff:ff:ff:ff', A, 0x0806, arp(1, A, '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1'));
  it('accepts a request and a reply', () => {
    expect(checkArp(buf(req()), 42)).toBe(1);
    expect(checkArp(buf(eth(A, B, 0x0806, arp(2, B, '10.0.1.1', A, '10.0.1.10'))), 42)).toBe(2);
  });
  it('drops truncated, non-Ethernet/IPv4 and unknown opcodes', () => {
    expect(checkArp(buf(req()), 41)).toBe('truncated');
    expect(checkArp(buf(Object.assign(req(), { 15: 6 })), 42)).toBe('bad-arp'); // htype 6 (IEEE 802)
    expect(checkArp(buf(Object.assign(req(), { 16: 0x86, 17: 0xdd })), 42)).toBe('bad-arp');
    expect(checkArp(buf(Object.assign(req(), { 18: 8 })), 42)).toBe('bad-arp');
    expect(checkArp(buf(Object.assign(req(), { 21: 3 })), 42)).toBe('bad-arp'); // RARP request
  });
});

describe('helpers', () => {
  it('parses and formats MACs', () => {
    expect(formatMac(parseMac('02:74:64:00:07:0A'))).toBe('02:74:64:00:07:0a');
    expect(() => parseMac('02:74:64:00:07')).toThrow();
  });
  it('knows martian sources', () => {
    for (const a of ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255', '240.0.0.1']) expect(isMartianSource(parseIpv4(a))).toBe(true);
    for (const a of ['10.0.1.10', '1.1.1.1', '223.255.255.255']) expect(isMartianSource(parseIpv4(a))).toBe(false);
  });
});
