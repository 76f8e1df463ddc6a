// DevicePorts (src/dataplane/ports.ts) against a scripted backend and a scripted kernel: a handle
// that fails is closed, counted, refused sends meanwhile, and opened again once the device is
// administratively up; a device created again (new ifindex) or with a new MTU gets a new handle;
// a new MTU or MAC reaches the pipeline; the backend's own counters become ours.
import { describe, expect, it } from 'vitest';
import type { DropReason, EventCounter } from '../../../src/wire/dataplane-counters.js';
import type { DataplaneIo, OpenOptions, Port, PortError, PortStats } from '../../../src/dataplane/io.js';
import { DEVICE_CHECK_MS, DevicePorts, REOPEN_CHECK_MS, STATS_MS } from '../../../src/dataplane/ports.js';
import { createLogger } from '../../../src/log.js';
import type { DeviceFacts } from '../../../src/net/link.js';

interface FakeHandle {
  device: string;
  opts: OpenOptions;
  closed: boolean;
  sent: number;
  stats: PortStats;
}

/** A kernel of devices and a backend whose handles the test can fail. */
class FakeIo implements DataplaneIo {
  readonly kind = 'ring' as const;
  readonly devices = new Map<string, DeviceFacts>();
  readonly handles: FakeHandle[] = [];
  refuseOpen = false;

  add(device: string, ifindex: number, up = true, mtu = 1500, address = '0a:00:00:00:00:01'): void {
    this.devices.set(device, {
      device,
      ifindex,
      mtu,
      address,
      flags: up ? 0x1003 : 0x1002,
      carrier: up ? '1' : null,
      operstate: up ? 'up' : 'down',
      up,
      why: up ? 'up' : 'admin-down',
    });
  }
  open(device: string, _onFrame: unknown, opts: OpenOptions = {}): Port {
    if (this.refuseOpen || !this.devices.has(device)) throw Object.assign(new Error(`no such device ${device}`), { code: 'ENODEV' });
    const h: FakeHandle = { device, opts, closed: false, sent: 0, stats: { ringDrops: 0, ringFreezes: 0, txRefused: 0 } };
    this.handles.push(h);
    return {
      send: () => !h.closed && ++h.sent > 0,
      stats: () => ({ ...h.stats }),
      close: () => void (h.closed = true),
    };
  }
  /** The backend reports an error on the newest open handle of `device`. */
  fail(device: string, err: PortError = { code: 'ENETDOWN', message: 'Network is down' }): void {
    const h = this.live(device);
    h.opts.onError?.(err);
  }
  live(device: string): FakeHandle {
    const h = this.handles.filter((x) => x.device === device && !x.closed).at(-1);
    if (!h) throw new Error(`no open handle on ${device}`);
    return h;
  }
  macOf(): Uint8Array {
    return new Uint8Array(6);
  }
  mtuOf(): number {
    return 1500;
  }
  device(name: string): DeviceFacts | null {
    return this.devices.get(name) ?? null;
  }
}

function rig() {
  const io = new FakeIo();
  io.add('lan0', 10);
  io.add('wan0', 11);
  let now = 1000;
  const events: EventCounter[] = [];
  const drops = new Map<DropReason, number>();
  const reopened: number[] = [];
  const capture: string[] = [];
  const changed: { i: number; mtu: number; address: string }[] = [];
  const specs = ['lan0', 'wan0'].map((device, i) => ({ name: ['lan', 'wan'][i], device, onFrame: () => undefined, opts: () => ({}) }));
  const ports = new DevicePorts(
    io,
    specs,
    {
      event: (e, n = 1) => {
        for (let k = 0; k < n; k++) events.push(e);
      },
      drop: (r, n) => drops.set(r, (drops.get(r) ?? 0) + n),
      reopened: (i) => reopened.push(i),
      captureOpen: (i, open) => capture.push(`${i}:${open ? 'open' : 'closed'}`),
      deviceChanged: (i, f) => changed.push({ i, mtu: f.mtu, address: f.address }),
    },
    createLogger({ level: 'fatal', name: 'ports-test' }),
    () => now,
  );
  const advance = (ms: number) => {
    now += ms;
    ports.tick(now);
  };
  return { io, ports, events, drops, reopened, changed, capture, advance };
}

describe('DevicePorts', () => {
  it('opens a handle per device at start and sends through it', () => {
    const { io, ports } = rig();
    expect(io.handles.map((h) => h.device)).toEqual(['lan0', 'wan0']);
    expect(ports.send(1, new Uint8Array(60), 60)).toBe(true);
    expect(io.live('wan0').sent).toBe(1);
  });

  it('refuses to start when a device cannot be opened, closing what it opened', () => {
    const io = new FakeIo();
    io.add('lan0', 10);
    const specs = ['lan0', 'wan0'].map((device) => ({ name: device, device, onFrame: () => undefined, opts: () => ({}) }));
    const sink = { event: () => undefined, drop: () => undefined, reopened: () => undefined, captureOpen: () => undefined, deviceChanged: () => undefined };
    expect(() => new DevicePorts(io, specs, sink, createLogger({ level: 'fatal', name: 't' }), () => 0)).toThrow(/no such device wan0/);
    expect(io.handles[0].closed).toBe(true);
  });

  it('a failed handle is closed and counted, refuses sends, and waits while the device is down', () => {
    const { io, ports, events, advance } = rig();
    io.add('lan0', 10, false);
    io.fail('lan0');
    expect(io.handles[0].closed).toBe(true);
    expect(events).toEqual(['io-error']);
    expect(ports.send(0, new Uint8Array(60), 60)).toBe(false);
    expect(ports.status(1000)[0]).toMatchObject({ open: false, error: 'ENETDOWN: Network is down' });
    advance(REOPEN_CHECK_MS * 5);
    expect(io.handles).toHaveLength(2); // nothing opened while the device is down
    expect(ports.status(1500)[0].downMs).toBe(500);
  });

  it('opens the handle again when the device is up, and says so once', () => {
    const { io, ports, events, reopened, capture, advance } = rig();
    io.add('lan0', 10, false);
    io.fail('lan0');
    advance(REOPEN_CHECK_MS);
    io.add('lan0', 10, true);
    advance(REOPEN_CHECK_MS);
    expect(capture).toEqual(['0:closed', '0:open']);
    expect(io.handles.filter((h) => h.device === 'lan0')).toHaveLength(2);
    expect(ports.isOpen(0)).toBe(true);
    expect(events).toEqual(['io-error', 'io-reopened']);
    expect(reopened).toEqual([0]);
    expect(ports.send(0, new Uint8Array(60), 60)).toBe(true);
  });

  it('a second error of a closed handle is ignored (one error per handle)', () => {
    const { io, events } = rig();
    const h = io.live('wan0');
    io.fail('wan0');
    h.opts.onError?.({ code: 'ENETDOWN', message: 'again' });
    expect(events).toEqual(['io-error']);
  });

  it('keeps trying when the device vanishes between the look and the open', () => {
    const { io, ports, events, advance } = rig();
    io.fail('lan0');
    io.refuseOpen = true;
    advance(REOPEN_CHECK_MS);
    advance(REOPEN_CHECK_MS);
    expect(ports.isOpen(0)).toBe(false);
    expect(ports.status(0)[0].error).toMatch(/ENODEV/);
    io.refuseOpen = false;
    advance(REOPEN_CHECK_MS);
    expect(ports.isOpen(0)).toBe(true);
    expect(events).toEqual(['io-error', 'io-reopened']);
  });

  it('a device deleted and created again (new ifindex) gets a new handle without an error from the backend', () => {
    const { io, ports, events, advance } = rig();
    io.add('wan0', 42);
    advance(DEVICE_CHECK_MS);
    expect(events).toContain('io-error');
    expect(ports.status(0)[1].error).toMatch(/EIFINDEX.*11 -> 42/);
    advance(REOPEN_CHECK_MS);
    expect(ports.isOpen(1)).toBe(true);
    expect(io.handles.filter((h) => h.device === 'wan0')).toHaveLength(2);
  });

  it('a device that is gone is noticed by the check as well', () => {
    const { io, ports, advance } = rig();
    io.devices.delete('wan0');
    advance(DEVICE_CHECK_MS);
    expect(ports.status(0)[1]).toMatchObject({ open: false, error: expect.stringMatching(/ENODEV/) });
    advance(REOPEN_CHECK_MS * 3);
    expect(ports.isOpen(1)).toBe(false);
  });

  it('a new MTU reopens the handle and reaches the pipeline; a new MAC reaches it without a reopen', () => {
    const { io, ports, events, changed, advance } = rig();
    io.add('wan0', 11, true, 1400);
    advance(DEVICE_CHECK_MS);
    expect(ports.isOpen(1)).toBe(true);
    expect(io.handles.filter((h) => h.device === 'wan0')).toHaveLength(2);
    expect(changed).toEqual([{ i: 1, mtu: 1400, address: '0a:00:00:00:00:01' }]);
    io.add('wan0', 11, true, 1400, '0a:00:00:00:00:99');
    advance(DEVICE_CHECK_MS);
    expect(io.handles.filter((h) => h.device === 'wan0')).toHaveLength(2);
    expect(changed.at(-1)).toEqual({ i: 1, mtu: 1400, address: '0a:00:00:00:00:99' });
    expect(events.filter((e) => e === 'device-changed')).toHaveLength(2);
  });

  it("carries the backend's ring drops, freezes and refused sends into the counters as deltas", () => {
    const { io, drops, events, advance } = rig();
    io.live('lan0').stats = { ringDrops: 5, ringFreezes: 1, txRefused: 2 };
    advance(STATS_MS);
    io.live('lan0').stats = { ringDrops: 7, ringFreezes: 1, txRefused: 2 };
    advance(STATS_MS);
    expect(drops.get('ring-full')).toBe(7);
    expect(events.filter((e) => e === 'tx-refused')).toHaveLength(2);
    expect(drops.has('send-failed')).toBe(false);
    expect(events.filter((e) => e === 'ring-freeze')).toHaveLength(1);
  });

  it('close() closes every open handle', () => {
    const { io, ports } = rig();
    ports.close();
    expect(io.handles.every((h) => h.closed)).toBe(true);
  });
});
