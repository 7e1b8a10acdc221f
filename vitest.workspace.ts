import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The test projects. The root `vitest.config.ts` imports this list into `test.projects`; each
 * project inherits the root config (`extends: true`), which resolves workspace packages to their
 * TypeScript sources so tests need no build.
 *
 * `pnpm test` runs every package's `*.test.ts` except the browser tests (`*.browser.test.ts`),
 * which need Debian's Chromium and run with `pnpm test:browser` (`vitest.browser.config.ts`),
 * and the Redis store's, which need redis-server (`pnpm test:redis`).
 *
 * The packages' tests are one project, `node`: its files share one module graph per worker, so
 * core, the mock server, oidc-provider and the contract load twice per run, not twice per
 * package (nine packages: import 20 s → 9 s, `pnpm test` ~10 s less on 2 cores). A test file
 * must therefore leave no global state behind. One package's tests: `pnpm --filter
 * @oidc-auth/cli test`, or `npx vitest run packages/cli/`.
 */
const packages = [
  'core',
  'mock-server',
  'fetch',
  'axios',
  'ky',
  'got',
  'undici',
  'cli',
  'contract',
  'demo',
  'otel',
];

export const browserTests = 'test/**/*.browser.test.ts';

/** Core's replayed-provider tests: nock is installed by a shared module's hooks, per file. */
const replays = 'packages/core/test/providers/**/*.test.ts';

/** Tests that replace a Node module (`vi.mock`): a module graph of their own. */
const mocksModules = 'packages/*/test/**/*.mocked.test.ts';

const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'node',
      include: packages.map((name) => `packages/${name}/test/**/*.test.ts`),
      exclude: [`packages/*/${browserTests}`, '**/node_modules/**', replays, mocksModules],
      // The CLI's tests spawn the command bundled once per run.
      globalSetup: ['packages/cli/test/global-setup.ts'],
      // Shared helpers register their per-test cleanups with test-support/src/cleanup.ts, which
      // this setup file (run before every file) flushes after each test.
      isolate: false,
      setupFiles: ['./vitest.setup.ts'],
    },
  },
  {
    // A fresh module graph per file: transcript.ts registers nock's hooks when it is imported,
    // which happens once per graph.
    extends: true,
    test: {
      name: 'core-providers',
      include: [replays],
      setupFiles: ['./vitest.setup.ts'],
    },
  },
  {
    // A fresh module graph per file: `vi.mock` of a Node module (a full disk's ENOSPC) must not
    // reach the files that share the node project's graph.
    extends: true,
    test: {
      name: 'node-mocked',
      include: [mocksModules],
      setupFiles: ['./vitest.setup.ts'],
    },
  },
];

export default projects;
