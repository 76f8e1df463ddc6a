// The host (src/dataplane/host.ts) starts an active/active engine with the HA key it is handed
// (the daemon's), and refuses to start one without it.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import type { DataplaneIo } from '../../../src/dataplane/engine.js';
import { runDataplane } from '../../../src/dataplane/host.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { RecordRing } from '../../../src/wire/record-ring.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { aaConfig } from './aa-helpers.js';
import { HA_KEY, HA3_MTU } from './pair-rig.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

const opened: string[] = [];
const io: DataplaneIo = {
  open: (device) => (opened.push(device), { send: () => true, close: () => undefined }),
  macOf: () => parseMac('0a:00:00:00:01:02'),
  mtuOf: (device) => (device === 'ha3' ? HA3_MTU : 1500),
};

function start(haKey: Buffer | undefined) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const messages: { type: string; error?: string }[] = [];
  port2.on('message', (m: { type: string; error?: string }) => messages.push(m));
  const rings = { out: new RecordRing(16).buffer, in: new RecordRing(16).buffer, capacity: 16 };
  const engine = runDataplane({ config: aaConfig(1), sharedBuffer: new SharedState(COUNTER_COUNT).buffer, logLevel: 'fatal', sync: rings, haKey }, port1, io);
  return { engine, messages, port2 };
}

describe('an active/active dataplane through the host', () => {
  it('opens the HA3 device with the HA key it is handed', async () => {
    opened.length = 0;
    const { engine, port2 } = start(HA_KEY);
    expect(engine).not.toBeNull();
    expect(opened).toEqual(['lan0', 'wan0', 'ha3']);
    expect(engine!.status().activeActive?.device).toBe(1);
    await new Promise<void>((resolve) => {
      port2.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
      port2.postMessage({ type: 'stop' });
    });
  });

  it('does not start without the key, and says why', async () => {
    const { engine, messages } = start(undefined);
    expect(engine).toBeNull();
    await new Promise((r) => setTimeout(r, 10));
    expect(messages[0]).toMatchObject({ type: 'fatal', error: expect.stringMatching(/needs the HA key/) });
  });
});
