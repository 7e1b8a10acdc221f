import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockServer } from '@oidc-auth/mock-server';
import { chromium as debianChromium } from '@oidc-auth/test-support/chromium';
import { chromium } from 'playwright-core';
import { afterEach, expect, it } from 'vitest';
import { bin } from './run.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a person opens the printed URL in Chromium, clicks Approve, and the waiting login completes', async () => {
  const server = await startMockServer({ interval: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-browser-'));
  cleanups.push(
    () => server.close(),
    () => rm(dir, { recursive: true, force: true }),
  );

  const login = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', bin, 'login', server.url, '--no-browser'],
    {
      env: { ...process.env, OIDC_TOKEN_FILE: join(dir, 'tokens.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => login.kill('SIGKILL'));
  const exited = once(login, 'exit');
  let stderr = '';
  login.stderr.on('data', (c) => {
    stderr += c;
  });
  await expect
    .poll(() => /https?:\/\/\S+\/device\?user_code=\S+/.test(stderr), { timeout: 15_000 })
    .toBe(true);
  const url = /https?:\/\/\S+\/device\?user_code=\S+/.exec(stderr)?.[0] ?? '';

  const browser = await chromium.launch(debianChromium);
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  expect(await page.textContent('#user-code')).toBe(new URL(url).searchParams.get('user_code'));
  await page.click('#approve');
  await expect.poll(() => page.textContent('#result')).toContain('Device approved');

  const [code] = await exited;
  expect(code).toBe(0);
  expect(stderr).toContain(`Logged in to ${server.url}`);
});
