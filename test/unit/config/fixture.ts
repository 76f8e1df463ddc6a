// A valid config to mutate, and helpers that return the issues a mutation produces.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { expect } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import type { ConfigIssue, TandemConfig } from '../../../src/config/types.js';

export const BOX_A_PATH = new URL('../../../deploy/box-a.yaml', import.meta.url).pathname;
export const BOX_B_PATH = new URL('../../../deploy/box-b.yaml', import.meta.url).pathname;

/** Box A's file as a plain object (not defaulted): mutate it, then stringify. */
export function boxA(): Record<string, any> {
  return parse(readFileSync(BOX_A_PATH, 'utf8'));
}

/** The smallest valid file: required keys only, everything else defaulted. */
export function minimal(): Record<string, any> {
  return {
    device: {
      id: 0,
      name: 'fw-a',
      priority: 50,
      interfaces: { lan: { device: 'eth1', address: '10.0.1.2/24' } },
      ha: { ha1: { local: '172.31.0.1', peer: '172.31.0.2' }, keyFile: '/etc/tandem/ha.key' },
      api: { listen: '127.0.0.1:9480', tokenFile: '/etc/tandem/api.token' },
      metrics: { listen: '0.0.0.0:9481' },
      stateDir: '/var/lib/tandem',
    },
    shared: {},
  };
}

export function parseObject(obj: unknown): TandemConfig {
  return parseConfig(stringify(obj), { source: 'test.yaml' });
}

/** The ConfigError that text produces; fails the test if it parses. */
export function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, { source: 'test.yaml' });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but the config parsed');
}

export function issuesOf(obj: unknown): ConfigIssue[] {
  return errorOf(stringify(obj)).issues;
}
