// The ARP table's bound, through the pipeline: a sweep of new senders past maxEntries is counted
// (event arp-table-full), the table does not grow, and known neighbours are still refreshed.
import { expect, it } from 'vitest';
import { COUNTER_COUNT, eventIndex } from '../../../src/wire/dataplane-counters.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { Pipeline, type PipelineInterface, type RoleSource } from '../../../src/dataplane/pipeline.js';
import { RouteTable } from '../../../src/dataplane/route.js';
import { parseCidr } from '../../../src/net/ipv4.js';
import { arp, buf, eth } from './frames.js';

function itf(name: string, device: string, real: string, v: string, address: string): PipelineInterface {
  const { address: a, prefix } = parseCidr(address);
  return { name, device, realMac: parseMac(real), mac: parseMac(v), address: a, prefix, floating: [], mtu: 1500 };
}

it('new neighbours past maxEntries are counted as arp-table-full and not learned', () => {
  const interfaces = [
    itf('lan', 'eth1', '0a:00:00:00:01:02', '02:74:64:00:07:01', '10.0.1.2/24'),
    itf('wan', 'eth2', '0a:00:00:00:02:02', '02:74:64:00:07:02', '10.0.2.2/24'),
  ];
  const routes = RouteTable.fromConfig({
    interfaces: [
      { name: 'lan', address: '10.0.1.2/24' },
      { name: 'wan', address: '10.0.2.2/24' },
    ],
    routes: [],
  });
  const role = { role: 1, mayActAsActive: () => true } as unknown as RoleSource;
  const counters = new Float64Array(COUNTER_COUNT);
  const p = new Pipeline(interfaces, routes, role, counters, { send: () => true }, { neighbours: { maxEntries: 4 } });
  const NOW = 1000;
  const from = (host: number) => {
    const mac = `22:00:00:00:01:${host.toString(16).padStart(2, '0')}`;
    // a broadcast request from host asking for another host: learned from, not answered
    const f = eth('ff:ff:ff:ff:ff:ff', mac, 0x0806, arp(1, mac, `10.0.1.${host}`, '00:00:00:00:00:00', '10.0.1.250'));
    p.handle(0, buf(f), f.length, NOW);
  };
  for (let h = 10; h < 210; h++) from(h);
  expect(counters[eventIndex('arp-learned')]).toBe(4);
  expect(counters[eventIndex('arp-table-full')]).toBe(196);
  expect(p.neighbours[0].snapshot(NOW)).toHaveLength(4);
  // a known neighbour is still refreshed while the table is full
  from(10);
  expect(counters[eventIndex('arp-learned')]).toBe(5);
  expect(counters[eventIndex('arp-table-full')]).toBe(196);
});
