import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decidePush, fileRecord, LINEAGE_MAX, nextRecord, parseCommitText, recordFromPush } from '../../../src/config/commit.js';
import { ConfigError } from '../../../src/config/errors.js';
import { sharedConfigHash } from '../../../src/config/hash.js';
import { resolveRunningConfig } from '../../../src/config/running.js';
import { ConfigStore } from '../../../src/config/store.js';
import { validateSharedConfig } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log.js';
import { boxA, parseObject } from './fixture.js';

const log = createLogger({ level: 'fatal' });
const running = parseObject(boxA());
const device = running.device;

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.path);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseCommitText', () => {
  it('takes a whole file, or one with only shared:', () => {
    const whole = parseCommitText(stringify(boxA()), device, 'a.yaml');
    const onlyShared = parseCommitText(stringify({ shared: boxA().shared }), device, 's.yaml');
    expect(whole.hash).toBe(sharedConfigHash(running.shared));
    expect(onlyShared.hash).toBe(whole.hash);
    expect(whole.deviceDiffers).toBe(false);
    expect(onlyShared.deviceDiffers).toBe(false);
  });

  it('reports a device half that differs (it is not applied live)', () => {
    const f = boxA();
    f.device.priority = 77;
    expect(parseCommitText(stringify(f), device, 'a.yaml').deviceDiffers).toBe(true);
  });

  it('lists every problem of the file, in the shared half and the device half', () => {
    const f = boxA();
    f.device.priority = 999;
    f.shared.policy.rules[0].action = 'maybe';
    expect(issuesOf(() => parseCommitText(stringify(f), device, 'a.yaml'))).toEqual(
      expect.arrayContaining(['device.priority', 'shared.policy.rules[0].action']),
    );
  });

  it('checks the shared half against the running device half', () => {
    const s = { shared: { ...boxA().shared, zones: { trust: ['lan'], untrust: ['wan'], dmz: ['dmz'] } } };
    expect(issuesOf(() => parseCommitText(stringify(s), device, 's.yaml'))).toEqual(['shared.zones.dmz[0]']);
  });

  it('refuses a document without a shared half, unknown top-level keys and broken YAML', () => {
    expect(issuesOf(() => parseCommitText('just: text', device, 'x'))).toEqual(['(document)']);
    expect(issuesOf(() => parseCommitText(stringify({ shared: {}, extra: 1 }), device, 'x'))).toEqual(['extra']);
    expect(issuesOf(() => parseCommitText('shared: [', device, 'x'))[0]).toMatch(/^line /);
  });

  it('gives the defaulted shared half: re-validating it gives it back, so its hash is stable', () => {
    const p = parseCommitText(stringify(boxA()), device, 'a.yaml');
    const again = validateSharedConfig(JSON.parse(JSON.stringify(p.shared)), device);
    expect(again.ok).toBe(true);
    if (again.ok) expect(sharedConfigHash(again.shared)).toBe(p.hash);
  });
});

describe('versions and lineage', () => {
  const base = fileRecord(running.shared, 'fw-a', new Date(0));
  const other = (n: number) => {
    const f = boxA();
    f.shared.sessions = { udpS: 10 + n };
    return parseCommitText(stringify(f), device, 'x');
  };

  it('a commit goes above both our version and the peer last known one', () => {
    expect(nextRecord(base, other(1), null, 'fw-a', new Date()).version).toBe(1);
    expect(nextRecord({ ...base, version: 4 }, other(1), 9, 'fw-a', new Date()).version).toBe(10);
  });

  it('lineage: newest ancestor first, bounded', () => {
    let rec = base;
    for (let i = 0; i < LINEAGE_MAX + 10; i++) rec = nextRecord(rec, other(i), null, 'fw-a', new Date());
    expect(rec.lineage).toHaveLength(LINEAGE_MAX);
    const prev = nextRecord(base, other(1), null, 'fw-a', new Date());
    const next = nextRecord(prev, other(2), null, 'fw-a', new Date());
    expect(next.lineage.slice(0, 2)).toEqual([prev.hash, base.hash]);
  });

  it('a push we descend from is a fast-forward; anything else has diverged', () => {
    const v1 = nextRecord(base, other(1), null, 'fw-a', new Date());
    const v2 = nextRecord(v1, other(2), null, 'fw-a', new Date());
    expect(decidePush(v2, v2)).toEqual({ kind: 'same' });
    expect(decidePush(v1, v2)).toEqual({ kind: 'apply', diverged: false });
    expect(decidePush(base, v2)).toEqual({ kind: 'apply', diverged: false });
    // committed on the lone box B from v1 while A went on to v2: v1b is not an ancestor of v2
    const v2b = nextRecord(v1, other(3), null, 'fw-b', new Date());
    expect(decidePush(v2b, v2)).toEqual({ kind: 'apply', diverged: true });
  });

  it('a push record takes the hash of what will run', () => {
    const r = recordFromPush({ version: 3, hash: 'x', lineage: ['a'], committedAtMs: 1000, committedBy: 'fw-b' }, running.shared);
    expect(r).toMatchObject({ version: 3, hash: sharedConfigHash(running.shared), origin: 'peer', committedBy: 'fw-b', lineage: ['a'] });
  });
});

describe('state dir store and the config a daemon starts with', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('saves atomically with mode 0600 and loads back', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    expect(store.load()).toBeNull();
    const rec = fileRecord(running.shared, 'fw-a', new Date());
    store.save(rec);
    expect(store.load()).toMatchObject({ version: 0, hash: rec.hash, origin: 'file' });
    expect(readdirSync(store.dir)).toEqual(['running.json']);
  });

  it('keeps configs aside, newest first', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    const rec = fileRecord(running.shared, 'fw-a', new Date());
    store.keepAside({ ...rec, version: 1 }, 'first', new Date(1000));
    const second = store.keepAside({ ...rec, version: 2 }, 'second', new Date(2000));
    const list = store.listAside();
    expect(list.map((e) => [e.version, e.why])).toEqual([
      [2, 'second'],
      [1, 'first'],
    ]);
    expect(list[0].file).toBe(second);
  });

  it('starts with the committed config over the file, and says so', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    const f = boxA();
    f.shared.sessions = { udpS: 99 };
    const committed = nextRecord(fileRecord(running.shared, 'fw-a', new Date()), parseCommitText(stringify(f), device, 'x'), null, 'fw-a', new Date());
    store.save(committed);
    const r = resolveRunningConfig(running, store, log);
    expect(r.record.version).toBe(1);
    expect(r.config.shared.sessions.udpS).toBe(99);
    expect(r.config.device).toEqual(running.device);
  });

  it('without a committed config runs the file, as version 0, and persists it', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    const r = resolveRunningConfig(running, store, log);
    expect(r.record).toMatchObject({ version: 0, origin: 'file', hash: sharedConfigHash(running.shared) });
    expect(store.load()?.hash).toBe(r.record.hash);
  });

  it('a committed config that no longer fits, or fails its hash, is kept aside and the file runs', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    const rec = fileRecord(running.shared, 'fw-a', new Date());
    store.save({ ...rec, version: 5, hash: 'f'.repeat(64) });
    const r = resolveRunningConfig(running, store, log);
    expect(r.record.version).toBe(0);
    expect(store.listAside()[0].why).toMatch(/hash does not match/);

    const broken = JSON.parse(readFileSync(store.runningPath, 'utf8'));
    broken.version = 6;
    broken.shared.zones = { dmz: ['nosuch'] };
    writeFileSync(store.runningPath, JSON.stringify(broken));
    expect(resolveRunningConfig(running, store, log).record.version).toBe(0);
    expect(store.listAside()[0].why).toMatch(/invalid against this box/);
  });

  it('an unreadable committed config is moved aside, not deleted', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-store-'));
    const store = new ConfigStore(dir);
    store.save(fileRecord(running.shared, 'fw-a', new Date()));
    writeFileSync(store.runningPath, '{not json');
    expect(resolveRunningConfig(running, store, log).record.version).toBe(0);
    expect(readdirSync(store.dir).some((n) => n.startsWith('running.json.unreadable-'))).toBe(true);
  });
});
