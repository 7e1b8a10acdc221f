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
