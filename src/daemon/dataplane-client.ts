// The control worker's view of the dataplane, which runs on the main thread (see
// src/dataplane/host.ts for why). Role, lease and GARP requests go through the SharedState;
// this port carries only slow things (status queries), each with a timeout because a saturated
// capture loop can hold messages back.
import type { MessagePort } from 'node:worker_threads';

const STATUS_TIMEOUT_MS = 1_000;

export class DataplaneClient {
  private nextId = 1;
  private readonly pending = new Map<number, (data: unknown) => void>();
  interfaces: unknown[] = [];

  constructor(private readonly port: MessagePort) {
    port.on('message', (msg: { type: string; id?: number; data?: unknown; interfaces?: unknown[] }) => {
      if (msg.type === 'ready') this.interfaces = msg.interfaces ?? [];
      else if (msg.type === 'status' && msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg.data);
        this.pending.delete(msg.id);
      }
    });
    // The port must not keep the worker alive on its own.
    port.unref();
  }

  status(): Promise<unknown> {
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
      this.port.postMessage({ type: 'status-request', id });
    });
  }
}
