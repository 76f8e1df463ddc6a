// A fixed corpus of malformed and unwanted frames, from the client to the lan virtual MAC, each
// with the drop reason the dataplane must count it under.
import { checksum } from '../../src/net/checksum.js';

const VMAC_LAN = '02:74:64:00:01:01';
const CLIENT = [10, 0, 1, 10];
const SERVER = [10, 0, 2, 10];

export interface CorpusEntry {
  name: string;
  frame: Buffer;
  reason: string;
  copies: number;
}

const mac = (s: string) => Buffer.from(s.split(':').map((h) => parseInt(h, 16)));

/** A valid Ethernet + IPv4 frame around `l4` (checksums filled), to be mutated. */
function ipv4(srcMac: string, proto: number, l4: Buffer, opts: { ihlWords?: number; frag?: number; options?: number[] } = {}): Buffer {
  const ihl = opts.ihlWords ?? 5;
  const ip = Buffer.alloc(ihl * 4);
  ip[0] = 0x40 | ihl;
  ip.writeUInt16BE(ip.length + l4.length, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip.writeUInt16BE(opts.frag ?? 0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = proto;
  Buffer.from(CLIENT).copy(ip, 12);
  Buffer.from(SERVER).copy(ip, 16);
  if (ihl > 5) ip.fill(1, 20); // NOP options
  if (opts.options) Buffer.from(opts.options).copy(ip, 20);
  ip.writeUInt16BE(checksum(ip, 0, ip.length), 10);
  const eth = Buffer.concat([mac(VMAC_LAN), mac(srcMac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ip, l4]);
}

function udp(dport: number): Buffer {
  const u = Buffer.alloc(12);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(12, 4);
  return u; // checksum 0: none (RFC 768)
}

function tcp(flags: number, dport = 5002): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(40001, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(1000, 4);
  t.writeUInt32BE(2000, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  return t;
}

export function malformedCorpus(clientMac: string): CorpusEntry[] {
  const good = ipv4(clientMac, 17, udp(5003));
  const entries: CorpusEntry[] = [];
  const add = (name: string, frame: Buffer, reason: string, copies = 5) => entries.push({ name, frame, reason, copies });

  add('cut inside the IPv4 header', good.subarray(0, 14 + 12), 'truncated');
  const v6 = Buffer.from(good);
  v6[14] = 0x65;
  add('version 6 in an IPv4 frame', v6, 'bad-ip-header');
  const long = Buffer.from(good);
  long.writeUInt16BE(1400, 16);
  long.writeUInt16BE(0, 24);
  long.writeUInt16BE(checksum(long, 14, 20), 24);
  add('total length beyond the frame', long, 'bad-ip-header');
  const badsum = Buffer.from(good);
  badsum[24] ^= 0xff;
  add('bad header checksum', badsum, 'bad-ip-checksum');
  // fragments are reassembled and options stripped: only malformed ones are dropped here
  add('fragment (more fragments, 12 bytes: not a multiple of 8)', ipv4(clientMac, 17, udp(5003), { frag: 0x2000 }), 'fragment');
  add('fragment (offset and more fragments, 12 bytes)', ipv4(clientMac, 17, udp(5003), { frag: 0x2010 }), 'fragment');
  add('IP options: a loose source route', ipv4(clientMac, 17, udp(5003), { ihlWords: 6, options: [0x83, 3, 4, 0] }), 'ip-source-route');
  add('IP options: an option past the header', ipv4(clientMac, 17, udp(5003), { ihlWords: 6, options: [1, 0x44, 8, 5] }), 'ip-options');
  add('TCP header cut short', ipv4(clientMac, 6, tcp(0x10).subarray(0, 10)), 'l4-truncated');
  add('TCP ACK with no session', ipv4(clientMac, 6, tcp(0x10)), 'tcp-no-session');
  add('TCP SYN+FIN', ipv4(clientMac, 6, tcp(0x03)), 'tcp-no-session');
  const echoReply = Buffer.alloc(8);
  echoReply.writeUInt16BE(0x4242, 4);
  echoReply.writeUInt16BE(checksum(echoReply, 0, 8), 2);
  add('ICMP echo reply with no session', ipv4(clientMac, 1, echoReply), 'icmp-no-session');
  add('UDP to a port the policy denies', ipv4(clientMac, 17, udp(7777)), 'policy-deny');
  const ipv6 = Buffer.from(good);
  ipv6.writeUInt16BE(0x86dd, 12);
  // shorter than an IPv6 header: truncated before its version is read
  add('an IPv4 packet under the IPv6 EtherType', ipv6, 'truncated');
  const lldp = Buffer.from(good);
  lldp.writeUInt16BE(0x88cc, 12);
  add('LLDP EtherType', lldp, 'bad-ethertype');
  return entries;
}
