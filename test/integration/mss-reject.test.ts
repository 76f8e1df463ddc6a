// Two per-box settings seen from the hosts: TCP MSS clamping on the wan interface (the SYN that
// reaches the server announces the clamp, not the client's 1460), and the rate limit that reject
// answers share with ICMP errors (device.dataplane.icmpErrors: a burst of datagrams at a reject
// rule gets the bucket's burst of unreachables on the client's wire, the rest counted).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { HOST_DEVICE } from '../../src/lab/topology.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners, labConfigWith } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const CLAMP = 1360;
/** This test's reject rule: tcp and udp 6000. */
const REJECTED = '6000';
const BURST = 3;
const FLOOD = 12;
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');

let lab: Lab;
let configDir: string;
const children: ChildProcess[] = [];

const event = (t: string, name: string) => metricValue(t, 'tandem_dataplane_packets_total', { event: name });

async function activeMetrics(): Promise<string> {
  const box = (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
  return scrape(boxListeners(lab, box).metrics);
}

/** tcpdump in a lab namespace until `count` packets matched `filter` or `ms` passed; its lines. */
function capture(ns: 'client' | 'server', filter: string, count: number, ms: number): { ready: Promise<void>; done: Promise<string[]> } {
  const child = spawn('ip', ['netns', 'exec', lab.ns(ns), 'tcpdump', '-n', '-v', '-l', '-c', String(count), '-i', HOST_DEVICE, filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const ready = new Promise<void>((resolve) => child.stderr.on('data', (d) => String(d).includes('listening on') && resolve()));
  const timer = setTimeout(() => child.kill('SIGINT'), ms);
  const done = new Promise<string[]>((resolve) =>
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out.split('\n').filter((l) => l.trim() !== ''));
    }),
  );
  return { ready, done };
}

describe.skipIf(!isRoot())('MSS clamping and the reject rate limit on real daemons', () => {
  beforeAll(async () => {
    configDir = labConfigWith((cfg) => {
      const itfs = cfg.device.interfaces as Record<string, Record<string, unknown>>;
      itfs.wan.mssClamp = CLAMP;
      cfg.device.dataplane = { icmpErrors: { perSourcePerS: 1, perSourceBurst: BURST, globalPerS: 1000, globalBurst: 100 } };
      cfg.shared.policy.rules.unshift({ name: 'reject-test', from: ['trust'], to: ['untrust'], service: ['tcp/6000', 'udp/6000'], action: 'reject' });
    });
    lab = await upLab({ name: uniqueLabName('ms'), configDir });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
    rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  it('a SYN crossing the clamped wan reaches the server with the clamped MSS', async () => {
    const before = await activeMetrics();
    const syn = capture('server', 'tcp[tcpflags] & tcp-syn != 0 and dst port 5202', 1, 10_000);
    await syn.ready;
    // nobody listens on 5202: the server's kernel resets, the SYN was seen all the same
    await lab.nsExec('client', process.execPath, [TOOL, 'tcp-connect', SERVER, '5202'], { timeoutMs: 20_000 });
    const lines = await syn.done;
    expect(lines.join('\n')).toContain(`mss ${CLAMP}`);
    expect(event(await activeMetrics(), 'mss-clamped') - event(before, 'mss-clamped')).toBeGreaterThanOrEqual(1);
  });

  it(`${FLOOD} datagrams at a reject rule at once: ${BURST} unreachables reach the client, the rest are counted`, async () => {
    const before = await activeMetrics();
    const unreach = capture('client', 'icmp[icmptype] == 3', FLOOD, 3000);
    await unreach.ready;
    // each from its own socket (a new flow each), all from the client's one address
    const burst = `for i in $(seq ${FLOOD}); do echo x > /dev/udp/${SERVER}/${REJECTED}; done`;
    await lab.nsExec('client', 'bash', ['-c', burst]);
    const seen = (await unreach.done).filter((l) => l.includes('unreachable'));
    const after = await activeMetrics();
    const sent = event(after, 'reject-sent') - event(before, 'reject-sent');
    const limited = event(after, 'reject-rate-limited') - event(before, 'reject-rate-limited');
    process.stderr.write(`reject flood: ${sent} sent, ${limited} rate-limited, ${seen.length} unreachables on the client's wire\n`);
    // one more token may have dripped in (1 per second) while the flood was sent
    expect(sent).toBeGreaterThanOrEqual(BURST);
    expect(sent).toBeLessThanOrEqual(BURST + 1);
    expect(sent + limited).toBe(FLOOD);
    expect(seen.length).toBe(sent);
  });
});
