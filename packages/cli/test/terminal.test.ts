import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchJobVariables } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';
import { cleanupsFor, concurrentTest } from '@oidc-auth/test-support/cleanup';
import { afterEach, describe } from 'vitest';
import { cliBin } from './run.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Runs the binary on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv, redirect = '') {
  const command = [process.execPath, '--enable-source-maps', cliBin(), ...args]
    .map(quote)
    .join(' ')
    .concat(redirect);
  const clean = { ...process.env };
  for (const name of batchJobVariables) delete clean[name];
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...clean, TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanupsFor(cleanups).push(() => child.kill('SIGKILL'));
  let screen = '';
  child.stdout.on('data', (c) => {
    screen += c;
  });
  const exited = once(child, 'exit').then(([code]) => code as number);
  return { screen: () => screen, exited, type: (text: string) => child.stdin.write(text) };
}

async function setup() {
  const server = await startMockServer({ interval: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-tty-'));
  cleanupsFor(cleanups).push(
    () => server.close(),
    () => rm(dir, { recursive: true, force: true }),
  );
  const opened = join(dir, 'opened.txt');
  const browser = join(dir, 'browser.sh');
  await writeFile(browser, `#!/bin/sh\necho "$1" > ${quote(opened)}\n`);
  await chmod(browser, 0o755);
  return { server, opened, env: { OIDC_TOKEN_FILE: join(dir, 'tokens.json'), BROWSER: browser } };
}

describe('login on a terminal', () => {
  concurrentTest(
    'shows a QR code, a spinner with the time left, and opens the browser',
    async ({ expect }) => {
      const { server, opened, env } = await setup();
      const run = onTerminal(['login', server.url], env);
      await expect.poll(() => run.screen(), { timeout: 15_000 }).toContain('Waiting for approval');
      const [code] = server.pendingUserCodes();
      const screen = run.screen();
      expect(screen).toContain(`${server.url}/device?user_code=${code}`);
      expect(screen).toMatch(/[█▀▄]{10}/);
      expect(screen).toMatch(/Waiting for approval… \d+:\d\d left/);
      expect(screen).toContain('\x1b[1m');
      await expect
        .poll(() => readFile(opened, 'utf8').catch(() => ''), { timeout: 5000 })
        .toContain(`user_code=${code}`);
      server.approve(code ?? '');
      expect(await run.exited).toBe(0);
      expect(run.screen()).toContain(`Logged in to ${server.url}`);
    },
  );

  concurrentTest(
    'Ctrl-C during a login says it was cancelled and exits 130',
    async ({ expect }) => {
      const { server, env } = await setup();
      const run = onTerminal(['login', server.url, '--no-browser'], env);
      await expect.poll(() => run.screen(), { timeout: 15_000 }).toContain('Waiting for approval');
      run.type('\x03');
      expect(await run.exited).toBe(130);
      expect(run.screen()).toContain('oidc-auth: cancelled.');
    },
  );

  concurrentTest('respects NO_COLOR and --no-browser', async ({ expect }) => {
    const { server, opened, env } = await setup();
    const run = onTerminal(['login', server.url, '--no-browser'], { ...env, NO_COLOR: '1' });
    await expect.poll(() => run.screen(), { timeout: 15_000 }).toContain('Waiting for approval');
    server.approveAll();
    expect(await run.exited).toBe(0);
    expect(run.screen()).not.toContain('\x1b[1m');
    expect(await readFile(opened, 'utf8').catch(() => 'not opened')).toBe('not opened');
  });

  concurrentTest(
    '`token` on a terminal may prompt, and prints only the token on stdout',
    async ({ expect }) => {
      const { server, env } = await setup();
      server.configure({ autoApprove: 0 });
      const run = onTerminal(['token', server.url, '--no-browser'], env);
      expect(await run.exited).toBe(0);
      expect(run.screen()).toMatch(/at_[\w-]+\r?\n/);
    },
  );

  concurrentTest(
    '`token` with stdin and stdout redirected still prompts on the terminal its stderr is (a person is there)',
    async ({ expect }) => {
      const { server, env } = await setup();
      server.configure({ autoApprove: 0 });
      const out = `${env.OIDC_TOKEN_FILE}.out`;
      const run = onTerminal(
        ['token', server.url, '--no-browser'],
        env,
        ` </dev/null >${quote(out)}`,
      );
      expect(await run.exited).toBe(0);
      expect(run.screen()).toContain(`${server.url}/device?user_code=`);
      expect(await readFile(out, 'utf8')).toMatch(/^at_[\w-]+\n$/);
    },
  );
});
