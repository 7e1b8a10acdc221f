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
  '-p 53100 53101 (argparse nargs) names the form that works; usage errors exit 2',
  async ({ expect }) => {
    const res = await inProcess(['https://x.example', '-p', '53100', '53101'], {
      OIDC_TOKEN_FILE: join(tmpdir(), 'never-written.json'),
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('give several ports as -p 53100,53101 (or -p 53100 -p 53101)');
  },
);

concurrentTest(
  'login -p 53100 53101 with OIDC_HOST set: the second port is never taken for a host (usage error, exit 2, no connection)',
  async ({ expect }) => {
    const res = await inProcess(['login', '-p', '53100', '53101'], {
      OIDC_HOST: 'https://x.example',
      OIDC_TOKEN_FILE: join(tmpdir(), 'never-written.json'),
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      '53101 is a port, not a host: give several ports as -p 53100,53101',
    );
    expect(res.stderr).not.toMatch(/0\.0\.207\.109|TLS|certificate/);
  },
);
