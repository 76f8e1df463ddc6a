// The engine's gratuitous ARP across a planned hand-over: the old active keeps forwarding for a
// moment, but must not announce the virtual MAC while the new active takes it over.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { COUNTER_COUNT } from '../../../src/dataplane/counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { ROLE_ACTIVE, SharedState } from '../../../src/dataplane/shared-state.js';
import { createLogger } from '../../../src/log.js';
import { LAN_REAL, WAN_REAL, labRaw } from './firewall-helpers.js';

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
  const io: DataplaneIo = {
    open: () => ({
      send: (f) => {
        if (((f[12] << 8) | f[13]) === ETHERTYPE_ARP) garps++;
        return true;
      },
      close: () => undefined,
    }),
    macOf: (device) => parseMac(macs[device]),
    mtuOf: () => 1500,
  };
  const engine = new Engine(config, shared, io, () => now, createLogger({ level: 'fatal', name: 'engine-garp-test' }), { garpOnStart: false });
  return {
    shared,
    garps: () => garps,
    advance(ms: number) {
      for (let t = 0; t < ms; t += 2) {
        now += 2;
        engine.tick();
      }
    },
  };
}

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
