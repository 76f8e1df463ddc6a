import { describe, expect, it } from 'vitest';
import {
  CLASS_SHARED,
  classCode,
  className,
  floatingInterfaceOrder,
  interfaceArpSharing,
  interfaceClasses,
  interfaceVirtualMac,
  ownerClass,
  virtualMacFor,
  virtualMacsOf,
} from '../../../src/dataplane/vmac.js';
import { formatMac, parseMac } from '../../../src/dataplane/packet.js';
import { formatIpv4, parseIpv4 } from '../../../src/net/ipv4.js';
import { CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY } from '../../../src/wire/shared-state.js';

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

describe('active/active: a virtual MAC per owner class', () => {
  const aa = (virtualMac = true) => ({ ...shared(virtualMac), ha: { mode: 'active-active', virtualMac, groupId: 7 } as never });
  const fmt = (classes: ReturnType<typeof interfaceClasses>) =>
    classes.map((c) => ({ bit: c.bit, mac: formatMac(c.mac), floating: c.floating.map(formatIpv4) }));

  it('carries the class code in the fourth byte: 1 device 0, 2 device 1, 3 the primary', () => {
    expect(formatMac(virtualMacFor(7, 2, classCode(CLASS_DEVICE0)))).toBe('02:74:64:01:07:02');
    expect(formatMac(virtualMacFor(7, 2, classCode(CLASS_DEVICE1)))).toBe('02:74:64:02:07:02');
    expect(formatMac(virtualMacFor(7, 2, classCode(CLASS_PRIMARY)))).toBe('02:74:64:03:07:02');
    expect(formatMac(virtualMacFor(7, 2))).toBe('02:74:64:00:07:02');
    expect(() => virtualMacFor(7, 2, 4)).toThrow(/class code/);
    expect(() => classCode(8)).toThrow(/not a floating-address class/);
  });

  it("the box's own MAC on an interface is its device class's (active/passive ignores the device)", () => {
    expect(formatMac(interfaceVirtualMac(aa(), 'lan', REAL, 0))).toBe('02:74:64:01:07:02');
    expect(formatMac(interfaceVirtualMac(aa(), 'lan', REAL, 1))).toBe('02:74:64:02:07:02');
    expect(formatMac(interfaceVirtualMac({ ...shared(true), ha: { mode: 'active-passive', virtualMac: true, groupId: 7 } as never }, 'lan', REAL, 1))).toBe(
      '02:74:64:00:07:02',
    );
    expect(interfaceVirtualMac(aa(), 'mgmt', REAL, 1)).toBe(REAL);
    expect(interfaceVirtualMac(aa(false), 'lan', REAL, 1)).toBe(REAL);
  });

  it('groups the floating IPs of an interface by owner; every class has its MAC, addresses or not', () => {
    expect(fmt(interfaceClasses(aa(), 'wan', REAL))).toEqual([
      { bit: CLASS_DEVICE0, mac: '02:74:64:01:07:03', floating: ['10.0.2.1'] },
      { bit: CLASS_DEVICE1, mac: '02:74:64:02:07:03', floating: ['10.0.2.3'] },
      { bit: CLASS_PRIMARY, mac: '02:74:64:03:07:03', floating: [] },
    ]);
    const withPrimary = { ...aa(), floatingIps: [...aa().floatingIps, { interface: 'lan', address: '10.0.1.9/24', owner: 'primary' as const }] };
    expect(fmt(interfaceClasses(withPrimary, 'lan', REAL))[2]).toEqual({ bit: CLASS_PRIMARY, mac: '02:74:64:03:07:02', floating: ['10.0.1.9'] });
  });

  it('has no classes in active/passive or on an interface without floating IPs; the real MAC when virtual MACs are off', () => {
    expect(interfaceClasses(shared(true), 'lan', REAL)).toEqual([]);
    expect(interfaceClasses(aa(), 'mgmt', REAL)).toEqual([]);
    expect(interfaceClasses(aa(false), 'lan', REAL).map((c) => c.mac)).toEqual([REAL, REAL, REAL]);
  });

  it('maps owners to classes; "shared" is both device classes at once, named shared in status', () => {
    expect([ownerClass(0), ownerClass(1), ownerClass('primary')]).toEqual([CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY]);
    expect(ownerClass('shared')).toBe(CLASS_DEVICE0 | CLASS_DEVICE1);
    expect(ownerClass('shared')).toBe(CLASS_SHARED);
    expect([CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY, CLASS_SHARED].map(className)).toEqual(['device0', 'device1', 'primary', 'shared']);
  });

  it('a shared address is in no class list, but its interface still has every class MAC; its split comes from the config', () => {
    const withShared = {
      ...aa(),
      ha: { mode: 'active-active', virtualMac: true, groupId: 7, activeActive: { arpLoadSharing: { method: 'ip-hash', seed: 3 } } } as never,
      floatingIps: [{ interface: 'lan', address: '10.0.1.9/24', owner: 'shared' as const }, ...aa().floatingIps],
    };
    expect(fmt(interfaceClasses(withShared, 'lan', REAL))).toEqual([
      { bit: CLASS_DEVICE0, mac: '02:74:64:01:07:02', floating: ['10.0.1.1'] },
      { bit: CLASS_DEVICE1, mac: '02:74:64:02:07:02', floating: [] },
      { bit: CLASS_PRIMARY, mac: '02:74:64:03:07:02', floating: [] },
    ]);
    expect(interfaceArpSharing(withShared, 'lan')).toEqual({ addresses: [parseIpv4('10.0.1.9')], assign: { method: 'ip-hash', seed: 3 } });
    expect(interfaceArpSharing(withShared, 'wan')).toBeUndefined();
    expect(interfaceArpSharing({ ...withShared, ha: { mode: 'active-passive' } as never }, 'lan')).toBeUndefined();
  });

  it('lists the MACs the capture must receive: every class MAC once, never the real MAC', () => {
    const lan = { realMac: REAL, mac: interfaceVirtualMac(aa(), 'lan', REAL, 1), classes: interfaceClasses(aa(), 'lan', REAL) };
    expect(virtualMacsOf(lan).map((m) => formatMac(m))).toEqual(['02:74:64:02:07:02', '02:74:64:01:07:02', '02:74:64:03:07:02']);
    expect(virtualMacsOf({ realMac: REAL, mac: virtualMacFor(7, 2) }).map((m) => formatMac(m))).toEqual(['02:74:64:00:07:02']);
    expect(virtualMacsOf({ realMac: REAL, mac: REAL, classes: interfaceClasses(aa(false), 'lan', REAL) })).toEqual([]);
  });
});
