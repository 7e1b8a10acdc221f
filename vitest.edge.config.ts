import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `pnpm test:edge`: the Worker tests in Cloudflare's runtime (workerd, through miniflare, which
 * needs Node 22+). `bash scripts/edge.sh` installs both into the CI cache and runs this.
 */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: 'workerd',
            root: 'packages/web-tests',
            include: ['test/**/*.edge.test.ts'],
            setupFiles: ['../../vitest.setup.ts'],
            testTimeout: 60_000,
          },
        },
      ],
    },
  }),
);
