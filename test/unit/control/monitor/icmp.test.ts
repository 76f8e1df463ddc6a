import { describe, expect, it } from 'vitest';
import { buildEchoRequest, buildEchoRequest6, icmp6Filter, parseEchoReply, parseEchoReply6 } from '../../../../src/control/monitor/icmp.js';
import { checksum } from '../../../../src/net/checksum.js';

/** What the kernel hands a raw ICMP socket: a 20-byte IPv4 header, then the ICMP message. */
function ipv4(src: number[], icmp: Buffer, proto = 1): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + icmp.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from([10, 0, 2, 2]).copy(h, 16);
  return Buffer.concat([h, icmp]);
}

/** The reply a host sends to our request: same message, type 0, checksum fixed. */
function replyTo(req: Buffer): Buffer {
  const r = Buffer.from(req);
  r[0] = 0;
  r.writeUInt16BE(0, 2);
  r.writeUInt16BE(checksum(r, 0, r.length), 2);
  return r;
}

describe('ICMP echo', () => {
  it('a request verifies and carries identifier and sequence', () => {
    const req = buildEchoRequest(0xbeef, 513);
    expect(req[0]).toBe(8);
    expect(checksum(req, 0, req.length)).toBe(0);
    expect(req.readUInt16BE(4)).toBe(0xbeef);
    expect(req.readUInt16BE(6)).toBe(513);
  });

  it('our reply: source and sequence', () => {
    expect(parseEchoReply(ipv4([10, 0, 2, 10], replyTo(buildEchoRequest(7, 65535))), 7)).toEqual({ ok: true, source: '10.0.2.10', sequence: 65535 });
  });

  const drops: [string, () => Buffer, string][] = [
    ['another pinger on this host', () => ipv4([10, 0, 2, 10], replyTo(buildEchoRequest(8, 1))), 'foreign-identifier'],
    ['an echo request (someone pings us)', () => ipv4([10, 0, 2, 10], buildEchoRequest(7, 1)), 'not-echo-reply'],
    ['a destination unreachable', () => ipv4([10, 0, 2, 10], Buffer.from([3, 1, 0, 0, 0, 0, 0, 0])), 'not-echo-reply'],
    [
      'a corrupted reply',
      () => {
        const r = replyTo(buildEchoRequest(7, 1));
        r[9] ^= 0xff;
        return ipv4([10, 0, 2, 10], r);
      },
      'bad-checksum',
    ],
    ['cut short', () => ipv4([10, 0, 2, 10], replyTo(buildEchoRequest(7, 1))).subarray(0, 25), 'truncated'],
    ['not even an IP header', () => Buffer.alloc(10), 'truncated'],
    ['not ICMP', () => ipv4([10, 0, 2, 10], replyTo(buildEchoRequest(7, 1)), 17), 'not-icmp'],
  ];
  for (const [name, make, reason] of drops) it(`drops ${name}: ${reason}`, () => expect(parseEchoReply(make(), 7)).toEqual({ ok: false, reason }));
});

/** The reply a host sends to our ICMPv6 request, as a raw ICMPv6 socket hands it over: type 129, no IPv6 header. */
function replyTo6(req: Buffer): Buffer {
  const r = Buffer.from(req);
  r[0] = 129;
  r.writeUInt16BE(0x1234, 2); // whatever the sender computed: the kernel verified it
  return r;
}

describe('ICMPv6 echo', () => {
  it('a request: type 128, identifier and sequence, checksum left to the kernel', () => {
    const req = buildEchoRequest6(0xbeef, 513);
    expect(req[0]).toBe(128);
    expect(req[1]).toBe(0);
    expect(req.readUInt16BE(2)).toBe(0);
    expect(req.readUInt16BE(4)).toBe(0xbeef);
    expect(req.readUInt16BE(6)).toBe(513);
    // the same payload as the IPv4 request
    expect(req.subarray(8)).toEqual(buildEchoRequest(0xbeef, 513).subarray(8));
  });

  it('our reply: the source (RFC 5952 text) and sequence', () => {
    expect(parseEchoReply6(replyTo6(buildEchoRequest6(7, 65535)), 'fd00:6d36::2', 7)).toEqual({ ok: true, source: 'fd00:6d36::2', sequence: 65535 });
    expect(parseEchoReply6(replyTo6(buildEchoRequest6(7, 1)), 'FD00:6D36:0:0::0002', 7)).toEqual({ ok: true, source: 'fd00:6d36::2', sequence: 1 });
    // just the echo header: the payload is not ours to check
    expect(parseEchoReply6(replyTo6(buildEchoRequest6(7, 2)).subarray(0, 8), '::1', 7)).toEqual({ ok: true, source: '::1', sequence: 2 });
  });

  const drops: [string, () => Buffer, string, string][] = [
    ['another pinger on this host', () => replyTo6(buildEchoRequest6(8, 1)), 'fd00::2', 'foreign-identifier'],
    ['an echo request (our own, to ::1)', () => buildEchoRequest6(7, 1), '::1', 'not-echo-reply'],
    ['an IPv4 echo reply type (0) read as ICMPv6', () => Buffer.from([0, 0, 0, 0, 0, 7, 0, 1]), 'fd00::2', 'not-echo-reply'],
    ['a destination unreachable', () => Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]), 'fd00::2', 'not-echo-reply'],
    ['a neighbour solicitation', () => Buffer.concat([Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(16)]), 'fe80::1', 'not-echo-reply'],
    ['cut short', () => replyTo6(buildEchoRequest6(7, 1)).subarray(0, 7), 'fd00::2', 'truncated'],
    ['empty', () => Buffer.alloc(0), 'fd00::2', 'truncated'],
    [
      'an IPv6 header in front (not what the socket delivers)',
      () => Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 16, 58, 64]), replyTo6(buildEchoRequest6(7, 1))]),
      'fd00::2',
      'not-echo-reply',
    ],
    ['a source that is not IPv6', () => replyTo6(buildEchoRequest6(7, 1)), '10.0.2.10', 'not-icmp'],
    ['a source with a zone', () => replyTo6(buildEchoRequest6(7, 1)), 'fe80::1%eth0', 'not-icmp'],
  ];
  for (const [name, make, source, reason] of drops)
    it(`drops ${name}: ${reason}`, () => expect(parseEchoReply6(make(), source, 7)).toEqual({ ok: false, reason }));

  it('the filter passes type 129 alone (a set bit blocks, words in host order)', () => {
    for (const order of ['LE', 'BE'] as const) {
      const f = icmp6Filter(order);
      expect(f.length).toBe(32);
      const word = (type: number) => (order === 'LE' ? f.readUInt32LE((type >> 5) * 4) : f.readUInt32BE((type >> 5) * 4));
      for (let type = 0; type < 256; type++) expect((word(type) >>> (type & 31)) & 1, `type ${type}`).toBe(type === 129 ? 0 : 1);
    }
    // little endian: type 129 is bit 1 of word 4, i.e. byte 16's second bit
    expect(icmp6Filter('LE')[16]).toBe(0xfd);
    expect(icmp6Filter('BE')[19]).toBe(0xfd);
  });
});
