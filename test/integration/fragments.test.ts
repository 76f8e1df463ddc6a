// IPv4 fragments through the pair (issue 15 part 2), with real tools: pings larger than the MTU
// (fragmented by the client, reassembled by the box, NATed as one datagram, fragmented again on
// the way out), a DNS answer too large for one frame (dig of a big TXT record from dnsmasq in the
// server namespace), the same after a failover, hostile fragments counted while traffic flows,
// and fragmentation by the box on a smaller wan MTU.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { fragmentFrame } from '../../bench/lib/hostile-fragments.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const CLIENT = [10, 0, 1, 10];
const VMAC_LAN = '02:74:64:00:01:01';
/** The policy's lab-test rule allows udp/5000-5999. */
const DNS_PORT = '5353';
const TXT_STRINGS = 14; // 14 x 250 bytes: a 3.5 kB answer, three frames at 1500
const SEND_FRAMES = join(repoRoot(), 'test', 'integration', 'fixtures', 'send-frames.mjs');

let lab: Lab;
const children: ChildProcess[] = [];

async function active(): Promise<'fwa' | 'fwb'> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}
const event = (t: string, name: string) => metricValue(t, 'tandem_dataplane_packets_total', { event: name });
const drops = (t: string, reason: string) => metricValue(t, 'tandem_dataplane_drops_total', { reason });
const metrics = async () => scrape(boxListeners(lab, await active()).metrics);

/** Pings the server from the client with `size` bytes of payload: the replies received (of 3). */
async function ping(size: number, extra: string[] = []): Promise<number> {
  let out: string;
  try {
    out = (await lab.nsExec('client', 'ping', ['-n', '-c', '3', '-i', '0.3', '-W', '3', '-s', String(size), ...extra, SERVER], { timeoutMs: 20_000 })).stdout;
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e); // ping exits 1 when a reply is missing
  }
  const m = /(\d+) received/.exec(out);
  return m ? Number(m[1]) : 0;
}

async function dig(): Promise<{ strings: number; size: number; out: string }> {
  const r = await lab.nsExec('client', 'dig', ['@' + SERVER, '-p', DNS_PORT, '+bufsize=4096', '+ignore', '+notcp', '+tries=2', '+time=3', 'big.test', 'TXT'], {
    timeoutMs: 20_000,
  });
  const size = Number(/MSG SIZE\s+rcvd:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const strings = (r.stdout.match(/"x{250}"/g) ?? []).length;
  return { strings, size, out: r.stdout };
}

/** A fragment from `src` (10.0.1.x) to the server at the lan virtual MAC: UDP/5353 payload bytes [off, off + n). */
/** One fragment from the client's subnet (host octet `src`) to the server's DNS port. */
function fragment(clientMac: string, src: number, id: number, off: number, n: number, more: boolean, fill: number): string {
  const from = `${CLIENT.slice(0, 3).join('.')}.${src}`;
  return fragmentFrame({ srcMac: clientMac, dstMac: VMAC_LAN, src: from, dst: SERVER, id, off, n, more, fill, dport: Number(DNS_PORT) });
}

async function sendFrames(hex: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', lab.ns('client'), process.execPath, SEND_FRAMES, repoRoot(), 'eth0', '0'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`send-frames exited ${code}`))));
    child.stdin.end(JSON.stringify(hex));
  });
}

describe.skipIf(!isRoot())('IPv4 fragments through the pair', () => {
  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('fg') });
    const txt = Array.from({ length: TXT_STRINGS }, () => 'x'.repeat(250)).join(',');
    const dns = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.ns('server'),
        'dnsmasq',
        '-k',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--port=${DNS_PORT}`,
        `--listen-address=${SERVER}`,
        '--bind-interfaces',
        `--pid-file=/tmp/${lab.ns('server')}-dnsmasq.pid`,
        '--edns-packet-max=4096',
        `--txt-record=big.test,${txt}`,
      ],
      { stdio: 'inherit' },
    );
    children.push(dns);
    await new Promise((r) => setTimeout(r, 500));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
  });

  it('pings of 3000, 8000 and 20000 bytes (fragmented by the client) get 3 of 3 answers', async () => {
    const before = await metrics();
    for (const size of [3000, 8000, 20000]) expect(await ping(size), `ping -s ${size}`).toBe(3);
    const after = await metrics();
    const reassembled = event(after, 'reassembled') - event(before, 'reassembled');
    const fragmented = event(after, 'fragmented') - event(before, 'fragmented');
    process.stderr.write(`fragments: ${reassembled} datagrams reassembled, ${fragmented} fragmented on the way out\n`);
    // each echo and each reply, both ways through the box
    expect(reassembled).toBeGreaterThanOrEqual(18);
    expect(fragmented).toBeGreaterThanOrEqual(18);
  });

  it('a DNS answer larger than the MTU (dig, big TXT over UDP) arrives whole, its NATed checksum right', async () => {
    const r = await dig();
    process.stderr.write(`dig: ${r.size} bytes, ${r.strings} strings\n`);
    expect(r.strings, r.out).toBe(TXT_STRINGS);
    expect(r.size).toBeGreaterThan(3000);
  });

  it('hostile fragments are counted and bounded; traffic keeps flowing', async () => {
    const clientMac = (await lab.nsExec('client', 'cat', ['/sys/class/net/eth0/address'])).stdout.trim();
    const box = await active();
    const before = await scrape(boxListeners(lab, box).metrics);
    const frames: string[] = [];
    // a flood of never-completed datagrams from one (spoofed) source: it gets its share, no more
    for (let id = 1; id <= 200; id++) frames.push(fragment(clientMac, 99, id, 0, 64, true, 1));
    // and from 100 other (spoofed) sources, one each: more than the 64 slots, the oldest make room
    for (let src = 100; src < 200; src++) frames.push(fragment(clientMac, src, 1, 0, 64, true, 1));
    // overlapping pieces: the datagram dropped
    frames.push(fragment(clientMac, 98, 7, 0, 64, true, 1), fragment(clientMac, 98, 7, 32, 64, false, 2));
    await sendFrames(frames);
    let after = before;
    const counted = async () => drops((after = await scrape(boxListeners(lab, box).metrics)), 'frag-overlap') - drops(before, 'frag-overlap') >= 1;
    await lab.waitFor(counted, 5000, 'the flood counted');
    const d = (reason: string) => drops(after, reason) - drops(before, reason);
    const e = (name: string) => event(after, name) - event(before, name);
    process.stderr.write(
      `hostile: source-evicted ${e('frag-source-evicted')}, evicted ${e('frag-evicted')}, overlap ${d('frag-overlap')}, held ${event(after, 'fragment-held') - event(before, 'fragment-held')}\n`,
    );
    // the one source keeps 16 of its 200 (the rest made room for its own newer ones); 16 + 100 + 1
    // datagrams in 64 slots: 53 of the oldest made room (more when a retry finds the last run's held)
    expect(e('frag-source-evicted')).toBeGreaterThanOrEqual(184);
    expect(e('frag-evicted')).toBeGreaterThanOrEqual(53);
    expect(d('frag-overlap')).toBe(1);
    expect(await ping(8000)).toBe(3);
    expect((await dig()).strings).toBe(TXT_STRINGS);
  });

  it('after a failover of the active, fragments still pass', async () => {
    const from = await active();
    const to = from === 'fwa' ? 'fwb' : 'fwa';
    await lab.api(from).failover();
    await lab.waitFor(async () => (await lab.boxState(to))?.state === 'active', 10_000, `${to} active`);
    expect(await ping(8000)).toBe(3);
    expect((await dig()).strings).toBe(TXT_STRINGS);
  });

  it('on a 1400-byte wan the box fragments what DF does not forbid', async () => {
    const first = await active();
    for (const box of [first === 'fwa' ? 'fwb' : 'fwa', first] as const) await setWanMtu(box);
    await lab.waitForPair();
    // the server's end of the wan link too: a veth drops frames over its receiver's MTU, so the
    // server's 1478-byte replies must be fragmented by the server itself to reach the box
    const dev = (await lab.nsExec('server', 'ip', ['-o', 'route', 'get', '10.0.2.1'])).stdout.match(/dev (\S+)/)?.[1] ?? 'eth0';
    await lab.nsExec('server', 'ip', ['link', 'set', dev, 'mtu', '1400']);
    const before = await metrics();
    expect(await ping(1450, ['-M', 'dont'])).toBe(3); // one 1478-byte packet, split by the box
    expect(await ping(3000, ['-M', 'dont'])).toBe(3);
    const after = await metrics();
    expect(event(after, 'fragmented') - event(before, 'fragmented')).toBeGreaterThanOrEqual(6);
  });
});

async function setWanMtu(box: 'fwa' | 'fwb'): Promise<void> {
  const link = await lab.nsExec(box, 'ip', ['-o', 'link', 'show', 'wan0']);
  if (link.stdout.includes('mtu 1400 ')) return;
  const m0 = await scrape(boxListeners(lab, box).metrics);
  await lab.nsExec(box, 'ip', ['link', 'set', 'wan0', 'mtu', '1400']);
  const changed = async () => event(await scrape(boxListeners(lab, box).metrics), 'device-changed') > event(m0, 'device-changed');
  await lab.waitFor(changed, 5000, `${box}'s dataplane sees the new wan MTU`);
}
