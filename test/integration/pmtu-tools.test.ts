// Path MTU discovery through the pair with the tools a user runs, across a 1400-byte link (a
// tunnel, PPPoE) on either side of it: `tracepath` from the client finds the pair's hop and the
// 1400 beyond it (the pair's "fragmentation needed" with the next-hop MTU), and a `curl` download
// of a large file from the server, whose 1500-byte segments the pair cannot carry onto a 1400-byte
// lan, completes: the server learns the MTU from the pair's ICMP error, which names the packet as
// the server sent it (to the NAT address), not as the pair translated it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
/** The lab's source NAT: the wan floating address. */
const NAT_ADDRESS = '10.0.2.1';
const SMALL_MTU = 1400;
/** The lab policy's lab-test rule allows tcp/5000-5999 client -> server. */
const HTTP_PORT = '5080';
const FILE_BYTES = 16 * 1024 * 1024;
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');

let lab: Lab;
const children: ChildProcess[] = [];

const event = (t: string, name: string) => metricValue(t, 'tandem_dataplane_packets_total', { event: name });

async function active(): Promise<'fwa' | 'fwb'> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

/** Sets both boxes' `dev` to `mtu` (the passive first: a reopened capture handle may be seen by the link monitor) and waits for their dataplanes. */
async function setBoxMtu(dev: 'lan0' | 'wan0', mtu: number): Promise<void> {
  const first = await active();
  for (const box of [first === 'fwa' ? 'fwb' : 'fwa', first] as const) {
    const m0 = await scrape(boxListeners(lab, box).metrics);
    await lab.nsExec(box, 'ip', ['link', 'set', dev, 'mtu', String(mtu)]);
    const changed = async () => event(await scrape(boxListeners(lab, box).metrics), 'device-changed') > event(m0, 'device-changed');
    await lab.waitFor(changed, 5000, `${box}'s dataplane sees ${dev} at ${mtu}`);
  }
  await lab.waitForPair();
}

describe.skipIf(!isRoot())('path MTU discovery with tracepath and curl', () => {
  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('pm') });
    const http = spawn('ip', ['netns', 'exec', lab.ns('server'), process.execPath, TOOL, 'http-serve', HTTP_PORT, String(FILE_BYTES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(http);
    await new Promise<void>((resolve, reject) => {
      http.stdout.once('data', () => resolve());
      http.once('exit', () => reject(new Error('the HTTP server exited')));
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
  });

  it('tracepath from the client shows the pair and learns the 1400-byte MTU of its wan side', async () => {
    // the small link beyond the pair: the boxes' wan and the server's end of it (a veth drops
    // frames above its own MTU, so the server's side must match)
    await setBoxMtu('wan0', SMALL_MTU);
    await lab.nsExec('server', 'ip', ['link', 'set', 'eth0', 'mtu', String(SMALL_MTU)]);
    try {
      await lab.nsExec('client', 'ip', ['route', 'flush', 'cache']);
      // UDP probes from port 5100 up: the lab policy's lab-test rule allows udp/5000-5999
      const r = await lab.nsExec('client', 'tracepath', ['-n', '-p', '5100', '-m', '4', SERVER], { timeoutMs: 30_000 });
      process.stderr.write(r.stdout);
      expect(r.stdout).toMatch(/\b10\.0\.1\.1\b/);
      expect(r.stdout).toContain(`pmtu ${SMALL_MTU}`);
    } finally {
      await lab.nsExec('server', 'ip', ['link', 'set', 'eth0', 'mtu', '1500']);
      await setBoxMtu('wan0', 1500);
    }
  });

  it('a curl download from the server completes across a 1400-byte lan: the server learns the MTU from the pair, through NAT', async () => {
    // the small link between the pair and the client: the server's 1500-byte segments (the
    // client announced MSS 1460) cannot go on; the client itself only sends small packets here
    await setBoxMtu('lan0', SMALL_MTU);
    try {
      // neither end may remember a smaller path MTU (the tracepath case leaves one in the client's
      // cache, and the client would announce a smaller MSS)
      for (const host of ['client', 'server'] as const) await lab.nsExec(host, 'ip', ['route', 'flush', 'cache']);
      const before = await scrape(boxListeners(lab, await active()).metrics);
      const r = await lab.nsExec(
        'client',
        'curl',
        ['-sS', '-o', '/dev/null', '--max-time', '20', '-w', '%{size_download} %{time_total}', `http://${SERVER}:${HTTP_PORT}/big`],
        { timeoutMs: 30_000 },
      );
      const [size, seconds] = r.stdout.trim().split(' ');
      const after = await scrape(boxListeners(lab, await active()).metrics);
      const sent = event(after, 'icmp-error-sent') - event(before, 'icmp-error-sent');
      process.stderr.write(`curl: ${size} bytes in ${seconds} s; ${sent} ICMP errors sent by the pair\n`);
      expect(Number(size)).toBe(FILE_BYTES);
      expect(sent).toBeGreaterThanOrEqual(1);
      // the server's kernel caches the learnt MTU for the address it sends to: the NAT address
      const route = await lab.nsExec('server', 'ip', ['route', 'get', NAT_ADDRESS]);
      expect(route.stdout).toContain(`mtu ${SMALL_MTU}`);
    } finally {
      await setBoxMtu('lan0', 1500);
    }
  });
});
