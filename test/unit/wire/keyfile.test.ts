import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSecretFile, MIN_SECRET_BYTES } from '../../../src/wire/keyfile.js';
import { SecretFileError } from '../../../src/wire/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function secretFile(content: string | Buffer, mode: number): string {
  const path = join(dir, `secret-${n++}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

function expectSecretError(fn: () => unknown, code: SecretFileError['code']): SecretFileError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SecretFileError);
  expect((caught as SecretFileError).code).toBe(code);
  return caught as SecretFileError;
}

const KEY = 'k'.repeat(32);
// root reads any file whatever its mode: the 0o000-style checks below only hold for others
const isRoot = process.getuid?.() === 0;

describe('loadSecretFile', () => {
  it('returns the content of a 0600 file with surrounding whitespace trimmed', () => {
    expect(loadSecretFile(secretFile(`  ${KEY}\n\n`, 0o600), 'key').toString()).toBe(KEY);
    expect(loadSecretFile(secretFile(`\t${KEY}\r\n`, 0o400), 'token').toString()).toBe(KEY);
  });

  it('keeps inner whitespace and binary bytes untouched', () => {
    const binary = Buffer.from([0x00, 0xff, 0x80, 0x20, 0xc3, 0x28, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x21]);
    expect(loadSecretFile(secretFile(Buffer.concat([binary, Buffer.from('\n')]), 0o600), 'key')).toEqual(binary);
    expect(loadSecretFile(secretFile('abcdefgh ijklmnop', 0o600), 'key').toString()).toBe('abcdefgh ijklmnop');
  });

  it.each([0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o666, 0o610, 0o601, 0o707].map((m) => [m.toString(8), m]))('refuses mode %s', (_octal, mode) => {
    const path = secretFile(KEY, mode);
    const err = expectSecretError(() => loadSecretFile(path, 'key'), 'insecure-permissions');
    expect(err.message).toContain(path);
    expect(err.message).toContain('chmod 600');
    expect(err.what).toBe('key');
  });

  it('accepts owner-only modes', () => {
    for (const mode of [0o600, 0o400, 0o700]) expect(loadSecretFile(secretFile(KEY, mode), 'key').length).toBe(32);
  });

  it('refuses a missing file', () => {
    const err = expectSecretError(() => loadSecretFile(join(dir, 'nope'), 'token'), 'missing');
    expect(err.message).toContain('token');
  });

  it('refuses fewer than 16 bytes after trimming', () => {
    const short = 'x'.repeat(MIN_SECRET_BYTES - 1);
    expectSecretError(() => loadSecretFile(secretFile(`${short}\n`, 0o600), 'key'), 'too-short');
    expectSecretError(() => loadSecretFile(secretFile(`   ${short}      \n\n\n`, 0o600), 'key'), 'too-short');
    expectSecretError(() => loadSecretFile(secretFile('', 0o600), 'key'), 'too-short');
    expect(loadSecretFile(secretFile(`${short}y\n`, 0o600), 'key').length).toBe(MIN_SECRET_BYTES);
  });

  it('checks the file a symlink points to', () => {
    const target = secretFile(KEY, 0o644);
    const link = join(dir, `link-${n++}`);
    symlinkSync(target, link);
    expectSecretError(() => loadSecretFile(link, 'key'), 'insecure-permissions');
    chmodSync(target, 0o600);
    expect(loadSecretFile(link, 'key').toString()).toBe(KEY);
  });

  it('refuses a directory as unreadable', () => {
    const d = join(dir, `dir-${n++}`);
    mkdirSync(d, { mode: 0o700 });
    expectSecretError(() => loadSecretFile(d, 'key'), 'unreadable');
  });

  it.skipIf(isRoot)('refuses a file it may not open as unreadable', () => {
    const path = secretFile(KEY, 0o000);
    expectSecretError(() => loadSecretFile(path, 'key'), 'unreadable');
  });
});
