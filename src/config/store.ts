// The state dir's copy of the running shared config, and the configs kept aside. Writes are
// atomic (temp file, fsync, rename, fsync of the directory), so a crash mid-write leaves the old
// file or the new one, never half of each.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LINEAGE_MAX, type ConfigOrigin, type ConfigRecord } from './commit.js';
import { MAX_CONFIG_BYTES } from './load.js';

const FORMAT = 1;
const RUNNING_FILE = 'running.json';
const ASIDE_DIR = 'diverged';
/** Listing every kept file on each status call must stay cheap. */
const ASIDE_LIST_MAX = 100;
const ORIGINS: readonly ConfigOrigin[] = ['file', 'commit', 'peer'];

/** A stored record before its shared half is validated against this box's device half. */
export interface StoredRecord extends Omit<ConfigRecord, 'shared'> {
  shared: unknown;
}

export interface AsideEntry {
  file: string;
  version: number;
  hash: string;
  origin: string;
  committedAt: string;
  committedBy: string;
  keptAt: string;
  why: string;
}

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export class ConfigStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'config');
  }

  get runningPath(): string {
    return join(this.dir, RUNNING_FILE);
  }

  /** The persisted running record; null when none was ever saved. Throws StoreError when it is unreadable or malformed. */
  load(): StoredRecord | null {
    let text: string;
    try {
      if (statSync(this.runningPath).size > 4 * MAX_CONFIG_BYTES) throw new StoreError(`${this.runningPath} is larger than any config`);
      text = readFileSync(this.runningPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot read ${this.runningPath}: ${(err as Error).message}`, { cause: err });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new StoreError(`${this.runningPath} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const rec = parseStored(raw);
    if (typeof rec === 'string') throw new StoreError(`${this.runningPath}: ${rec}`);
    return rec;
  }

  save(record: ConfigRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    atomicWrite(this.runningPath, runningText(record));
  }

  /** save() off the calling thread's loop (fsync can take tens of ms on a real disk). */
  async saveAsync(record: ConfigRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteAsync(this.runningPath, runningText(record));
  }

  /** Keeps a record (or a stored file's raw content) aside for the operator; returns the file's path. */
  keepAside(record: StoredRecord | ConfigRecord, why: string, now: Date = new Date()): string {
    mkdirSync(join(this.dir, ASIDE_DIR), { recursive: true, mode: 0o700 });
    const path = this.asidePath(record, now);
    atomicWrite(path, asideText(record, why, now));
    return path;
  }

  /** keepAside() off the calling thread's loop; resolves with the entry as listAside() would show it. */
  async keepAsideAsync(record: ConfigRecord, why: string, now: Date = new Date()): Promise<AsideEntry> {
    await mkdir(join(this.dir, ASIDE_DIR), { recursive: true, mode: 0o700 });
    const file = this.asidePath(record, now);
    await atomicWriteAsync(file, asideText(record, why, now));
    const { version, hash, origin, committedAt, committedBy } = record;
    return { file, version, hash, origin, committedAt, committedBy, keptAt: now.toISOString(), why };
  }

  private asidePath(record: StoredRecord | ConfigRecord, now: Date): string {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const hash = typeof record.hash === 'string' ? record.hash.slice(0, 12).replace(/[^0-9a-f]/g, '') : 'unknown';
    return join(this.dir, ASIDE_DIR, `${stamp}-v${record.version}-${hash || 'unknown'}.json`);
  }

  /** Configs kept aside, newest first (at most ASIDE_LIST_MAX). A file that cannot be read is listed with why = the error. */
  listAside(): AsideEntry[] {
    const dir = join(this.dir, ASIDE_DIR);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    names.sort().reverse();
    return names.slice(0, ASIDE_LIST_MAX).map((n) => {
      const file = join(dir, n);
      try {
        const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        const str = (k: string) => (typeof r[k] === 'string' ? r[k] : '');
        return {
          file,
          version: typeof r.version === 'number' ? r.version : -1,
          hash: str('hash'),
          origin: str('origin'),
          committedAt: str('committedAt'),
          committedBy: str('committedBy'),
          keptAt: str('keptAt'),
          why: str('why'),
        };
      } catch (err) {
        return { file, version: -1, hash: '', origin: '', committedAt: '', committedBy: '', keptAt: '', why: `unreadable: ${(err as Error).message}` };
      }
    });
  }
}

/** A stored record's envelope checked field by field; a string says what is wrong. */
export function parseStored(raw: unknown): StoredRecord | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const r = raw as Record<string, unknown>;
  if (r.format !== FORMAT) return `format ${JSON.stringify(r.format)}, expected ${FORMAT}`;
  if (!Number.isSafeInteger(r.version) || (r.version as number) < 0) return 'version is not a non-negative integer';
  if (typeof r.hash !== 'string' || !/^[0-9a-f]{64}$/.test(r.hash)) return 'hash is not a sha256 hex string';
  if (!ORIGINS.includes(r.origin as ConfigOrigin)) return `origin is not one of ${ORIGINS.join(', ')}`;
  if (typeof r.committedAt !== 'string' || Number.isNaN(Date.parse(r.committedAt))) return 'committedAt is not a date';
  if (typeof r.committedBy !== 'string') return 'committedBy is not a string';
  if (!Array.isArray(r.lineage) || r.lineage.length > LINEAGE_MAX || !r.lineage.every((h) => typeof h === 'string')) return 'lineage is not a list of hashes';
  if (r.shared === null || typeof r.shared !== 'object') return 'shared is not a mapping';
  return {
    version: r.version as number,
    hash: r.hash,
    origin: r.origin as ConfigOrigin,
    committedAt: r.committedAt,
    committedBy: r.committedBy,
    lineage: r.lineage,
    shared: r.shared,
  };
}

function runningText(record: ConfigRecord): string {
  return `${JSON.stringify({ format: FORMAT, ...record }, null, 2)}\n`;
}

function asideText(record: StoredRecord | ConfigRecord, why: string, now: Date): string {
  return `${JSON.stringify({ format: FORMAT, ...record, keptAt: now.toISOString(), why }, null, 2)}\n`;
}

async function atomicWriteAsync(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // the rename itself is durable only once the directory is
  const dirFd = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
