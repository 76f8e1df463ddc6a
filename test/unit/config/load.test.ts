import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { MAX_CONFIG_BYTES, loadConfig, parseConfig } from '../../../src/config/load.js';
import { minimal } from './fixture.js';

function withRelativePaths() {
  const config = minimal();
  config.device.ha.keyFile = 'secrets/ha.key';
  config.device.api = { listen: 'unix:run/api.sock', tokenFile: './api.token' };
  config.device.metrics = { listen: '127.0.0.1:9481' };
  config.device.stateDir = '../state';
  return config;
}

describe('relative paths', () => {
  test('loadConfig resolves them against the file directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
    const file = join(dir, 'box.yaml');
    writeFileSync(file, stringify(withRelativePaths()));
    const { device } = loadConfig(file);
    expect(device.ha.keyFile).toBe(join(dir, 'secrets/ha.key'));
    expect(device.api.tokenFile).toBe(join(dir, 'api.token'));
    expect(device.api.listen).toBe(`unix:${join(dir, 'run/api.sock')}`);
    expect(device.metrics.listen).toBe('127.0.0.1:9481');
    expect(device.stateDir).toBe(join(dir, '..', 'state'));
  });

  test('parseConfig resolves against baseDir, and leaves absolute paths alone', () => {
    const config = withRelativePaths();
    config.device.stateDir = '/var/lib/tandem';
    const { device } = parseConfig(stringify(config), { baseDir: '/etc/tandem' });
    expect(device.ha.keyFile).toBe('/etc/tandem/secrets/ha.key');
    expect(device.api.listen).toBe('unix:/etc/tandem/run/api.sock');
    expect(device.stateDir).toBe('/var/lib/tandem');
  });

  test('without baseDir, paths stay as written', () => {
    const { device } = parseConfig(stringify(withRelativePaths()));
    expect(device.ha.keyFile).toBe('secrets/ha.key');
    expect(device.api.listen).toBe('unix:run/api.sock');
  });
});

describe('loadConfig failures', () => {
  test('a missing file is a ConfigError naming the file', () => {
    const path = join(tmpdir(), 'tandem-no-such-dir', 'box.yaml');
    expect(() => loadConfig(path)).toThrow(ConfigError);
    try {
      loadConfig(path);
    } catch (err) {
      const e = err as ConfigError;
      expect(e.source).toBe(path);
      expect(e.issues).toEqual([{ path: '(file)', value: path, expected: 'a readable file (ENOENT)' }]);
    }
  });

  test('a file over the size bound is refused before it is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
    const file = join(dir, 'big.yaml');
    writeFileSync(file, Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20));
    expect(() => loadConfig(file)).toThrow(/\(file\): got 1048577, expected a file of at most 1048576 bytes/);
  });

  test('errors name the file as source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
    const file = join(dir, 'box.yaml');
    const config = minimal();
    config.device.priority = -1;
    writeFileSync(file, stringify(config));
    expect(() => loadConfig(file)).toThrow(`${file}: device.priority: got -1, expected an integer from 0 to 255`);
  });

  test('parseConfig without a source labels messages <config>', () => {
    expect(() => parseConfig('device: 1')).toThrow(/^<config>: device: got 1, expected/);
  });
});
