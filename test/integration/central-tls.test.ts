// tandem central over TLS both ways, with real daemons (`lab up --tls`: the lab's own CA, both
// boxes serving their API over HTTPS with mutual TLS): central verifies each member against the
// CA in its inventory and presents its client certificate (reaching the boxes through the lab's
// relay sockets, TLS end to end); central's own listener serves HTTPS with mutual TLS, so a
// client without a certificate from the CA is refused in the handshake, and the CLI reaches it
// with --ca, --cert and --key.
import { mkdtempSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/api/client.js';
import type { FleetResponse } from '../../src/central/protocol.js';
import { runCli } from '../../src/cli/program.js';
import { Lab, labDown, labUp, runDirOf, type LabStatus } from '../../src/lab/lab.js';
import { mintCert } from '../../src/lab/lab-tls.js';
import { CENTRAL_TOKEN, eventually, startCentralProcess, writeInventory, type CentralProcess } from './helpers/central.js';
import { ensureBuilt, isRoot, uniqueLabName } from './helpers/lab.js';

const NAME = uniqueLabName('ct');
let st: LabStatus;
let config: string;
let central: CentralProcess | null = null;

/** GET over HTTPS with the lab's CA and client certificate: the body. */
function scrapeTls(url: string): Promise<string> {
  const tls = st.tls!;
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!isRoot())('central over TLS', () => {
  beforeAll(async () => {
    await ensureBuilt(['src/cli/main.js']);
    await labUp({ name: NAME, tls: true });
    st = await new Lab(NAME).status();
    const tls = st.tls!;
    const ca = { cert: tls.ca, key: join(runDirOf(NAME), 'tls', 'ca.key') };
    const dir = mkdtempSync(join(tmpdir(), 'ct-central-'));
    const server = await mintCert(dir, 'central', ca, { cn: 'central', sans: ['127.0.0.1'], usage: 'server' });
    const token = readFileSync(join(runDirOf(NAME), 'api.token'), 'utf8').trim();
    const member = (b: 'fwa' | 'fwb') => ({
      name: b,
      api: st.boxes[b].api,
      token,
      caFile: tls.ca,
      certFile: tls.clientCert,
      keyFile: tls.clientKey,
      socket: st.boxes[b].apiSocket!,
    });
    config = writeInventory([{ name: 'tls', members: [member('fwa'), member('fwb')] }], {
      pollIntervalMs: 300,
      pollTimeoutMs: 250,
      tls: { certFile: server.cert, keyFile: server.key, clientCaFile: tls.ca },
    });
    central = await startCentralProcess(config, { caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey });
  }, 120_000);

  afterAll(async () => {
    await central?.stop();
    await labDown({ name: NAME });
  });

  it('polls both members over mutual TLS and serves its own API over HTTPS with mutual TLS', async () => {
    expect(st.boxes.fwa.api).toMatch(/^https:\/\//);
    expect(central!.address).toMatch(/^https:\/\/127\.0\.0\.1:/);
    let last: FleetResponse | null = null;
    const fleet = await eventually('the pair ok over TLS', 15_000, async () => {
      const f = await central!.client.call<FleetResponse>('GET', '/v1/fleet');
      last = f;
      return f.pairs[0].health === 'ok' ? f : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last view: ${JSON.stringify(last?.pairs[0])}`);
    });
    expect(fleet.pairs[0].members.map((m) => [m.name, m.reachable, m.state])).toEqual([
      ['fwa', true, 'active'],
      ['fwb', true, 'passive'],
    ]);
    // without a client certificate from the CA: refused in the handshake, before any token
    const anonymous = new ApiClient({ url: central!.address, token: CENTRAL_TOKEN, caFile: st.tls!.ca, timeoutMs: 3000 });
    await expect(anonymous.call('GET', '/v1/fleet')).rejects.toMatchObject({ code: 'tls' });
    // without the CA: the certificate does not verify
    const unverified = new ApiClient({ url: central!.address, token: CENTRAL_TOKEN, timeoutMs: 3000 });
    await expect(unverified.call('GET', '/v1/fleet')).rejects.toMatchObject({ code: 'tls' });
    // the served certificate's expiry is exported (a scraper needs a client certificate too)
    const metrics = await scrapeTls(`${central!.address}/metrics`);
    const expiry = Number(/^tandem_central_tls_cert_expiry_timestamp_seconds (\d+)$/m.exec(metrics)?.[1]);
    expect(expiry * 1000).toBeGreaterThan(Date.now() + 20 * 86_400_000);
  });

  it('the CLI reaches it with --ca, --cert and --key', async () => {
    let out = '';
    const tls = st.tls!;
    const code = await runCli(['central', 'pairs', '--json', '--central', central!.address, '--ca', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey], {
      stdout: (t) => (out += t),
      stderr: () => undefined,
      env: { TANDEM_CENTRAL_TOKEN_FILE: join(config, '..', 'central.token') },
    });
    expect(code).toBe(0);
    expect((JSON.parse(out) as FleetResponse).pairs[0].name).toBe('tls');
  });
});
