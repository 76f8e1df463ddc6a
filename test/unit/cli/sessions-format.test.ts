import { describe, expect, it } from 'vitest';
import { formatCount } from '../../../src/cli/format.js';
import { formatSessions, sessionCountLine, translatedEnds } from '../../../src/cli/format-sessions.js';
import type { SessionList, SessionView } from '../../../src/api/sessions.js';
import { fixedSessions } from '../api/fixtures.js';

describe('formatSessions', () => {
  it('prints two lines per session, the translated ends, the flag legend and the count line', () => {
    expect(formatSessions(fixedSessions())).toBe(
      [
        'ID  PROTO  STATE        FLAGS  SOURCE[PORT]/IF          TRANSLATED         RULE         PACKETS  BYTES        AGE       EXPIRES',
        '                               DESTINATION[PORT]/IF     TRANSLATED         NAT RULE',
        '7   tcp    established  NS     10.0.1.10[51234]/lan     (10.0.2.1[40001])  web-out      12/10    1480/234.6k  1m 5s     59m 55s',
        '                               93.184.216.34[443]/wan                      hide-lan',
        '8   udp    new                 10.0.1.10[5353]/lan                         (default)    1/1      60/120       250 ms    29s',
        '                               10.0.2.10[53]/wan',
        '9   tcp    established  ND,L   198.51.100.7[40000]/wan                     web-in       1.2M/2M  98.8M/3G     1d 1h 1m  now',
        '                               10.0.2.1[8080]/lan       (10.0.1.20[80])    publish-web',
        '',
        'Flags: NS source NAT, ND destination NAT, NB both, L loose (picked up mid-stream, e.g. after a failover)',
        '3 sessions shown of 4 matching, 5 in the table. Truncated: raise --limit or narrow the filter to see the rest.',
        '',
      ].join('\n'),
    );
  });

  it('no flags, no legend', () => {
    const list = fixedSessions();
    list.sessions = [list.sessions[1]];
    list.matched = 1;
    list.truncated = false;
    const text = formatSessions(list);
    expect(text).not.toContain('Flags:');
    expect(text.trimEnd().split('\n').at(-1)).toBe('1 session shown of 1 matching, 5 in the table.');
  });

  it('active/active: an OWNER column and a count by owner; JSON carries owner as it is', () => {
    const list = fixedSessions();
    list.sessions = list.sessions.slice(0, 2).map((s, i) => ({ ...s, owner: i === 0 ? 0 : 1 }));
    const lines = formatSessions(list).split('\n');
    expect(lines[0]).toMatch(/^ID +PROTO +STATE +FLAGS +OWNER +SOURCE\[PORT\]\/IF/);
    // the owner sits under its heading
    const at = lines[0].indexOf('OWNER');
    expect(lines[2].slice(at, at + 8)).toBe('device 0');
    expect(lines[4].slice(at, at + 8)).toBe('device 1');
    expect(lines).toContain('Shown by owner: device 0 1, device 1 1.');
    // active/passive sessions have no owner: the listing above is unchanged (first test)
    expect(formatSessions(fixedSessions())).not.toContain('OWNER');
  });

  it('an empty listing is only the count line', () => {
    expect(formatSessions({ total: 0, matched: 0, sessions: [], truncated: false })).toBe('No matching sessions (0 in the table).\n');
    expect(formatSessions({ total: 12, matched: 0, sessions: [], truncated: false })).toBe('No matching sessions (12 in the table).\n');
  });

  it('--limit 0: counts only', () => {
    const list: SessionList = { total: 12, matched: 3, sessions: [], truncated: true };
    expect(formatSessions(list)).toBe('0 sessions shown of 3 matching, 12 in the table. Truncated: raise --limit or narrow the filter to see the rest.\n');
    expect(sessionCountLine({ ...list, matched: 1 })).toMatch(/^0 sessions shown of 1 matching,/);
  });
});

describe('translatedEnds', () => {
  const base = fixedSessions().sessions[0];
  const view = (over: Partial<SessionView>): SessionView => ({ ...base, ...over });
  it.each([
    ['none', { src: '93.184.216.34', srcPort: 443, dst: '10.0.1.10', dstPort: 51234 }, '', ''],
    ['source', { src: '93.184.216.34', srcPort: 443, dst: '10.0.2.1', dstPort: 40001 }, '(10.0.2.1[40001])', ''],
    ['destination', { src: '10.0.3.5', srcPort: 8443, dst: '10.0.1.10', dstPort: 51234 }, '', '(10.0.3.5[8443])'],
    ['both', { src: '10.0.3.5', srcPort: 443, dst: '10.0.2.1', dstPort: 51234 }, '(10.0.2.1[51234])', '(10.0.3.5[443])'],
  ] as const)('%s', (_nat, reply, source, destination) => {
    expect(translatedEnds(view({ reply }))).toEqual({ source, destination });
  });
});

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [99_999, '99999'],
    [100_000, '100k'],
    [123_456, '123.5k'],
    [12_345_678, '12.3M'],
    [3e9, '3G'],
    [4.2e12, '4.2T'],
    [-1, '-'],
    [Number.NaN, '-'],
  ])('%d -> %s', (n, text) => expect(formatCount(n)).toBe(text));
});
