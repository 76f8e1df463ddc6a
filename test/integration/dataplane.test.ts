// The dataplane with real frames: three namespaces joined by direct veth pairs, the box's kernel
// not forwarding, the dataplane (built dist/, run by fixtures/dataplane-harness.mjs) answering ARP
// and ping for the floating IPs and forwarding between them.
//
//   <P>c (client 10.0.1.10/24, gw 10.0.1.1) <P>cl --- <P>fl  <P>f (box: lan 10.0.1.2/24,
//                                                           wan 10.0.2.2/24, ip_forward=0)
//   <P>s (server 10.0.2.10/24, gw 10.0.2.1) <P>sw --- <P>fw
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const harnessPath = path.join(root, 'test/integration/fixtures/dataplane-harness.mjs');
const isRoot = process.getuid?.() === 0;
const P =
  'dpt' +
  randomBytes(3)
    .toString('base64url')
    .replace(/[^a-z0-9]/gi, 'x')
    .slice(0, 4)
    .toLowerCase();
const ns = { c: `${P}c`, f: `${P}f`, s: `${P}s` };
const dev = { cl: `${P}cl`, fl: `${P}fl`, fw: `${P}fw`, sw: `${P}sw` };
const VMAC_LAN = '02:74:64:00:07:01';
const VMAC_WAN = '02:74:64:00:07:02';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function inNs(n: string, args: string[], timeoutMs = 15_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', n, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function ping(n: string, target: string, count = 3): { received: number; stdout: string } {
  const r = inNs(n, ['ping', '-c', String(count), '-i', '0.2', '-W', '1', target]);
  const m = /(\d+) received/.exec(r.stdout);
  return { received: m ? +m[1] : 0, stdout: r.stdout };
}

interface Msg {
  type: string;
  [k: string]: unknown;
}

class Harness {
  readonly proc: ChildProcess;
  readonly messages: Msg[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  constructor() {
    this.proc = spawn('ip', ['netns', 'exec', ns.f, process.execPath, harnessPath, root, dev.fl, dev.fw], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Msg);
      } catch {
        this.stderr += line + '\n'; // pino logs and anything else
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  send(cmd: string): void {
    this.proc.stdin!.write(cmd + '\n');
  }

  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`harness: timed out; messages=${JSON.stringify(this.messages).slice(-2000)} stderr=${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async counters(): Promise<Record<string, number>> {
    const before = this.messages.length;
    this.send('counters');
    const m = await this.waitFor((x) => x.type === 'counters' && this.messages.indexOf(x) >= before);
    return m.data as Record<string, number>;
  }

  async status(): Promise<Record<string, unknown>> {
    const before = this.messages.length;
    this.send('status');
    const m = await this.waitFor((x) => x.type === 'status' && this.messages.indexOf(x) >= before);
    return m.data as Record<string, unknown>;
  }
}

/** tcpdump in a namespace until stop(); resolves the captured lines. */
async function tcpdump(n: string, iface: string, filter: string): Promise<{ stop: () => Promise<string> }> {
  const proc = spawn('ip', ['netns', 'exec', n, 'tcpdump', '-i', iface, '-nn', '-e', '-l', '-U', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    proc.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      proc.kill('SIGINT');
      await new Promise((r) => proc.once('exit', r));
      return out;
    },
  };
}

function setup(): void {
  for (const n of Object.values(ns)) sh('ip', ['netns', 'add', n]);
  sh('ip', ['link', 'add', dev.cl, 'type', 'veth', 'peer', 'name', dev.fl]);
  sh('ip', ['link', 'add', dev.fw, 'type', 'veth', 'peer', 'name', dev.sw]);
  const place: [string, string][] = [
    [dev.cl, ns.c],
    [dev.fl, ns.f],
    [dev.fw, ns.f],
    [dev.sw, ns.s],
  ];
  for (const [d, n] of place) {
    sh('ip', ['link', 'set', d, 'netns', n]);
    sh('ip', ['netns', 'exec', n, 'ethtool', '-K', d, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    sh('ip', ['-n', n, 'link', 'set', d, 'up']);
  }
  for (const n of Object.values(ns)) sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', ns.c, 'addr', 'add', '10.0.1.10/24', 'dev', dev.cl]);
  sh('ip', ['-n', ns.c, 'route', 'add', 'default', 'via', '10.0.1.1']);
  sh('ip', ['-n', ns.f, 'addr', 'add', '10.0.1.2/24', 'dev', dev.fl]);
  sh('ip', ['-n', ns.f, 'addr', 'add', '10.0.2.2/24', 'dev', dev.fw]);
  sh('ip', ['netns', 'exec', ns.f, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
  sh('ip', ['-n', ns.s, 'addr', 'add', '10.0.2.10/24', 'dev', dev.sw]);
  sh('ip', ['-n', ns.s, 'route', 'add', 'default', 'via', '10.0.2.1']);
}

function teardown(): void {
  for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
}

const UDP_SERVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
s.bind(9999, '10.0.2.10', () => console.log('listening'));`;
const UDP_CLIENT = `
const s = require('node:dgram').createSocket('udp4');
const t = setTimeout(() => { console.log('timeout'); process.exit(1); }, 3000);
s.on('message', (m) => { console.log(m.toString()); clearTimeout(t); s.close(); });
s.bind(0, '10.0.1.10', () => s.send('hello tandem', 9999, '10.0.2.10'));`;

describe.skipIf(!isRoot)('dataplane with real frames (namespaces)', () => {
  let h: Harness;
  let udpServer: ChildProcess | undefined;

  beforeAll(async () => {
    // Build dist (tsc emits even when other files have type errors; its exit status is ignored).
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
    if (!existsSync(path.join(root, 'dist/src/dataplane/host.js'))) throw new Error('build did not produce dist/src/dataplane/host.js');
    try {
      setup();
    } catch (err) {
      teardown();
      throw err;
    }
    h = new Harness();
    await h.waitFor((m) => m.type === 'ready' || m.type === 'fatal', 10_000);
  });

  afterAll(async () => {
    try {
      udpServer?.kill();
      if (h && h.proc.exitCode === null) {
        h.send('stop');
        await Promise.race([new Promise((r) => h.proc.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
        if (h.proc.exitCode === null && h.proc.pid) process.kill(h.proc.pid, 'SIGKILL');
      }
    } finally {
      teardown();
    }
  });

  it('starts with one handle per interface and their virtual MACs', () => {
    const ready = h.messages.find((m) => m.type === 'ready');
    expect(ready, JSON.stringify(h.messages) + h.stderr).toBeDefined();
    const itfs = ready!.interfaces as { name: string; device: string; virtualMac: string }[];
    expect(itfs.map((i) => [i.name, i.device, i.virtualMac])).toEqual([
      ['lan', dev.fl, VMAC_LAN],
      ['wan', dev.fw, VMAC_WAN],
    ]);
  });

  it('sends a gratuitous ARP burst when asked, once active', async () => {
    const cap = await tcpdump(ns.c, dev.cl, 'arp');
    h.send('active');
    h.send('garp');
    await new Promise((r) => setTimeout(r, 300));
    const out = await cap.stop();
    const garps = out.split('\n').filter((l) => l.includes(`${VMAC_LAN} > ff:ff:ff:ff:ff:ff`) && l.includes('Request who-has 10.0.1.1 tell 10.0.1.1'));
    expect(garps.length, out).toBe(3); // shared.ha.garp.count
    const c = await h.counters();
    expect(c['garp-sent']).toBe(6); // 3 rounds x 2 floating IPs
  });

  it('answers ARP and ping for the floating IP with the virtual MAC', () => {
    const r = ping(ns.c, '10.0.1.1');
    // all of them: the first ARP for the floating IP must be answered (it was lost with `inbound`)
    expect(r.received, r.stdout).toBe(3);
    const neigh = inNs(ns.c, ['ip', 'neigh', 'show', '10.0.1.1']).stdout;
    expect(neigh).toContain(`lladdr ${VMAC_LAN}`);
  });

  it('forwards ping between client and server with kernel forwarding off', async () => {
    expect(inNs(ns.f, ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim()).toBe('0');
    const r = ping(ns.c, '10.0.2.10');
    expect(r.received, r.stdout).toBe(3);
    expect(r.stdout).toContain('ttl=63');
    const c = await h.counters();
    expect(c.forwarded).toBeGreaterThanOrEqual(6);
    const st = (await h.status()) as { arp: { interface: string; ip: string }[] };
    expect(st.arp.map((a) => `${a.interface} ${a.ip}`).sort()).toEqual(['lan 10.0.1.10', 'wan 10.0.2.10']);
    expect(inNs(ns.s, ['ip', 'neigh', 'show', '10.0.2.1']).stdout).toContain(`lladdr ${VMAC_WAN}`);
  });

  it('forwards a UDP exchange', async () => {
    udpServer = spawn('ip', ['netns', 'exec', ns.s, process.execPath, '-e', UDP_SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('udp server did not start')), 5000);
      udpServer!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const r = inNs(ns.c, [process.execPath, '-e', UDP_CLIENT]);
    expect(r.stdout.trim(), r.stderr).toBe('echo:hello tandem');
  });

  it("does not see the box kernel's own frames (the own-MAC capture filter works)", async () => {
    const before = await h.counters();
    const r = ping(ns.f, '10.0.1.10', 2); // the box's kernel, from 10.0.1.2 and its real MAC
    expect(r.received).toBe(2);
    const after = await h.counters();
    expect(after['own-frame']).toBe(0);
    expect(after['to-kernel']).toBeGreaterThan(before['to-kernel']); // the replies to 10.0.1.2
    expect(after['not-for-us']).toBe(0);
  });

  it('active but the lease not renewed (a frozen control agent): forwards nothing, counts lease-expired', async () => {
    h.send('freeze');
    await h.waitFor((m) => m.type === 'ack' && m.cmd === 'freeze');
    await new Promise((r) => setTimeout(r, 200)); // the 100 ms lease runs out
    const before = await h.counters();
    const r = ping(ns.c, '10.0.2.10', 2);
    expect(r.received).toBe(0);
    const after = await h.counters();
    expect(after['lease-expired']).toBeGreaterThanOrEqual(before['lease-expired'] + 2);
    expect(after.tx).toBe(before.tx);
    h.send('thaw');
    await h.waitFor((m) => m.type === 'ack' && m.cmd === 'thaw');
    await new Promise((r) => setTimeout(r, 50));
    expect(ping(ns.c, '10.0.2.10', 2).received).toBe(2);
  });

  it('passive: forwards nothing and answers no ARP for the floating IP', async () => {
    h.send('passive');
    await h.waitFor((m) => m.type === 'ack' && m.cmd === 'passive');
    const before = await h.counters();
    const cap = await tcpdump(ns.c, dev.cl, `ether src ${VMAC_LAN}`);
    const fwd = ping(ns.c, '10.0.2.10', 3);
    expect(fwd.received).toBe(0);
    inNs(ns.c, ['ip', 'neigh', 'flush', 'dev', dev.cl]);
    const own = ping(ns.c, '10.0.1.1', 2);
    expect(own.received).toBe(0);
    const neigh = inNs(ns.c, ['ip', 'neigh', 'show', '10.0.1.1']).stdout;
    expect(neigh).not.toContain(VMAC_LAN);
    const out = await cap.stop();
    expect(out.trim(), 'frames from the virtual MAC while passive').toBe('');
    const after = await h.counters();
    expect(after.passive).toBeGreaterThan(before.passive);
    expect(after.tx).toBe(before.tx);
  });

  it('active again: forwards again', async () => {
    h.send('active');
    await h.waitFor((m) => m.type === 'ack' && m.cmd === 'active' && h.messages.filter((x) => x.cmd === 'active').length === 2);
    const r = ping(ns.c, '10.0.2.10', 3);
    expect(r.received, r.stdout).toBeGreaterThanOrEqual(2);
  });

  it('stops cleanly', async () => {
    h.send('stop');
    await h.waitFor((m) => m.type === 'stopped');
    const code = await new Promise((r) => (h.proc.exitCode !== null ? r(h.proc.exitCode) : h.proc.once('exit', r)));
    expect(code).toBe(0);
  });
});
