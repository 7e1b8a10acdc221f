import { bundleSources } from '@oidc-auth/test-support/script-process';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The command, from source, bundled into one file: what the tests spawn. */
    cliBin: string;
  }
}

/**
 * Bundles `src/bin.ts` and the workspace sources it imports (core from source, as the tests
 * resolve it) into one ESM file, once per run. A spawn then starts in ~0.2 s instead of the
 * ~0.6 s tsx needs to transpile the sources on every start — the CLI suite spawns the command
 * about a hundred times. The file sits in the package (`.test-bin/`, ignored by git) so that
 * `../package.json` (the version) resolves as from `dist/`.
 */
export function setup(project: TestProject): void {
  const outfile = new URL('../.test-bin/oidc-auth.mjs', import.meta.url).pathname;
  bundleSources(new URL('../src/bin.ts', import.meta.url).pathname, outfile);
  project.provide('cliBin', outfile);
}
