import { defineConfig } from 'vitest/config';

// Namespace tests share the host's network stack and the two cores, so they
// run one file at a time; unit tests are cheap and run in parallel.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // bounded fuzzing (seeded, reproducible; FUZZ_SEED=n replays a failure); the long run is bench/fuzz.ts
      { extends: true, test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], fileParallelism: false, maxWorkers: 1 },
      },
    ],
  },
});
