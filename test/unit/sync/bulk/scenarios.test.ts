// Replays every bulk-sync scenario script and compares with its recorded output.
// Regenerate after an intended change: UPDATE_SCENARIOS=1 npx vitest run test/unit/sync/bulk
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { replay } from './script.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const UPDATE = process.env.UPDATE_SCENARIOS === '1';

describe('bulk sync scenarios', () => {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  it('has scenarios', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(f, () => {
      const path = join(DIR, f);
      const text = readFileSync(path, 'utf8');
      const fresh = replay(text);
      if (UPDATE && fresh !== text) writeFileSync(path, fresh);
      else expect(fresh).toBe(text);
    });
  }
});
