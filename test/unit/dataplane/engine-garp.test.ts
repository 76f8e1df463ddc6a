// The engine's gratuitous ARP across a planned hand-over: the old active keeps forwarding for a
// moment, but must not announce the virtual MAC while the new active takes it over, and it knows
// the switches have moved when it has seen the new active's announcements on every interface.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { ROLE_ACTIVE, SharedState } from '../../../src/wire/shared-state.js';
import { createLogger } from '../../../src/log.js';
import { LAN, LAN_FLOAT, LAN_REAL, LAN_V, WAN, WAN_FLOAT, WAN_REAL, WAN_V, labRaw } from './firewall-helpers.js';
import { arp, buf, eth } from './frames.js';
import { captureFilter } from '../../../src/dataplane/io-pcap.js';

const ETHERTYPE_ARP = 0x0806;

function makeEngine(garp: { count: number; intervalMs: number; periodicS: number }) {
  const raw = labRaw();
  raw.shared.ha.garp = garp;
  const config = parseConfig(stringify(raw), { source: 'engine-garp-test.yaml' });
  let now = 1_000_000;
  const shared = new SharedState(COUNTER_COUNT);
  shared.setRole(ROLE_ACTIVE);
  shared.renewLease(1e15);
  const macs: Record<string, string> = { lan0: LAN_REAL, wan0: WAN_REAL };
  let garps = 0;
  /** IPv6 frames of the announcement rounds: ICMPv6 type (136 advertisement, 143 MLD report) -> their frames. */
  const v6: Record<number, Uint8Array[]> = {};
  const rx: ((f: Uint8Array, len: number, truncated: boolean) => void)[] = [];
  const io: DataplaneIo = {
    open: (_device, onFrame) => (
      rx.push(onFrame),
      {
        send: (f) => {
          const type = (f[12] << 8) | f[13];
          if (type === ETHERTYPE_ARP) garps++;
          // the ICMPv6 type: right after the header, or after MLD's 8-byte hop-by-hop header
          if (type === 0x86dd) (v6[f[20] === 58 ? f[54] : f[62]] ??= []).push(Uint8Array.from(f));
          return true;
        },
        close: () => undefined,
      }
    ),
    macOf: (device) => parseMac(macs[device]),
    mtuOf: () => 1500,
  };
  const engine = new Engine(config, shared, io, () => now, createLogger({ level: 'fatal', name: 'engine-garp-test' }), { garpOnStart: false });
  return {
    shared,
    garps: () => garps,
    v6,
    now: () => now,
    receive(ifIndex: number, frame: Buffer) {
      now += 1;
      rx[ifIndex](frame, frame.length, false);
    },
    advance(ms: number) {
      for (let t = 0; t < ms; t += 2) {
        now += 2;
        engine.tick();
      }
    },
  };
}

describe('engine announcement rounds over IPv6', () => {
  it('send an unsolicited advertisement (R, O, not S) per floating IPv6 address and one MLD report per interface beside each gratuitous ARP round', () => {
    const e = makeEngine({ count: 2, intervalMs: 20, periodicS: 0 });
    e.shared.requestGarp();
    e.advance(100);
    const garps = e.garps();
    expect(garps).toBe(2 * 2); // two rounds, two IPv4 floating addresses
    const na = e.v6[136] ?? [];
    // the lab config: 2001:db8:1::1 and fe80::1 on lan, 2001:db8:2::1 and fe80::1 on wan
    expect(na.length).toBe(2 * 4);
    for (const f of na) {
      expect(f[58]).toBe(0xa0); // R and O
      expect([...f.subarray(0, 6)]).toEqual([0x33, 0x33, 0, 0, 0, 1]); // to all nodes
    }
    expect([...na[0].subarray(6, 12)]).toEqual([...parseMac(LAN_V)]);
    expect([...na[0].subarray(80, 86)]).toEqual([...parseMac(LAN_V)]); // target link-layer address: the virtual MAC
    const mld = e.v6[143] ?? [];
    expect(mld.length).toBe(2 * 2);
    // from the floating link-local address, hop limit 1
    expect(mld[0][21]).toBe(1);
    expect([...mld[0].subarray(22, 24)]).toEqual([0xfe, 0x80]);
  });
});

describe('engine GARP during a planned hand-over', () => {
  it('stops the rest of a burst once the hand-over starts', () => {
    const e = makeEngine({ count: 5, intervalMs: 20, periodicS: 0 });
    e.shared.requestGarp();
    e.advance(30);
    const early = e.garps();
    expect(early).toBeGreaterThan(0);
    e.shared.setHandingOver(true);
    e.advance(200);
    expect(e.garps()).toBe(early);
  });

  it('sends no periodic announcement while handing over, and resumes when the role is kept', () => {
    const e = makeEngine({ count: 1, intervalMs: 20, periodicS: 1 });
    e.advance(1500);
    const periodic = e.garps();
    expect(periodic).toBeGreaterThan(0);
    e.shared.setHandingOver(true);
    e.advance(3000);
    expect(e.garps()).toBe(periodic);
    e.shared.setHandingOver(false);
    e.advance(3000);
    expect(e.garps()).toBeGreaterThan(periodic);
  });
});

/** The new active's gratuitous ARP for `ip`, from the virtual MAC both boxes use. */
const peerGarp = (vmac: string, ip: string) => buf(eth('ff:ff:ff:ff:ff:ff', vmac, ETHERTYPE_ARP, arp(1, vmac, ip, '00:00:00:00:00:00', ip)));

describe('hand-over: the new active announced everywhere', () => {
  it('is recorded once the peer GARP came in on every floating interface, not before', () => {
    const e = makeEngine({ count: 3, intervalMs: 20, periodicS: 0 });
    e.shared.setHandingOver(true);
    e.receive(LAN, peerGarp(LAN_V, LAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(0);
    e.receive(LAN, peerGarp(LAN_V, LAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(0);
    e.receive(WAN, peerGarp(WAN_V, WAN_FLOAT));
    const at = e.shared.peerAnnouncedAtMs;
    expect(at).toBe(e.now());
    // later announcements do not move it
    e.receive(WAN, peerGarp(WAN_V, WAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(at);
  });

  it('counts nothing outside a hand-over, and a new hand-over starts from scratch', () => {
    const e = makeEngine({ count: 3, intervalMs: 20, periodicS: 0 });
    e.receive(LAN, peerGarp(LAN_V, LAN_FLOAT));
    e.receive(WAN, peerGarp(WAN_V, WAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(0);
    e.shared.setHandingOver(true);
    e.receive(WAN, peerGarp(WAN_V, WAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(0);
    e.shared.setHandingOver(false);
    e.shared.setHandingOver(true);
    e.receive(LAN, peerGarp(LAN_V, LAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs, 'the WAN sighting of the previous hand-over does not count').toBe(0);
  });

  it('an ARP for some other address is no announcement', () => {
    const e = makeEngine({ count: 3, intervalMs: 20, periodicS: 0 });
    e.shared.setHandingOver(true);
    e.receive(LAN, buf(eth('ff:ff:ff:ff:ff:ff', LAN_V, ETHERTYPE_ARP, arp(1, LAN_V, '10.0.1.77', '00:00:00:00:00:00', '10.0.1.77'))));
    e.receive(WAN, peerGarp(WAN_V, WAN_FLOAT));
    expect(e.shared.peerAnnouncedAtMs).toBe(0);
  });
});

describe('capture filter', () => {
  const real = Uint8Array.from([0x0a, 0, 0, 0, 1, 2]);
  const vmac = Uint8Array.from([0x02, 0x74, 0x64, 0, 1, 1]);
  it('drops our own sources but lets ARP from the shared virtual MAC in', () => {
    expect(captureFilter([real, vmac])).toBe('not ether src 0a:00:00:00:01:02 and not ether src 02:74:64:00:01:01');
    expect(captureFilter([real, vmac], [vmac])).toBe(
      '(not ether src 0a:00:00:00:01:02 and not ether src 02:74:64:00:01:01) or (arp and (ether src 02:74:64:00:01:01))',
    );
    expect(captureFilter([], [vmac])).toBe('');
  });
});
