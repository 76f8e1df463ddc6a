// What HA3 costs per frame, measured and printed (never asserted: unit tests run on shared cores).
// The envelope alone (seal on one box, open on the other), and a packet of an established flow
// processed by its owner straight off the wire against one that crossed HA3 first, in the pair rig
// (whose fake I/O copies every frame sent: the same cost on both paths).
import { describe, expect, it } from 'vitest';
import { HA3_DATA, Ha3Opener, Ha3Sealer } from '../../../src/wire/ha3.js';
import { CLIENT, CLIENT_MAC, LAN, SERVER, SERVER_MAC, WAN, WAN_FLOAT, frame, udpPacket, view } from './firewall-helpers.js';
import { makePair, type Box } from './pair-rig.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const MAC_A = new Uint8Array([2, 0, 0, 0, 0, 1]);
const MAC_B = new Uint8Array([2, 0, 0, 0, 0, 2]);

function nsPer(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

const macText = (m: Uint8Array) => Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');
const to = (box: Box, i: number, srcMac: string, packet: number[]) => frame(macText(box.macOf(i)), srcMac, packet);

describe('HA3 cost per frame (printed)', () => {
  it('the envelope: seal and open', () => {
    const lines: string[] = [];
    for (const size of [64, 1514]) {
      const sealer = new Ha3Sealer(KEY, 0, 1);
      const opener = new Ha3Opener(KEY, 0);
      const payload = new Uint8Array(size);
      const frames = Array.from({ length: 20_000 }, () => sealer.seal(HA3_DATA, 0, 0, payload, MAC_B, MAC_A));
      const sealNs = nsPer(20_000, () => sealer.seal(HA3_DATA, 0, 0, payload, MAC_B, MAC_A));
      let i = 0;
      const openNs = nsPer(20_000, () => {
        if (!opener.open(frames[i++]).ok) throw new Error('refused');
      });
      lines.push(`HA3 ${size}-byte frame: seal ${Math.round(sealNs)} ns, open ${Math.round(openNs)} ns`);
    }
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(2);
  });

  it('an established flow: owner off the wire against a crossing through the peer', () => {
    const pair = makePair({ sessionSetup: 'first-packet', deferMs: 0 });
    const { a, b } = pair;
    pair.advance(200);
    a.rx('lan0', to(a, LAN, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 5000, dport: 5001 })));
    const sport = view(a.out.wan0[0]).sport;
    pair.ha2();
    pair.advance(4);
    const reply = (box: Box) => to(box, WAN, SERVER_MAC, udpPacket({ src: SERVER, dst: WAN_FLOAT, sport: 5001, dport: sport, data: new Array(1000).fill(7) }));
    const n = 5_000;
    const direct = reply(a);
    const crossing = reply(b);
    const clear = () => {
      a.out.lan0.length = 0;
      b.out.lan0.length = 0;
    };
    for (let i = 0; i < 500; i++) {
      a.rx('wan0', Buffer.from(direct));
      b.rx('wan0', Buffer.from(crossing));
      pair.deliver();
    }
    clear();
    const directNs = nsPer(n, () => a.rx('wan0', Buffer.from(direct)));
    clear();
    const crossNs = nsPer(n, () => {
      b.rx('wan0', Buffer.from(crossing));
      pair.deliver();
    });
    expect(a.out.lan0).toHaveLength(n);
    console.log(
      `1042-byte reply of an established UDP flow: ${Math.round(directNs)} ns at its owner off the wire, ${Math.round(crossNs)} ns through the peer and HA3 (both boxes' work)`,
    );
  });
});
