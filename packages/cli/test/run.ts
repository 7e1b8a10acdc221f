import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MockServer, type MockServerOptions, startMockServer } from '@oidc-auth/mock-server';
import { afterEachTest, cleanupsFor } from '@oidc-auth/test-support/cleanup';
import { inject } from 'vitest';

/** The source of the command (for messages); the tests spawn {@link cliBin}. */
export const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** The command as the tests run it: `src/bin.ts` bundled once per run (see global-setup.ts). */
export const cliBin = (): string => inject('cliBin');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `oidc-auth` command (built from source) as a child process, no TTY. */
export async function oidcAuth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(process.execPath, ['--enable-source-maps', cliBin(), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

/**
 * Runs the command in this process (`main` with captured output): the same code as the binary,
 * without a process start. For what needs no terminal and no signal; the environment is only
 * what is passed (no process.env), with `INTERACTIVE_SESSION=0` unless given, so that a test
 * run from a terminal (whose stderr the test process shares) never prompts. Tests of the
 * terminal rules spawn the command instead ({@link oidcAuth}).
 */
export async function inProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const { main } = await import('../src/main.js');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { INTERACTIVE_SESSION: '0', ...env },
  });
  return { code, stdout, stderr };
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEachTest(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/**
 * A mock server (approving at the first poll) and a temporary token file, both removed after the
 * test (after a concurrent test, its own; see concurrentTest).
 */
export async function setup(options: MockServerOptions = {}) {
  const server = await startMockServer({ interval: 1, autoApprove: 0, ...options });
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-'));
  cleanupsFor(cleanups).push(
    () => server.close(),
    () => rm(dir, { recursive: true, force: true }),
  );
  const file = join(dir, 'token-store.json');
  return { server, file, env: { OIDC_TOKEN_FILE: file } };
}

/** Stores a fresh login of `server` in `file` (mode 0600), as if made an hour ago. */
export async function seed(
  server: MockServer,
  file: string,
  overrides: { expiresIn?: number; subject?: string; expires?: number } = {},
) {
  const t = server.issueToken(overrides.subject ? { subject: overrides.subject } : {});
  const expires =
    overrides.expires ??
    (overrides.expiresIn === undefined
      ? t.expires
      : Math.floor(Date.now() / 1000) + overrides.expiresIn);
  const token = { ...t, expires, headers: { Authorization: `Bearer ${t.access_token}` } };
  await writeFile(
    file,
    JSON.stringify({ [server.url]: { token, stored_at: Date.now() / 1000 - 3600 } }),
    { mode: 0o600 },
  );
  return token;
}

/** The token stored for `host` in the token file `file` (undefined when there is none). */
export async function stored(file: string, host: string) {
  return JSON.parse(await readFile(file, 'utf8'))[host]?.token;
}
