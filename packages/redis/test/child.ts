import { fileURLToPath } from 'node:url';
import { type ScriptProcess, startScript } from '@oidc-auth/test-support/script-process';
import { defer } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export type Worker = ScriptProcess;

/** Starts fixtures/worker.ts in a new Node process (sources through tsx); killed after the test. */
export function startWorker(args: string[], env: NodeJS.ProcessEnv = {}): Worker {
  return startScript(script, args, { cleanup: defer, env });
}
