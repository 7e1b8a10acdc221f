import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A TypeScript script running in its own Node process, talked to a line at a time. */
export interface ScriptProcess {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the script prints. */
  line(): Promise<string>;
  /** Writes one line to the script's stdin. */
  send(line: string): void;
  /** Resolves with the exit code (its stderr is printed when it is not 0). */
  exited: Promise<number | null>;
}

/**
 * Starts `script` with tsx, workspace packages resolved to their sources, and hands `cleanup`
 * the function that kills it (resumed first, in case a test paused it) — to run after the test.
 */
export function startScript(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cleanup: (fn: () => void) => void },
): ScriptProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', script, ...args],
    { env: { ...process.env, ...options.env } },
  );
  options.cleanup(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => {
    if (code !== 0 && stderr) process.stderr.write(`${script} stderr:\n${stderr}\n`);
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
