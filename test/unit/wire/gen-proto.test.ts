import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('generated protobuf code', () => {
  it('matches proto/*.proto (node scripts/gen-proto.mjs --check)', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-proto.mjs', '--check'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('up to date');
    expect(r.status).toBe(0);
  });

  it('loads under plain Node ESM, outside vitest, and registers its own protobuf root', () => {
    const script = `
      import { tandem } from './generated/ha1.js';
      import $protobuf from 'protobufjs/minimal.js';
      const bytes = tandem.ha1.Envelope.encode({ sender: 1, goodbye: { reason: 'x' } }).finish();
      const back = tandem.ha1.Envelope.decode(bytes);
      console.log(JSON.stringify({ body: back.body, roots: Object.keys($protobuf.roots) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ body: 'goodbye', roots: ['ha1'] });
  });
});
