// Parsing and validating a config is slow (YAML, zod, hashing: 6-20 ms for the lab's small file,
// seconds for ten thousand rules), and the control thread must never stall for a dead interval
// (20 ms in the aggressive profile: a stall there is a failover). So the daemon validates on a
// thread of its own (WorkerValidator); tests and tools use the same code inline (InlineValidator).
import { Worker } from 'node:worker_threads';
import { parseCommitText, type ParsedCommit } from '../config/commit.js';
import { ConfigError } from '../config/errors.js';
import { sharedConfigHash } from '../config/hash.js';
import { validateSharedConfig } from '../config/schema.js';
import type { ConfigIssue, DeviceConfig, SharedConfig } from '../config/types.js';

export type SharedValidation = { ok: true; shared: SharedConfig; hash: string } | { ok: false; issues: ConfigIssue[] };

export interface ConfigValidator {
  /** A commit file's content: rejects with ConfigError listing every problem. */
  parseCommit(text: string, source: string): Promise<ParsedCommit>;
  /** A shared half as pushed by the peer (JSON text), against our device half. */
  validateSharedJson(json: string): Promise<SharedValidation>;
  close(): Promise<void>;
}

export type ValidatorRequest = { id: number; op: 'parse-commit'; text: string; source: string } | { id: number; op: 'validate-shared'; json: string };
export type ValidatorReply =
  | { id: number; ok: true; parsed?: ParsedCommit; shared?: SharedValidation }
  | { id: number; ok: false; issues?: ConfigIssue[]; source?: string; error?: string };

export function inlineParse(text: string, source: string, device: DeviceConfig, configPath?: string): ParsedCommit {
  return parseCommitText(text, device, source, configPath);
}

export function inlineValidateShared(json: string, device: DeviceConfig): SharedValidation {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { ok: false, issues: [{ path: '(json)', value: undefined, expected: `JSON text (${(err as Error).message})` }] };
  }
  const valid = validateSharedConfig(raw, device);
  return valid.ok ? { ok: true, shared: valid.shared, hash: sharedConfigHash(valid.shared) } : valid;
}

export class InlineValidator implements ConfigValidator {
  constructor(
    private readonly device: DeviceConfig,
    private readonly configPath?: string,
  ) {}

  async parseCommit(text: string, source: string): Promise<ParsedCommit> {
    return inlineParse(text, source, this.device, this.configPath);
  }

  async validateSharedJson(json: string): Promise<SharedValidation> {
    return inlineValidateShared(json, this.device);
  }

  async close(): Promise<void> {}
}

/**
 * Validation on a worker thread, started at the first request (commits are rare: no resident
 * isolate for them) and kept; requests are answered in order. A thread that died is started again
 * at the next request.
 */
export class WorkerValidator implements ConfigValidator {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ValidatorReply) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly device: DeviceConfig,
    private readonly configPath?: string,
  ) {}

  private start(): Worker {
    const worker = new Worker(new URL('./config-validator-worker.js', import.meta.url), { workerData: { device: this.device, configPath: this.configPath } });
    this.worker = worker;
    worker.unref();
    worker.on('message', (reply: ValidatorReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.resolve(reply);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`config validation thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`config validation thread exited (code ${code})`)));
    return worker;
  }

  private request(req: ValidatorRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<ValidatorReply> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  }

  async parseCommit(text: string, source: string): Promise<ParsedCommit> {
    const r = await this.request({ op: 'parse-commit', text, source });
    if (r.ok && r.parsed) return r.parsed;
    if (!r.ok && r.issues) throw new ConfigError(r.issues, r.source ?? source);
    throw new Error(r.ok ? 'config validation thread answered nothing' : (r.error ?? 'config validation failed'));
  }

  async validateSharedJson(json: string): Promise<SharedValidation> {
    const r = await this.request({ op: 'validate-shared', json });
    if (r.ok && r.shared) return r.shared;
    throw new Error(r.ok ? 'config validation thread answered nothing' : (r.error ?? 'config validation failed'));
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}
