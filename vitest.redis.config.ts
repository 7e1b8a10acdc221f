import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `pnpm test:redis`: the Redis store against a real redis-server (Debian's package:
 * `apt-get install -y redis-server`), started on a free loopback port by the global setup.
 * Never part of `pnpm test`, which needs only Node and npm; `.ci/run` installs Redis and runs it.
 */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: 'redis',
            root: 'packages/redis',
            include: ['test/**/*.test.ts'],
            globalSetup: ['test/global-setup.ts'],
          },
        },
      ],
    },
  }),
);
