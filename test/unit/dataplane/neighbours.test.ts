import { describe, expect, it } from 'vitest';
import { NeighbourTable } from '../../../src/dataplane/neighbours.js';
import { ipv6Key, parseIpv6 } from '../../../src/net/ipv6.js';

const MAC = new Uint8Array([0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0x01]); // MAC at offset 6
const IP = 0x0a00020a;

describe('NeighbourTable', () => {
  it('learns, expires after reachableMs, asks for a refresh once per retryMs after refreshMs', () => {
    const t = new NeighbourTable({ reachableMs: 1000, refreshMs: 600, retryMs: 100 });
    expect(t.lookup(IP, 0)).toBeNull();
    t.learn(IP, MAC, 6, 0);
    const e = t.lookup(IP, 10)!;
    expect(Array.from(e.mac)).toEqual([0x22, 0, 0, 0, 0, 0x01]);
    expect(t.wantsRefresh(e, 500)).toBe(false);
    expect(t.wantsRefresh(e, 600)).toBe(true);
    expect(t.wantsRefresh(e, 650)).toBe(false);
    expect(t.wantsRefresh(e, 700)).toBe(true);
    expect(t.lookup(IP, 999)).not.toBeNull();
    expect(t.lookup(IP, 1000)).toBeNull();
    t.learn(IP, MAC, 6, 1000); // refreshed
    expect(t.lookup(IP, 1999)).not.toBeNull();
    t.tick(
      3000,
      () => {},
      () => {},
    );
    expect(t.size).toBe(0); // swept
  });

  it('copies queued frames (the capture buffer is reused) and hands them back on learn', () => {
    const t = new NeighbourTable();
    const capture = Buffer.alloc(100).fill(7); // a Buffer, like cap's: its slice() is a view
    expect(t.enqueue(IP, capture, 60, 0)).toBe('request');
    capture.fill(9);
    expect(t.enqueue(IP, capture, 70, 1)).toBe('queued');
    capture.fill(0);
    const waiting = t.learn(IP, MAC, 6, 2)!;
    expect(waiting.map((f) => [f.length, f[0]])).toEqual([
      [60, 7],
      [70, 9],
    ]);
    expect(t.pendingCount).toBe(0);
    expect(t.learn(IP, MAC, 6, 3)).toBeNull();
  });

  it('bounds the queue per next hop and the number of pending next hops', () => {
    const t = new NeighbourTable({ queuePerHop: 2, maxPending: 2 });
    const f = new Uint8Array(60);
    expect(t.enqueue(1, f, 60, 0)).toBe('request');
    expect(t.enqueue(1, f, 60, 0)).toBe('queued');
    expect(t.enqueue(1, f, 60, 0)).toBe('arp-queue-full');
    expect(t.enqueue(2, f, 60, 0)).toBe('request');
    expect(t.enqueue(3, f, 60, 0)).toBe('arp-queue-full');
  });

  it('retries every retryMs and times out after maxRequests, reporting the dropped frames', () => {
    const t = new NeighbourTable({ retryMs: 100, maxRequests: 3 });
    const f = new Uint8Array(60);
    t.enqueue(IP, f, 60, 0); // request 1, sent by the caller
    t.enqueue(IP, f, 60, 0);
    const requests: number[] = [];
    const timeouts: [number, number][] = [];
    const tick = (now: number) =>
      t.tick(
        now,
        (_ip) => requests.push(now),
        (ip, n) => timeouts.push([ip, n]),
      );
    for (let now = 0; now <= 500; now += 10) tick(now);
    expect(requests).toEqual([100, 200]);
    expect(timeouts).toEqual([[IP, 2]]);
    expect(t.pendingCount).toBe(0);
  });

  it('refuses new entries when full, still refreshes existing ones', () => {
    const t = new NeighbourTable({ maxEntries: 1 });
    t.learn(1, MAC, 6, 0);
    t.learn(2, MAC, 6, 0);
    expect(t.lookup(2, 1)).toBeNull();
    expect(t.refused).toBe(1);
    t.learn(1, MAC, 6, 50);
    expect(t.lookup(1, 51)!.updatedMs).toBe(50);
    expect(t.refused).toBe(1);
    for (let ip = 100; ip < 10_100; ip++) t.learn(ip, MAC, 6, 60);
    expect(t.refused).toBe(10_001);
    expect(t.snapshot(61)).toHaveLength(1);
  });

  it('keys IPv6 neighbours by ipv6Key: the same resolve, queue, learn and timeout', () => {
    const t = new NeighbourTable<string>({ retryMs: 100, maxRequests: 2 });
    const a = ipv6Key(parseIpv6('2001:db8::1'));
    const b = ipv6Key(parseIpv6('2001:db8::2'));
    expect(t.enqueue(a, new Uint8Array(80), 80, 0)).toBe('request');
    expect(t.enqueue(b, new Uint8Array(80), 80, 0)).toBe('request');
    expect(t.learn(a, MAC, 6, 10)).toHaveLength(1);
    expect(t.lookup(ipv6Key(parseIpv6('2001:db8::1')), 20)?.ip).toBe(a);
    expect(t.lookup(b, 20)).toBeNull();
    const requests: string[] = [];
    const timeouts: string[] = [];
    for (let now = 0; now <= 300; now += 10) {
      t.tick(
        now,
        (ip) => requests.push(ip),
        (ip) => timeouts.push(ip),
      );
    }
    expect(requests).toEqual([b]);
    expect(timeouts).toEqual([b]);
    expect(t.snapshot(30).map((e) => e.ip)).toEqual([a]);
  });
});
