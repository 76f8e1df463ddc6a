// MLDv2 reports (RFC 3810), checked byte for byte against the report Linux sent when an address
// was added to a veth in a network namespace (tcpdump -xx), and with several records against the
// reference checksum.
import { describe, expect, it } from 'vitest';
import { parseIpv6, solicitedNode6 } from '../../../src/net/ipv6.js';
import { buildMldReport, MLD2_CHANGE_TO_EXCLUDE, MLD2_MODE_IS_EXCLUDE } from '../../../src/dataplane/mld.js';
import { ipv6End, newIpv6Walk, walkIpv6, l4ChecksumOk6 } from '../../../src/dataplane/packet6.js';
import { mac } from './frames.js';

const hex = (s: string) => Array.from(s.replace(/\s+/g, '').match(/../g)!, (h) => parseInt(h, 16));

// fe80::a (02:00:00:00:00:0a) joining ff02::1:ff00:a as 2001:db8::a was added
const LINUX_REPORT = hex(`
  3333 0000 0016 0200 0000 000a 86dd 6000 0000 0024 0001 fe80 0000 0000 0000 0000
  0000 0000 000a ff02 0000 0000 0000 0000 0000 0000 0016 3a00 0502 0000 0100 8f00
  70f5 0000 0001 0400 0000 ff02 0000 0000 0000 0000 0001 ff00 000a`);

const MA = Uint8Array.from(mac('02:00:00:00:00:0a'));
const LL = parseIpv6('fe80::a');

describe('buildMldReport', () => {
  it('a join is the report Linux sends, byte for byte', () => {
    const out = new Uint8Array(200);
    const n = buildMldReport(out, MA, LL, [solicitedNode6(parseIpv6('2001:db8::a'))], 1, MLD2_CHANGE_TO_EXCLUDE);
    expect(Array.from(out.subarray(0, n))).toEqual(LINUX_REPORT);
  });

  it('several records: the walk finds ICMPv6 behind the router alert, the checksum verifies', () => {
    const out = new Uint8Array(200);
    const groups = ['2001:db8::1', '2001:db8::2', 'fe80::1'].map((a) => solicitedNode6(parseIpv6(a)));
    const n = buildMldReport(out, MA, LL, groups, 3, MLD2_MODE_IS_EXCLUDE);
    expect(n).toBe(14 + 40 + 8 + 8 + 60);
    const w = newIpv6Walk();
    expect(walkIpv6(out, 14, ipv6End(out, 14), w)).toBeNull();
    expect([w.proto, w.l4, w.hopByHop]).toEqual([58, 62, true]);
    expect(l4ChecksumOk6(out, 14, w.l4, n - w.l4, 58)).toBe(true);
    expect(out[w.l4 + 8 + 20]).toBe(MLD2_MODE_IS_EXCLUDE);
    expect(buildMldReport(new Uint8Array(100), MA, LL, groups, 3, MLD2_MODE_IS_EXCLUDE)).toBe(0);
  });
});
