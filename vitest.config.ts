import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers; generous bounds keep them deterministic on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real peers use real ports and processes: run files one after another to keep timing comfortable.
    fileParallelism: false,
  },
});
