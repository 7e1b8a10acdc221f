import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defer } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export interface Worker {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the worker prints. */
  line(): Promise<string>;
  send(line: string): void;
  exited: Promise<number | null>;
}

/** Starts fixtures/worker.ts in a new Node process (sources through tsx); killed after the test. */
export function startWorker(args: string[]): Worker {
  const child = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', script, ...args],
    { env: process.env },
  );
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  lines.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => {
    if (code !== 0 && stderr) process.stderr.write(`worker stderr:\n${stderr}\n`);
    return code as number | null;
  });
  return {
    process: child,
    line: () => {
      const next = queue.shift();
      return next !== undefined ? Promise.resolve(next) : new Promise((r) => waiters.push(r));
    },
    send: (line) => child.stdin.write(`${line}\n`),
    exited,
  };
}
