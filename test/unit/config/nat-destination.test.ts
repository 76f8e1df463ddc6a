// Destination NAT rules: the shape documented above natRuleSchema in src/config/schema.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { BOX_A_PATH, boxA, issuesOf, parseObject } from './fixture.js';

const webIn = () => ({
  name: 'web-in',
  from: 'untrust',
  to: 'untrust',
  destination: ['10.0.2.1'],
  service: ['tcp/8080'],
  translate: { destination: { address: '10.0.1.80', port: 80 } },
});

describe('destination NAT rules', () => {
  test("box A's commented example, uncommented, is valid", () => {
    const text = readFileSync(BOX_A_PATH, 'utf8');
    const m = /# (- \{ name: web-in,[^\n]*)\n\s*#\s*(translate:[^\n]*)/.exec(text);
    expect(m).not.toBeNull();
    const rule = parse(`${m![1]} ${m![2]}`)[0];
    expect(rule).toEqual(webIn());
    const config = boxA();
    config.shared.nat.push(rule);
    const nat = parseObject(config).shared.nat[1];
    expect(nat.destination).toEqual(['10.0.2.1/32']);
    expect(nat.translate.destination).toEqual({ address: '10.0.1.80', port: 80 });
  });

  test('a whole-address publication (no port) accepts any service; source and destination together', () => {
    const config = boxA();
    config.shared.nat.push({ ...webIn(), service: undefined, translate: { destination: { address: '10.0.1.80' } } });
    config.shared.nat.push({
      ...webIn(),
      name: 'both',
      service: ['udp/53'],
      translate: { source: 'interface-floating', destination: { address: '10.0.1.53', port: 53 } },
    });
    expect(parseObject(config).shared.nat.map((r) => r.name)).toEqual(['hide-lan', 'web-in', 'both']);
  });

  test('the destination must be a floating IP, one address', () => {
    const config = boxA();
    config.shared.nat.push({ ...webIn(), destination: ['10.0.2.0/24', '10.0.2.9', '10.0.2.1'] });
    const expected =
      "a floating IP to publish, as one address (floating IPs: 10.0.1.1, 10.0.2.1): a destination NAT rule's destination names the address it publishes";
    expect(issuesOf(config)).toEqual([
      { path: 'shared.nat[1].destination[0]', value: '10.0.2.0/24', expected },
      { path: 'shared.nat[1].destination[1]', value: '10.0.2.9/32', expected },
    ]);
  });

  test('an omitted destination (any) publishes nothing: an error, not everything', () => {
    const config = boxA();
    const { destination: _omit, ...rule } = webIn();
    void _omit;
    config.shared.nat.push(rule);
    expect(issuesOf(config).map((i) => [i.path, i.value])).toEqual([['shared.nat[1].destination[0]', 'any']]);
  });

  test("to must be the published address's zone", () => {
    const config = boxA();
    config.shared.nat.push({ ...webIn(), to: 'trust' });
    expect(issuesOf(config)).toEqual([
      {
        path: 'shared.nat[1].to',
        value: ['trust'],
        expected: "the zone of the published address 10.0.2.1 (zone untrust, interface wan): a destination NAT rule's to is the pre-NAT destination zone",
      },
    ]);
  });

  test('a port translation needs TCP or UDP services', () => {
    const config = boxA();
    config.shared.nat.push({ ...webIn(), service: ['tcp/8080', 'icmp', 'any'] });
    const expected = '"tcp/<port>" or "udp/<port>": a rule that translates the destination port (translate.destination.port) publishes TCP or UDP ports';
    expect(issuesOf(config)).toEqual([
      { path: 'shared.nat[1].service[1]', value: 'icmp', expected },
      { path: 'shared.nat[1].service[2]', value: 'any', expected },
    ]);
    const omitted = boxA();
    omitted.shared.nat.push({ ...webIn(), service: undefined });
    expect(issuesOf(omitted).map((i) => [i.path, i.value])).toEqual([['shared.nat[1].service[0]', 'any']]);
  });

  test('shape errors of translate.destination name the key', () => {
    const config = boxA();
    config.shared.nat.push({ ...webIn(), translate: { destination: { address: '10.0.1', port: 0, host: 'x' } } });
    expect(
      issuesOf(config)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['shared.nat[1].translate.destination.address', 'shared.nat[1].translate.destination.host', 'shared.nat[1].translate.destination.port']);
  });
});
