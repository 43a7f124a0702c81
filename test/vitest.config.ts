import { defineConfig } from 'vitest/config';

// System tests start real processes, Postgres databases and containers: generous time, one file
// at a time so they do not compete for ports and the Docker engine.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    fileParallelism: false,
  },
});
