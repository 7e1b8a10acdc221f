import { lookup } from 'node:dns/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe, expect, it } from 'vitest';
import { inProcess, oidcAuth, setup } from './run.js';

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
      // A port without -p: never a second host.
      ['login', 'https://x.example', '53101'],
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
