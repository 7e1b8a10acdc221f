import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The test projects, one per package. The root `vitest.config.ts` imports this list into
 * `test.projects`; each project inherits the root config (`extends: true`), which resolves
 * workspace packages to their TypeScript sources so tests need no build.
 *
 * `pnpm test` runs every `*.test.ts` except the browser tests (`*.browser.test.ts`), which
 * need Debian's Chromium and run with `pnpm test:browser` (`vitest.browser.config.ts`).
 */
const packages = ['core', 'mock-server', 'fetch', 'axios', 'ky', 'got', 'cli', 'contract', 'demo'];

export const browserTests = 'test/**/*.browser.test.ts';

/** Core's replayed-provider tests: nock is installed by a shared module's hooks, per file. */
const replays = 'test/providers/**/*.test.ts';

const projects: TestProjectInlineConfiguration[] = [
  ...packages.map(
    (name): TestProjectInlineConfiguration => ({
      extends: true,
      test: {
        name,
        root: `packages/${name}`,
        include: ['test/**/*.test.ts'],
        exclude: [browserTests, '**/node_modules/**', ...(name === 'core' ? [replays] : [])],
        ...(name === 'cli' ? { globalSetup: ['test/global-setup.ts'] } : {}),
        // One module graph per worker, not per file (~20 s less of pnpm test): no test file here
        // leaves global state behind. Shared helpers register their per-test cleanups with
        // contract/src/cleanup.ts, which this setup file (run before every file) flushes.
        isolate: false,
        setupFiles: ['../../vitest.setup.ts'],
      },
    }),
  ),
  {
    // A fresh module graph per file: transcript.ts registers nock's hooks when it is imported,
    // which happens once per graph.
    extends: true,
    test: {
      name: 'core-providers',
      root: 'packages/core',
      include: [replays],
      setupFiles: ['../../vitest.setup.ts'],
    },
  },
];

export default projects;
