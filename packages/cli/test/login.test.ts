import { readFile } from 'node:fs/promises';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess, seed, setup } from './run.js';

async function stored(file: string, host: string) {
  return JSON.parse(await readFile(file, 'utf8'))[host]?.token;
}

describe('oidc-auth login', () => {
  concurrentTest(
    'runs the device login, prints URI and code, and stores the token',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      const res = await inProcess(['login', server.url, '--no-browser'], env);
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(`${server.url}/device?user_code=`);
      expect(res.stderr).toMatch(/enter the code [A-Z]{4}-[A-Z]{4}/);
      expect(res.stderr).toContain(`Logged in to ${server.url}`);
      expect(res.stdout).toBe('');
      expect((await stored(file, server.url)).access_token).toMatch(/^at_/);
      expect(server.stats().device.issued).toBe(1);
    },
  );

  concurrentTest(
    'uses a stored valid token without logging in, and --force logs in anyway',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      const token = await seed(server, file);
      expect((await inProcess(['login', server.url], env)).code).toBe(0);
      expect(server.stats().device.issued).toBe(0);
      const forced = await inProcess(['login', server.url, '--force', '--json'], env);
      expect(forced.code).toBe(0);
      expect(JSON.parse(forced.stdout).access_token).not.toBe(token.access_token);
      expect(server.stats().device.issued).toBe(1);
    },
  );

  concurrentTest(
    'accepts the Python spelling `oidc-auth HOST` and custom routes',
    async ({ expect }) => {
      const { server, env } = await setup();
      const res = await inProcess(
        [server.url, '--device-route', '/auth/v2/device', '-t', '/auth/v2/token'],
        env,
      );
      expect(res.code).toBe(0);
    },
  );

  concurrentTest('exits 1 with one line when the login is denied', async ({ expect }) => {
    const { server, env } = await setup({ autoApprove: false });
    const login = inProcess(['login', server.url], env);
    await expect.poll(() => server.pendingUserCodes().length, { timeout: 10_000 }).toBe(1);
    server.deny(server.pendingUserCodes()[0] ?? '');
    const res = await login;
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n').at(-1)).toMatch(/^oidc-auth: The login was denied/);
  });
});
