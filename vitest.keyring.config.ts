import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `pnpm test:keyring`: the OS keychain store against a real Secret Service — Debian's
 * gnome-keyring, started unlocked in a D-Bus session of its own by scripts/keyring-tests.sh
 * (never a mock). Never part of `pnpm test`, which needs only Node and npm; `.ci/run` installs
 * gnome-keyring and runs it.
 */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: 'keyring',
            root: 'packages/keyring',
            include: ['test/**/*.test.ts'],
            setupFiles: ['../../vitest.setup.ts'],
          },
        },
      ],
    },
  }),
);
