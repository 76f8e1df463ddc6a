// The config commit queue is bounded: commits past COMMIT_QUEUE_MAX waiting are refused (counted
// as refused), the ones queued all complete, and the queue is usable again afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileRecord } from '../../../src/config/commit.js';
import { ConfigStore } from '../../../src/config/store.js';
import { COMMIT_QUEUE_MAX, CommitRefused, ConfigSync } from '../../../src/control/config-sync.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/registry.js';
import { boxA, parseObject } from '../config/fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function withUdp(n: number): string {
  const f = boxA();
  f.shared.sessions = { ...(f.shared.sessions ?? {}), udpS: n };
  return stringify(f);
}

it(`commits past ${COMMIT_QUEUE_MAX} waiting are refused and counted; the queued ones complete`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-csq-'));
  dirs.push(dir);
  const cfg = parseObject(boxA());
  const metrics = new Metrics({ defaultMetrics: false });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let applied = 0;
  const sync = new ConfigSync({
    device: cfg.device,
    record: fileRecord(cfg.shared, cfg.device.name, new Date()),
    store: new ConfigStore(dir),
    metrics,
    log: createLogger({ level: 'fatal' }),
    apply: async () => {
      await gate;
      applied++;
      return { restartRequired: [], sessionsRemoved: 0 };
    },
  });
  // alone (no peer): this box may commit
  sync.attach({ view: () => ({ state: 'active', peerUp: false, peerName: null }), send: () => false, announce: () => undefined });

  const results = Array.from({ length: COMMIT_QUEUE_MAX + 5 }, (_, i) =>
    sync.commit(withUdp(40 + i), `c${i}.yaml`).then(
      () => 'ok',
      (err: unknown) => (err instanceof CommitRefused ? 'refused' : `error: ${String(err)}`),
    ),
  );
  release();
  const outcome = await Promise.all(results);
  expect(outcome.filter((o) => o === 'ok')).toHaveLength(COMMIT_QUEUE_MAX);
  expect(outcome.filter((o) => o === 'refused')).toHaveLength(5);
  expect(applied).toBe(COMMIT_QUEUE_MAX);
  expect(await metrics.text()).toMatch(/^tandem_config_commits_total\{result="refused"\} 5$/m);
  // drained: the next commit goes through
  await expect(sync.commit(withUdp(99), 'again.yaml')).resolves.toMatchObject({ changed: true });
});
