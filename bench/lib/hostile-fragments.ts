// Hand-built IPv4 fragments for the namespace test and the soak: a UDP datagram's pieces as
// Ethernet frames (hex, for test/integration/fixtures/send-frames.mjs), and bursts of the kinds a
// hostile host sends (never completed, from spoofed sources; overlapping pieces).
import { checksum } from '../../src/net/checksum.js';

export interface FragmentFrame {
  srcMac: string;
  dstMac: string;
  /** Dotted quads. */
  src: string;
  dst: string;
  id: number;
  /** Offset of the piece in the datagram's payload (a multiple of 8), and its length. */
  off: number;
  n: number;
  more: boolean;
  /** The payload's bytes. */
  fill: number;
  /** The first piece's UDP destination port. */
  dport: number;
}

const macBytes = (s: string) => Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
const quad = (s: string) => Buffer.from(s.split('.').map(Number));

/** One fragment of a UDP datagram from src to dst, as a frame in hex. */
export function fragmentFrame(f: FragmentFrame): string {
  const ip = Buffer.alloc(20 + f.n, f.fill);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + f.n, 2);
  ip.writeUInt16BE(f.id & 0xffff, 4);
  ip.writeUInt16BE((f.more ? 0x2000 : 0) | (f.off >> 3), 6);
  ip[8] = 64;
  ip[9] = 17;
  ip.writeUInt16BE(0, 10);
  quad(f.src).copy(ip, 12);
  quad(f.dst).copy(ip, 16);
  if (f.off === 0) {
    ip.writeUInt16BE(40000, 20);
    ip.writeUInt16BE(f.dport, 22);
    ip.writeUInt16BE(0, 26);
  }
  ip.writeUInt16BE(checksum(ip, 0, 20), 10);
  return Buffer.concat([macBytes(f.dstMac), macBytes(f.srcMac), Buffer.from([8, 0]), ip]).toString('hex');
}

/**
 * A burst: `never` first pieces whose datagrams never complete, each from its own source in
 * `subnet` (three octets, the host octet counting from 100), and `overlaps` datagrams whose two
 * pieces overlap. Ids start at `id0`.
 */
export function hostileBurst(o: {
  srcMac: string;
  dstMac: string;
  subnet: string;
  dst: string;
  dport: number;
  never: number;
  overlaps: number;
  id0: number;
}): string[] {
  const frames: string[] = [];
  const base = { srcMac: o.srcMac, dstMac: o.dstMac, dst: o.dst, dport: o.dport, fill: 1 };
  for (let i = 0; i < o.never; i++) frames.push(fragmentFrame({ ...base, src: `${o.subnet}.${100 + (i % 150)}`, id: o.id0 + i, off: 0, n: 64, more: true }));
  for (let i = 0; i < o.overlaps; i++) {
    const id = o.id0 + o.never + i;
    const src = `${o.subnet}.98`;
    frames.push(fragmentFrame({ ...base, src, id, off: 0, n: 64, more: true }), fragmentFrame({ ...base, src, id, off: 32, n: 64, more: false, fill: 2 }));
  }
  return frames;
}
