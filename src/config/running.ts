// Which shared half a starting daemon runs. The state dir's committed config wins over the file:
// it is what the operator last committed (or what the active pushed), and the file may be stale.
// A file whose shared half differs is reported, never silently applied: `tandem config commit`
// makes it the running config.
import { renameSync } from 'node:fs';
import { sharedConfigHash } from './hash.js';
import { fileRecord, type ConfigRecord } from './commit.js';
import { ConfigStore, StoreError } from './store.js';
import { validateSharedConfig } from './schema.js';
import type { TandemConfig } from './types.js';
import type { Logger } from '../log.js';

export interface RunningConfig {
  config: TandemConfig;
  record: ConfigRecord;
}

export function resolveRunningConfig(file: TandemConfig, store: ConfigStore, log: Logger, now: Date = new Date()): RunningConfig {
  const fromFile = (): RunningConfig => {
    const record = fileRecord(file.shared, file.device.name, now);
    store.save(record);
    return { config: file, record };
  };
  let stored;
  try {
    stored = store.load();
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    // never thrown away: the unreadable file is moved beside the kept configs for the operator
    const aside = `${store.runningPath}.unreadable-${now.toISOString().replace(/[:.]/g, '-')}`;
    try {
      renameSync(store.runningPath, aside);
    } catch {
      /* the error below says what we could not read */
    }
    log.error({ err: err.message, keptAs: aside }, 'the committed config in the state dir is unreadable; running the config file');
    return fromFile();
  }
  if (stored === null) return fromFile();
  const valid = validateSharedConfig(stored.shared, file.device);
  if (!valid.ok) {
    const kept = store.keepAside(
      stored,
      `invalid against this box's device half at start: ${valid.issues.map((i) => `${i.path}: ${i.expected}`).join('; ')}`,
      now,
    );
    log.error({ version: stored.version, keptAs: kept, issues: valid.issues }, 'the committed config does not fit this box; running the config file');
    return fromFile();
  }
  const hash = sharedConfigHash(valid.shared);
  if (hash !== stored.hash) {
    const kept = store.keepAside(stored, `its hash does not match its content (stored ${stored.hash}, computed ${hash}): edited by hand?`, now);
    log.error({ version: stored.version, keptAs: kept }, 'the committed config fails its hash check; running the config file');
    return fromFile();
  }
  const fileHash = sharedConfigHash(file.shared);
  if (fileHash !== hash) {
    log.warn(
      { version: stored.version, hash, fileHash },
      `running committed shared config v${stored.version}; the config file's shared half differs (commit it with \`tandem config commit\` to run it)`,
    );
  }
  return { config: { ...file, shared: valid.shared }, record: { ...stored, shared: valid.shared } };
}
