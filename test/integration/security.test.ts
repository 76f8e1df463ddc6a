// Security of the pair, for real (docs/security.md): HA messages captured on the wire and replayed
// are refused and counted; a wrong key is refused on HA2 too; the API wants its token; the daemon
// will not start with a key or token others can read; no secret reaches a log; and the HA links
// can be encrypted (shared.ha.encryption: aes-256-gcm) with failover and replication unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot, type Lab, type LabBox } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/exec.js';
import { startStreamClient, startStreamServer } from '../../src/lab/traffic.js';
import { DEFAULT_HA1_PORT, DEFAULT_HA2_PORT, DEFAULT_HEARTBEAT_PORT } from '../../src/config/schema.js';
import { FrameDecoder } from '../../src/wire/framing.js';
import { AEAD_MAGIC } from '../../src/wire/crypto.js';
import { ensureBuilt, isRoot, uniqueLabName, upLab } from './helpers/lab.js';
import { boxListeners, cli, labConfigWith, run, waitState } from './helpers/daemon.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const STREAM_PORT = 5010;
const CONNS = 1000;
const ADDR = { fwa: { ha1: '172.31.0.1', ha2: '172.31.2.1' }, fwb: { ha1: '172.31.0.2', ha2: '172.31.2.2' } } as const;

let lab: Lab | null = null;
const stops: (() => unknown)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await Promise.resolve(s()).catch(() => undefined);
  if (lab) await lab.down();
  lab = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tracked(dir: string): string {
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function metrics(l: Lab, box: LabBox): Promise<string> {
  return scrape(boxListeners(l, box).metrics);
}

function rejected(m: string, channel: string, reason: string): number {
  return metricValue(m, 'tandem_ha_messages_rejected_total', { channel, reason });
}

// ---- capture (tcpdump in a box's namespace) and a minimal pcap reader ----

interface Capture {
  file: string;
  stop: () => Promise<void>;
}

/**
 * --immediate-mode: without it, TPACKET_V3 hands packets over in blocks on a 1 s timeout, and a
 * capture stopped sooner writes none of them (seen: "268 received by filter, 0 captured").
 */
async function capture(l: Lab, box: LabBox, dev: string, filter: string, name: string): Promise<Capture> {
  const file = join(l.runDir, `${name}.pcap`);
  const child: ChildProcess = spawn('ip', ['netns', 'exec', l.ns(box), 'tcpdump', '-i', dev, '-n', '-U', '--immediate-mode', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  stops.push(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`tcpdump on ${box}/${dev} did not start: ${err}`)), 10_000);
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return {
    file,
    stop: async () => {
      if (child.exitCode !== null) return;
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGINT');
      await closed;
    },
  };
}

interface Packet {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** TCP only */
  seq: number;
  syn: boolean;
  payload: Buffer;
}

/** IPv4 over Ethernet (veth) from a classic pcap file: UDP and TCP payloads with their ports. */
function readPcap(file: string): Packet[] {
  const buf = readFileSync(file);
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap (magic ${magic.toString(16)})`);
  const out: Packet[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const caplen = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    const proto = ip[9];
    const addr = (o: number) => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
    const l4 = ip.subarray(ihl, total);
    if (proto === 17) {
      out.push({
        src: addr(12),
        dst: addr(16),
        proto,
        sport: l4.readUInt16BE(0),
        dport: l4.readUInt16BE(2),
        seq: 0,
        syn: false,
        payload: Buffer.from(l4.subarray(8)),
      });
    } else if (proto === 6) {
      const doff = (l4[12] >> 4) * 4;
      out.push({
        src: addr(12),
        dst: addr(16),
        proto,
        sport: l4.readUInt16BE(0),
        dport: l4.readUInt16BE(2),
        seq: l4.readUInt32BE(4),
        syn: (l4[13] & 0x02) !== 0,
        payload: Buffer.from(l4.subarray(doff)),
      });
    }
  }
  return out;
}

/**
 * The bytes a client sent to dst:dport on the connection the capture saw open (SYN) that carried
 * the most (a dial refused before the peer listened opens one with nothing in it).
 */
function clientStream(pkts: Packet[], src: string, dst: string, dport: number): Buffer {
  const syns = pkts.filter((p) => p.proto === 6 && p.syn && p.src === src && p.dst === dst && p.dport === dport);
  if (syns.length === 0) throw new Error(`no connection ${src} -> ${dst}:${dport} opened in the capture`);
  let best: Buffer = Buffer.alloc(0);
  for (const syn of syns) {
    const s = oneStream(pkts, syn);
    if (s.length > best.length) best = s;
  }
  return best;
}

function oneStream(pkts: Packet[], syn: Packet): Buffer {
  const isn = syn.seq;
  const segs = new Map<number, Buffer>();
  for (const p of pkts) {
    if (p.proto !== 6 || p.src !== syn.src || p.dst !== syn.dst || p.sport !== syn.sport || p.dport !== syn.dport || p.payload.length === 0) continue;
    segs.set((p.seq - isn - 1) >>> 0, p.payload);
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (const [rel, data] of [...segs.entries()].sort((a, b) => a[0] - b[0])) {
    if (rel + data.length <= at) continue; // a retransmission of what we have
    if (rel > at) break; // a hole: stop at the last contiguous byte
    parts.push(data.subarray(at - rel));
    at = rel + data.length;
  }
  return Buffer.concat(parts);
}

/** The whole frames in a recorded stream (a trailing partial frame is cut off). */
function wholeFrames(stream: Buffer): Buffer[] {
  return new FrameDecoder(64 * 1024 * 1024).push(stream);
}

/** Sends recorded bytes from inside a namespace: UDP datagrams from local:port, or one TCP connection. */
async function replay(
  l: Lab,
  box: LabBox,
  spec: { udp?: { local: string; port: number; to: string; datagrams: Buffer[] }; tcp?: { local: string; to: string; port: number; bytes: Buffer } },
): Promise<void> {
  const file = join(l.runDir, `replay-${randomBytes(4).toString('hex')}.json`);
  const json = {
    udp: spec.udp && { ...spec.udp, datagrams: spec.udp.datagrams.map((d) => d.toString('base64')) },
    tcp: spec.tcp && { ...spec.tcp, bytes: spec.tcp.bytes.toString('base64') },
  };
  writeFileSync(file, JSON.stringify(json));
  // reuseAddr: the heartbeat socket of a live daemon would hold the port (it sets SO_REUSEADDR too)
  const script = `
    import { readFileSync } from 'node:fs';
    import dgram from 'node:dgram';
    import net from 'node:net';
    const spec = JSON.parse(readFileSync(process.argv[1], 'utf8'));
    if (spec.udp) {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise((r) => s.bind({ address: spec.udp.local, port: spec.udp.port }, r));
      for (const d of spec.udp.datagrams) {
        await new Promise((r, j) => s.send(Buffer.from(d, 'base64'), spec.udp.port, spec.udp.to, (e) => (e ? j(e) : r())));
        await new Promise((r) => setTimeout(r, 2));
      }
      s.close();
    }
    if (spec.tcp) {
      const c = net.connect({ host: spec.tcp.to, port: spec.tcp.port, localAddress: spec.tcp.local });
      await new Promise((r, j) => { c.once('connect', r); c.once('error', j); });
      c.on('error', () => {});
      c.write(Buffer.from(spec.tcp.bytes, 'base64'));
      await new Promise((r) => setTimeout(r, 1000));
      c.destroy();
    }
  `;
  await l.nsExec(box, process.execPath, ['--input-type=module', '-e', script, file]);
}

function cfgFile(l: Lab, box: LabBox): Record<string, any> {
  return parse(readFileSync(l.configPath(box), 'utf8')) as Record<string, any>;
}

function apiCall(socketPath: string, token: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    const req = request({ socketPath, path: '/v1/status', method: 'GET', headers, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!isRoot())('security of the pair', () => {
  it('captured HA1 heartbeats, HA1 session frames and HA2 frames replayed on the wire are refused as replays; the box believes none', async () => {
    lab = await upLab();
    const t0 = Date.now();
    // fwa's HA1 session and HA2 stream must be recorded from their first byte: restart fwa
    // (it dials both) while capturing on its HA links
    await lab.killBox('fwa', 'SIGKILL');
    await waitState(lab, 'fwb', 'active', 5000);
    const ha1 = await capture(lab, 'fwa', 'ha1', `src host ${ADDR.fwa.ha1} and (udp port ${DEFAULT_HEARTBEAT_PORT} or tcp port ${DEFAULT_HA1_PORT})`, 'ha1');
    const ha2 = await capture(lab, 'fwa', 'ha2', `src host ${ADDR.fwa.ha2} and tcp port ${DEFAULT_HA2_PORT}`, 'ha2');
    await lab.startBox('fwa');
    // passive: its bulk sync done (tentative until then)
    await waitState(lab, 'fwa', 'passive', 20_000);
    await sleep(1500); // hellos, heartbeats, HA2 acks and keepalives
    await ha1.stop();
    await ha2.stop();
    // fwa dies: from now on fwb must not believe anything that claims to come from it
    await lab.killBox('fwa', 'SIGKILL');
    await lab.waitFor(async () => (await lab!.api('fwb').status()).peer.up === false, 5000, 'fwb to see fwa down');

    const pkts1 = readPcap(ha1.file);
    const heartbeats = pkts1.filter((p) => p.proto === 17 && p.dst === ADDR.fwb.ha1 && p.dport === DEFAULT_HEARTBEAT_PORT).map((p) => p.payload);
    const sessFrames = wholeFrames(clientStream(pkts1, ADDR.fwa.ha1, ADDR.fwb.ha1, DEFAULT_HA1_PORT));
    const ha2Stream = clientStream(readPcap(ha2.file), ADDR.fwa.ha2, ADDR.fwb.ha2, DEFAULT_HA2_PORT);
    const ha2Frames = wholeFrames(ha2Stream);
    process.stderr.write(
      `replaying ${heartbeats.length} heartbeats, ${sessFrames.length} HA1 session frames, ${ha2Frames.length} HA2 frames (${(Date.now() - t0) / 1000} s)\n`,
    );
    expect(heartbeats.length).toBeGreaterThan(50);
    expect(sessFrames.length).toBeGreaterThan(1);
    expect(ha2Frames.length).toBeGreaterThan(0);

    const before = await metrics(lab, 'fwb');
    await replay(lab, 'fwa', { udp: { local: ADDR.fwa.ha1, port: DEFAULT_HEARTBEAT_PORT, to: ADDR.fwb.ha1, datagrams: heartbeats } });
    await replay(lab, 'fwa', {
      tcp: {
        local: ADDR.fwa.ha1,
        to: ADDR.fwb.ha1,
        port: DEFAULT_HA1_PORT,
        bytes: Buffer.concat(
          sessFrames.map((f) => {
            const h = Buffer.alloc(4);
            h.writeUInt32BE(f.length);
            return Buffer.concat([h, f]);
          }),
        ),
      },
    });
    await replay(lab, 'fwa', { tcp: { local: ADDR.fwa.ha2, to: ADDR.fwb.ha2, port: DEFAULT_HA2_PORT, bytes: ha2Stream } });
    await sleep(300);
    process.stderr.write(`replayed (${(Date.now() - t0) / 1000} s)\n`);
    const after = await metrics(lab, 'fwb');
    const delta = (channel: string, reason: string) => rejected(after, channel, reason) - rejected(before, channel, reason);
    // every one refused by the replay window, none for any other reason
    expect(delta('ha1-heartbeat', 'replay')).toBe(heartbeats.length);
    expect(delta('ha1-session', 'replay')).toBe(sessFrames.length);
    expect(delta('ha2', 'replay')).toBe(ha2Frames.length);
    expect(delta('ha1-heartbeat', 'bad-mac') + delta('ha1-session', 'bad-mac') + delta('ha2', 'bad-mac')).toBe(0);
    // and nothing changed: the peer is still dead, fwb still active, no transition, no session applied
    const st = await lab.api('fwb').status();
    expect(st.peer.up).toBe(false);
    expect(st.local.state).toBe('active');
    // (a control-thread stall on loaded cores may take fwb through initial and back: not a belief)
    for (const to of ['tentative', 'passive', 'suspended'])
      expect(metricValue(after, 'tandem_ha_transitions_total', { to }), `to ${to}`).toBe(metricValue(before, 'tandem_ha_transitions_total', { to }));
    expect(metricValue(after, 'tandem_dataplane_packets_total', { event: 'sync-applied' })).toBe(
      metricValue(before, 'tandem_dataplane_packets_total', { event: 'sync-applied' }),
    );
  });

  for (const encryption of ['none', 'aes-256-gcm'] as const) {
    it(`a peer with a wrong key is refused on HA1 and HA2 and counted (encryption ${encryption})`, async () => {
      const configDir = tracked(labConfigWith((cfg) => (cfg.shared.ha.encryption = encryption)));
      lab = await upLab({ configDir });
      await lab.killBox('fwb', 'SIGKILL');
      await waitState(lab, 'fwa', 'active');
      writeFileSync(join(lab.runDir, 'wrong.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      const cfgPath = lab.configPath('fwb');
      writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('keyFile: ha.key', 'keyFile: wrong.key'));
      await lab.startBox('fwb');
      await lab.waitFor(
        async () => {
          const m = await metrics(lab!, 'fwa');
          return rejected(m, 'ha1-heartbeat', 'bad-mac') > 10 && rejected(m, 'ha1-session', 'bad-mac') > 0 && rejected(m, 'ha2', 'bad-mac') > 0;
        },
        10_000,
        'fwa to refuse fwb on HA1 heartbeats, HA1 session and HA2',
      );
      const st = await lab.api('fwa').status();
      expect(st.peer.up).toBe(false);
      expect(st.local.state).toBe('active');
      expect(metricValue(await metrics(lab, 'fwa'), 'tandem_dataplane_packets_total', { event: 'sync-applied' })).toBe(0);
    });
  }

  it('the API answers 401 without a token and with a wrong one, 200 with the right one; the CLI says so', async () => {
    lab = await upLab();
    const sock = boxListeners(lab, 'fwa').api.slice('unix:'.length);
    const token = readFileSync(join(lab.runDir, 'api.token'), 'utf8').trim();
    expect(await apiCall(sock, null)).toBe(401);
    expect(await apiCall(sock, 'not-the-token-0123456789abcdef')).toBe(401);
    expect(await apiCall(sock, `${token}x`)).toBe(401);
    expect(await apiCall(sock, token)).toBe(200);
    const wrong = join(lab.runDir, 'wrong.token');
    writeFileSync(wrong, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const r = await run(process.execPath, [join(repoRoot(), 'bin', 'tandem.js'), 'status', '--api', `unix:${sock}`, '--token-file', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rejected the API token/);
  });

  it('tandem run refuses a key or token file that group or others may read or write: exit 1, the file and the fix named', async () => {
    await ensureBuilt(['src/cli/main.js']);
    // in a namespace of its own: if the check ever let it through, it must not touch this host's interfaces
    const ns = uniqueLabName('ls');
    await sh('ip', ['netns', 'add', ns]);
    stops.push(() => sh('ip', ['netns', 'del', ns]));
    const dir = tracked(mkdtempSync(join(tmpdir(), 'tandem-sec-')));
    const cfg = parse(readFileSync(join(repoRoot(), 'deploy', 'lab', 'fwa.yaml'), 'utf8')) as Record<string, any>;
    cfg.device.ha.keyFile = join(dir, 'ha.key');
    cfg.device.api.tokenFile = join(dir, 'api.token');
    cfg.device.api.listen = `unix:${join(dir, 'api.sock')}`;
    cfg.device.metrics.listen = `unix:${join(dir, 'metrics.sock')}`;
    cfg.device.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'fwa.yaml'), stringify(cfg));
    writeFileSync(cfg.device.ha.keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(cfg.device.api.tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    // `timeout`: a daemon that got past every check must not hang the test
    const tandemRun = () =>
      run('timeout', ['30', 'ip', 'netns', 'exec', ns, process.execPath, join(repoRoot(), 'bin', 'tandem.js'), 'run', '--config', join(dir, 'fwa.yaml')]);

    for (const [file, mode] of [
      [cfg.device.ha.keyFile, 0o640],
      [cfg.device.ha.keyFile, 0o604],
      [cfg.device.ha.keyFile, 0o620],
      [cfg.device.api.tokenFile, 0o644],
      [cfg.device.api.tokenFile, 0o602],
    ] as const) {
      chmodSync(file, mode);
      const r = await tandemRun();
      expect(r.code, `${file} ${mode.toString(8)}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(`chmod 600 ${file}`);
      chmodSync(file, 0o600);
    }
    // the control: with both files private it passes the check and fails later, for another
    // reason (this namespace has none of the lab's interfaces), so the test above can fail
    const ok = await tandemRun();
    expect(ok.code).not.toBe(0);
    expect(ok.stderr + ok.stdout).not.toMatch(/chmod 600/);
    expect(statSync(cfg.device.ha.keyFile).mode & 0o777).toBe(0o600);
  });

  it('no secret reaches a log: debug logging through a failover and a config commit, key and token absent', async () => {
    const configDir = tracked(
      labConfigWith((cfg) => {
        (cfg.device as any).log = { level: 'debug' };
        // the recommended profile: this test is about the logs, and debug logging on two shared
        // cores under load stalls control threads past the aggressive 20 ms dead interval
        cfg.shared.ha.timers = { profile: 'recommended' };
      }),
    );
    lab = await upLab({ configDir });
    // a commit on the active (pushed to the passive over HA1)
    const edited = cfgFile(lab, 'fwa');
    edited.shared.sessions.udpS = 31;
    const file = join(lab.runDir, 'commit.yaml');
    writeFileSync(file, stringify(edited));
    const c = await cli(lab, 'fwa', 'config', 'commit', file, '--json');
    expect(c.code, c.stderr).toBe(0);
    // an operator failover, then a crash of the new active. Whichever box is active at that
    // moment (debug logging on two shared cores can stall a control thread into a role change:
    // what is tested here is the logs, not the election)
    const { active, passive } = await lab.waitForPair(10_000);
    const f = await cli(lab, active, 'failover');
    expect(f.code, f.stderr).toBe(0);
    await waitState(lab, passive, 'active', 10_000);
    await lab.killBox(passive, 'SIGKILL');
    await waitState(lab, active, 'active', 10_000);
    // a wrong token too: the rejection is logged, and no token (right or wrong) may be
    expect(await apiCall(boxListeners(lab, active).api.slice(5), 'wrong-token-wrong-token-wrong')).toBe(401);
    await sleep(500);

    // proof that debug logging was on: a heartbeat that cannot be sent (its link down) is
    // logged at debug level, once per 1000 failures
    await lab.setLink(active, 'ha1', false);
    await lab.waitFor(() => /"level":20/.test(readFileSync(lab!.logPath(active), 'utf8')), 10_000, 'a debug line in the log');
    const secrets: string[] = [];
    for (const name of ['ha.key', 'api.token']) {
      const raw = readFileSync(join(lab.runDir, name));
      const text = raw.toString('utf8').trim();
      const bytes = Buffer.from(text, 'utf8');
      // the file's text, the bytes as the daemon holds them in hex and base64, and the decoded key
      secrets.push(text, bytes.toString('hex'), bytes.toString('base64'), Buffer.from(text, 'hex').toString('base64'));
      secrets.push(text.slice(0, 16), text.slice(-16));
    }
    const logs = readdirSync(lab.runDir).filter((n) => n.endsWith('.log'));
    expect(logs).toEqual(expect.arrayContaining(['fwa.log', 'fwb.log']));
    let lines = 0;
    for (const name of logs) {
      const text = readFileSync(join(lab.runDir, name), 'utf8');
      lines += text.split('\n').length;
      for (const s of secrets) expect(text.includes(s), `${name} contains a secret (${s.length} chars)`).toBe(false);
    }
    expect(lines).toBeGreaterThan(50);
    // the persisted configs (state dirs) hold paths to the secrets, never the secrets
    for (const box of ['fwa', 'fwb']) {
      const stateDir = join(lab.runDir, `state-${box}`);
      for (const n of existsSync(stateDir) ? readdirSync(stateDir, { recursive: true }) : []) {
        const p = join(stateDir, String(n));
        if (!statSync(p).isFile()) continue;
        const text = readFileSync(p, 'utf8');
        for (const s of secrets) expect(text.includes(s), `${p} contains a secret`).toBe(false);
      }
    }
  });

  it(`encrypted HA links (aes-256-gcm): nothing in clear on HA1 or HA2, ${CONNS} connections replicate, a failover keeps them`, async () => {
    const configDir = tracked(
      labConfigWith((cfg) => {
        cfg.shared.ha.encryption = 'aes-256-gcm';
        // as in sync.test.ts: replication under load on two shared cores, not detection speed
        delete cfg.shared.ha.pathMonitoring;
        cfg.shared.ha.timers = { profile: 'aggressive', heartbeatIntervalMs: 10, heartbeatMissed: 6 };
      }),
    );
    lab = await upLab({ configDir });
    const hb = await capture(lab, 'fwa', 'ha1', `udp and src host ${ADDR.fwa.ha1} and dst port ${DEFAULT_HEARTBEAT_PORT}`, 'enc-hb');
    const h2 = await capture(lab, 'fwa', 'ha2', `tcp and src host ${ADDR.fwa.ha2}`, 'enc-ha2');
    const repo = repoRoot();
    const srv = await startStreamServer(lab.ns('server'), { repo, marker: lab.runDir, port: STREAM_PORT });
    stops.push(() => srv.stop());
    const cl = await startStreamClient(lab.ns('client'), { repo, marker: lab.runDir, to: `${SERVER}:${STREAM_PORT}`, conns: CONNS, intervalMs: 100 });
    stops.push(() => cl.stop());
    expect(cl.connected).toBe(CONNS);
    // each connection is a create and then a state change (established): wait until the count
    // is past CONNS and has stopped moving, or the failover below would find half-synced states
    let last = -1;
    let still = 0;
    await lab.waitFor(
      async () => {
        const n = metricValue(await metrics(lab!, 'fwb'), 'tandem_dataplane_packets_total', { event: 'sync-applied' });
        still = n === last ? still + 1 : 0;
        last = n;
        return n >= CONNS && still >= 10;
      },
      20_000,
      `fwb to apply the synced sessions of ${CONNS} connections`,
    );
    await hb.stop();
    await h2.stop();

    // on the wire: every heartbeat in the encrypted format, and no session record in clear. A
    // record in clear holds its client address as field 5, fixed32: 0x2d, then 10.0.1.10
    // (0x0a00010a) little-endian: 0a 01 00 0a; with encryption: 0 in ~CONNS x 60 bytes of ciphertext.
    const hbs = readPcap(hb.file)
      .filter((p) => p.proto === 17)
      .map((p) => p.payload);
    expect(hbs.length).toBeGreaterThan(10);
    for (const d of hbs) expect(d[0]).toBe(AEAD_MAGIC);
    const ha2Bytes = Buffer.concat(
      readPcap(h2.file)
        .filter((p) => p.proto === 6)
        .map((p) => p.payload),
    );
    expect(ha2Bytes.length).toBeGreaterThan(CONNS * 20);
    expect(countOf(ha2Bytes, Buffer.from([0x2d, 0x0a, 0x01, 0x00, 0x0a]))).toBe(0);
    const sessions = async (box: LabBox) => {
      const r = await cli(lab!, box, 'sessions', '--protocol', 'tcp', '--port', String(STREAM_PORT), '--limit', '10000', '--json');
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { sessions: { original: { srcPort: number }; reply: { dstPort: number } }[] }).sessions
        .map((x) => `${x.original.srcPort}>${x.reply.dstPort}`)
        .sort();
    };
    const onFwb = await sessions('fwb');
    expect(onFwb).toHaveLength(CONNS);
    expect(onFwb).toEqual(await sessions('fwa'));

    const m = await metrics(lab, 'fwb');
    for (const ch of ['ha1-heartbeat', 'ha1-session', 'ha2']) expect(rejected(m, ch, 'bad-mac'), ch).toBe(0);

    await lab.killBox('fwa', 'SIGKILL');
    await waitState(lab, 'fwb', 'active', 5000);
    await sleep(1500);
    const summary = await cl.stop();
    const mb = await metrics(lab, 'fwb');
    // what to look at when connections were lost (role changes, stalls, sync discards, drops)
    if (summary.reset > 0 || summary.survived !== CONNS) {
      const errors = new Map<string, number>();
      for (const c of (summary as unknown as { conns: { error: string | null }[] }).conns) if (c.error) errors.set(c.error, (errors.get(c.error) ?? 0) + 1);
      process.stderr.write(`stream errors: ${JSON.stringify([...errors])}\n`);
      process.stderr.write(
        `${mb
          .split('\n')
          .filter((l) => /^tandem_(dataplane_drops_total|dataplane_packets_total|ha_transitions_total|sync_records|control_stalls)/.test(l) && !/ 0$/.test(l))
          .join('\n')}\n`,
      );
    }
    expect(summary.reset).toBe(0);
    expect(summary.survived).toBe(CONNS);
  });

  it('encryption switched on by a commit, live: no peer lost, no message refused, heartbeats encrypted from then on', async () => {
    lab = await upLab();
    const before = { fwa: await metrics(lab, 'fwa'), fwb: await metrics(lab, 'fwb') };
    const edited = cfgFile(lab, 'fwa');
    edited.shared.ha.encryption = 'aes-256-gcm';
    const file = join(lab.runDir, 'enc.yaml');
    writeFileSync(file, stringify(edited));
    const c = await cli(lab, 'fwa', 'config', 'commit', file, '--json');
    expect(c.code, c.stderr).toBe(0);
    await sleep(500);
    const hb = await capture(lab, 'fwb', 'ha1', `udp and dst port ${DEFAULT_HEARTBEAT_PORT}`, 'live-hb');
    await sleep(500);
    await hb.stop();
    const pkts = readPcap(hb.file).filter((p) => p.proto === 17);
    expect(pkts.filter((p) => p.src === ADDR.fwa.ha1).length).toBeGreaterThan(10);
    expect(pkts.filter((p) => p.src === ADDR.fwb.ha1).length).toBeGreaterThan(10);
    for (const p of pkts) expect(p.payload[0], `heartbeat from ${p.src}`).toBe(AEAD_MAGIC);
    const stalls = async () => {
      let n = 0;
      for (const box of ['fwa', 'fwb'] as const) n += metricValue(await metrics(lab!, box), 'tandem_control_stalls_total');
      return n;
    };
    const stallsBefore = metricValue(before.fwa, 'tandem_control_stalls_total') + metricValue(before.fwb, 'tandem_control_stalls_total');
    const stalled = (await stalls()) > stallsBefore;
    for (const box of ['fwa', 'fwb'] as const) {
      const after = await metrics(lab, box);
      // a refused message would show here: none, in either format, on any channel
      for (const ch of ['ha1-heartbeat', 'ha1-session', 'ha2'])
        expect(rejected(after, ch, 'bad-mac') + rejected(after, ch, 'malformed'), `${box} ${ch}`).toBe(0);
      // and as the peer lost (peer-dead), unless a control thread stalled meanwhile (loaded
      // cores: 20 ms without a heartbeat is peer-dead whatever the format; counted, not refused)
      if (!stalled)
        expect(metricValue(after, 'tandem_ha_transitions_total', { reason: 'peer-dead' }), box).toBe(
          metricValue(before[box], 'tandem_ha_transitions_total', { reason: 'peer-dead' }),
        );
      await lab.waitFor(async () => (await lab!.api(box).status()).peer.up, 10_000, `${box} to hear its peer`);
    }
    if (stalled) process.stderr.write('live encryption switch: a control thread stalled during the test; peer-dead not asserted\n');
  });
});

function countOf(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}
