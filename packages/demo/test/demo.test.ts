import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { batchJobVariables } from '@oidc-auth/core';
import { afterEach, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

it('on a terminal, the demo names --auto-approve beside the link to click, and runs once approved', async () => {
  const command = [process.execPath, '--conditions=@oidc-auth/source', '--import', 'tsx', demo]
    .concat(['--seconds', '1'])
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', NO_COLOR: '1' };
  for (const name of batchJobVariables) delete env[name];
  // util-linux `script` gives the demo a terminal, as a person running `pnpm demo` has.
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    // From the workspace root, where tsx is installed.
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let screen = '';
  child.stdout.on('data', (chunk) => {
    screen += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => code as number);
  await expect.poll(() => screen, { timeout: 15_000 }).toContain('--auto-approve');
  // The person clicks Approve for each device login the demo shows (the server's revocation in
  // the middle asks for a second one).
  const approved = new Set<string>();
  const approveShown = async () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are stripped.
    const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const [, origin, code] of plain.matchAll(
      /open (http:\/\/127\.0\.0\.1:\d+)\/\S*user_code=([A-Z0-9-]+)/g,
    )) {
      if (!code || approved.has(code)) continue;
      approved.add(code);
      const answer = await fetch(`${origin}/_mock/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_code: code }),
      });
      expect(answer.status).toBe(200);
    }
  };
  await approveShown();
  child.stdout.on('data', () => void approveShown());
  expect(await exited).toBe(0);
  expect(approved.size).toBeGreaterThanOrEqual(1);
  // The table adds up: every request is ok, failed or still in flight when it was drawn.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are stripped.
  const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  expect(plain).toMatch(/adapter\s+requests\s+ok\s+failed\s+in flight\s+401 recovered/);
  const rows = [
    ...plain.matchAll(/^\s*(fetch|axios|ky|got)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s*$/gm),
  ];
  expect(rows.length).toBeGreaterThanOrEqual(4);
  for (const [, , requests, ok, failed, inFlight] of rows) {
    expect(Number(requests)).toBe(Number(ok) + Number(failed) + Number(inFlight));
  }
}, 60_000);
