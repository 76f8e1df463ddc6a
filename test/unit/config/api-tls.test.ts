// device.api.tls: HTTPS (and mutual TLS) for the management API.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { stringify } from 'yaml';
import { issuesOf, minimal, parseObject } from './fixture.js';

const TLS = { certFile: '/etc/tandem/api.crt', keyFile: '/etc/tandem/api.key' };

describe('device.api.tls', () => {
  test('is optional: without it the API serves plain HTTP as before', () => {
    expect(parseObject(minimal()).device.api.tls).toBeUndefined();
  });

  test('takes certFile and keyFile, and clientCaFile for mutual TLS', () => {
    const config = minimal();
    config.device.api.tls = { ...TLS };
    expect(parseObject(config).device.api.tls).toEqual(TLS);
    config.device.api.tls.clientCaFile = '/etc/tandem/clients-ca.crt';
    expect(parseObject(config).device.api.tls).toEqual({ ...TLS, clientCaFile: '/etc/tandem/clients-ca.crt' });
  });

  test('is refused with a unix: listener, naming the key and the listener', () => {
    const config = minimal();
    config.device.api.listen = 'unix:/run/tandem/api.sock';
    config.device.api.tls = { ...TLS };
    const issues = issuesOf(config);
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('device.api.tls');
    expect(issues[0].expected).toContain('no tls on a unix: listener (device.api.listen is unix:/run/tandem/api.sock)');
  });

  test('a missing key file, an empty path, a NUL in a path or an unknown key names the key', () => {
    const config = minimal();
    config.device.api.tls = { certFile: '', clientCaFile: '/etc/x\0y', ca: '/etc/ca.crt' };
    const paths = issuesOf(config)
      .map((i) => i.path)
      .sort();
    expect(paths).toEqual(['device.api.tls.ca', 'device.api.tls.certFile', 'device.api.tls.clientCaFile', 'device.api.tls.keyFile']);
    const unknown = issuesOf(config).find((i) => i.path === 'device.api.tls.ca');
    expect(unknown?.expected).toContain('known keys: certFile, keyFile, clientCaFile');
  });

  test('a mapping is expected, not a path', () => {
    const config = minimal();
    config.device.api.tls = '/etc/tandem/api.crt';
    expect(issuesOf(config)).toEqual([
      { path: 'device.api.tls', value: '/etc/tandem/api.crt', expected: 'the API TLS settings: { certFile, keyFile, clientCaFile? }' },
    ]);
  });

  test('relative paths resolve against the config file directory', () => {
    const config = minimal();
    config.device.api.tls = { certFile: 'tls/api.crt', keyFile: '/abs/api.key', clientCaFile: 'ca.crt' };
    const parsed = parseConfig(stringify(config), { source: 'x.yaml', baseDir: '/etc/tandem' });
    expect(parsed.device.api.tls).toEqual({ certFile: '/etc/tandem/tls/api.crt', keyFile: '/abs/api.key', clientCaFile: '/etc/tandem/ca.crt' });
  });
});
