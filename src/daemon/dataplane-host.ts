// Starts the dataplane worker (the one thread that loads `cap`) and talks to it. Role, lease and
// GARP requests go through the SharedState, not through here: messages can wait behind a busy
// capture loop, so they carry only slow things (status queries, stop).
import { Worker } from 'node:worker_threads';
import type { TandemConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { SharedState } from '../dataplane/shared-state.js';

const READY_TIMEOUT_MS = 15_000;
const STATUS_TIMEOUT_MS = 1_000;

export interface DataplaneInterfaceInfo {
  name: string;
  device: string;
  mac: string;
}

export class DataplaneHost {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (data: unknown) => void>();
  private stopping = false;
  interfaces: DataplaneInterfaceInfo[] = [];

  constructor(
    private readonly config: TandemConfig,
    private readonly shared: SharedState,
    private readonly log: Logger,
    /** Called if the worker dies on its own: the box can no longer forward. */
    private readonly onFatal: (why: string) => void,
  ) {}

  async start(): Promise<void> {
    const worker = new Worker(new URL('../dataplane/worker.js', import.meta.url), {
      workerData: { config: this.config, sharedBuffer: this.shared.buffer, logLevel: this.config.device.log.level },
    });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dataplane did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      worker.on('message', (msg: { type: string; id?: number; data?: unknown; error?: string; interfaces?: DataplaneInterfaceInfo[] }) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          this.interfaces = msg.interfaces ?? [];
          resolve();
        } else if (msg.type === 'fatal') {
          clearTimeout(timer);
          reject(new Error(`dataplane failed: ${msg.error}`));
        } else if (msg.type === 'status' && msg.id !== undefined) {
          this.pending.get(msg.id)?.(msg.data);
          this.pending.delete(msg.id);
        }
      });
      worker.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
        if (!this.stopping) this.onFatal(`dataplane worker error: ${err.message}`);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dataplane worker exited (code ${code})`));
        if (!this.stopping) this.onFatal(`dataplane worker exited with code ${code}`);
      });
    });
    this.log.info({ interfaces: this.interfaces }, 'dataplane ready');
  }

  status(): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.resolve({ error: 'not running' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ error: 'timeout' });
      }, STATUS_TIMEOUT_MS);
      this.pending.set(id, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      worker.postMessage({ type: 'status-request', id });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'stop' });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([exited, timeout]);
    await worker.terminate();
  }
}
