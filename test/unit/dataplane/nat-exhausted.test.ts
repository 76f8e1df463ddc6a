// Source NAT's port range reached through the pipeline: every port of the translated address in
// use, the next new flow is dropped and counted (nat-exhausted) without a session or a leaked port,
// and a flow gets through again once one session expires and frees its port.
import { expect, it } from 'vitest';
import { CLIENT, CLIENT_MAC, IPPROTO_UDP, LAN, LAN_V, SERVER, WAN_FLOAT, forwarded, frame, labRaw, makeRig, sharedOf, udpPacket } from './firewall-helpers.js';
import { NAT_PORT_HI, NAT_PORT_LO } from '../../../src/dataplane/nat.js';

const NOW = 1_000_000;

it('every NAT port in use: the next new flow is nat-exhausted, nothing leaks, an expiry frees a port', () => {
  const raw = labRaw();
  raw.shared.sessions.max = 100_000;
  const r = makeRig(sharedOf(raw));
  const range = NAT_PORT_HI - NAT_PORT_LO + 1;
  // distinct flows: client ports x server ports, more than the range
  const flow = (i: number) => frame(LAN_V, CLIENT_MAC, udpPacket({ src: CLIENT, dst: SERVER, sport: 1 + (i % 60_000), dport: 5000 + Math.floor(i / 60_000) }));
  let created = 0;
  for (let i = 0; i < range; i++) if (r.send(LAN, flow(i), NOW).moved['session-created'] === 1) created++;
  expect(created).toBe(range);
  expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(range);

  const over = r.send(LAN, flow(range), NOW + 1);
  expect(over.moved).toEqual({ 'nat-exhausted': 1 });
  expect(over.out).toHaveLength(0);
  expect(r.fw.table.size).toBe(range);
  expect(r.ports(IPPROTO_UDP, WAN_FLOAT).inUse).toBe(range);

  // refresh all but the first flow, then let the first one (only) expire: its port comes back
  for (let i = 1; i < range; i++) r.send(LAN, flow(i), NOW + 20_000);
  expect(r.fw.expire(NOW + 30_001)).toBe(1);
  expect(r.send(LAN, flow(range), NOW + 30_002).moved).toEqual(forwarded({ 'session-created': 1 }));
});
