// Valid frames to start from, and field-aware mutations of Ethernet, IPv4, TCP, UDP, ICMP and ARP
// headers: the lengths, IHL, fragment bits and options where parsers go wrong. Byte-level noise
// (mutate.ts) rarely gets past the IPv4 checksum; these mutations re-seal the header checksum
// most of the time so that the damage reaches the layers behind it.
import { checksum } from '../../../src/net/checksum.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import { mutateBytes } from './mutate.js';
import type { Prng } from './prng.js';

export const ETH_HLEN = 14;
const IP = ETH_HLEN;

export function macBytes(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

function ipBytes(text: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(parseIpv4(text) >>> 0, 0);
  return b;
}

export interface L3 {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  ttl?: number;
  id?: number;
  /** Flags and fragment offset word (default DF). */
  frag?: number;
  /** IPv4 options (padded to 4 bytes by the caller). */
  options?: Buffer;
}

/** Ethernet + IPv4 around `l4`, with the IP header checksum set. */
export function ipv4Frame(o: L3, proto: number, l4: Buffer): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const ihl = 20 + opts.length;
  const f = Buffer.alloc(ETH_HLEN + ihl + l4.length);
  macBytes(o.dstMac).copy(f, 0);
  macBytes(o.srcMac).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[IP] = 0x40 | (ihl >> 2);
  f.writeUInt16BE(ihl + l4.length, IP + 2);
  f.writeUInt16BE(o.id ?? 0x1234, IP + 4);
  f.writeUInt16BE(o.frag ?? 0x4000, IP + 6);
  f[IP + 8] = o.ttl ?? 64;
  f[IP + 9] = proto;
  ipBytes(o.src).copy(f, IP + 12);
  ipBytes(o.dst).copy(f, IP + 16);
  opts.copy(f, IP + 20);
  l4.copy(f, IP + ihl);
  sealIpv4(f);
  sealL4(f);
  return f;
}

/** Recomputes the IPv4 header checksum over the IHL the frame claims (as far as the frame goes). */
export function sealIpv4(f: Buffer): void {
  if (f.length < IP + 20) return;
  const ihl = Math.min((f[IP] & 0x0f) << 2, f.length - IP);
  f.writeUInt16BE(0, IP + 10);
  f.writeUInt16BE(checksum(f, IP, ihl), IP + 10);
}

/** Recomputes the TCP/UDP/ICMP checksum over what the IP total length gives (when it fits). */
export function sealL4(f: Buffer): void {
  if (f.length < IP + 20) return;
  const ihl = (f[IP] & 0x0f) << 2;
  const total = f.readUInt16BE(IP + 2);
  const l4 = IP + ihl;
  const l4len = total - ihl;
  if (ihl < 20 || l4len < 8 || l4 + l4len > f.length) return;
  const proto = f[IP + 9];
  const src = f.readUInt32BE(IP + 12);
  const dst = f.readUInt32BE(IP + 16);
  const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4len;
  if (proto === 6 && l4len >= 20) {
    f.writeUInt16BE(0, l4 + 16);
    f.writeUInt16BE(checksum(f, l4, l4len, pseudo), l4 + 16);
  } else if (proto === 17) {
    f.writeUInt16BE(0, l4 + 6);
    f.writeUInt16BE(checksum(f, l4, l4len, pseudo) || 0xffff, l4 + 6);
  } else if (proto === 1) {
    f.writeUInt16BE(0, l4 + 2);
    f.writeUInt16BE(checksum(f, l4, l4len), l4 + 2);
  }
}

export function tcpSegment(sport: number, dport: number, flags: number, seq = 1000, ack = 0, data: Buffer = Buffer.alloc(0)): Buffer {
  const t = Buffer.alloc(20 + data.length);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(0xffff, 14);
  data.copy(t, 20);
  return t;
}

export function udpDatagram(sport: number, dport: number, data: Buffer = Buffer.alloc(4)): Buffer {
  const u = Buffer.alloc(8 + data.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  data.copy(u, 8);
  return u;
}

export function icmpMessage(type: number, code: number, rest: number, data: Buffer = Buffer.alloc(8)): Buffer {
  const m = Buffer.alloc(8 + data.length);
  m[0] = type;
  m[1] = code;
  m.writeUInt32BE(rest >>> 0, 4);
  data.copy(m, 8);
  return m;
}

/** Ethernet + ARP (op 1 request, 2 reply), padded to 60 bytes. */
export function arpFrame(dstMac: string, srcMac: string, op: number, sha: string, spa: string, tha: string, tpa: string): Buffer {
  const f = Buffer.alloc(60);
  macBytes(dstMac).copy(f, 0);
  macBytes(srcMac).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(op, 20);
  macBytes(sha).copy(f, 22);
  ipBytes(spa).copy(f, 28);
  macBytes(tha).copy(f, 32);
  ipBytes(tpa).copy(f, 38);
  return f;
}

/** IPv4 options worth trying: NOP, EOL, record route, a length byte that lies, a bare type. */
const OPTION_SETS: readonly number[][] = [
  [1, 1, 1, 0],
  [7, 7, 4, 0, 0, 0, 0, 0],
  [0x44, 0xff, 5, 0],
  [0x83, 2, 0, 0],
  [0x94, 4, 0, 0],
  [1, 0x82, 0, 0],
];

export type FieldMutation =
  | 'ethertype'
  | 'eth-dst'
  | 'ip-version'
  | 'ip-ihl'
  | 'ip-totlen'
  | 'ip-frag'
  | 'ip-split'
  | 'ip-ttl'
  | 'ip-proto'
  | 'ip-addr'
  | 'ip-options'
  | 'ip-checksum'
  | 'tcp-offset'
  | 'tcp-flags'
  | 'tcp-ports'
  | 'udp-length'
  | 'icmp-type'
  | 'icmp-quote'
  | 'arp-field'
  | 'pad'
  | 'bytes';

export const FIELD_MUTATIONS: readonly FieldMutation[] = [
  'ethertype',
  'eth-dst',
  'ip-version',
  'ip-ihl',
  'ip-totlen',
  'ip-frag',
  'ip-split',
  'ip-ttl',
  'ip-proto',
  'ip-addr',
  'ip-options',
  'ip-checksum',
  'tcp-offset',
  'tcp-flags',
  'tcp-ports',
  'udp-length',
  'icmp-type',
  'icmp-quote',
  'arp-field',
  'pad',
  'bytes',
];

export interface FrameMutationContext {
  /** Valid frames to splice from. */
  corpus: readonly Uint8Array[];
  /** MACs the box answers to (so a changed destination still reaches the parser sometimes). */
  macs: readonly string[];
  /** Addresses that mean something to the box (hosts, floating IPs, its own, broadcast...). */
  addresses: readonly string[];
  maxLen: number;
}

/** One field-aware mutation, usually re-sealing the IPv4 checksum (and sometimes the L4 one). */
export function mutateField(rng: Prng, input: Uint8Array, how: FieldMutation, ctx: FrameMutationContext): Buffer {
  let f: Buffer = Buffer.from(input);
  const hasIp = f.length >= IP + 20 && f.readUInt16BE(12) === 0x0800;
  const ihl = hasIp ? (f[IP] & 0x0f) << 2 : 20;
  const l4 = IP + ihl;
  const proto = hasIp ? f[IP + 9] : -1;
  switch (how) {
    case 'ethertype':
      if (f.length >= 14) f.writeUInt16BE(rng.pick([0x0800, 0x0806, 0x86dd, 0x8100, 0x88cc, 0x0000, 0xffff, rng.int(0x10000)]), 12);
      break;
    case 'eth-dst':
      if (f.length >= 6)
        macBytes(rng.chance(0.7) ? rng.pick(ctx.macs) : rng.pick(['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '00:00:00:00:00:00', '22:99:99:99:99:99'])).copy(
          f,
          0,
        );
      break;
    case 'ip-version':
      if (hasIp) f[IP] = (rng.pick([0, 4, 5, 6, 15]) << 4) | (f[IP] & 0x0f);
      break;
    case 'ip-ihl':
      if (hasIp) f[IP] = (f[IP] & 0xf0) | rng.pick([0, 1, 4, 5, 6, 7, 15]);
      break;
    case 'ip-totlen':
      if (hasIp) {
        const total = f.readUInt16BE(IP + 2);
        f.writeUInt16BE(
          rng.pick([0, 1, 19, 20, ihl, ihl + 1, ihl + 7, ihl + 8, ihl + 19, total - 1, total + 1, f.length - IP, f.length - IP + 1, 0xffff, rng.int(0x10000)]) &
            0xffff,
          IP + 2,
        );
      }
      break;
    case 'ip-split':
      // one piece of the packet as a fragment (the corpus shares IP ids: pieces meet in the
      // reassembler, in order or not, overlapping or not, duplicated, never completed)
      if (hasIp && ihl === 20) {
        const payload = f.readUInt16BE(IP + 2) - 20;
        const off = rng.int(Math.max(1, payload >> 3) + 1) << 3;
        const n = rng.pick([0, 8, 16, 24, rng.int(64), payload - off]);
        const piece = f.subarray(IP + 20 + Math.min(off, payload), IP + 20 + Math.max(0, Math.min(off + n, payload)));
        f = Buffer.concat([f.subarray(0, IP + 20), piece]);
        f.writeUInt16BE(20 + piece.length, IP + 2);
        f.writeUInt16BE((rng.chance(0.7) ? 0x2000 : 0) | (off >> 3), IP + 6);
      }
      break;
    case 'ip-frag':
      if (hasIp) f.writeUInt16BE(rng.pick([0x0000, 0x4000, 0x2000, 0x0001, 0x1fff, 0x8000, 0x6000, 0xffff, rng.int(0x10000)]), IP + 6);
      break;
    case 'ip-ttl':
      if (hasIp) f[IP + 8] = rng.pick([0, 1, 2, 64, 255]);
      break;
    case 'ip-proto':
      if (hasIp) f[IP + 9] = rng.pick([0, 1, 2, 6, 17, 41, 47, 50, 58, 132, 255]);
      break;
    case 'ip-addr':
      if (hasIp)
        ipBytes(rng.chance(0.8) ? rng.pick(ctx.addresses) : `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`).copy(
          f,
          IP + (rng.chance(0.5) ? 12 : 16),
        );
      break;
    case 'ip-options':
      if (hasIp && ihl === 20) {
        const opt = Buffer.from(rng.pick(OPTION_SETS));
        f = Buffer.concat([f.subarray(0, IP + 20), opt, f.subarray(IP + 20)]);
        f[IP] = (f[IP] & 0xf0) | ((20 + opt.length) >> 2);
        f.writeUInt16BE((f.readUInt16BE(IP + 2) + opt.length) & 0xffff, IP + 2);
      }
      break;
    case 'ip-checksum':
      if (hasIp) f.writeUInt16BE(rng.int(0x10000), IP + 10);
      return f; // not re-sealed: the point is a wrong checksum
    case 'tcp-offset':
      if (proto === 6 && f.length > l4 + 12) f[l4 + 12] = (rng.pick([0, 1, 4, 5, 6, 15]) << 4) | (f[l4 + 12] & 0x0f);
      break;
    case 'tcp-flags':
      if (proto === 6 && f.length > l4 + 13)
        f[l4 + 13] = rng.pick([0, 0x01, 0x02, 0x03, 0x04, 0x06, 0x10, 0x11, 0x12, 0x14, 0x18, 0x29, 0x3f, 0xff, rng.int(256)]);
      break;
    case 'tcp-ports':
      if ((proto === 6 || proto === 17) && f.length >= l4 + 4)
        f.writeUInt16BE(rng.pick([0, 22, 53, 80, 443, 5002, 5003, 6000, 8080, 65535, rng.int(0x10000)]), l4 + (rng.chance(0.5) ? 0 : 2));
      break;
    case 'udp-length':
      if (proto === 17 && f.length >= l4 + 6) f.writeUInt16BE(rng.pick([0, 1, 7, 8, 9, 0xffff, rng.int(0x10000)]), l4 + 4);
      break;
    case 'icmp-type':
      if (proto === 1 && f.length >= l4 + 2) {
        f[l4] = rng.pick([0, 3, 4, 5, 8, 11, 12, 13, 14, 255]);
        f[l4 + 1] = rng.pick([0, 1, 3, 4, 13, 255]);
      }
      break;
    case 'icmp-quote':
      // an ICMP error quoting one of the corpus' packets (maybe cut short): the quoted-header parser
      if (hasIp) {
        const inner = Buffer.from(rng.pick(ctx.corpus)).subarray(IP);
        const quoted = inner.subarray(0, rng.pick([0, 8, 20, 27, 28, 40, inner.length]));
        const msg = icmpMessage(rng.pick([3, 11, 12, 4]), rng.int(16), 0, quoted);
        const head = Buffer.from(f.subarray(0, IP + 20));
        head[IP] = 0x45;
        head[IP + 9] = 1;
        head.writeUInt16BE(0x4000, IP + 6);
        f = Buffer.concat([head, msg]);
        f.writeUInt16BE(20 + msg.length, IP + 2);
        sealL4(f);
      }
      break;
    case 'arp-field':
      if (f.length >= 42 && f.readUInt16BE(12) === 0x0806) {
        const off = rng.pick([14, 16, 18, 19, 20, 28, 38]);
        if (off === 18 || off === 19) f[off] = rng.pick([0, 4, 6, 16, 255]);
        else if (off === 28 || off === 38) ipBytes(rng.pick(ctx.addresses)).copy(f, off);
        else f.writeUInt16BE(rng.pick([0, 1, 2, 3, 4, 0x0800, 0x86dd, 0xffff]), off);
      }
      break;
    case 'pad':
      f = rng.chance(0.5) ? Buffer.concat([f, Buffer.alloc(rng.range(1, 64))]) : f.subarray(0, Math.max(0, f.length - rng.range(1, 24)));
      break;
    case 'bytes':
      f = mutateBytes(rng, f, { maxLen: ctx.maxLen, corpus: ctx.corpus });
      break;
  }
  if (f.length > ctx.maxLen) f = f.subarray(0, ctx.maxLen);
  // re-seal most of the time, so that the mutation is what the box judges, not the checksum
  if (hasIp && rng.chance(0.85)) sealIpv4(f);
  if (hasIp && rng.chance(0.5)) sealL4(f);
  return f;
}

/** A mutated frame: a pick from the corpus with 1..3 field mutations, or pure noise now and then. */
export function mutateFrame(rng: Prng, ctx: FrameMutationContext): Buffer {
  if (rng.chance(0.02)) return rng.bytes(rng.int(ctx.maxLen + 1));
  let f: Buffer = Buffer.from(rng.pick(ctx.corpus));
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) f = mutateField(rng, f, rng.pick(FIELD_MUTATIONS), ctx);
  return f;
}
