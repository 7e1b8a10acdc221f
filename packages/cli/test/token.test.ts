import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess, oidcAuth, seed, setup, stored } from './run.js';

describe('oidc-auth token', () => {
  concurrentTest(
    'prints only the access token, or the header line, or the whole token',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      const token = await seed(server, file);
      expect(await inProcess(['token', server.url], env)).toEqual({
        code: 0,
        stdout: `${token.access_token}\n`,
        stderr: '',
      });
      expect((await inProcess(['token', server.url, '--header'], env)).stdout).toBe(
        `Authorization: Bearer ${token.access_token}\n`,
      );
      // The refresh token is left out of --json unless asked for; times also come as ISO 8601.
      const { refresh_token, ...withoutRefresh } = token;
      const iso = {
        expires_at: new Date(token.expires * 1000).toISOString(),
        refresh_expires_at: new Date(token.refresh_expires * 1000).toISOString(),
      };
      const plain = (await inProcess(['token', server.url, '--json'], env)).stdout;
      expect(JSON.parse(plain)).toEqual({ ...withoutRefresh, ...iso });
      expect(plain).not.toContain(refresh_token);
      const full = await inProcess(['token', server.url, '--json', '--with-refresh'], env);
      expect(JSON.parse(full.stdout)).toEqual({ ...token, ...iso });
    },
  );

  concurrentTest('refreshes an expiring token and stores the new one', async ({ expect }) => {
    const { server, file, env } = await setup();
    const old = await seed(server, file, { expiresIn: 10 });
    const res = await inProcess(['token', server.url], env);
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).not.toBe(old.access_token);
    expect((await stored(file, server.url)).access_token).toBe(res.stdout.trim());
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  concurrentTest(
    'never prompts off a terminal: exits 1 with the login command to run',
    async ({ expect }) => {
      const { server, env } = await setup();
      const res = await oidcAuth(['token', server.url], env);
      expect(res.code).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain(`npx --no -- oidc-auth login ${server.url}`);
      expect(server.stats().routes.device).toBe(0);
    },
  );
});
