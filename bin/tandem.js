#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (the README's setup does it).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error(`tandem: ${entry} is missing; run \`npm run build\` (or scripts/setup.sh) first`);
  process.exit(70);
}
await import(pathToFileURL(entry).href);
