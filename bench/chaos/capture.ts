// The switch's view of the pair: tcpdump on the four bridge ports of the boxes (in N-sw), frames
// entering the switch from a box (-Q in) whose source MAC is a virtual MAC. Which box sent a
// frame is which port it entered on, and which class it spoke for is its source MAC's class byte.
// Only the Ethernet header is needed, so frames are cut short.
//
// libpcap ends a capture when its interface goes down ("The interface went down"), which is what
// a pulled cable is here: a port's capture is restarted (a new file) until it is stopped, so the
// port is watched again as soon as it is back up. Nothing can enter through a port that is down.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabBox } from '../../src/lab/lab.js';
import { SW_PORT } from '../../src/lab/topology.js';
import type { VmacFrame } from './analyse.js';
import { pcapFrames } from './pcap.js';

/**
 * Every virtual MAC starts 02:74:64:<c> (src/dataplane/vmac.ts), c the class: 0 in active/passive,
 * 1-3 in active/active. All classes are captured; each frame keeps its class (analyse.ts judges
 * dual-active per class).
 */
export const VMAC_FILTER = 'ether[6:4] & 0xffffff00 == 0x02746400';
const RESTART_DELAY_MS = 50;
const LISTEN_TIMEOUT_MS = 5000;

interface Segment {
  file: string;
  child: ChildProcess;
  exited: Promise<void>;
  stderr: string;
}

/** One port: successive tcpdump runs until stopped. */
class PortCapture {
  readonly segments: Segment[] = [];
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Resolves once the first tcpdump listens. */
  readonly ready: Promise<void>;

  constructor(
    private readonly lab: Lab,
    readonly box: LabBox,
    private readonly port: string,
    private readonly dir: string,
    private readonly tag: string,
  ) {
    this.ready = this.start();
  }

  private start(): Promise<void> {
    const file = join(this.dir, `cap-${this.tag}-${this.port}-${this.segments.length}.pcap`);
    // -s 64: the Ethernet header is all that is read; -B: 8 MiB so bursts after a takeover fit
    const child = spawn(
      'ip',
      ['netns', 'exec', this.lab.ns('sw'), 'tcpdump', '-i', this.port, '-Q', 'in', '-n', '-U', '-s', '64', '-B', '8192', '-w', file, VMAC_FILTER],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const seg: Segment = { file, child, exited: new Promise((r) => child.once('close', () => r())), stderr: '' };
    this.segments.push(seg);
    child.stderr.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump on ${this.port} did not start listening: ${seg.stderr.trim()}`)), LISTEN_TIMEOUT_MS);
      child.stderr.on('data', (d: string) => {
        seg.stderr += d;
        if (seg.stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void seg.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`tcpdump on ${this.port} exited: ${seg.stderr.trim()}`));
      });
    });
    void seg.exited.then(() => {
      // the port went down (or never came up): watch it again until we are told to stop
      if (!this.stopping) this.restartTimer = setTimeout(() => void this.start().catch(() => undefined), RESTART_DELAY_MS);
    });
    return listening;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const s of this.segments) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
    await Promise.all(this.segments.map((s) => s.exited));
  }

  /** Frames the kernel dropped before tcpdump read them (its exit report). */
  droppedByKernel(): number {
    let n = 0;
    for (const s of this.segments) {
      const m = /(\d+) packets? dropped by kernel/.exec(s.stderr);
      if (m) n += Number(m[1]);
    }
    return n;
  }

  frames(): VmacFrame[] {
    const out: VmacFrame[] = [];
    for (const s of this.segments) {
      if (!existsSync(s.file)) continue;
      const { timesUs, srcMacByte3 } = pcapFrames(readFileSync(s.file));
      timesUs.forEach((tUs, i) => out.push({ tUs, box: this.box, cls: srcMacByte3[i] }));
    }
    return out;
  }

  remove(): void {
    for (const s of this.segments) rmSync(s.file, { force: true });
  }
}

/** The four box ports of the switch, captured together. */
export class SwitchCapture {
  private readonly ports: PortCapture[];

  private constructor(ports: PortCapture[]) {
    this.ports = ports;
  }

  /** Starts the captures and resolves once every port's tcpdump listens. */
  static async start(lab: Lab, dir: string, tag: string): Promise<SwitchCapture> {
    const ports: PortCapture[] = [];
    for (const box of ['fwa', 'fwb'] as const) for (const link of ['lan', 'wan'] as const) ports.push(new PortCapture(lab, box, SW_PORT[box][link], dir, tag));
    const c = new SwitchCapture(ports);
    try {
      await Promise.all(ports.map((p) => p.ready));
    } catch (err) {
      await c.stop();
      c.remove();
      throw err;
    }
    return c;
  }

  stop(): Promise<void> {
    return Promise.all(this.ports.map((p) => p.stop())).then(() => undefined);
  }

  /** Every captured frame (after stop()). */
  frames(): VmacFrame[] {
    return this.ports.flatMap((p) => p.frames());
  }

  droppedByKernel(): number {
    return this.ports.reduce((n, p) => n + p.droppedByKernel(), 0);
  }

  /** Restarts of a port's capture after the port went down and came back. */
  restarts(): number {
    return this.ports.reduce((n, p) => n + p.segments.length - 1, 0);
  }

  files(): string[] {
    return this.ports.flatMap((p) => p.segments.map((s) => s.file));
  }

  remove(): void {
    for (const p of this.ports) p.remove();
  }
}
