// The API over HTTPS with mutual TLS, in process: who gets through the handshake, what the client
// says when verification fails, and a certificate renewed on disk served without a restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { get } from 'node:https';
import { UI_PATH } from '../../../src/api/status-page/page.js';
import { join } from 'node:path';
import { pino } from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { ApiClient, ApiError } from '../../../src/api/client.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { FakeController } from './fixtures.js';
import { mintFixture, read, type TlsFixture } from './tls-fixture.js';

const TOKEN = 'test-token-0123456789abcdef';
const log = pino({ level: 'silent' });

let fx: TlsFixture;
let servers: ApiServer[] = [];

beforeAll(async () => {
  fx = await mintFixture();
}, 30_000);
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A server on 127.0.0.1 whose certificate files are copies it may be made to reload. */
async function start(opts: { mutual?: boolean } = {}): Promise<{ api: ApiServer; metrics: Metrics; cert: string; key: string }> {
  const dir = mkdtempSync(join(fx.dir, 'srv-'));
  const cert = join(dir, 'api.crt');
  const key = join(dir, 'api.key');
  copyFileSync(fx.server.cert, cert);
  copyFileSync(fx.server.key, key);
  const metrics = new Metrics({ defaultMetrics: false });
  const api = await startApiServer({
    listen: '127.0.0.1:0',
    token: Buffer.from(TOKEN),
    controller: new FakeController(),
    metrics,
    log,
    tls: { certFile: cert, keyFile: key, ...(opts.mutual === false ? {} : { clientCaFile: fx.ca.cert }), watch: { intervalMs: 50, settleMs: 50 } },
  });
  servers.push(api);
  return { api, metrics, cert, key };
}

function client(url: string, files: { caFile?: string; certFile?: string; keyFile?: string } = {}): ApiClient {
  return new ApiClient({ url, token: TOKEN, timeoutMs: 3000, ...files });
}

const operator = () => ({ caFile: fx.ca.cert, certFile: fx.client.cert, keyFile: fx.client.key });

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

/** The serial of the certificate a new connection is shown. */
function servedSerial(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port), ca: read(fx.ca.cert), cert: read(fx.client.cert), key: read(fx.client.key) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
}

function metric(text: string, line: RegExp): number {
  const m = line.exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('API over HTTPS', () => {
  it('answers an operator with the CA and a client certificate; the address says https', async () => {
    const { api } = await start();
    expect(api.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const st = await client(api.address, operator()).status();
    expect(st.local.name).toBe('fw-a');
  });

  it('serves the status page over HTTPS unchanged', async () => {
    const { api } = await start();
    const page = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      get(`${api.address}${UI_PATH}`, { ca: read(fx.ca.cert), cert: read(fx.client.cert), key: read(fx.client.key) }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      }).on('error', reject);
    });
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain('<html');
  });

  it('without a client certificate the handshake refuses us: ApiError tls', async () => {
    const { api } = await start();
    const e = await errorOf(client(api.address, { caFile: fx.ca.cert }).status());
    expect(e).toMatchObject({ status: 0, code: 'tls' });
    expect(e.message).toContain(`TLS with tandem API at ${api.address} failed`);
    expect(e.message).toContain('refused our client certificate');
  });

  it('a client certificate from another CA is refused too', async () => {
    const { api } = await start();
    const e = await errorOf(client(api.address, { caFile: fx.ca.cert, certFile: fx.strangerClient.cert, keyFile: fx.strangerClient.key }).status());
    expect(e.code).toBe('tls');
    expect(e.message).toContain('refused our client certificate');
  });

  it('without the CA the server is not verified, and the reason is named', async () => {
    const { api } = await start({ mutual: false });
    const e = await errorOf(client(api.address).status());
    expect(e.code).toBe('tls');
    expect(e.message).toMatch(/not signed by a trusted CA.*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
  });

  it('a host name the certificate is not for fails with ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const { api } = await start({ mutual: false });
    const url = api.address.replace('127.0.0.1', 'localhost');
    const e = await errorOf(client(url, { caFile: fx.ca.cert }).status());
    expect(e.code).toBe('tls');
    expect(e.message).toContain('(ERR_TLS_CERT_ALTNAME_INVALID)');
  });

  it('without mutual TLS the CA alone is enough, and the bearer token still applies', async () => {
    const { api } = await start({ mutual: false });
    expect((await client(api.address, { caFile: fx.ca.cert }).status()).local.name).toBe('fw-a');
    const e = await errorOf(new ApiClient({ url: api.address, token: 'wrong-token-0123456789', caFile: fx.ca.cert }).status());
    expect(e).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('plain HTTP to the HTTPS port gets no API answer', async () => {
    const { api } = await start({ mutual: false });
    const e = await errorOf(client(api.address.replace('https:', 'http:')).status());
    expect(e.status === 400 || e.code === 'unreachable' || e.code === 'bad-response').toBe(true);
  });

  it('a renewed certificate is served to new connections without a restart; a broken one is not', async () => {
    const { api, metrics, cert, key } = await start();
    const before = await servedSerial(api.address);
    expect(before).toBe(new X509Certificate(read(fx.server.cert)).serialNumber);
    const renewedSerial = new X509Certificate(read(fx.renewed.cert)).serialNumber;
    // certbot style: new files renamed over the old ones
    copyFileSync(fx.renewed.key, `${key}.new`);
    copyFileSync(fx.renewed.cert, `${cert}.new`);
    const { renameSync } = await import('node:fs');
    renameSync(`${key}.new`, key);
    renameSync(`${cert}.new`, cert);
    await expect.poll(() => servedSerial(api.address), { timeout: 3000, interval: 50 }).toBe(renewedSerial);
    let text = await metrics.text();
    expect(metric(text, /^tandem_api_tls_reloads_total\{result="ok"\} (\d+)$/m)).toBe(1);
    const expiry = metric(text, /^tandem_api_tls_cert_expiry_timestamp_seconds (\d+)$/m);
    expect(expiry).toBe(Math.floor(new Date(new X509Certificate(read(fx.renewed.cert)).validTo).getTime() / 1000));

    writeFileSync(cert, 'not a certificate\n');
    await expect
      .poll(async () => metric(await metrics.text(), /^tandem_api_tls_reloads_total\{result="failed"\} (\d+)$/m), { timeout: 3000, interval: 50 })
      .toBe(1);
    expect(await servedSerial(api.address)).toBe(renewedSerial);
    expect((await client(api.address, operator()).status()).local.name).toBe('fw-a');
    text = await metrics.text();
    expect(metric(text, /^tandem_api_tls_reloads_total\{result="ok"\} (\d+)$/m)).toBe(1);
  });

  it('refuses to start with a key that is not the certificate key, naming the file', async () => {
    await expect(
      startApiServer({
        listen: '127.0.0.1:0',
        token: Buffer.from(TOKEN),
        controller: new FakeController(),
        metrics: new Metrics({ defaultMetrics: false }),
        log,
        tls: { certFile: fx.server.cert, keyFile: fx.renewed.key },
      }),
    ).rejects.toThrow(`device.api.tls.keyFile ${fx.renewed.key}: is not the private key of the certificate in ${fx.server.cert}`);
  });
});

describe('client TLS options', () => {
  it('TLS files with an http:// URL, a certificate without its key, or an unreadable file are clear errors', () => {
    const mk = (o: Record<string, string>) => () => new ApiClient({ url: 'https://127.0.0.1:1', token: 't', ...o });
    expect(() => new ApiClient({ url: 'http://127.0.0.1:1', token: 't', caFile: fx.ca.cert })).toThrow(/is not https:\/\//);
    expect(mk({ certFile: fx.client.cert })).toThrow('a client certificate was given without its key');
    expect(mk({ caFile: '/nonexistent/ca.crt' })).toThrow('cannot use the CA file /nonexistent/ca.crt: ENOENT');
    const junk = join(fx.dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    expect(mk({ caFile: junk })).toThrow(`cannot use the CA file ${junk}: not a PEM file`);
    try {
      mk({ keyFile: fx.client.key })();
    } catch (e) {
      expect(e).toMatchObject({ code: 'bad-tls-file', status: 0 });
    }
  });
});
