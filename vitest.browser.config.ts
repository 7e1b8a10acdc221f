import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { browserTests } from './vitest.workspace.js';

/**
 * `pnpm test:browser`: the tests that drive Debian's Chromium (`apt-get install -y chromium`).
 * The `web` project runs in Firefox ESR and WebKitGTK too: `pnpm test:firefox`, `pnpm
 * test:webkit` (`OIDC_TEST_ENGINE`; `apt-get install -y firefox-esr webkit2gtk-driver xvfb`).
 */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            // The adapters and core's browser build in the engine's pages (and workerd).
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
