import { describe, expect, it } from 'vitest';
import { buildEchoRequest, parseEchoReply } from '../../../../src/control/monitor/icmp.js';
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
