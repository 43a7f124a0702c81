import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Folders of this suite to leave out, comma-separated (`TAPIT_SYSTEM_TESTS_SKIP=fuzz`): CI's two
 * Node lines run the fuzzers on one line and the browser tests on the other
 * (scripts/test-all.sh). Unset, everything runs.
 */
const skipped = (process.env.TAPIT_SYSTEM_TESTS_SKIP ?? '')
  .split(',')
  .map((folder) => folder.trim())
  .filter(Boolean);

// System tests start real processes, Postgres databases and containers: generous time, one file
// at a time so they do not compete for ports and the Docker engine.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    fileParallelism: false,
    exclude: [...configDefaults.exclude, ...skipped.map((folder) => `${folder}/**`)],
  },
});
