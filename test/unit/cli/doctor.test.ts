import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiUrlOf, formatDoctor, runDoctor, type DoctorHost } from '../../../src/cli/doctor.js';
import { parseConfig } from '../../../src/config/load.js';
import { fixedStatus } from '../api/fixtures.js';

const BOX_A = new URL('../../../deploy/box-a.yaml', import.meta.url).pathname;
const config = parseConfig(readFileSync(BOX_A, 'utf8'));
const devices = Object.values(config.device.interfaces).map((i) => i.device);
const OFFLOADS_OFF =
  'rx-checksumming: off\ntx-checksumming: off\ntcp-segmentation-offload: off\ngeneric-segmentation-offload: off\ngeneric-receive-offload: off\nlarge-receive-offload: off [fixed]\n';

function host(over: Partial<DoctorHost> = {}, sys: Record<string, string> = {}): DoctorHost {
  const files: Record<string, string> = { '/proc/self/status': 'Name:\tnode\nCapEff:\t000001ffffffffff\n', ...sys };
  for (const d of devices) {
    files[`/sys/class/net/${d}/operstate`] ??= 'up';
    files[`/proc/sys/net/ipv4/conf/${d}/forwarding`] ??= '0';
  }
  return {
    loadConfig: async () => config,
    checkSecret: () => undefined,
    readSys: (p) => files[p] ?? null,
    ethtoolFeatures: async () => OFFLOADS_OFF,
    status: async () => fixedStatus(),
    ...over,
  };
}

const level = (results: { check: string; level: string }[], check: string) => results.find((r) => r.check === check)?.level;

describe('tandem doctor', () => {
  it('a healthy box: every check ok', async () => {
    const r = await runDoctor('/etc/tandem/tandem.yaml', host());
    // the fixture's status has its HA1 backup link down: the one warning
    expect(r.filter((x) => x.level !== 'ok').map((x) => x.check)).toEqual(['HA link ha1-backup']);
    expect(formatDoctor(r)).toMatch(/0 failed, 1 warnings/);
  });

  it('fails on an invalid config, and still checks the rest', async () => {
    const r = await runDoctor(
      'x.yaml',
      host({
        loadConfig: async () => {
          throw new Error('x.yaml: device.priority: got 999');
        },
      }),
    );
    expect(level(r, 'config')).toBe('fail');
    expect(level(r, 'daemon')).toBe('ok');
  });

  it('fails on kernel IPv6 forwarding and warns on router advertisements accepted on a traffic device', async () => {
    const [first, second] = devices;
    const r = await runDoctor(
      'c',
      host(
        {},
        {
          [`/proc/sys/net/ipv6/conf/${first}/forwarding`]: '1',
          [`/proc/sys/net/ipv6/conf/${first}/accept_ra`]: '0',
          [`/proc/sys/net/ipv6/conf/${second}/forwarding`]: '0',
          [`/proc/sys/net/ipv6/conf/${second}/accept_ra`]: '1',
        },
      ),
    );
    const lan = Object.entries(config.device.interfaces).find(([, i]) => i.device === first)![0];
    const wan = Object.entries(config.device.interfaces).find(([, i]) => i.device === second)![0];
    expect(level(r, `ipv6 forwarding ${lan}`)).toBe('fail');
    expect(level(r, `ipv6 router advertisements ${wan}`)).toBe('warn');
    // a device without the kernel's IPv6 is not checked for it
    expect(r.some((x) => x.check.startsWith('ipv6') && x.check.endsWith(` ${lan}`) && x.check !== `ipv6 forwarding ${lan}`)).toBe(false);
  });

  it('fails on a readable key, kernel forwarding, a missing device; warns on offloads and a down link', async () => {
    const [first, second] = devices;
    const r = await runDoctor(
      'c',
      host(
        {
          checkSecret: (_p, what) => {
            if (what === 'key') throw new Error('key file has mode 0644: run chmod 600');
          },
          ethtoolFeatures: async (d) => (d === first ? 'generic-receive-offload: on\n' : OFFLOADS_OFF),
        },
        { [`/proc/sys/net/ipv4/conf/${first}/forwarding`]: '1', [`/sys/class/net/${second}/operstate`]: 'down' },
      ),
    );
    const lan = Object.entries(config.device.interfaces).find(([, i]) => i.device === first)![0];
    const wan = Object.entries(config.device.interfaces).find(([, i]) => i.device === second)![0];
    expect(level(r, 'key file')).toBe('fail');
    expect(level(r, 'token file')).toBe('ok');
    expect(level(r, `forwarding ${lan}`)).toBe('fail');
    expect(level(r, `offloads ${lan}`)).toBe('warn');
    expect(r.find((x) => x.check === `offloads ${lan}`)?.detail).toMatch(/generic-receive-offload/);
    expect(level(r, `interface ${wan}`)).toBe('warn');
    const base = host();
    const gone = await runDoctor('c', { ...base, readSys: (p) => (p === `/sys/class/net/${second}/operstate` ? null : base.readSys(p)) });
    expect(level(gone, `interface ${wan}`)).toBe('fail');
  });

  it('fails when the daemon does not answer or the peer is not heard; warns on missing CAP_NET_RAW', async () => {
    const down = await runDoctor(
      'c',
      host(
        {
          status: async () => {
            throw new Error('connection refused');
          },
        },
        { '/proc/self/status': 'CapEff:\t0000000000000000\n' },
      ),
    );
    expect(level(down, 'daemon')).toBe('fail');
    expect(level(down, 'capabilities')).toBe('warn');
    const s = fixedStatus();
    s.peer.up = false;
    const lonely = await runDoctor('c', host({ status: async () => s }));
    expect(level(lonely, 'peer')).toBe('fail');
  });

  it("fails a capture handle the dataplane has closed, with the kernel's reason", async () => {
    const s = {
      ...fixedStatus(),
      dataplane: {
        io: 'ring',
        interfaces: [
          { name: 'lan', device: 'eth1', capture: { open: true, error: null, downMs: null } },
          { name: 'wan', device: 'eth2', capture: { open: false, error: 'ENETDOWN: Network is down on eth2', downMs: 4000 } },
        ],
      },
    };
    const r = await runDoctor('c', host({ status: async () => s }));
    expect(level(r, 'capture lan')).toBe('ok');
    expect(level(r, 'capture wan')).toBe('fail');
    expect(r.find((x) => x.check === 'capture wan')?.detail).toContain('ENETDOWN: Network is down on eth2');
  });

  it('finds the API of the config', () => {
    expect(apiUrlOf('127.0.0.1:9480')).toBe('http://127.0.0.1:9480');
    expect(apiUrlOf('unix:/run/tandem/api.sock')).toBe('unix:/run/tandem/api.sock');
  });
});

describe('tandem doctor: device.api.tls', () => {
  const withTls = {
    ...config,
    device: { ...config.device, api: { ...config.device.api, tls: { certFile: '/etc/tandem/api.crt', keyFile: '/etc/tandem/api.key' } } },
  };
  const days = (n: number) => new Date(Date.now() + n * 86_400_000 + 3_600_000);
  const run = (checkApiTls: DoctorHost['checkApiTls']) => runDoctor('c', host({ loadConfig: async () => withTls, checkApiTls }));
  const tlsCheck = async (checkApiTls: DoctorHost['checkApiTls']) => (await run(checkApiTls)).find((r) => r.check === 'api tls');

  it('ok with the expiry, warn under 14 days, fail once expired or when a file is bad', async () => {
    expect(await tlsCheck(() => ({ subject: 'CN=fw-a', notAfter: days(60) }))).toMatchObject({
      level: 'ok',
      detail: expect.stringContaining('(CN=fw-a) expires'),
    });
    expect((await tlsCheck(() => ({ subject: 'CN=fw-a', notAfter: days(5) })))?.level).toBe('warn');
    expect((await tlsCheck(() => ({ subject: 'CN=fw-a', notAfter: days(-1) })))?.detail).toContain('EXPIRED');
    const bad = await tlsCheck(() => {
      throw new Error('device.api.tls.keyFile /etc/tandem/api.key: has mode 0644');
    });
    expect(bad).toEqual({ check: 'api tls', level: 'fail', detail: 'device.api.tls.keyFile /etc/tandem/api.key: has mode 0644' });
  });

  it('not checked without device.api.tls', async () => {
    const r = await runDoctor('c', host({ checkApiTls: () => ({ subject: 'x', notAfter: days(1) }) }));
    expect(r.some((x) => x.check === 'api tls')).toBe(false);
  });

  it('reaches the daemon at https:// when the config has tls', () => {
    expect(apiUrlOf('192.168.100.11:9480', true)).toBe('https://192.168.100.11:9480');
    expect(apiUrlOf('192.168.100.11:9480')).toBe('http://192.168.100.11:9480');
  });
});
