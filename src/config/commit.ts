// The pure rules of a shared-config commit: what a commit file may hold, the version and lineage a
// new commit gets, and what a box does with a config its peer pushes. I/O (the state dir, HA1, the
// dataplane) lives in src/config/store.ts and src/control/config-sync.ts.
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { canonicalJson, sharedConfigHash } from './hash.js';
import { MAX_CONFIG_BYTES, parseYaml, resolvePaths } from './load.js';
import { validateConfig, validateSharedConfig } from './schema.js';
import type { DeviceConfig, SharedConfig } from './types.js';

/** Ancestor hashes a record remembers: enough to recognise a fast-forward after any realistic absence. */
export const LINEAGE_MAX = 64;

export type ConfigOrigin =
  /** The daemon's config file, never committed (version 0). */
  | 'file'
  /** Committed on this box (`tandem config commit`). */
  | 'commit'
  /** Pushed by the peer over HA1. */
  | 'peer';

/** A shared half with its identity: what the state dir persists and HA1 carries. */
export interface ConfigRecord {
  version: number;
  /** sha256 of the canonical JSON of `shared` (src/config/hash.ts). */
  hash: string;
  origin: ConfigOrigin;
  /** ISO 8601 wall-clock time of the commit (of the daemon start, for origin 'file'). */
  committedAt: string;
  /** Device name the commit was made on. */
  committedBy: string;
  /** Hashes this config descends from, newest first, at most LINEAGE_MAX. */
  lineage: string[];
  /** Parsed and defaulted: re-validating it gives itself back, so its hash is stable. */
  shared: SharedConfig;
}

export function fileRecord(shared: SharedConfig, deviceName: string, now: Date): ConfigRecord {
  return { version: 0, hash: sharedConfigHash(shared), origin: 'file', committedAt: now.toISOString(), committedBy: deviceName, lineage: [], shared };
}

export interface ParsedCommit {
  shared: SharedConfig;
  hash: string;
  /** The file carries a device half that differs from the running one (not applied: it needs a restart). */
  deviceDiffers: boolean;
}

/**
 * A commit file is a whole config (device and shared, like the daemon's own file) or a file with
 * only `shared:`. Everything in it is validated; the shared half also against the running device
 * half, because that is the one it will run with. Throws ConfigError with every issue.
 * `configPath` is the running daemon's config file: relative paths in a commit file's device half
 * resolve against its directory, as they did at start, so only real differences count.
 */
export function parseCommitText(text: string, device: DeviceConfig, source: string, configPath?: string): ParsedCommit {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES)
    throw new ConfigError([{ path: '(file)', value: Buffer.byteLength(text), expected: `a file of at most ${MAX_CONFIG_BYTES} bytes` }], source);
  const raw = parseYaml(text, source);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('shared' in raw))
    throw new ConfigError(
      [{ path: '(document)', value: raw === null ? null : typeof raw, expected: 'a mapping with a shared: half (and optionally the device: half)' }],
      source,
    );
  let deviceDiffers = false;
  if ('device' in raw) {
    const whole = validateConfig(raw);
    if (!whole.ok) throw new ConfigError(whole.issues, source);
    const fileDevice = configPath === undefined ? whole.config.device : resolvePaths(whole.config, dirname(configPath)).device;
    deviceDiffers = canonicalJson(fileDevice) !== canonicalJson(device);
  } else {
    const extra = Object.keys(raw).filter((k) => k !== 'shared');
    if (extra.length > 0)
      throw new ConfigError(
        extra.map((k) => ({ path: k, value: (raw as Record<string, unknown>)[k], expected: `no key ${JSON.stringify(k)} here (known keys: device, shared)` })),
        source,
      );
  }
  const shared = validateSharedConfig(raw.shared, device);
  if (!shared.ok) throw new ConfigError(shared.issues, source);
  return { shared: shared.shared, hash: sharedConfigHash(shared.shared), deviceDiffers };
}

/**
 * The record a commit creates. Its version is above both ours and the peer's last known one, so
 * a commit made on a lone box never reuses a number the other box already holds.
 */
export function nextRecord(current: ConfigRecord, parsed: ParsedCommit, peerVersion: number | null, by: string, now: Date): ConfigRecord {
  return {
    version: Math.max(current.version, peerVersion ?? 0) + 1,
    hash: parsed.hash,
    origin: 'commit',
    committedAt: now.toISOString(),
    committedBy: by,
    lineage: [current.hash, ...current.lineage.filter((h) => h !== current.hash)].slice(0, LINEAGE_MAX),
    shared: parsed.shared,
  };
}

export type PushDecision =
  /** We already run it. */
  | { kind: 'same' }
  /** Apply it; `diverged`: our current config is not one it descends from, so keep ours aside first. */
  | { kind: 'apply'; diverged: boolean };

export function decidePush(current: Pick<ConfigRecord, 'hash'>, pushed: Pick<ConfigRecord, 'hash' | 'lineage'>): PushDecision {
  if (current.hash === pushed.hash) return { kind: 'same' };
  return { kind: 'apply', diverged: !pushed.lineage.includes(current.hash) };
}

/** The wire form of a push (proto ha1 ConfigPush) as a record; the shared half is validated by the caller. */
export function recordFromPush(
  push: { version: number; hash: string; lineage: string[]; committedAtMs: number; committedBy: string },
  shared: SharedConfig,
  hash: string = sharedConfigHash(shared),
): ConfigRecord {
  return {
    version: push.version,
    hash,
    origin: 'peer',
    committedAt: new Date(push.committedAtMs).toISOString(),
    committedBy: push.committedBy,
    lineage: push.lineage.slice(0, LINEAGE_MAX),
    shared,
  };
}
