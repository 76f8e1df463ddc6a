import { describe, expect, it } from 'vitest';
import { floatingInterfaceOrder, interfaceVirtualMac, virtualMacFor } from '../../../src/dataplane/vmac.js';
import { formatMac, parseMac } from '../../../src/dataplane/packet.js';

const shared = (virtualMac: boolean, groupId = 7) => ({
  ha: { virtualMac, groupId } as never,
  floatingIps: [
    { interface: 'wan', address: '10.0.2.1/24', owner: 0 as const },
    { interface: 'lan', address: '10.0.1.1/24', owner: 0 as const },
    { interface: 'wan', address: '10.0.2.3/24', owner: 1 as const },
    { interface: 'dmz', address: '10.0.3.1/24', owner: 0 as const },
  ],
});
const REAL = parseMac('62:ea:3b:46:84:5c');

describe('virtual MAC derivation', () => {
  it('numbers interfaces by their sorted distinct names, from 1', () => {
    expect(floatingInterfaceOrder(shared(true))).toEqual(['dmz', 'lan', 'wan']);
    expect(formatMac(interfaceVirtualMac(shared(true), 'dmz', REAL))).toBe('02:74:64:00:07:01');
    expect(formatMac(interfaceVirtualMac(shared(true), 'lan', REAL))).toBe('02:74:64:00:07:02');
    expect(formatMac(interfaceVirtualMac(shared(true), 'wan', REAL))).toBe('02:74:64:00:07:03');
  });

  it('carries the group id in hex', () => {
    expect(formatMac(interfaceVirtualMac(shared(true, 255), 'lan', REAL))).toBe('02:74:64:00:ff:02');
    expect(formatMac(virtualMacFor(16, 10))).toBe('02:74:64:00:10:0a');
  });

  it('uses the real MAC when virtual MACs are off or the interface has no floating IP', () => {
    expect(interfaceVirtualMac(shared(false), 'lan', REAL)).toBe(REAL);
    expect(interfaceVirtualMac(shared(true), 'mgmt', REAL)).toBe(REAL);
  });

  it('is a unicast, locally administered address', () => {
    const m = virtualMacFor(1, 1);
    expect(m[0] & 1).toBe(0);
    expect(m[0] & 2).toBe(2);
  });
});
