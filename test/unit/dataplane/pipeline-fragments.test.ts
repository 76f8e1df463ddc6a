// The pipeline with fragments and IP options: a fragmented datagram is reassembled, NATed as one
// (its L4 checksum right once put together again), and leaves in fragments of the egress MTU;
// a datagram that times out with its first fragment gets ICMP time exceeded, code 1; options
// are stripped, source routes dropped.
import { describe, expect, it } from 'vitest';
import { CLIENT, CLIENT_MAC, LAN, LAN_V, SERVER, WAN, WAN_FLOAT, badChecksums, frame, labRaw, makeRig, sharedOf, udpPacket } from './firewall-helpers.js';
import { ipv4, refChecksum } from './frames.js';

const NOW = 1_000_000;
const fromClient = (packet: number[]) => frame(LAN_V, CLIENT_MAC, packet);
const u16 = (f: Uint8Array, o: number) => (f[o] << 8) | f[o + 1];

/** `packet` (an option-less IPv4 packet) cut into fragments of `step` payload bytes, as frames from the client. */
function fragments(packet: number[], step: number): Buffer[] {
  const payload = packet.slice(20);
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += step) {
    const piece = payload.slice(off, off + step);
    const h = packet.slice(0, 20);
    const total = 20 + piece.length;
    const word = (off + step < payload.length ? 0x2000 : 0) | (off >> 3);
    Object.assign(h, { 2: total >> 8, 3: total & 255, 6: word >> 8, 7: word & 255, 10: 0, 11: 0 });
    const c = refChecksum(h);
    Object.assign(h, { 10: c >> 8, 11: c & 255 });
    out.push(fromClient([...h, ...piece]));
  }
  return out;
}

/** Fragments sent (frames) put together again: the whole IPv4 packet's frame. */
function join(frames: Buffer[]): Buffer {
  const parts = frames.map((f) => ({ off: (u16(f, 20) & 0x1fff) << 3, data: f.subarray(34, 14 + u16(f, 16)) }));
  const size = Math.max(...parts.map((p) => p.off + p.data.length));
  const whole = Buffer.alloc(34 + size);
  frames[0].copy(whole, 0, 0, 34);
  for (const p of parts) p.data.copy(whole, 34 + p.off);
  whole.writeUInt16BE(20 + size, 16);
  whole.writeUInt16BE(0, 20);
  whole.writeUInt16BE(0, 24);
  whole.writeUInt16BE(refChecksum([...whole.subarray(14, 34)]), 24);
  return whole;
}

describe('pipeline: fragments', () => {
  it('reassembles, NATs the whole datagram and sends it in fragments of the egress MTU', () => {
    const r = makeRig(sharedOf(labRaw()));
    const data = Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);
    const packet = udpPacket({ src: CLIENT, dst: SERVER, sport: 4000, dport: 5000, data });
    const frags = fragments(packet, 1480);
    expect(r.send(LAN, frags[0], NOW).moved).toEqual({ 'fragment-held': 1 });
    expect(r.send(LAN, frags[2], NOW).moved).toEqual({ 'fragment-held': 1 });
    const res = r.send(LAN, frags[1], NOW);
    expect(res.moved).toEqual({ reassembled: 1, 'session-created': 1, forwarded: 1, fragmented: 1, tx: 3 });
    expect(res.out.every((o) => o.ifIndex === WAN && o.frame.length <= 1514)).toBe(true);
    for (const o of res.out) expect(badChecksums(o.frame).filter((b) => b === 'ip')).toEqual([]);
    const whole = join(res.out.map((o) => o.frame));
    expect([...whole.subarray(26, 30)].join('.')).toBe(WAN_FLOAT); // source NAT
    expect(badChecksums(whole)).toEqual([]); // the UDP checksum of the NATed datagram
    expect([...whole.subarray(42)]).toEqual(data);
  });

  it('a datagram whose time runs out after its first fragment: ICMP time exceeded, code 1', () => {
    const r = makeRig(sharedOf(labRaw()));
    const packet = udpPacket({ src: CLIENT, dst: SERVER, sport: 4000, dport: 5000, data: new Array(3000).fill(1) });
    r.send(LAN, fragments(packet, 1480)[0], NOW);
    const moved = r.movedBy(() => r.p.tick(NOW + 29_000));
    expect(moved).toEqual({});
    const start = r.sent.length;
    expect(r.movedBy(() => r.p.tick(NOW + 30_000))).toEqual({ 'frag-timeout': 1, 'icmp-error-sent': 1, tx: 1 });
    const err = r.sent[start];
    expect(err.ifIndex).toBe(LAN);
    expect([err.frame[34], err.frame[35]]).toEqual([11, 1]);
    expect(r.p.reassembler.inFlight).toBe(0);
  });

  it('a timed-out datagram without its first fragment: dropped, no error', () => {
    const r = makeRig(sharedOf(labRaw()));
    const packet = udpPacket({ src: CLIENT, dst: SERVER, sport: 4000, dport: 5000, data: new Array(3000).fill(1) });
    r.send(LAN, fragments(packet, 1480)[1], NOW);
    expect(r.movedBy(() => r.p.tick(NOW + 30_000))).toEqual({ 'frag-timeout': 1 });
  });

  it('overlapping fragments drop the datagram, counted', () => {
    const r = makeRig(sharedOf(labRaw()));
    const packet = udpPacket({ src: CLIENT, dst: SERVER, sport: 4000, dport: 5000, data: new Array(3000).fill(1) });
    const a = fragments(packet, 1480);
    const b = fragments(packet, 1024);
    r.send(LAN, a[0], NOW);
    expect(r.send(LAN, b[1], NOW).moved).toEqual({ 'frag-overlap': 1 });
    expect(r.p.reassembler.inFlight).toBe(0);
  });
});

describe('pipeline: IP options', () => {
  const withOptions = (options: number[]) => {
    const p = udpPacket({ src: CLIENT, dst: SERVER, sport: 4000, dport: 5000, data: [1, 2, 3, 4] });
    return fromClient(ipv4({ src: CLIENT, dst: SERVER, proto: 17, options, payload: p.slice(20) }));
  };

  it('record route, timestamp, router alert: stripped, the packet forwarded with a plain header', () => {
    for (const options of [
      [7, 7, 4, 0, 0, 0, 0, 0],
      [0x44, 4, 5, 0],
      [0x94, 4, 0, 0],
      [1, 1, 1, 0],
    ]) {
      const r = makeRig(sharedOf(labRaw()));
      const res = r.send(LAN, withOptions(options), NOW);
      expect(res.moved).toEqual({ 'ip-options-stripped': 1, 'session-created': 1, forwarded: 1, tx: 1 });
      expect(res.out[0].frame[14]).toBe(0x45);
      expect(badChecksums(res.out[0].frame)).toEqual([]);
      expect([...res.out[0].frame.subarray(42)]).toEqual([1, 2, 3, 4]);
    }
  });

  it('loose and strict source routes are dropped', () => {
    const r = makeRig(sharedOf(labRaw()));
    expect(r.send(LAN, withOptions([0x83, 7, 4, 10, 0, 2, 10, 0]), NOW).moved).toEqual({ 'ip-source-route': 1 });
    expect(r.send(LAN, withOptions([1, 0x89, 3, 4]), NOW).moved).toEqual({ 'ip-source-route': 1 });
    expect(r.send(LAN, withOptions([0x07, 9, 4, 0]), NOW).moved).toEqual({ 'ip-options': 1 });
  });
});
