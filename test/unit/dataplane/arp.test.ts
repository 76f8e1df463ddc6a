// ARP frames byte-exact against hand-written expected bytes (RFC 826 layout, RFC 5227 2.3).
import { describe, expect, it } from 'vitest';
import { buildArpProbe, buildArpReply, buildArpRequest, buildGarp } from '../../../src/dataplane/arp.js';
import { parseMac } from '../../../src/dataplane/packet.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PAD = '00'.repeat(18); // 42 -> 60 bytes

describe('ARP builders', () => {
  it('GARP: an RFC 5227 announcement from the virtual MAC to broadcast, sender = target = floating IP', () => {
    const out = new Uint8Array(60);
    const n = buildGarp(out, parseMac('02:74:64:00:07:01'), parseIpv4('10.0.1.1'));
    expect(n).toBe(60);
    expect(Buffer.from(out.subarray(0, n))).toEqual(
      hex(`
        ffffffffffff 027464000701 0806
        0001 0800 06 04 0001
        027464000701 0a000101
        000000000000 0a000101
        ${PAD}`),
    );
  });

  it('probe: an RFC 5227 2.1.1 probe from a class MAC to broadcast, sender address 0.0.0.0, target the shared address', () => {
    const out = new Uint8Array(60);
    const n = buildArpProbe(out, parseMac('02:74:64:02:01:01'), parseIpv4('10.0.1.9'));
    expect(n).toBe(60);
    expect(Buffer.from(out.subarray(0, n))).toEqual(
      hex(`
        ffffffffffff 027464020101 0806
        0001 0800 06 04 0001
        027464020101 00000000
        000000000000 0a000109
        ${PAD}`),
    );
  });

  it('reply: unicast to the requester, sender = our MAC and the floating IP', () => {
    const request = hex(`
      ffffffffffff 2200aabbccdd 0806
      0001 0800 06 04 0001
      2200aabbccdd 0a00010a
      000000000000 0a000101`);
    const out = new Uint8Array(60);
    const n = buildArpReply(out, request, parseMac('02:74:64:00:07:01'), parseIpv4('10.0.1.1'));
    expect(Buffer.from(out.subarray(0, n))).toEqual(
      hex(`
        2200aabbccdd 027464000701 0806
        0001 0800 06 04 0002
        027464000701 0a000101
        2200aabbccdd 0a00010a
        ${PAD}`),
    );
  });

  it('request: broadcast who-has from the real MAC and own address', () => {
    const out = new Uint8Array(64).fill(0xee);
    const n = buildArpRequest(out, parseMac('62:ea:3b:46:84:5c'), parseIpv4('10.0.2.2'), parseIpv4('10.0.2.10'));
    expect(Buffer.from(out.subarray(0, n))).toEqual(
      hex(`
        ffffffffffff 62ea3b46845c 0806
        0001 0800 06 04 0001
        62ea3b46845c 0a000202
        000000000000 0a00020a
        ${PAD}`),
    );
  });
});
