// Golden scenario scripts (after etcd raft's testdata): every *.txt in a folder is replayed by a
// machine's own script runner and compared with its recorded output. Regenerate after an
// intended change with UPDATE_SCENARIOS=1.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

export function goldenScenarios(title: string, dir: string, replay: (text: string) => string): void {
  const update = process.env.UPDATE_SCENARIOS === '1';
  describe(title, () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort();
    it('has scenarios', () => expect(files.length).toBeGreaterThan(0));
    for (const f of files) {
      it(f, () => {
        const path = join(dir, f);
        const text = readFileSync(path, 'utf8');
        const fresh = replay(text);
        if (update && fresh !== text) writeFileSync(path, fresh);
        else expect(fresh).toBe(text);
      });
    }
  });
}
