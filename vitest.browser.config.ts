import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { browserTests } from './vitest.workspace.js';

/** `pnpm test:browser`: the tests that drive Debian's Chromium (`apt-get install -y chromium`). */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            // The adapters and core's browser build in Chromium pages (and workerd).
            name: 'web',
            root: 'packages/web-tests',
            include: [browserTests],
            setupFiles: ['../../vitest.setup.ts'],
            testTimeout: 60_000,
          },
        },
        {
          extends: true,
          test: {
            name: 'cli-browser',
            root: 'packages/cli',
            include: [browserTests],
            setupFiles: ['../../vitest.setup.ts'],
          },
        },
      ],
    },
  }),
);
