// device.dataplane.icmpErrors reaches the pipeline's limiter: the buckets the config sets are the
// ones ICMP errors and reject answers are counted against.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import { Engine, type DataplaneIo } from '../../../src/dataplane/engine.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { createLogger } from '../../../src/log.js';
import { LAN_REAL, WAN_REAL, labRaw } from './firewall-helpers.js';

function engineWith(icmpErrors: Record<string, number> | undefined): Engine {
  const raw = labRaw();
  if (icmpErrors !== undefined) (raw.device as Record<string, unknown>).dataplane = { icmpErrors };
  const config = parseConfig(stringify(raw), { source: 'engine-icmp-rate-test.yaml' });
  const macs: Record<string, string> = { lan0: LAN_REAL, wan0: WAN_REAL };
  const io: DataplaneIo = {
    open: () => ({ send: () => true, close: () => undefined }),
    macOf: (device) => parseMac(macs[device]),
    mtuOf: () => 1500,
  };
  return new Engine(config, new SharedState(COUNTER_COUNT), io, () => 0, createLogger({ level: 'fatal', name: 'engine-icmp-rate-test' }), {
    garpOnStart: false,
  });
}

function allowedAtOnce(e: Engine, dst: number): number {
  let n = 0;
  for (let i = 0; i < 100; i++) if (e.pipeline.icmpErrors.limiter.allow(dst, 5000)) n++;
  return n;
}

describe('the ICMP error rate limit from the device config', () => {
  it('defaults: a burst of 20 per destination', () => {
    expect(allowedAtOnce(engineWith(undefined), 0x0a00010a)).toBe(20);
  });

  it('perSourceBurst and globalBurst set the buckets', () => {
    expect(allowedAtOnce(engineWith({ perSourceBurst: 3 }), 0x0a00010a)).toBe(3);
    const e = engineWith({ perSourceBurst: 50, globalBurst: 5 });
    expect(allowedAtOnce(e, 0x0a00010a)).toBe(5);
    expect(allowedAtOnce(e, 0x0a00010b)).toBe(0);
  });

  it('a value out of range is refused with the key named', () => {
    expect(() => engineWith({ perSourcePerS: 0 })).toThrow(/device\.dataplane\.icmpErrors\.perSourcePerS/);
  });
});
