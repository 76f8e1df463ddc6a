// The tokens central holds: its own API's and one per member. Each is read as the daemon reads its
// own (wire/keyfile.ts: refused when group or others may read it); every refusal is a ConfigIssue
// naming the inventory key, and all of them are reported at once. A token is never logged.
import { ConfigError } from '../config/errors.js';
import type { ConfigIssue } from '../config/types.js';
import { loadSecretFile } from '../wire/keyfile.js';
import type { Inventory } from './inventory.js';

export interface InventorySecrets {
  /** Central's own API token. */
  api: Buffer;
  /** By memberKey(pair, member). */
  members: Map<string, Buffer>;
}

export function memberKey(pair: string, member: string): string {
  return `${pair}/${member}`;
}

export function loadInventorySecrets(inv: Inventory, source: string, load: typeof loadSecretFile = loadSecretFile): InventorySecrets {
  const issues: ConfigIssue[] = [];
  const read = (file: string, key: string): Buffer => {
    try {
      return load(file, 'token');
    } catch (err) {
      issues.push({ path: key, value: file, expected: `a private token file (${err instanceof Error ? err.message : String(err)})` });
      return Buffer.alloc(0);
    }
  };
  const api = read(inv.tokenFile, 'tokenFile');
  const members = new Map<string, Buffer>();
  inv.pairs.forEach((p, i) =>
    p.members.forEach((m, j) => {
      members.set(memberKey(p.name, m.name), read(m.tokenFile, `pairs[${i}].members[${j}].tokenFile`));
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues, source);
  return { api, members };
}
