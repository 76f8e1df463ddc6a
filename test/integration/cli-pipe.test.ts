// The `tandem` command as a shell pipeline sees it: a reader that goes away early (`| head`) ends
// the output; it is not a crash with a stack trace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/lab/lab.js';
import { ensureBuilt } from './helpers/lab.js';

describe('the tandem command in a pipeline', () => {
  it('exits quietly when its reader is gone (EPIPE)', async () => {
    await ensureBuilt(['src/cli/main.js']);
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'tandem.js'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // the reader is gone before the first write
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
