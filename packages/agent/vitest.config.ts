import { defineConfig } from 'vitest/config';

// Tests drive a real Docker engine and real sockets: generous timeouts.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The agent's lifecycle lines would drown the report; child agents get them back.
    env: { TAPIT_AGENT_QUIET: '1' },
  },
});
