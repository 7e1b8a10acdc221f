import { fileURLToPath } from 'node:url';
import { type ScriptProcess, startScript } from '@oidc-auth/test-support/script-process';
import { defer } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/refresh-child.ts', import.meta.url));

export type Child = ScriptProcess;

/** Starts the fixture in a new Node process (TypeScript through tsx); killed after the test. */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return startScript(script, args, { env, cleanup: defer });
}
