// Watches carrier and admin state of kernel devices. Two sources, because either alone has a gap:
// - events: an `ip -o monitor link` child prints a line on every RTM_NEWLINK/DELLINK (netlink),
//   so a pulled cable is seen within milliseconds; any line makes us re-read every watched device;
// - a poll of /sys/class/net/<dev>/{flags,carrier,operstate} every LINK_POLL_MS, the safety net
//   when `ip` is missing, dies, or an event is lost (netlink drops messages under ENOBUFS).
// sysfs is the truth in both cases (we never parse state from the event text), so the two cannot
// disagree. Traffic never enters into it: a quiet link is not a dead one.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../log.js';
import { readKernelLinkAsync, linkVerdict, SYS_CLASS_NET, type LinkVerdict } from '../../net/link.js';
import { diesWithParent } from './child-command.js';

/**
 * The poll's period. Three small sysfs reads per device cost microseconds; 100 ms bounds the
 * detection of a missed event to well under a second, below the shortest path-monitor verdict
 * (3 lost echoes at 200 ms).
 */
export const LINK_POLL_MS = 100;
/** An `ip monitor` that exits is started again after this (the poll covers the gap). */
const MONITOR_RESTART_MS = 1000;

export interface LinkState extends LinkVerdict {
  device: string;
  adminUp: boolean | null;
  carrier: boolean | null;
  operstate: string | null;
}

/**
 * The kernel's view of one device, read from sysfs (in this process's network namespace), off the
 * control thread: see readKernelLinkAsync.
 */
export async function readLink(device: string, sysRoot = SYS_CLASS_NET, captureOpen?: (device: string) => boolean): Promise<LinkState> {
  const k = await readKernelLinkAsync(device, sysRoot);
  const verdict = linkVerdict(k);
  return {
    device,
    // up for the kernel but the dataplane's capture handle not open again yet: not up for the pair
    ...(verdict.up && captureOpen && !captureOpen(device) ? { up: false, why: 'capture-closed' } : verdict),
    adminUp: k.flags === null ? null : (k.flags & 1) === 1,
    carrier: k.carrier === null ? null : k.carrier === '1',
    operstate: k.operstate,
  };
}

export interface LinkWatcherOptions {
  log: Logger;
  /** Called when a device's up/down verdict (or its why) changes, and once per device at first read. */
  onChange(state: LinkState): void;
  sysRoot?: string;
  /** The dataplane's word on the device's capture handle (SharedState); absent: not consulted. */
  captureOpen?: (device: string) => boolean;
  pollMs?: number;
  /** false: poll only (tests). */
  events?: boolean;
}

export class LinkWatcher {
  private devices: string[] = [];
  private readonly states = new Map<string, LinkState>();
  private pollTimer: NodeJS.Timeout | null = null;
  private monitor: ChildProcess | null = null;
  private monitorRestart: NodeJS.Timeout | null = null;
  private stopped = true;
  private reading: Promise<void> | null = null;
  private again = false;

  constructor(private readonly opts: LinkWatcherOptions) {}

  /** Watch these devices (replacing the previous set) and read them at once. */
  async setDevices(devices: readonly string[]): Promise<void> {
    this.devices = [...new Set(devices)];
    for (const d of [...this.states.keys()]) if (!this.devices.includes(d)) this.states.delete(d);
    await this.refresh();
  }

  state(device: string): LinkState | undefined {
    return this.states.get(device);
  }

  async start(devices: readonly string[]): Promise<void> {
    this.stopped = false;
    await this.setDevices(devices);
    if (this.opts.events !== false) this.startMonitor();
    this.schedulePoll();
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.monitorRestart) clearTimeout(this.monitorRestart);
    this.pollTimer = null;
    this.monitorRestart = null;
    const m = this.monitor;
    this.monitor = null;
    m?.kill('SIGTERM');
  }

  /** Re-read every watched device; concurrent calls coalesce into one more pass. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        const states = await Promise.all(this.devices.map((d) => readLink(d, this.opts.sysRoot, this.opts.captureOpen)));
        for (const s of states) {
          if (!this.devices.includes(s.device)) continue;
          const old = this.states.get(s.device);
          this.states.set(s.device, s);
          if (old === undefined || old.up !== s.up || old.why !== s.why) this.opts.onChange(s);
        }
      } while (this.again);
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      void this.refresh().finally(() => this.schedulePoll());
    }, this.opts.pollMs ?? LINK_POLL_MS);
  }

  private startMonitor(): void {
    if (this.stopped) return;
    const child = spawn(...diesWithParent('ip', ['-o', 'monitor', 'link']), { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor = child;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', () => void this.refresh());
    const restart = (why: string) => {
      if (this.monitor !== child || this.stopped) return;
      this.monitor = null;
      this.opts.log.warn({ why, restartInMs: MONITOR_RESTART_MS }, 'link monitor: `ip monitor link` stopped; polling sysfs meanwhile');
      this.monitorRestart = setTimeout(() => this.startMonitor(), MONITOR_RESTART_MS);
    };
    child.on('error', (err) => restart(err.message));
    child.on('exit', (code, signal) => restart(signal ? `killed by ${signal}` : `exited with code ${code}`));
  }
}
