import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import projects from './vitest.workspace.js';

export default defineConfig({
  resolve: {
    // Workspace packages export their sources under this condition (see each package.json).
    conditions: ['@oidc-auth/source'],
  },
  ssr: {
    resolve: {
      conditions: ['@oidc-auth/source'],
    },
  },
  test: {
    projects,
    // Both cores of the 2-core machines: many tests wait on child processes and servers.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A test that reaches the default token file never touches the user's own: the default
    // folder is a scratch one, and OIDC_TOKEN_FILE from the shell does not count.
    env: { XDG_CACHE_HOME: join(tmpdir(), 'oidc-auth-test-cache'), OIDC_TOKEN_FILE: '' },
    // Fail the run on an unhandled rejection anywhere.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
