// The stateful firewall, for real: one lab (DESIGN's example policy plus a reject rule, short
// timeouts), real daemons, real TCP/UDP/ICMP between the client (trust) and the server (untrust).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, type Lab } from '../../src/lab/lab.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith, ping, run } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';
import { malformedCorpus } from './malformed-frames.js';

const SERVER = '10.0.2.10';
const FLOATING_WAN = '10.0.2.1';
const UDP_TIMEOUT_S = 3;
const TOOL = join(repoRoot(), 'test', 'integration', 'fixtures', 'net-tool.mjs');

let lab: Lab;
let configDir: string;
const children: ChildProcess[] = [];

async function tool(ns: 'client' | 'server', ...args: string[]): Promise<Record<string, any>> {
  const r = await lab.nsExec(ns, process.execPath, [TOOL, ...args]);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

/** Starts a listener in a namespace; resolves once it is ready; collects its JSON lines. */
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

/** The box forwarding now: the counters of interest are the active's (either box may have won). */
async function active(): Promise<'fwa' | 'fwb'> {
  return (await lab.boxState('fwb'))?.state === 'active' ? 'fwb' : 'fwa';
}

async function metrics(): Promise<string> {
  return scrape(boxListeners(lab, await active()).metrics);
}

const drops = (t: string, reason: string) => metricValue(t, 'tandem_dataplane_drops_total', { reason });

describe.skipIf(!isRoot())('the stateful firewall', () => {
  beforeAll(async () => {
    configDir = labConfigWith((cfg) => {
      cfg.shared.policy.rules.unshift({ name: 'reject-test', from: ['trust'], to: ['untrust'], service: ['tcp/6000', 'udp/6000'], action: 'reject' });
      // publish tcp/8080 of the wan floating IP to the client's port 5005 (the "inside server")
      cfg.shared.nat.push({
        name: 'web-in',
        from: ['untrust'],
        to: ['untrust'],
        destination: [FLOATING_WAN],
        service: ['tcp/8080'],
        translate: { destination: { address: '10.0.1.10', port: 5005 } },
      });
      cfg.shared.policy.rules.push({
        name: 'web-in-allow',
        from: ['untrust'],
        to: ['trust'],
        destination: [`${FLOATING_WAN}/32`],
        service: ['tcp/8080'],
        action: 'allow',
      });
      cfg.shared.sessions.udpS = UDP_TIMEOUT_S;
      cfg.shared.sessions.icmpS = UDP_TIMEOUT_S;
    });
    lab = await upLab({ configDir });
    await listen('server', 'tcp-listen', '5002');
    await listen('server', 'udp-listen', '5003');
    await listen('server', 'tcp-listen', '22');
    await listen('server', 'udp-listen', '53');
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.down();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('allowed TCP, UDP and ping pass, and the server sees them from the floating IP (source NAT)', async () => {
    const tcpServer = await listen('server', 'tcp-listen', '5004');
    const t = await tool('client', 'tcp-connect', SERVER, '5004');
    expect(t).toMatchObject({ ok: true });
    expect(tcpServer.lines.find((l) => l.conn)?.conn.remote).toBe(FLOATING_WAN);
    const u = await tool('client', 'udp-send', SERVER, '5003');
    expect(u).toMatchObject({ ok: true });
    expect(await ping(lab, SERVER)).toBe(true);
    const m = await metrics();
    expect(metricValue(m, 'tandem_dataplane_packets_total', { event: 'session-created' })).toBeGreaterThanOrEqual(3);
    expect(metricValue(m, 'tandem_sessions_created_total', { protocol: 'tcp' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'tandem_sessions_active', { protocol: 'udp' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'tandem_policy_hits_total', { rule: 'lab-test' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(m, 'tandem_policy_hits_total', { rule: 'ping' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'tandem_nat_hits_total', { rule: 'hide-lan' })).toBeGreaterThanOrEqual(3);
    expect(metricValue(m, 'tandem_nat_ports_in_use', { protocol: 'tcp' })).toBeGreaterThanOrEqual(1);
  });

  it('an outside host reaches an inside server through destination NAT', async () => {
    const inside = await listen('client', 'tcp-listen', '5005');
    const t = await tool('server', 'tcp-connect', FLOATING_WAN, '8080');
    expect(t).toMatchObject({ ok: true });
    // destination translated only: the inside server sees the outside host's real address
    expect(inside.lines.find((l) => l.conn)?.conn.remote).toBe(SERVER);
    const list = JSON.parse((await cli(lab, 'fwa', 'sessions', '--port', '8080', '--json')).stdout);
    expect(list.sessions[0]).toMatchObject({
      nat: 'destination',
      natRule: 'web-in',
      rule: 'web-in-allow',
      original: { dst: FLOATING_WAN, dstPort: 8080 },
      reply: { src: '10.0.1.10', srcPort: 5005 },
    });
    // the published port only: another port of the floating IP is nobody's
    expect(await tool('server', 'tcp-connect', FLOATING_WAN, '8081')).toMatchObject({ error: 'timeout' });
  });

  it('an ICMP error about a NATed flow reaches the client translated', async () => {
    // nobody listens on udp/5999 of the server: its kernel answers port unreachable to the
    // floating IP, quoting the translated packet; the client must see its own packet quoted
    const before = await metrics();
    expect(await tool('client', 'udp-connect-send', SERVER, '5999')).toMatchObject({ error: 'ECONNREFUSED' });
    const after = await metrics();
    expect(drops(after, 'icmp-no-session') - drops(before, 'icmp-no-session')).toBe(0);
  });

  it('denied flows do not pass and are counted', async () => {
    const before = await metrics();
    expect(await tool('client', 'tcp-connect', SERVER, '22')).toMatchObject({ error: 'timeout' });
    expect(await tool('client', 'udp-send', SERVER, '53')).toMatchObject({ error: 'timeout' });
    const after = await metrics();
    expect(drops(after, 'policy-deny') - drops(before, 'policy-deny')).toBeGreaterThanOrEqual(2);
  });

  it('reject answers the client with a TCP RST or an ICMP unreachable', async () => {
    const before = await metrics();
    expect(await tool('client', 'tcp-connect', SERVER, '6000')).toMatchObject({ error: 'ECONNREFUSED' });
    // a connected UDP socket would report ECONNREFUSED; ours sees the unreachable as no answer
    // and the counter says it was sent
    await tool('client', 'udp-send', SERVER, '6000');
    const after = await metrics();
    expect(
      metricValue(after, 'tandem_dataplane_packets_total', { event: 'reject-sent' }) -
        metricValue(before, 'tandem_dataplane_packets_total', { event: 'reject-sent' }),
    ).toBe(2);
    expect(drops(after, 'policy-reject') - drops(before, 'policy-reject')).toBe(2);
  });

  it('tandem sessions lists a flow with its translation, and the flow expires on time', async () => {
    const u = await tool('client', 'udp-send', SERVER, '5003');
    expect(u).toMatchObject({ ok: true });
    const r = await cli(lab, await active(), 'sessions', '--protocol', 'udp', '--port', String(u.localPort), '--json');
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.sessions).toHaveLength(1);
    expect(list.sessions[0]).toMatchObject({
      protocol: 'udp',
      original: { src: '10.0.1.10', srcPort: u.localPort, dst: SERVER, dstPort: 5003 },
      reply: { src: SERVER, srcPort: 5003, dst: FLOATING_WAN },
      nat: 'source',
      rule: 'lab-test',
    });
    await new Promise((res) => setTimeout(res, (UDP_TIMEOUT_S + 1) * 1000));
    const again = JSON.parse((await cli(lab, await active(), 'sessions', '--protocol', 'udp', '--port', String(u.localPort), '--json')).stdout);
    expect(again.sessions).toHaveLength(0);
    expect(metricValue(await metrics(), 'tandem_dataplane_packets_total', { event: 'session-expired' })).toBeGreaterThanOrEqual(1);
  });

  it('a corpus of malformed frames is dropped by reason and the box keeps forwarding', async () => {
    const corpus = malformedCorpus(await lab.nsExec('client', 'cat', ['/sys/class/net/eth0/address']).then((r) => r.stdout.trim()));
    const before = await metrics();
    const hex = JSON.stringify(corpus.flatMap((c) => Array.from({ length: c.copies }, () => c.frame.toString('hex'))));
    const r = await run(
      'ip',
      ['netns', 'exec', lab.ns('client'), process.execPath, join(repoRoot(), 'test', 'integration', 'fixtures', 'send-frames.mjs'), repoRoot(), 'eth0', '1'],
      hex,
    );
    expect(r.code, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    const after = await metrics();
    // frames of one reason add up (several corpus entries may share it)
    const want = new Map<string, number>();
    for (const c of corpus) want.set(c.reason, (want.get(c.reason) ?? 0) + c.copies);
    const got = Object.fromEntries([...want.keys()].map((r) => [r, drops(after, r) - drops(before, r)]));
    expect(got).toEqual(Object.fromEntries(want));
    expect(lab.pid('fwa')).not.toBeNull();
    expect(await ping(lab, SERVER)).toBe(true);
    expect(await tool('client', 'tcp-connect', SERVER, '5002')).toMatchObject({ ok: true });
  });
});
