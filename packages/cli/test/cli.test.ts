import { lookup } from 'node:dns/promises';
import { chmod, readFile, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe, expect, it } from 'vitest';
import { inProcess, oidcAuth, seed, setup } from './run.js';

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
      expect(res.stderr).toContain(`oidc-auth login ${server.url}`);
      expect(server.stats().routes.device).toBe(0);
    },
  );
});

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
describe.concurrent('usage', () => {
  it.each([
    [[], /a command is needed/],
    [['fly'], /unknown command "fly"/],
    [['token'], /token needs a HOST/],
    [
      ['login', 'https://x.example', '--bogus'],
      /^oidc-auth: unknown option --bogus \(see oidc-auth --help\)\n$/,
    ],
    [
      ['login', 'https://a.example', 'https://b.example'],
      /login takes one HOST, got: https:\/\/a.example https:\/\/b.example/,
    ],
    [['list', 'extra'], /list takes no arguments, got: extra/],
    [
      ['token', 'https://x.example', '--header', '--json'],
      /--header and --json cannot be used together/,
    ],
    [['token', 'https://x.example', '--with-refresh'], /--with-refresh goes with --json/],
    [
      ['login', 'https://x.example', '--timeout', '-5'],
      /--timeout needs a value; write --timeout=VALUE/,
    ],
    [
      ['login', 'https://x.example', '--timeout=-5'],
      /--timeout needs a positive number of seconds, got -5/,
    ],
    [['login', 'https://x.example', '--timeout', 'soon'], /--timeout needs a positive number/],
    [['login', 'ftp://x'], /must be an http\(s\) URL/],
    [
      ['login', 'https://x.example', '-p', '53100', '53101'],
      /give several ports as -p 53100,53101/,
    ],
    [['login', 'https://x.example', '-p', '0'], /-p\/--ports needs port numbers/],
    [['login', 'https://x.example', '--scope', 'openid'], /--scope goes with --client-id/],
  ])('exits 2 for %j', async (args, message) => {
    const res = await inProcess(args as string[], {
      OIDC_TOKEN_FILE: join(tmpdir(), 'never-written.json'),
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  concurrentTest('prints help with exit 0', async ({ expect }) => {
    const res = await inProcess(['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: oidc-auth <command>');
  });
});

describe('hosts that need a word of advice', () => {
  concurrentTest(
    'plain http elsewhere: the CLI names its own flag and variable, and they work',
    async ({ expect }) => {
      const { server, env } = await setup();
      // This machine's name: not a loopback name, so plain http to it needs the flag.
      const name = hostname();
      expect((await lookup(name)).address, `${name} must resolve to this machine`).toMatch(
        /^127\.|^::1$|^\d/,
      );
      const url = `http://${name}:${new URL(server.url).port}`;
      const refused = await oidcAuth(['login', url], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        'pass --allow-insecure-http (or set OIDC_ALLOW_INSECURE_HTTP=1)',
      );
      expect(refused.stderr).not.toContain('allowInsecureHttp');
      const flag = await oidcAuth(['login', url, '--allow-insecure-http', '--no-browser'], env);
      expect(flag.stderr).toContain('Logged in');
      expect(flag.code).toBe(0);
      const variable = await oidcAuth(['token', url], { ...env, OIDC_ALLOW_INSECURE_HTTP: '1' });
      expect(variable.code).toBe(0);
      expect(variable.stdout).toMatch(/^at_/);
    },
  );

  concurrentTest(
    'a misspelt host gets the host-name advice first, not the plain-http one',
    async ({ expect }) => {
      const env = { OIDC_TOKEN_FILE: join(tmpdir(), 'never-written.json') };
      const http = await inProcess(['login', 'http://localhsot:8400'], env);
      expect(http.stderr).toContain(
        'The host "localhsot" does not exist (did you mean localhost?)',
      );
      expect(http.stderr).not.toContain('insecure');
      const bare = await inProcess(['login', 'localhsot:8400'], env);
      expect(bare.code).toBe(1);
      expect(bare.stderr).toContain('ENOTFOUND');
      expect(bare.stderr).toContain('(did you mean localhost?)');
    },
  );

  concurrentTest(
    'a port fetch refuses to use is named, not ERR_SOCKET_BAD_PORT',
    async ({ expect }) => {
      const res = await inProcess(['login', '127.0.0.1:1'], {
        OIDC_TOKEN_FILE: join(tmpdir(), 'never-written.json'),
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('port 1 is not one a client may connect to');
    },
  );
});
