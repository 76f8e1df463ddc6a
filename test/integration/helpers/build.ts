// Integration tests run programs from dist/ inside namespaces (node cannot run .ts): rebuild dist
// when any source file is newer than its output. tsc emits even when some other file has type
// errors, so the exit code is not trusted; the outputs we need are checked instead.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../../src/lab/lab.js';

function staleSources(root: string): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = join(root, 'dist', relative(root, p)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs) stale.push(p);
      }
    }
  };
  walk(join(root, 'src'));
  return stale;
}

let built: Promise<void> | null = null;

/** Builds dist/ if stale (once per test process) and checks that `needed` (paths under dist/) exist. */
export function ensureBuilt(needed: string[] = ['src/lab/probe.js', 'src/lab/stream.js']): Promise<void> {
  const root = repoRoot();
  built ??= new Promise<void>((resolve) => {
    if (staleSources(root).length === 0) return resolve();
    execFile('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, timeout: 180_000 }, () => resolve());
  });
  return built.then(() => {
    const missing = needed.filter((p) => !existsSync(join(root, 'dist', p)));
    if (missing.length > 0) throw new Error(`build did not produce ${missing.join(', ')} (run npm run build and read its errors)`);
  });
}
