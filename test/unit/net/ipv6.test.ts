import { describe, expect, it } from 'vitest';
import {
  formatIpv6,
  inPrefix6,
  ipv6Equal,
  ipv6Key,
  isCidr6,
  isIpv6,
  isLinkLocal6,
  isMulticast6,
  multicastMac6,
  parseCidr6,
  parseIpv6,
  readIpv6,
  solicitedNode6,
  writeIpv6,
} from '../../../src/net/ipv6.js';

describe('ipv6 addresses', () => {
  it('parses into four big-endian words and prints RFC 5952 text', () => {
    const a = parseIpv6('2001:DB8:0:0:0:0:0:1');
    expect([...a]).toEqual([0x20010db8, 0, 0, 1]);
    expect(formatIpv6(a)).toBe('2001:db8::1');
    expect([...parseIpv6('::ffff:10.0.0.1')]).toEqual([0, 0, 0xffff, 0x0a000001]);
  });

  it('refuses zone ids, prefixes and IPv4 text', () => {
    expect(isIpv6('fe80::1%eth0')).toBe(false);
    expect(isIpv6('2001:db8::/32')).toBe(false);
    expect(isIpv6('10.0.0.1')).toBe(false);
    expect(() => parseIpv6('2001:db8::g')).toThrow(/not an IPv6 address/);
  });

  it('parses prefixes and matches addresses against them', () => {
    const { address, prefix } = parseCidr6('2001:db8:1::2/64');
    expect(formatIpv6(prefix.network)).toBe('2001:db8:1::');
    expect(inPrefix6(address, 0, prefix)).toBe(true);
    expect(inPrefix6(parseIpv6('2001:db8:2::2'), 0, prefix)).toBe(false);
    expect(inPrefix6(parseIpv6('::'), 0, parseCidr6('::/0').prefix)).toBe(true);
    const odd = parseCidr6('2001:db8::/33').prefix;
    expect(inPrefix6(parseIpv6('2001:db8:7fff::1'), 0, odd)).toBe(true);
    expect(inPrefix6(parseIpv6('2001:db8:8000::1'), 0, odd)).toBe(false);
    expect(isCidr6('2001:db8::/129')).toBe(false);
    expect(isCidr6('2001:db8::')).toBe(false);
  });

  it('reads and writes frame bytes, keys and compares', () => {
    const buf = new Uint8Array(20);
    const a = parseIpv6('fe80::1:2:3:4');
    writeIpv6(buf, 2, a);
    const back = new Uint32Array(8);
    readIpv6(buf, 2, back, 4);
    expect(ipv6Equal(back, 4, a, 0)).toBe(true);
    expect(ipv6Key(a)).toBe(ipv6Key(back, 4));
    expect(ipv6Key(a)).not.toBe(ipv6Key(parseIpv6('fe80::1:2:3:5')));
    expect(isLinkLocal6(a)).toBe(true);
    expect(isLinkLocal6(parseIpv6('fec0::1'))).toBe(false);
    expect(isMulticast6(parseIpv6('ff02::1'))).toBe(true);
  });

  it('derives the solicited-node group and its MAC', () => {
    const sn = solicitedNode6(parseIpv6('2001:db8::12:3456'));
    expect(formatIpv6(sn)).toBe('ff02::1:ff12:3456');
    expect([...multicastMac6(sn)]).toEqual([0x33, 0x33, 0xff, 0x12, 0x34, 0x56]);
  });
});
