// The command-line rows of docs/guides/from-python.md, in the Python client's spellings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { inProcess, setup } from './run.js';

concurrentTest(
  'python -m py_oidc_auth_client HOST --force --timeout N --app-name NAME --json -l -t -d -p …',
  async ({ expect }) => {
    const { server } = await setup();
    const cache = await mkdtemp(join(tmpdir(), 'oidc-auth-xdg-'));
    try {
      const env = { XDG_CACHE_HOME: cache };
      const args = [server.url, '--timeout', '120', '--app-name', 'my-project', '--json'];
      const routes = ['-l', '/auth/v2/login', '-t', '/auth/v2/token', '-d', '/auth/v2/device'];
      const first = await inProcess([...args, ...routes, '-p', '53100,53101', '--no-browser'], env);
      expect(first.code).toBe(0);
      const token = JSON.parse(first.stdout);
      expect(token).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
      expect(token.refresh_token).toBeUndefined();
      const forced = await inProcess([...args, '--force', '--no-browser'], env);
      expect(JSON.parse(forced.stdout).access_token).not.toBe(token.access_token);
      expect(server.stats().grants.device_code).toBe(2);

      // --list, --remove HOST, --clear, with the same --app-name (the cache folder it names).
      const listed = await inProcess(['--list', '--app-name', 'my-project'], env);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(server.url);
      expect(
        (await inProcess(['--remove', server.url, '--app-name', 'my-project'], env)).code,
      ).toBe(0);
      expect((await inProcess(['--list', '--app-name', 'my-project'], env)).stdout).not.toContain(
        server.url,
      );
      expect((await inProcess(['--clear', '--app-name', 'my-project'], env)).code).toBe(0);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  },
);

concurrentTest(
  '-p 53100 53101 (argparse nargs) is taken as Python takes it: two ports, before or after the host',
  async ({ expect }) => {
    const { parse, portsOf } = await import('../src/args.js');
    for (const argv of [
      ['https://x.example', '-p', '53100', '53101'],
      ['-p', '53100', '53101', 'https://x.example'],
      ['--ports', '53100', '53101', 'https://x.example'],
      ['https://x.example', '-p', '53100,53101'],
      ['https://x.example', '-p', '53100', '-p', '53101'],
    ]) {
      const { values, positionals } = parse(argv);
      expect(portsOf(values)).toEqual([53100, 53101]);
      expect(positionals).toEqual(['https://x.example']);
    }
    // And a whole login with them: the device flow at the host, the ports kept for a browser.
    const { server, env } = await setup();
    const res = await inProcess([server.url, '-p', '53100', '53101', '--no-browser'], env);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`Logged in to ${server.url}`);
  },
);

concurrentTest(
  'login -p 53100 53101 with OIDC_HOST set: both are ports, the host is OIDC_HOST (never 53101)',
  async ({ expect }) => {
    const { server, env } = await setup();
    const res = await inProcess(['login', '-p', '53100', '53101', '--no-browser'], {
      ...env,
      OIDC_HOST: server.url,
    });
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`Logged in to ${server.url}`);
    expect(res.stderr).not.toMatch(/0\.0\.207\.109|TLS|certificate/);
  },
);
