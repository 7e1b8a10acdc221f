import { type AuthError, MemoryTokenStore, TokenManager } from '@oidc-auth/core';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess, seed, setup, stored } from './run.js';

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
    "logs in to the mock server's standard OpenID Provider with --client-id, as the providers guide shows",
    async ({ expect }) => {
      const { server, env } = await setup({ clients: [{ clientId: 'my-app' }] });
      const res = await inProcess(
        ['login', server.url, '--client-id', 'my-app', '--no-browser'],
        env,
      );
      expect(res.stderr).toContain(`Logged in to ${server.url}`);
      expect(res.code).toBe(0);
      expect(server.stats().routes['device-authorization']).toBe(1);
      expect(server.stats().grants.device_code).toBeGreaterThan(0);
      const stranger = await inProcess(
        ['login', server.url, '--client-id', 'nobody', '--no-browser'],
        env,
      );
      expect(stranger.code).not.toBe(0);
      expect(stranger.stderr).toMatch(/invalid_client[\s\S]*[Cc]heck (the )?clientId|client id/);
    },
  );

  concurrentTest(
    'a host given with a path the py-oidc-auth routes are not under: names the user from the root, and says which host to give',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file);
      const res = await inProcess(['login', `${server.url}/api`], env);
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(`Logged in to ${server.url} as mock-user`);
      expect(res.stderr).toContain(
        `Note: the py-oidc-auth routes answer at ${server.url}, not under /api: give ${server.url} as the host.`,
      );
      // The API under /api answered the first userinfo request: an answer without sub is no user.
      expect(server.stats().paths['/api/auth/v2/userinfo']?.calls).toBe(1);
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

describe('the login command a program is told to run', () => {
  concurrentTest(
    'names the very session the program keys by: its scopes and DPoP included',
    async ({ expect }) => {
      const { env } = await setup();
      for (const extra of [{}, { scopes: 'openid offline_access email' }, { dpop: true }]) {
        const manager = new TokenManager({
          issuer: 'https://id.example.org/realms/x',
          clientId: 'app',
          store: new MemoryTokenStore(),
          interactive: false,
          ...extra,
        });
        const refused = await manager.getToken().catch((error: AuthError) => error);
        manager.close();
        const detail = (refused as AuthError).detail as { command?: string } | undefined;
        const command = detail?.command ?? '';
        // The command as a shell splits it, run as `status --json`: the key it names.
        const argv = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
        expect(argv.slice(0, 2)).toEqual(['oidc-auth', 'login']);
        const status = await inProcess(['status', ...argv.slice(2), '--json'], env);
        expect(JSON.parse(status.stdout)).toEqual([{ host: manager.host, loggedIn: false }]);
      }
    },
  );
});
