import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess, seed, setup } from './run.js';
import { issuer, rows, sessionKeys, setupSessions } from './sessions.js';

describe('store management', () => {
  concurrentTest(
    'lists, removes and clears stored logins, in both spellings',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file);
      const list = await inProcess(['list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('ACCESS VALID UNTIL');
      expect(list.stdout).toContain(server.url);
      const json = JSON.parse((await inProcess(['--list', '--json'], env)).stdout);
      expect(json).toEqual([
        {
          host: server.url,
          server: server.url,
          client_id: null,
          grant: 'login',
          scope: null,
          dpop: false,
          expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          refresh_expires: expect.stringMatching(/Z$/),
        },
      ]);
      // Local time with a relative hint by default.
      expect(list.stdout).toMatch(/\(in \d+ (min|h)\)/);

      expect((await inProcess(['remove', server.url], env)).code).toBe(0);
      expect((await inProcess(['--remove', server.url], env)).code).toBe(1);
      expect((await inProcess(['list'], env)).stdout).toContain('No stored logins');

      await seed(server, file);
      expect((await inProcess(['--clear'], env)).code).toBe(0);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({});
      await seed(server, file);
      expect((await inProcess(['clear'], env)).code).toBe(0);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({});
    },
  );

  concurrentTest(
    'finds the token file readable by others: a read-only command makes it 0600 and says so, once',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { expiresIn: 5 });
      await chmod(file, 0o644);
      const listed = await inProcess(['list'], env);
      expect(listed.stderr).toMatch(
        /warning: .*token-store\.json \(mode 0644\) was readable or writable by other users; it was made 0600/,
      );
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // Fixed: the next command has nothing to warn about.
      expect((await inProcess(['list'], env)).stderr).not.toContain('warning');
    },
  );

  concurrentTest('prints no escape sequence a server sends', async ({ expect }) => {
    const { server, env } = await setup();
    server.fault({
      route: 'device',
      status: 400,
      body: JSON.stringify({ detail: 'no\u001b]0;pwned\u0007 \u001b[2Jway' }),
    });
    const res = await inProcess(['login', server.url, '--timeout', '5'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no]0;pwned [2Jway');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about them.
    expect(res.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  concurrentTest('--store names the token file', async ({ expect }) => {
    const { server, file } = await setup();
    await seed(server, file);
    expect((await inProcess(['list', '--store', file])).stdout).toContain(server.url);
  });
});

// Each case runs the binary on its own: they run side by side.

describe('oidc-auth list with several sessions of one issuer', () => {
  concurrentTest(
    'shows the client of each entry (and a service account, DPoP), as text and as JSON',
    async ({ expect }) => {
      const { server, env } = await setupSessions();
      const text = await inProcess(['list'], env);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^HOST\tCLIENT\tACCESS VALID UNTIL\tREFRESH VALID UNTIL$/m);
      const lines = text.stdout.trim().split('\n').slice(1);
      const clients = lines.map((row) => row.split('\t').slice(0, 2).join(' | ')).sort();
      expect(clients).toEqual(
        [
          `${issuer} | -`,
          `${issuer} | app-a`,
          `${issuer} | app-a (DPoP)`,
          `${issuer} | app-b`,
          `${issuer} | svc (service account)`,
          `${server.url} | -`,
        ].sort(),
      );
      const json = rows((await inProcess(['list', '--json'], env)).stdout);
      expect(json.find((row) => row.host === sessionKeys.service)).toMatchObject({
        server: issuer,
        client_id: 'svc',
        grant: 'client_credentials',
        scope: 'api:read',
        dpop: false,
      });
      expect(json.find((row) => row.host === sessionKeys.aDpop)).toMatchObject({
        client_id: 'app-a',
        grant: 'login',
        scope: 'offline_access openid',
        dpop: true,
      });
      expect(json.find((row) => row.host === server.url)).toMatchObject({
        server: server.url,
        client_id: null,
      });
    },
  );
});

describe('a token path that names a folder (issue 33: a home folder was moved away)', () => {
  concurrentTest(
    'every command ends with one typed line and exit 1, and the folder stays exactly as it was',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      const folder = dirname(file);
      await writeFile(join(folder, 'thesis.tex'), 'years of work');
      const mode = (await stat(folder)).mode;
      for (const [args, given] of [
        [['list'], { OIDC_TOKEN_FILE: folder }],
        [['status'], { OIDC_TOKEN_FILE: folder }],
        [['token', server.url], { OIDC_TOKEN_FILE: folder }],
        [['list', '--store', folder], env],
        [['remove', server.url, '--store', folder], env],
      ] as const) {
        const result = await inProcess([...args], given);
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toContain(
          `${folder} names a folder; give the file, e.g. ${join(folder, 'token-store.json')}`,
        );
        expect(result.stderr).not.toMatch(/EISDIR|at .*\.ts:\d+/);
        expect((await stat(folder)).mode).toBe(mode);
        expect(await readdir(folder)).toEqual(['thesis.tex']);
      }
    },
  );
});
