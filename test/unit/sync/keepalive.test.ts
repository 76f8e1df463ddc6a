import { expect, it } from 'vitest';
import { HA2_DEAD_MS, HA2_KEEPALIVE_MS, keepaliveDue } from '../../../src/sync/keepalive.js';

it('a keepalive after HA2_KEEPALIVE_MS of our silence; the connection dropped after HA2_DEAD_MS of the peer', () => {
  expect(keepaliveDue(1000, 1000, 1000)).toBeNull();
  expect(keepaliveDue(1000 + HA2_KEEPALIVE_MS, 1000, 1000)).toBeNull();
  expect(keepaliveDue(1001 + HA2_KEEPALIVE_MS, 1000, 1000)).toBe('keepalive');
  expect(keepaliveDue(1001 + HA2_KEEPALIVE_MS, 1000, 1001 + HA2_KEEPALIVE_MS)).toBeNull();
  // a silent peer is dropped, whatever we said
  expect(keepaliveDue(1001 + HA2_DEAD_MS, 1000, 1000 + HA2_DEAD_MS)).toBe('drop');
});
