// central.yaml: defaults, every bad value named by its key, tokens refused as the daemon refuses them.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { loadInventory, parseInventory } from '../../../src/central/inventory.js';
import { loadInventorySecrets } from '../../../src/central/secrets.js';
import { boxApiSource, pollTargets } from '../../../src/central/targets.js';

const GOOD = `
listen: 127.0.0.1:9490
tokenFile: central.token
database: central.db
pairs:
  - name: dc1-edge
    labels: { site: dc1 }
    members:
      - { name: fwa, api: "http://10.0.0.1:9480", tokenFile: a.token }
      - { name: fwb, api: "https://10.0.0.2:9480", tokenFile: b.token, caFile: ca.pem }
`;

function issues(text: string): { path: string; expected: string }[] {
  try {
    parseInventory(text, 'c.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, expected: i.expected }));
    throw err;
  }
  throw new Error('accepted');
}

describe('inventory', () => {
  it('parses with defaults', () => {
    const inv = parseInventory(GOOD);
    expect(inv).toMatchObject({ pollIntervalMs: 2000, pollTimeoutMs: 1500, retention: { days: 30, maxEvents: 100000 } });
    expect(inv.pairs[0].members[1].caFile).toBe('ca.pem');
  });

  it('resolves relative paths against the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ce-inv-'));
    writeFileSync(join(dir, 'central.yaml'), GOOD);
    const inv = loadInventory(join(dir, 'central.yaml'));
    expect(inv.database).toBe(join(dir, 'central.db'));
    expect(inv.pairs[0].members[0].tokenFile).toBe(join(dir, 'a.token'));
    expect(inv.pairs[0].members[1].caFile).toBe(join(dir, 'ca.pem'));
  });

  it('names the key of every bad value', () => {
    const bad = GOOD.replace('127.0.0.1:9490', 'nowhere').replace('"https://10.0.0.2:9480"', 'ftp://x').replace('name: fwb', 'name: fwa');
    const got = issues(`${bad}pollIntervalMs: -1\nfrobnicate: 1\n`);
    expect(got.map((i) => i.path).sort()).toEqual(['frobnicate', 'listen', 'pairs[0].members[1].api', 'pollIntervalMs'].sort());
    expect(got.find((i) => i.path === 'frobnicate')!.expected).toContain('known keys');
  });

  it('exactly two members, unique pair names, a timeout within the interval', () => {
    const one = `listen: 127.0.0.1:1\ntokenFile: t\ndatabase: d\npairs:\n  - { name: p, members: [{ name: a, api: "http://h:1", tokenFile: t }] }\n`;
    expect(issues(one)).toEqual([{ path: 'pairs[0].members', expected: 'exactly two members (the two boxes of the pair)' }]);
    const twice = `${GOOD}  - name: dc1-edge\n    members:\n      - { name: a, api: "http://h:1", tokenFile: t }\n      - { name: b, api: "http://h:2", tokenFile: t }\npollTimeoutMs: 5000\n`;
    expect(issues(twice).map((i) => i.path)).toEqual(['pairs[1].name', 'pollTimeoutMs']);
  });

  it('TLS files only for an https:// member, a client certificate only with its key', () => {
    const http = GOOD.replace('"https://10.0.0.2:9480"', '"http://10.0.0.2:9480"');
    expect(issues(http)).toEqual([
      { path: 'pairs[0].members[1].caFile', expected: 'no TLS file for a member whose api is not https:// (http://10.0.0.2:9480)' },
    ]);
    const half = GOOD.replace('caFile: ca.pem', 'certFile: me.pem');
    expect(issues(half)).toEqual([{ path: 'pairs[0].members[1].keyFile', expected: 'a client certificate and its key together (mutual TLS needs both)' }]);
    expect(parseInventory(GOOD.replace('caFile: ca.pem', 'caFile: ca.pem, certFile: me.pem, keyFile: me.key')).pairs[0].members[1]).toMatchObject({
      certFile: 'me.pem',
      keyFile: 'me.key',
    });
  });

  it('bad YAML and an empty file are errors, not crashes', () => {
    expect(issues('pairs: [')[0].expected).toContain('valid YAML');
    expect(issues('').length).toBeGreaterThan(0);
  });
});

describe('inventory tokens', () => {
  it('refuses token files others may read, naming the key; never shows the token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ce-tok-'));
    const secret = 'central-token-0123456789abcdef';
    for (const [f, mode] of [
      ['central.token', 0o600],
      ['a.token', 0o644],
      ['b.token', 0o600],
    ] as const) {
      writeFileSync(join(dir, f), `${secret}\n`);
      chmodSync(join(dir, f), mode);
    }
    writeFileSync(join(dir, 'central.yaml'), GOOD);
    const inv = loadInventory(join(dir, 'central.yaml'));
    let err: unknown;
    try {
      loadInventorySecrets(inv, 'central.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues.map((i) => i.path)).toEqual(['pairs[0].members[0].tokenFile']);
    expect(e.message).toContain('chmod 600');
    expect(e.message).not.toContain(secret);
    chmodSync(join(dir, 'a.token'), 0o600);
    const ok = loadInventorySecrets(inv, 'central.yaml');
    expect(ok.api.toString()).toBe(secret);
    expect(ok.members.get('dc1-edge/fwb')!.toString()).toBe(secret);
  });
});

describe('poll targets', () => {
  it('a TLS file the client cannot use is a config error naming its key', () => {
    const inv = parseInventory(GOOD.replace('caFile: ca.pem', 'caFile: /nonexistent/ca.pem'));
    const secrets = {
      api: Buffer.from('x'),
      members: new Map([
        ['dc1-edge/fwa', Buffer.from('t')],
        ['dc1-edge/fwb', Buffer.from('t')],
      ]),
    };
    let err: unknown;
    try {
      pollTargets(inv, secrets, boxApiSource, 'c.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['pairs[0].members[1].caFile']);
    expect((err as ConfigError).message).toContain('/nonexistent/ca.pem');
  });
});
