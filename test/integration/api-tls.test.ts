// `tandem lab up --tls`: both daemons serve their API over HTTPS with mutual TLS on their
// management addresses, with certificates from the lab's own CA. Real clients (curl, openssl's
// verification through Node, the tandem CLI) from the peer's namespace across the management link;
// the lab itself through its relays. Then a certificate renewed on disk is served without a
// restart, and a broken one is refused while the renewed one keeps serving.
import { renameSync, writeFileSync, copyFileSync, readFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab, type LabStatus } from '../../src/lab/lab.js';
import { mintCert } from '../../src/lab/lab-tls.js';
import { ensureBuilt, isRoot, uniqueLabName, upLab } from './helpers/lab.js';

let lab: Lab;
let st: LabStatus;
let token: string;

beforeAll(async () => {
  await ensureBuilt(['src/lab/api-relay.js', 'src/cli/main.js']);
  lab = await upLab({ tls: true, name: uniqueLabName('tl') });
  st = await lab.status();
  token = readFileSync(join(lab.runDir, 'api.token'), 'utf8').trim();
}, 90_000);

afterAll(async () => {
  await lab?.down();
}, 30_000);

const tls = () => st.tls!;
const fwaApi = () => st.boxes.fwa.api;

/** curl in fwb's namespace (across the management link to fwa), with `args` before the URL. */
async function curlFromPeer(args: string[], path = '/v1/status'): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await lab.nsExec('fwb', 'curl', ['-sS', '--max-time', '5', ...args, '-H', `Authorization: Bearer ${token}`, `${fwaApi()}${path}`]);
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { exitCode: number | null; stdout: string; stderr: string };
    return { code: e.exitCode ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The serial of the certificate fwa shows a new connection (through the lab's relay, verified against the lab CA for fwa's address). */
function servedSerial(): Promise<string> {
  const { hostname } = new URL(fwaApi());
  return new Promise((resolve, reject) => {
    const s = connect(
      {
        path: st.boxes.fwa.apiSocket!,
        host: hostname,
        ca: readFileSync(tls().ca),
        cert: readFileSync(tls().clientCert),
        key: readFileSync(tls().clientKey),
      },
      () => {
        resolve(s.getPeerCertificate().serialNumber);
        s.end();
      },
    );
    s.on('error', reject);
    s.setTimeout(3000, () => s.destroy(new Error('no TLS handshake within 3 s')));
  });
}

/** One sample of fwa's metrics (its metrics listener is a unix socket in the run dir). */
function fwaMetric(series: string): Promise<number> {
  const socketPath = st.boxes.fwa.metrics.replace(/^unix:/, '');
  return new Promise((resolve, reject) => {
    request({ socketPath, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        resolve(line === undefined ? NaN : Number(line.slice(series.length + 1)));
      });
    })
      .on('error', reject)
      .end();
  });
}

describe.skipIf(!isRoot())('lab up --tls: the API over HTTPS with mutual TLS', () => {
  it('lab status gives https:// APIs on the management addresses, the relays and the TLS files', () => {
    expect(st.boxes.fwa.api).toBe('https://172.31.9.1:9480');
    expect(st.boxes.fwb.api).toBe('https://172.31.9.2:9480');
    expect(st.boxes.fwa.apiSocket).toBe(join(lab.runDir, 'fwa-api-relay.sock'));
    expect(st.tls).toEqual({
      ca: join(lab.runDir, 'tls', 'ca.crt'),
      clientCert: join(lab.runDir, 'tls', 'client.crt'),
      clientKey: join(lab.runDir, 'tls', 'client.key'),
    });
    expect(st.boxes.fwa.state).toBe('active');
    expect(st.boxes.fwb.state).toBe('passive');
  });

  it('curl with the CA and the client certificate gets the status', async () => {
    const r = await curlFromPeer(['--cacert', tls().ca, '--cert', tls().clientCert, '--key', tls().clientKey]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).local.name).toBe('fw-a');
  });

  it('curl without the CA fails verification', async () => {
    const r = await curlFromPeer(['--cert', tls().clientCert, '--key', tls().clientKey]);
    expect(r.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    expect(r.stdout).toBe('');
  });

  it('curl with the CA but no client certificate is refused in the handshake', async () => {
    const r = await curlFromPeer(['--cacert', tls().ca]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/alert certificate required/);
    expect(r.stdout).toBe('');
  });

  it('tandem status --api https://... --ca --cert --key works from the peer', async () => {
    const r = await lab.nsExec('fwb', process.execPath, [
      join(repoRoot(), 'bin', 'tandem.js'),
      'status',
      '--json',
      '--api',
      fwaApi(),
      '--token-file',
      join(lab.runDir, 'api.token'),
      '--ca',
      tls().ca,
      '--cert',
      tls().clientCert,
      '--key',
      tls().clientKey,
    ]);
    expect(JSON.parse(r.stdout).local.state).toBe('active');
  });

  it('a renewed certificate is served without a restart; a broken one is refused and the renewed one keeps serving', async () => {
    const pid = lab.pid('fwa');
    const before = await servedSerial();
    expect(before).toBe(new X509Certificate(readFileSync(join(lab.runDir, 'tls', 'fwa.crt'))).serialNumber);
    expect(await fwaMetric('tandem_api_tls_reloads_total{result="ok"}')).toBe(0);
    const notAfter = new Date(new X509Certificate(readFileSync(join(lab.runDir, 'tls', 'fwa.crt'))).validTo);
    expect(await fwaMetric('tandem_api_tls_cert_expiry_timestamp_seconds')).toBe(Math.floor(notAfter.getTime() / 1000));

    // certbot style: a new pair minted elsewhere, then renamed over the served files (key first)
    const dir = join(lab.runDir, 'tls', 'renew');
    mkdirSync(dir, { mode: 0o700 });
    const ca = { cert: join(lab.runDir, 'tls', 'ca.crt'), key: join(lab.runDir, 'tls', 'ca.key') };
    const renewed = await mintCert(dir, 'fwa', ca, { cn: 'fw-a', sans: ['172.31.9.1', 'fw-a'], usage: 'server' });
    const serial = new X509Certificate(readFileSync(renewed.cert)).serialNumber;
    expect(serial).not.toBe(before);
    renameSync(renewed.key, join(lab.runDir, 'tls', 'fwa.key'));
    renameSync(renewed.cert, join(lab.runDir, 'tls', 'fwa.crt'));
    await expect.poll(servedSerial, { timeout: 10_000, interval: 200 }).toBe(serial);
    expect(await fwaMetric('tandem_api_tls_reloads_total{result="ok"}')).toBe(1);
    expect(lab.pid('fwa')).toBe(pid);

    // a broken certificate: counted, logged naming the file, and the renewed one still answers
    copyFileSync(join(lab.runDir, 'tls', 'fwa.crt'), join(dir, 'good.crt'));
    writeFileSync(join(lab.runDir, 'tls', 'fwa.crt'), '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    await expect.poll(() => fwaMetric('tandem_api_tls_reloads_total{result="failed"}'), { timeout: 10_000, interval: 200 }).toBe(1);
    expect(await servedSerial()).toBe(serial);
    expect((await lab.api('fwa').status()).local.state).toBe('active');
    const failed = lab
      .logTail('fwa', 50)
      .split('\n')
      .filter((l) => l.includes('API TLS reload failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(join(lab.runDir, 'tls', 'fwa.crt'));
    expect(lab.pid('fwa')).toBe(pid);
  });
});
