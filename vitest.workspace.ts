import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The test projects, one per package. The root `vitest.config.ts` imports this list into
 * `test.projects`; each project inherits the root config (`extends: true`), which resolves
 * workspace packages to their TypeScript sources so tests need no build.
 */
const packages = ['core', 'mock-server', 'fetch', 'axios', 'ky', 'got', 'cli'];

export default packages.map(
  (name): TestProjectInlineConfiguration => ({
    extends: true,
    test: {
      name,
      root: `packages/${name}`,
      include: ['test/**/*.test.ts'],
    },
  }),
);
