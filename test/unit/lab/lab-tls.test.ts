// `lab up --tls`: the openssl argument lists, the certificates' extensions, the configs' device.api,
// and the relay's arguments.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { caArgs, csrArgs, leafExtensions, randomSerial, signArgs } from '../../../src/lab/lab-tls.js';
import { labApiAddress, labTlsApiConfig, LAB_TLS_API_PORT } from '../../../src/lab/lab-config.js';
import { relayArgs } from '../../../src/lab/api-relay.js';

const CA = { cert: '/r/tls/ca.crt', key: '/r/tls/ca.key' };

describe('openssl arguments', () => {
  it('a P-256 CA, without passphrase, marked as a CA that signs leaves only', () => {
    const a = caArgs(CA, 'tandem lab x CA', 30);
    expect(a.slice(0, 2)).toEqual(['req', '-x509']);
    expect(a).toEqual(expect.arrayContaining(['-nodes', 'ec_paramgen_curve:P-256', '/CN=tandem lab x CA', 'basicConstraints=critical,CA:TRUE,pathlen:0']));
    expect(a[a.indexOf('-keyout') + 1]).toBe(CA.key);
    expect(a[a.indexOf('-days') + 1]).toBe('30');
  });

  it('a leaf: a key and request, then signed with a given serial and extension file', () => {
    expect(csrArgs({ cert: '/r/a.crt', key: '/r/a.key' }, '/r/a.csr', 'fw-a')).toEqual(
      expect.arrayContaining(['req', '-new', '-keyout', '/r/a.key', '-out', '/r/a.csr', '-subj', '/CN=fw-a']),
    );
    const s = signArgs('/r/a.csr', '/r/a.crt', CA, '/r/a.ext', 'abcd', 7);
    expect(s).toEqual([
      'x509',
      '-req',
      '-in',
      '/r/a.csr',
      '-out',
      '/r/a.crt',
      '-CA',
      CA.cert,
      '-CAkey',
      CA.key,
      '-set_serial',
      '0xabcd',
      '-days',
      '7',
      '-extfile',
      '/r/a.ext',
    ]);
  });

  it('a server certificate names its IP address and DNS name; a client one is for client auth only', () => {
    expect(leafExtensions({ cn: 'fw-a', sans: ['172.31.9.1', 'fd00:31:9::1', 'fw-a'], usage: 'server' })).toBe(
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:172.31.9.1,IP:fd00:31:9::1,DNS:fw-a\n',
    );
    expect(leafExtensions({ cn: 'op', usage: 'client' })).toBe(
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
  });

  it('serials are random, 128-bit and positive', () => {
    const a = randomSerial();
    expect(a).toMatch(/^[1-7][0-9a-f]{31}$/);
    expect(randomSerial()).not.toBe(a);
  });
});

const FWA = `device:
  id: 0
  name: fw-a
  ha:
    heartbeatBackup: { local: 172.31.9.1, peer: 172.31.9.2 }
  api: { listen: "unix:fwa-api.sock", tokenFile: api.token }
`;

describe('the configs with --tls', () => {
  it("the API's address is the box's management address (the heartbeat backup's), else the lab's mgmt address", () => {
    expect(labApiAddress(FWA, 'fwa', 'ipv4')).toBe('172.31.9.1');
    expect(labApiAddress('device: { name: fw-b }\n', 'fwb', 'ipv4')).toBe('172.31.9.2');
    expect(labApiAddress('device: { name: fw-b }\n', 'fwb', 'ipv6')).toBe('fd00:31:9::2');
  });

  it('device.api listens there over TLS with the lab CA as client CA; the token stays', () => {
    const files = { certFile: 'tls/fwa.crt', keyFile: 'tls/fwa.key', clientCaFile: 'tls/ca.crt' };
    const doc = parse(labTlsApiConfig(FWA, 'fwa', { address: '172.31.9.1', ...files }));
    expect(doc.device.api).toEqual({ listen: `172.31.9.1:${LAB_TLS_API_PORT}`, tokenFile: 'api.token', tls: files });
    const v6 = parse(labTlsApiConfig(FWA, 'fwa', { address: 'fd00:31:9::1', ...files }));
    expect(v6.device.api.listen).toBe(`[fd00:31:9::1]:${LAB_TLS_API_PORT}`);
  });
});

describe('api-relay arguments', () => {
  it('takes an absolute socket path, a host and a port', () => {
    expect(relayArgs(['/run/x.sock', '172.31.9.1', '9480'])).toEqual({ socket: '/run/x.sock', host: '172.31.9.1', port: 9480 });
  });
  it.each([[[]], [['x.sock', 'h', '1']], [['/x.sock', 'h', '0']], [['/x.sock', '', '80']], [['/x.sock', 'h', 'http']]])('refuses %j', (argv) => {
    expect(() => relayArgs(argv)).toThrow('usage: api-relay <absolute socket path> <host> <port>');
  });
});
