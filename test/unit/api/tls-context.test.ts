// The API's TLS material: which files make a server identity, and what a reload does with new ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planReload, readTlsFiles, TlsFileError, tlsMaterial, TLS_MIN_VERSION, type ReloadState } from '../../../src/api/tls-context.js';
import type { ApiTlsConfig } from '../../../src/config/types.js';
import { mintFixture, read, type TlsFixture } from './tls-fixture.js';

let fx: TlsFixture;
let cfg: ApiTlsConfig;

beforeAll(async () => {
  fx = await mintFixture();
  cfg = { certFile: fx.server.cert, keyFile: fx.server.key, clientCaFile: fx.ca.cert };
}, 30_000);
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): TlsFileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TlsFileError);
    return err as TlsFileError;
  }
  throw new Error('expected a TlsFileError');
}

describe('tlsMaterial', () => {
  it('gives the server options with TLS 1.2 as the floor, and the certificate facts', () => {
    const m = tlsMaterial(cfg, readTlsFiles(cfg));
    const x = new X509Certificate(read(fx.server.cert));
    expect(m.options.minVersion).toBe(TLS_MIN_VERSION);
    expect(m.options.ca).toEqual(read(fx.ca.cert));
    expect(m.serial).toBe(x.serialNumber);
    expect(m.notAfter.getTime()).toBe(new Date(x.validTo).getTime());
    expect(m.notAfter.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(m.subject).toBe('CN=fw-a');
  });

  it('a certificate that is not PEM names certFile', () => {
    const e = errorOf(() => tlsMaterial(cfg, { ...readTlsFiles(cfg), cert: Buffer.from('hello') }));
    expect(e.role).toBe('certFile');
    expect(e.message).toMatch(/^device\.api\.tls\.certFile .*server\.crt: is not a PEM certificate/);
  });

  it('a key that is not PEM, or not the certificate key, names keyFile', () => {
    expect(errorOf(() => tlsMaterial(cfg, { ...readTlsFiles(cfg), key: Buffer.from('-----BEGIN PRIVATE KEY-----\nxx\n') })).role).toBe('keyFile');
    const e = errorOf(() => tlsMaterial(cfg, { ...readTlsFiles(cfg), key: read(fx.renewed.key) }));
    expect(e.role).toBe('keyFile');
    expect(e.message).toContain(`is not the private key of the certificate in ${fx.server.cert}`);
  });

  it('a client CA that is not PEM names clientCaFile', () => {
    expect(errorOf(() => tlsMaterial(cfg, { ...readTlsFiles(cfg), ca: Buffer.from('nope') })).role).toBe('clientCaFile');
  });
});

describe('readTlsFiles', () => {
  it('refuses a key file group or others may read, naming it and the fix', () => {
    const key = join(fx.dir, 'open.key');
    copyFileSync(fx.server.key, key);
    chmodSync(key, 0o644);
    const e = errorOf(() => readTlsFiles({ ...cfg, keyFile: key }));
    expect(e.role).toBe('keyFile');
    expect(e.message).toBe(`device.api.tls.keyFile ${key}: has mode 0644: group or others may read or write it; run: chmod 600 ${key}`);
  });

  it('a missing file names its key', () => {
    const e = errorOf(() => readTlsFiles({ ...cfg, clientCaFile: '/nonexistent/ca.crt' }));
    expect(e.role).toBe('clientCaFile');
    expect(e.message).toBe('device.api.tls.clientCaFile /nonexistent/ca.crt: cannot be read (ENOENT)');
    expect(errorOf(() => readTlsFiles({ ...cfg, keyFile: '/nonexistent/k' })).message).toBe('device.api.tls.keyFile /nonexistent/k: does not exist');
  });
});

describe('planReload', () => {
  const state = (): ReloadState => ({ served: tlsMaterial(cfg, readTlsFiles(cfg)), lastFailure: null });
  const renewed = () => ({ cert: read(fx.renewed.cert), key: read(fx.renewed.key), ca: read(fx.ca.cert) });

  it('keeps serving when the files are the same bytes (a touch, a copy of the same)', () => {
    expect(planReload(cfg, state(), readTlsFiles(cfg))).toEqual({ action: 'keep' });
  });

  it('applies a good new pair', () => {
    const plan = planReload(cfg, state(), renewed());
    expect(plan.action).toBe('apply');
    if (plan.action === 'apply') expect(plan.material.serial).toBe(new X509Certificate(read(fx.renewed.cert)).serialNumber);
  });

  it('rejects a half-written renewal (new certificate, old key) once, then keeps quiet about it', () => {
    const s = state();
    const half = { ...renewed(), key: read(fx.server.key) };
    const plan = planReload(cfg, s, half);
    expect(plan.action).toBe('reject');
    if (plan.action !== 'reject') return;
    expect(plan.error.role).toBe('keyFile');
    s.lastFailure = plan.failure;
    expect(planReload(cfg, s, half)).toEqual({ action: 'keep' });
    // the key arrives: applied
    expect(planReload(cfg, s, renewed()).action).toBe('apply');
  });

  it('rejects a read error once (a file gone), and applies once the files are good again', () => {
    const s = state();
    const gone = new TlsFileError('certFile', '/x/api.crt', 'cannot be read (ENOENT)');
    const plan = planReload(cfg, s, gone);
    expect(plan).toMatchObject({ action: 'reject', error: gone });
    if (plan.action === 'reject') s.lastFailure = plan.failure;
    expect(planReload(cfg, s, new TlsFileError('certFile', '/x/api.crt', 'cannot be read (ENOENT)'))).toEqual({ action: 'keep' });
    expect(planReload(cfg, s, renewed()).action).toBe('apply');
  });

  it('a broken certificate is rejected naming certFile', () => {
    writeFileSync(join(fx.dir, 'junk'), 'junk');
    const plan = planReload(cfg, state(), { ...renewed(), cert: read(join(fx.dir, 'junk')) });
    expect(plan.action === 'reject' && plan.error.role).toBe('certFile');
  });
});
