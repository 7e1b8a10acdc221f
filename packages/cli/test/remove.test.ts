import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess } from './run.js';
import { issuer, keysIn, sessionKeys, setupSessions } from './sessions.js';

describe('oidc-auth remove', () => {
  concurrentTest(
    "with --client-id: that client's sessions of the issuer only (every scope and kind)",
    async ({ expect }) => {
      const { server, file, env } = await setupSessions();
      const res = await inProcess(['remove', issuer, '--client-id', 'app-a'], env);
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(`Removed the login of ${issuer} (client app-a).`);
      expect(res.stderr).toContain(`Removed the login of ${issuer} (client app-a, DPoP).`);
      expect(await keysIn(file)).toEqual(
        [server.url, sessionKeys.b, sessionKeys.service, sessionKeys.legacy].sort(),
      );
      expect((await inProcess(['remove', issuer, '--client-id', 'app-a'], env)).code).toBe(1);
    },
  );

  concurrentTest(
    "without: every session of the issuer (an earlier version's entry too), never a py-oidc-auth host's",
    async ({ expect }) => {
      const { server, file, env } = await setupSessions();
      const res = await inProcess(['--remove', issuer], env);
      expect(res.code).toBe(0);
      expect(res.stderr.trim().split('\n')).toHaveLength(5);
      expect(await keysIn(file)).toEqual([server.url]);
      const again = await inProcess(['remove', issuer], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`No stored login for ${issuer}.`);
      // A py-oidc-auth host is removed by its host, a path in it ignored as the Python client does.
      expect((await inProcess(['remove', `${server.url}/api/v1`], env)).code).toBe(0);
      expect(await keysIn(file)).toEqual([]);
    },
  );
});

describe('oidc-auth logout', () => {
  concurrentTest(
    'an OpenID Provider with a revocation endpoint: its tokens revoked (refresh token first), the login forgotten',
    async ({ expect }) => {
      const { FileTokenStore, TokenManager } = await import('@oidc-auth/core');
      const { startBentProvider } = await import('@oidc-auth/test-support/bent-provider');
      const { setup } = await import('./run.js');
      const provider = await startBentProvider({ revocation: 'on' });
      const { file, env } = await setup();
      const m = new TokenManager({
        issuer: provider.issuer,
        clientId: provider.clientId,
        verifyIdToken: false,
        store: new FileTokenStore({ path: file }),
        onDeviceCode: () => undefined,
      });
      const token = await m.getToken();
      m.close();
      const args = ['logout', provider.issuer, '--client-id', provider.clientId];
      const res = await inProcess(args, { ...env, OIDC_ALLOW_INSECURE_HTTP: '1' });
      await provider.close();
      expect(res.stderr).toContain(`Logged out of ${provider.issuer}`);
      expect(res.stderr).toContain('the server revoked its tokens');
      expect(res.code).toBe(0);
      expect(provider.stats.revoked.map((r) => r.token)).toEqual([
        token.refresh_token,
        token.access_token,
      ]);
      expect(await keysIn(file)).toEqual([]);
    },
  );

  concurrentTest(
    'a py-oidc-auth server: forgotten here, and it says the server cannot revoke; nothing stored: exit 1',
    async ({ expect }) => {
      const { setup, seed } = await import('./run.js');
      const { server, file, env } = await setup();
      await seed(server, file);
      const res = await inProcess(['logout', server.url], env);
      expect(res.code).toBe(0);
      expect(res.stderr).toContain(`Logged out of ${server.url}; the server cannot revoke tokens`);
      expect(await keysIn(file)).toEqual([]);
      const again = await inProcess(['logout', server.url], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`No stored login for ${server.url}`);
    },
  );

  concurrentTest(
    'remove says in its help that it only forgets, and logout that it revokes',
    async ({ expect }) => {
      const help = (await inProcess(['--help'])).stdout;
      expect(help).toMatch(/logout HOST\s+revoke the session's tokens at the server/);
      expect(help).toMatch(
        /remove HOST\s+forget the stored logins of HOST here only \(the server is not told/,
      );
    },
  );
});
