// `tandem central run` as a process for integration tests: an inventory in a private temp dir,
// the process started from dist/, its API address read from its first log lines, and a stop that
// sends SIGTERM (and SIGKILL only if it does not go).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiClient } from '../../../src/api/client.js';
import { repoRoot } from '../../../src/lab/lab.js';

export const CENTRAL_TOKEN = 'central-integration-token-0123456789';

export interface CentralMemberSpec {
  name: string;
  api: string;
  /** The member's token itself (written to a 0600 file). */
  token: string;
  /** Inventory keys passed through as they are (TLS files, the relay socket). */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  socket?: string;
}

/** Writes central.yaml and its token files into a new 0700 temp dir; returns the yaml's path. */
export interface CentralPairSpec {
  name: string;
  members: [CentralMemberSpec, CentralMemberSpec];
  /** Default { site: 'test' }. */
  labels?: Record<string, string>;
  /** The config template's variables for this pair (central push). */
  variables?: Record<string, unknown>;
}

export function writeInventory(pairs: CentralPairSpec[], extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-central-'));
  const secret = (file: string, text: string): string => {
    writeFileSync(join(dir, file), `${text}\n`);
    chmodSync(join(dir, file), 0o600);
    return file;
  };
  const doc = {
    listen: '127.0.0.1:0',
    tokenFile: secret('central.token', CENTRAL_TOKEN),
    database: 'central.db',
    ...extra,
    pairs: pairs.map((p) => ({
      name: p.name,
      labels: p.labels ?? { site: 'test' },
      ...(p.variables !== undefined ? { variables: p.variables } : {}),
      members: p.members.map(({ token, ...m }) => ({ ...m, tokenFile: secret(`${p.name}-${m.name}.token`, token) })),
    })),
  };
  writeFileSync(join(dir, 'central.yaml'), stringify(doc));
  return join(dir, 'central.yaml');
}

export interface CentralProcess {
  pid: number;
  address: string;
  client: ApiClient;
  log: () => string;
  /** SIGTERM; resolves with the exit code (SIGKILL after 5 s: then null). */
  stop(): Promise<number | null>;
}

/** `clientTls`: the files central's own API client needs when central serves HTTPS (its CA, a client certificate). */
export async function startCentralProcess(config: string, clientTls: { caFile?: string; certFile?: string; keyFile?: string } = {}): Promise<CentralProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot(), 'bin', 'tandem.js'), 'central', 'run', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`central did not start within 10 s:\n${out}`)), 10_000);
    const look = (): void => {
      const m = /"address":"(https?:\/\/[^"]+)"[^\n]*central API listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`central exited with ${code}:\n${out}`));
    });
  });
  let stopped: Promise<number | null> | null = null;
  return {
    pid: child.pid!,
    address,
    client: new ApiClient({ url: address, token: CENTRAL_TOKEN, timeoutMs: 3000, ...clientTls }),
    log: () => out,
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode !== null) return child.exitCode;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
}

/** Polls `fn` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
