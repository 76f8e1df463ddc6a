// The ICMP errors the pair sends as a router (RFC 1812 4.3.2), seen by real tools: traceroute
// through the pair shows its hop (time exceeded from the lan floating address), and path MTU
// discovery works across a smaller MTU on the boxes' wan side (fragmentation needed with the
// MTU: the client's kernel learns 1400 and a 4 MiB TCP upload arrives whole instead of hanging).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const LAN_FLOATING = '10.0.1.1';
/** The policy's lab-test rule allows tcp/5000-5999. */
const SINK_PORT = '5201';
const SMALL_MTU = 1400;
const UPLOAD_BYTES = 4 * 1024 * 1024;
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');

let lab: Lab;
const children: ChildProcess[] = [];

async function active(): Promise<'fwa' | 'fwb'> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

const event = (t: string, name: string) => metricValue(t, 'tandem_dataplane_packets_total', { event: name });
const drops = (t: string, reason: string) => metricValue(t, 'tandem_dataplane_drops_total', { reason });

describe.skipIf(!isRoot())('ICMP errors from the pair', () => {
  beforeAll(async () => {
    lab = await upLab({ name: uniqueLabName('ic') });
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
  });

  it('traceroute through the pair shows its hop: the lan floating address, then the server', async () => {
    const before = await scrape(boxListeners(lab, await active()).metrics);
    // ICMP probes (-I): the policy allows ping, so the server answers the last one too
    const r = await lab.nsExec('client', 'traceroute', ['-n', '-I', '-q', '1', '-w', '2', '-m', '4', SERVER], { timeoutMs: 20_000 });
    const hops = r.stdout
      .split('\n')
      .map((l) => /^\s*(\d+)\s+(\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m[2]);
    expect(hops.slice(0, 2), r.stdout).toEqual([LAN_FLOATING, SERVER]);
    process.stderr.write(r.stdout);
    const after = await scrape(boxListeners(lab, await active()).metrics);
    expect(event(after, 'icmp-error-sent') - event(before, 'icmp-error-sent')).toBeGreaterThanOrEqual(1);
    expect(drops(after, 'ttl-exceeded') - drops(before, 'ttl-exceeded')).toBeGreaterThanOrEqual(1);
  });

  it('after a failover the new active answers with the same hop (the floating address moved with the role)', async () => {
    const from = await active();
    const to = from === 'fwa' ? 'fwb' : 'fwa';
    await lab.api(from).failover();
    await lab.waitFor(async () => (await lab.boxState(to))?.state === 'active', 10_000, `${to} active`);
    const before = await scrape(boxListeners(lab, to).metrics);
    const r = await lab.nsExec('client', 'traceroute', ['-n', '-I', '-q', '1', '-w', '2', '-m', '4', SERVER], { timeoutMs: 20_000 });
    expect(r.stdout).toMatch(new RegExp(`^\\s*1\\s+${LAN_FLOATING.replace(/\./g, '\\.')}\\s`, 'm'));
    const after = await scrape(boxListeners(lab, to).metrics);
    expect(event(after, 'icmp-error-sent') - event(before, 'icmp-error-sent')).toBeGreaterThanOrEqual(1);
  });

  it('path MTU discovery across a 1400-byte wan: the client learns the MTU and a 4 MiB upload completes', async () => {
    // a smaller link in the middle: the boxes' wan devices (the dataplane sees the change as
    // device-changed); the server keeps 1500, so TCP's MSS does not hide the smaller hop. The
    // passive first: a changed MTU reopens the capture handle, which the link monitor may see.
    const first = await active();
    for (const box of [first === 'fwa' ? 'fwb' : 'fwa', first] as const) await setWanMtu(box);
    await lab.waitForPair();
    await lab.nsExec('client', 'ip', ['route', 'flush', 'cache']);
    const sink = await listen('server', 'tcp-sink', SINK_PORT);
    const before = await scrape(boxListeners(lab, await active()).metrics);
    const up = await tool('client', 'tcp-upload', SERVER, SINK_PORT, String(UPLOAD_BYTES));
    expect(up).toMatchObject({ ok: true });
    await lab.waitFor(() => sink.lines.some((l) => l.received !== undefined), 5000, 'the server saw the upload end');
    expect(sink.lines.find((l) => l.received !== undefined)?.received).toBe(UPLOAD_BYTES);
    const route = await lab.nsExec('client', 'ip', ['route', 'get', SERVER]);
    expect(route.stdout).toContain(`mtu ${SMALL_MTU}`);
    const after = await scrape(boxListeners(lab, await active()).metrics);
    const sent = event(after, 'icmp-error-sent') - event(before, 'icmp-error-sent');
    const oversize = drops(after, 'oversize') - drops(before, 'oversize');
    process.stderr.write(
      `pmtu: ${UPLOAD_BYTES} bytes in ${up.ms} ms; ${oversize} oversize, ${sent} ICMP errors sent; ${route.stdout.trim().replace(/\s+/g, ' ')}\n`,
    );
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(oversize).toBeGreaterThanOrEqual(1);
  });
});

/** Sets `box`'s wan0 to SMALL_MTU and waits until its dataplane has seen it (a retried test finds it set). */
async function setWanMtu(box: 'fwa' | 'fwb'): Promise<void> {
  const link = await lab.nsExec(box, 'ip', ['-o', 'link', 'show', 'wan0']);
  if (link.stdout.includes(`mtu ${SMALL_MTU} `)) return;
  const m0 = await scrape(boxListeners(lab, box).metrics);
  await lab.nsExec(box, 'ip', ['link', 'set', 'wan0', 'mtu', String(SMALL_MTU)]);
  const changed = async () => event(await scrape(boxListeners(lab, box).metrics), 'device-changed') > event(m0, 'device-changed');
  await lab.waitFor(changed, 5000, `${box}'s dataplane sees the new wan MTU`);
}

/** Runs a net-tool mode to its end in a namespace; its last JSON line. */
async function tool(ns: 'client' | 'server', ...args: string[]): Promise<Record<string, any>> {
  const r = await lab.nsExec(ns, process.execPath, [TOOL, ...args], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

/** Starts a net-tool listener in a namespace; resolves once it is ready; collects its JSON lines. */
function listen(ns: 'client' | 'server', ...args: string[]): Promise<{ lines: Record<string, any>[] }> {
  const child = spawn('ip', ['netns', 'exec', lab.ns(ns), process.execPath, TOOL, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: Record<string, any>[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const obj = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        lines.push(obj);
        if (obj.ready) resolve({ lines });
      }
    });
    child.once('exit', () => reject(new Error(`listener ${args.join(' ')} exited`)));
  });
}
