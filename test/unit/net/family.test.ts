import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort } from '../../../src/net/family.js';

describe('host:port of either family', () => {
  it('parses IPv4:PORT and [IPv6]:PORT, and prints them back', () => {
    expect(parseHostPort('10.0.2.10:5000')).toEqual({ host: '10.0.2.10', port: 5000, family: 4 });
    expect(parseHostPort('[2001:db8:2::10]:5000')).toEqual({ host: '2001:db8:2::10', port: 5000, family: 6 });
    expect(formatHostPort('2001:db8:2::10', 5000)).toBe('[2001:db8:2::10]:5000');
    expect(formatHostPort('10.0.2.10', 5000)).toBe('10.0.2.10:5000');
  });

  it('refuses unbracketed IPv6, names, port 0 and out-of-range ports', () => {
    for (const bad of ['2001:db8::1:5000', 'localhost:80', '10.0.2.10:0', '10.0.2.10:65536', '[10.0.2.10]:80', '[fe80::1%eth0]:80', '10.0.2.10']) {
      expect(parseHostPort(bad), bad).toBeNull();
    }
  });
});
