import { describe, expect, it } from 'vitest';
import { LineSplitter, parseProberMessage, parseSendCommand } from '../../../../src/control/monitor/prober-protocol.js';

describe('prober IPC', () => {
  it('send commands: only well-formed ones', () => {
    expect(parseSendCommand('{"t":"send","dst":"10.0.2.10","seq":7}')).toEqual({ t: 'send', dst: '10.0.2.10', seq: 7 });
    expect(parseSendCommand('{"t":"send","dst":"2001:db8:2::fe","seq":8}')).toEqual({ t: 'send', dst: '2001:db8:2::fe', seq: 8 });
    for (const bad of [
      '',
      'nope',
      '[]',
      '{"t":"send","dst":"10.0.2","seq":7}',
      '{"t":"send","dst":"10.0.2.10","seq":70000}',
      '{"t":"kill"}',
      '{"t":"send","dst":"fe80::1%eth0","seq":7}',
      '{"t":"send","dst":"2001:db8::/64","seq":7}',
      '{"t":"send","dst":"2001:db8:::1","seq":7}',
    ])
      expect(parseSendCommand(bad)).toBeNull();
  });

  it('prober messages', () => {
    expect(parseProberMessage('{"t":"reply","src":"10.0.2.10","seq":1}')).toEqual({ t: 'reply', src: '10.0.2.10', seq: 1 });
    expect(parseProberMessage('{"t":"drops","counts":{"foreign-identifier":3}}')).toEqual({ t: 'drops', counts: { 'foreign-identifier': 3 } });
    expect(parseProberMessage('{"t":"drops","counts":{"x":-1}}')).toBeNull();
    expect(parseProberMessage('{"t":"reply","src":"evil","seq":1}')).toBeNull();
    expect(parseProberMessage('{"t":"reply","src":"2001:db8:2::fe","seq":1}')).toEqual({ t: 'reply', src: '2001:db8:2::fe', seq: 1 });
    expect(parseProberMessage('{"t":"reply","src":"fe80::1%eth0","seq":1}')).toBeNull();
  });

  it('lines split at any chunk boundary; an overlong line is dropped whole and reported', () => {
    const text = '{"a":1}\n{"b":2}\n' + 'x'.repeat(50) + '\n{"c":3}\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const got: string[] = [];
      let overlong = 0;
      const s = new LineSplitter(
        (l) => got.push(l),
        () => overlong++,
        20,
      );
      s.push(text.slice(0, cut));
      s.push(text.slice(cut));
      expect(got).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
      expect(overlong).toBe(1);
    }
  });
});
