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

export default packages.map(
  (name): TestProjectInlineConfiguration => ({
    extends: true,
    test: {
      name,
      root: `packages/${name}`,
      include: ['test/**/*.test.ts'],
      exclude: [browserTests, '**/node_modules/**'],
      ...(name === 'cli' ? { globalSetup: ['test/global-setup.ts'] } : {}),
      // One module graph per worker, not per file (~10 s less of pnpm test): these files leave
      // no global state behind. Core's replayed-provider tests install and remove nock's
      // interceptors per file, so core keeps a fresh graph per file.
      ...(name === 'core' ? {} : { isolate: false }),
    },
  }),
);
