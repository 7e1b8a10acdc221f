import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defer } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/refresh-child.ts', import.meta.url));

export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the child prints. */
  line(): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts the fixture in a new Node process (TypeScript through tsx). */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
  });
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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
    if (code !== 0 && stderr) process.stderr.write(`child stderr:\n${stderr}\n`);
    return code as number | null;
  });
  return {
    process: child,
    line: () => {
      const next = queue.shift();
      return next !== undefined ? Promise.resolve(next) : new Promise((r) => waiters.push(r));
    },
    exited,
  };
}
