import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildSync } from 'esbuild';

const bundles = new Map<string, string>();

/**
 * Bundles `entry` and the workspace sources it imports (resolved to their TypeScript, as tests
 * see them) into one ESM file that Node starts without tsx.
 */
export function bundleSources(entry: string, outfile: string): void {
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@oidc-auth/source'],
    // A native binding is loaded where it is installed, never bundled.
    external: ['@napi-rs/keyring'],
    // CommonJS dependencies (proper-lockfile, qrcode, ioredis) require Node built-ins.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    sourcemap: 'inline',
    logLevel: 'error',
  });
}

/**
 * `script` and the workspace sources it imports, bundled into one ESM file once per test
 * process: a child then starts in ~0.15 s, where tsx would transpile the sources again in every
 * child (~0.6 s each; the fleet and cross-process tests start dozens). Removed at exit.
 */
function bundled(script: string): string {
  let outfile = bundles.get(script);
  if (outfile) return outfile;
  const tag = createHash('sha256').update(script).digest('hex').slice(0, 8);
  outfile = join(tmpdir(), `oidc-auth-${process.pid}-${tag}-${basename(script, '.ts')}.mjs`);
  bundleSources(script, outfile);
  const file = outfile;
  process.once('exit', () => rmSync(file, { force: true }));
  bundles.set(script, file);
  return file;
}

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
 * Starts `script` (bundled from the workspace sources, see {@link bundled}) in a Node process,
 * and hands `cleanup` the function that kills it (resumed first, in case a test paused it) — to
 * run after the test.
 */
export function startScript(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cleanup: (fn: () => void) => void },
): ScriptProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', bundled(script), ...args], {
    env: { ...process.env, ...options.env },
  });
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
