// The control side of the ICMP prober: spawns prober-main.js as a child process, writes send
// commands to it, reads its replies, and restarts it when it dies (counted and logged). Echo
// matching (sequence, source) is the path monitor's job; this is only the process and its pipe.
import { spawn, type ChildProcess } from 'node:child_process';
import { diesWithParent } from './child-command.js';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.js';
import { LineSplitter, parseProberMessage, type ProberMessage } from './prober-protocol.js';

/** Restarts wait 100 ms, doubling up to this: a prober that cannot start must not spin. */
const RESTART_MAX_MS = 5000;
/** Requests written to the child and not yet taken by the pipe: a few hundred lines. */
export const PROBER_MAX_PENDING_BYTES = 64 * 1024;
/** A child that ran this long before dying was healthy: the next restart is immediate again. */
const HEALTHY_RUN_MS = 10_000;

export interface ProberOptions {
  /** ICMP identifier of our echoes (one per monitors instance). */
  identifier: number;
  log: Logger;
  onMessage(m: ProberMessage): void;
  /** The child wrote something that is not a ProberMessage (counted by the caller). */
  onBadLine(): void;
  /** The child died and is being restarted. */
  onRestart(why: string): void;
  /** The command that runs the prober (default: this node on prober-main.js next to this file). */
  command?: string[];
}

export class ProberProcess {
  private child: ChildProcess | null = null;
  private ready = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private backoffMs = 0;
  private startedAtMs = 0;
  restarts = 0;

  constructor(private readonly opts: ProberOptions) {}

  get running(): boolean {
    return this.child !== null && this.ready;
  }

  start(): void {
    this.stopping = false;
    this.spawnChild();
  }

  /**
   * Send one echo request; false when the prober is not running, or has stopped reading its
   * requests (a hung child: they would pile up in our pipe buffer; the caller counts it unsent).
   */
  send(dst: string, seq: number): boolean {
    const child = this.child;
    if (child === null || !this.ready || child.stdin === null || child.stdin.destroyed) return false;
    if (child.stdin.writableLength > PROBER_MAX_PENDING_BYTES) return false;
    child.stdin.write(`${JSON.stringify({ t: 'send', dst, seq })}\n`);
    return true;
  }

  stop(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    this.child = null;
    this.ready = false;
    if (child) {
      child.stdin?.end();
      child.kill('SIGTERM');
    }
  }

  private command(): string[] {
    return this.opts.command ?? [process.execPath, fileURLToPath(new URL('./prober-main.js', import.meta.url))];
  }

  private spawnChild(): void {
    const [cmd, ...args] = this.command();
    const child = spawn(...diesWithParent(cmd, [...args, String(this.opts.identifier)]), { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    this.ready = false;
    this.startedAtMs = Date.now();
    const lines = new LineSplitter(
      (line) => {
        const m = parseProberMessage(line);
        if (m === null) return this.opts.onBadLine();
        if (m.t === 'ready' && child === this.child) {
          this.ready = true;
          this.opts.log.info({ pid: child.pid }, 'path monitor: ICMP prober ready');
        }
        this.opts.onMessage(m);
      },
      () => this.opts.onBadLine(),
    );
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => lines.push(chunk));
    // a write to a child that just died: the exit handler restarts it
    child.stdin?.on('error', () => undefined);
    child.on('error', (err) => this.onExit(child, `spawn failed: ${err.message}`));
    child.on('exit', (code, signal) => this.onExit(child, signal ? `killed by ${signal}` : `exited with code ${code}`));
  }

  private onExit(child: ChildProcess, why: string): void {
    if (child !== this.child || this.stopping) return;
    this.child = null;
    this.ready = false;
    this.restarts++;
    this.backoffMs = Date.now() - this.startedAtMs >= HEALTHY_RUN_MS ? 0 : Math.min(RESTART_MAX_MS, Math.max(100, this.backoffMs * 2));
    this.opts.log.warn({ why, restartInMs: this.backoffMs, restarts: this.restarts }, 'path monitor: ICMP prober died; restarting');
    this.opts.onRestart(why);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild();
    }, this.backoffMs);
  }
}
