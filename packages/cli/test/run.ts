import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `oidc-auth` binary (from source, through tsx) as a child process, no TTY. */
export async function oidcAuth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', bin, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
