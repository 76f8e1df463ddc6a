// trafgen (Debian's netsniff-ng package) as the benches' packet generator: a PF_PACKET TX_RING
// sender that reaches several hundred kpps per core on a veth, where a Node UDP socket tops out
// near 180 kpps. The kernel's pktgen would be faster still, but this VM's kernel is built without
// it (CONFIG_NET_PKTGEN is not set).
//
// trafgenConfig() is pure (the packet template); runTrafgen() runs it inside a namespace, bounded
// by `timeout` (SIGINT, then SIGKILL 3 s later), and reports the wall time it ran.
import { spawn, type ChildProcess } from 'node:child_process';

/** Ethernet header + IPv4 header + UDP header, and the FCS that the size of a "64-byte frame" counts. */
export const ETH_HEADER_BYTES = 14;
export const IPV4_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
export const FCS_BYTES = 4;
/** Smallest Ethernet frame (IEEE 802.3, with FCS) and the largest that fits the lab's 1500 MTU. */
export const MIN_FRAME_BYTES = 64;
export const MAX_FRAME_BYTES = 1518;

export interface UdpStream {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  /** Destination port (one, so that one policy rule matches every flow). */
  dport: number;
  /** Source ports `sportBase .. sportBase + flows - 1`, cycled packet by packet: one flow each. */
  sportBase: number;
  flows: number;
  /** Frame size as Ethernet counts it, FCS included (64 = the smallest frame, 60 bytes on a veth). */
  frameBytes: number;
}

/** Bytes trafgen writes (the frame without its FCS, which a veth never carries). */
export function wireBytes(frameBytes: number): number {
  return frameBytes - FCS_BYTES;
}

/** A trafgen packet configuration for one UDP stream of `flows` flows. */
export function trafgenConfig(s: UdpStream): string {
  if (!Number.isInteger(s.frameBytes) || s.frameBytes < MIN_FRAME_BYTES || s.frameBytes > MAX_FRAME_BYTES) {
    throw new Error(`frame size ${s.frameBytes}: expected an integer ${MIN_FRAME_BYTES}-${MAX_FRAME_BYTES} (bytes, FCS included)`);
  }
  if (!Number.isInteger(s.flows) || s.flows < 1 || s.sportBase < 1 || s.sportBase + s.flows - 1 > 65535) {
    throw new Error(`flows ${s.flows} from source port ${s.sportBase}: ports must stay within 1-65535`);
  }
  const payload = wireBytes(s.frameBytes) - ETH_HEADER_BYTES - IPV4_HEADER_BYTES - UDP_HEADER_BYTES;
  // trafgen recomputes the IPv4 and UDP checksums of every packet whose fields change at run time
  // (dinc): every frame leaves with valid checksums, as a real host's would.
  return [
    '{',
    `  eth(da=${s.dstMac}, sa=${s.srcMac}, type=0x0800),`,
    `  ipv4(sa=${s.src}, da=${s.dst}, ttl=64, df),`,
    `  udp(sp=dinc(${s.sportBase}, ${s.sportBase + s.flows - 1}), dp=${s.dport}),`,
    `  fill(0x42, ${payload})`,
    '}',
    '',
  ].join('\n');
}

export interface TrafgenRun {
  /** Wall time from spawn to exit. */
  wallMs: number;
  /** Packets trafgen says it handed to the kernel (summed over its processes). */
  sent: number;
  output: string;
}

/** The running generator, so a signal handler can stop it (by its PID, nothing broader). */
export let runningGenerator: ChildProcess | null = null;

/**
 * Runs trafgen in `ns` on `dev` for `seconds` with `cpus` processes (each pinned to a CPU by
 * trafgen). --no-sock-mem and --notouch-irq: trafgen leaves the host's sysctls and IRQ affinity alone.
 * ratePps > 0 paces it (trafgen -b).
 */
export function runTrafgen(ns: string, dev: string, configPath: string, seconds: number, cpus: number, ratePps = 0): Promise<TrafgenRun> {
  const args = [
    'netns',
    'exec',
    ns,
    'timeout',
    '-s',
    'INT',
    '-k',
    '3',
    String(seconds),
    'trafgen',
    '-i',
    configPath,
    '-o',
    dev,
    '-P',
    String(cpus),
    '--no-sock-mem',
    '--notouch-irq',
    // a paced load (ratePps > 0) instead of as fast as the CPU goes
    ...(ratePps > 0 ? ['-b', `${ratePps}pps`] : []),
  ];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    runningGenerator = child;
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (err) => {
      runningGenerator = null;
      reject(new Error(`cannot run trafgen (apt-get install netsniff-ng): ${err.message}`));
    });
    child.once('close', (code) => {
      runningGenerator = null;
      const wallMs = performance.now() - t0;
      const sent = [...output.matchAll(/^\s*(\d+) packets outgoing/gm)].reduce((n, m) => n + Number(m[1]), 0);
      // timeout exits 124 when it had to stop trafgen, which is the normal end of a run
      if (code !== 0 && code !== 124 && code !== 130) {
        reject(new Error(`trafgen exited ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
        return;
      }
      resolve({ wallMs, sent, output });
    });
  });
}
