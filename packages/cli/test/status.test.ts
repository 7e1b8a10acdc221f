import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { batchJobVariables } from '@oidc-auth/core';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe } from 'vitest';
import { inProcess, oidcAuth, seed, setup } from './run.js';
import { issuer, rows, sessionKeys, setupSessions } from './sessions.js';

describe('oidc-auth status', () => {
  concurrentTest(
    'shows who is logged in, until when, and that the server accepts the token',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { subject: 'alice' });
      const res = await inProcess(['status'], env);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(server.url);
      expect(res.stdout).toMatch(/user: +alice/);
      expect(res.stdout).toMatch(/access: +valid until .*\(in \d+ min\)/);
      expect(res.stdout).toMatch(/server: +accepts the token/);
      expect(server.stats().routes.userinfo).toBe(1);
      const json = JSON.parse((await inProcess(['status', server.url, '--json'], env)).stdout);
      expect(json).toEqual([
        {
          host: server.url,
          server: server.url,
          client_id: null,
          user: 'alice',
          expires: expect.stringMatching(/Z$/),
          refresh_expires: expect.stringMatching(/Z$/),
          accepted: true,
          session: 'active',
        },
      ]);
    },
  );

  concurrentTest(
    'exits 1 when the server refuses the stored token, or there is no login',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { subject: 'alice' });
      server.revokeAll();
      const res = await inProcess(['status', server.url], env);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/server: +refuses the token: run npx --no -- oidc-auth login/);
      const none = await inProcess(['status', 'https://nobody.example'], env);
      expect(none.code).toBe(1);
      expect(none.stdout).toContain(
        'not logged in: run npx --no -- oidc-auth login https://nobody.example',
      );
    },
  );
});

describe('a revoked cached token', () => {
  concurrentTest('login notices it, refreshes, and says so truthfully', async ({ expect }) => {
    const { server, file, env } = await setup();
    const seeded = await seed(server, file, { subject: 'alice' });
    server.revokeAll({ keepRefresh: true });
    const res = await inProcess(['login', server.url], env);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/Logged in to .* as alice/);
    expect(server.stats().grants.refresh_token).toBe(1);
    const stored = JSON.parse(await readFile(file, 'utf8'))[server.url].token;
    expect(stored.access_token).not.toBe(seeded.access_token);
  });

  concurrentTest(
    'token prints a token the server accepts, never the revoked one',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      const seeded = await seed(server, file, { subject: 'alice' });
      server.revokeAll({ keepRefresh: true });
      const res = await inProcess(['token', server.url], env);
      expect(res.code).toBe(0);
      expect(res.stdout.trim()).not.toBe(seeded.access_token);
      const check = await fetch(`${server.url}/api/me`, {
        headers: { authorization: `Bearer ${res.stdout.trim()}` },
      });
      expect(check.status).toBe(200);
    },
  );

  concurrentTest(
    'a refused refresh, off a terminal: the session ended, log in again — no library advice',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { subject: 'alice', expires: Math.floor(Date.now() / 1000) - 5 });
      server.revokeAll();
      const res = await oidcAuth(['token', server.url], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `oidc-auth: The session ended: the server refused the refresh token. Log in again: npx --no -- oidc-auth login ${server.url}\n`,
      );
      expect(res.stderr).not.toMatch(/onDeviceCode|interactive: true/);
    },
  );
});

describe('hosts', () => {
  concurrentTest('keeps a path prefix, in requests and in advice', async ({ expect }) => {
    const { server, env } = await setup();
    const prefixed = `${server.url}/svc`;
    const res = await inProcess(['token', prefixed], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`npx --no -- oidc-auth login ${prefixed}`);
    await inProcess(['login', prefixed, '--timeout', '2'], env);
    expect(server.stats().paths['/svc/auth/v2/device']?.calls).toBe(1);
    expect(server.stats().paths['/auth/v2/device']).toBeUndefined();
  });

  concurrentTest(
    'an unreachable host fails at once, saying to check the host name',
    async ({ expect }) => {
      const { env } = await setup();
      const res = await inProcess(['login', 'http://127.0.0.1:59996'], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /Could not reach http:\/\/127\.0\.0\.1:59996 \(ECONNREFUSED\): check the host name/,
      );
      expect(res.stderr).not.toMatch(/try again later/);
    },
  );

  concurrentTest('reads the server from OIDC_HOST when HOST is left out', async ({ expect }) => {
    const { server, file, env } = await setup();
    const seeded = await seed(server, file, { subject: 'alice' });
    const res = await inProcess(['token'], { ...env, OIDC_HOST: server.url });
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(seeded.access_token);
  });
});

describe('the token file', () => {
  concurrentTest('list reports a corrupt file it moved aside, with exit 1', async ({ expect }) => {
    const { file, env } = await setup();
    await writeFile(file, '{ not json', { mode: 0o600 });
    const res = await inProcess(['list'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(
      /could not be read \(it is not valid JSON\); it was moved aside to .*token-store\.json\.corrupt-/,
    );
  });

  concurrentTest(
    'status says so too (never silently), and the copy kept aside is 0600 like the file was not',
    async ({ expect }) => {
      const { file, env } = await setup();
      await writeFile(file, '{ not json', { mode: 0o644 });
      const res = await inProcess(['status'], env);
      expect(res.code).toBe(1);
      const moved = /moved aside to (\S+token-store\.json\.corrupt-\S+?), nothing was deleted/.exec(
        res.stderr,
      )?.[1];
      expect(moved, res.stderr).toBeDefined();
      expect((await stat(moved as string)).mode & 0o777).toBe(0o600);
      expect(await readFile(moved as string, 'utf8')).toBe('{ not json');
    },
  );
});

concurrentTest('--version prints the version', async ({ expect }) => {
  const res = await inProcess(['--version']);
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  expect(res).toEqual({ code: 0, stdout: `oidc-auth ${pkg.version}\n`, stderr: '' });
});

describe('host keys from the token file', () => {
  concurrentTest('list and status print them without control characters', async ({ expect }) => {
    const { server, file, env } = await setup();
    await seed(server, file);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    const evil = 'https://evil.example\u001b[2J\u001b]0;pwned\u0007';
    stored[evil] = stored[server.url];
    await writeFile(file, JSON.stringify(stored), { mode: 0o600 });
    const listed = await inProcess(['list'], env);
    const status = await inProcess(['status'], env);
    for (const out of [listed.stdout, status.stdout]) {
      expect(out).toContain('https://evil.example');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point.
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    }
  });
});

describe('status of an expired access token', () => {
  concurrentTest(
    'a refused refresh: "session ended", the command to run, exit 1 — never "valid until"',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { subject: 'alice', expires: Math.floor(Date.now() / 1000) - 5 });
      server.revokeAll();
      const res = await inProcess(['status', server.url], env);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('session:  ended');
      expect(res.stdout).toContain(`next:     run npx --no -- oidc-auth login ${server.url}`);
      expect(res.stdout).not.toContain('valid until');
    },
  );

  concurrentTest(
    'a refresh the server grants: "refreshed", the server accepts it, exit 0',
    async ({ expect }) => {
      const { server, file, env } = await setup();
      await seed(server, file, { subject: 'alice', expires: Math.floor(Date.now() / 1000) - 5 });
      const res = await inProcess(['status', server.url], env);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('access:   refreshed, valid until');
      expect(res.stdout).toContain('server:   accepts the token');
      expect(server.stats().grants.refresh_token).toBe(1);
    },
  );

  concurrentTest('no stored logins at all: exit 1', async ({ expect }) => {
    const { env } = await setup();
    const res = await inProcess(['status'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('No stored logins');
  });
});

describe('why no login can happen here', () => {
  concurrentTest(
    'token names the real reason: a batch job variable, or no terminal — not "switched off"',
    async ({ expect }) => {
      const { server, env } = await setup();
      const batch = await oidcAuth(['token', server.url], { ...env, SLURM_JOB_ID: '4711' });
      expect(batch.code).toBe(1);
      expect(batch.stderr).toContain('SLURM_JOB_ID is set');
      // Empty batch variables count as unset (whatever machine runs this test).
      const unset = Object.fromEntries(batchJobVariables.map((name) => [name, '']));
      const piped = await oidcAuth(['token', server.url], { ...env, ...unset });
      expect(piped.code).toBe(1);
      expect(piped.stderr).toContain('no terminal is attached');
      for (const res of [batch, piped]) expect(res.stderr).not.toContain('switched off');
    },
  );

  concurrentTest(
    'FREVA_BATCH_JOB is a batch job; INTERACTIVE_SESSION=1 lets a program without a terminal log in',
    async ({ expect }) => {
      const { server, env } = await setup();
      const unset = Object.fromEntries(batchJobVariables.map((name) => [name, '']));
      const freva = await oidcAuth(['token', server.url], {
        ...env,
        ...unset,
        FREVA_BATCH_JOB: '1',
      });
      expect(freva.code).toBe(1);
      expect(freva.stderr).toContain('this is a batch job (FREVA_BATCH_JOB is set)');
      const notebook = await oidcAuth(['token', server.url, '--no-browser'], {
        ...env,
        ...unset,
        INTERACTIVE_SESSION: '1',
      });
      expect(notebook.code).toBe(0);
      expect(notebook.stderr).toContain(server.url);
      expect(notebook.stdout.trim()).toMatch(/^[\w.-]+$/);
      expect(server.stats().grants.device_code).toBe(1);
      // The batch variable wins over INTERACTIVE_SESSION=1: a batch job never waits for a person.
      const fresh = await setup();
      const both = await oidcAuth(['token', fresh.server.url], {
        ...fresh.env,
        ...unset,
        INTERACTIVE_SESSION: '1',
        SLURM_JOB_ID: '7',
      });
      expect(both.code).toBe(1);
      expect(both.stderr).toContain('SLURM_JOB_ID is set');
    },
  );
});

describe('a host that is not a py-oidc-auth server', () => {
  concurrentTest(
    'login names the likely cause and the way to an OpenID Provider (--client-id)',
    async ({ expect }) => {
      const { env } = await setup();
      // A registry-like server: its routes take GET only.
      const server = createServer((_req, res) => {
        res.writeHead(405, { 'content-type': 'text/plain' });
        res.end('Method Not Allowed');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const res = await inProcess(['login', url, '--timeout', '5'], env);
        expect(res.code).toBe(1);
        expect(res.stderr).toContain('it may not be a py-oidc-auth server');
        expect(res.stderr).toContain('--client-id');
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});

describe('oidc-auth status with several sessions of one issuer', () => {
  concurrentTest(
    'names each session by its server and client; a service account is not checked here',
    async ({ expect }) => {
      const { server, env } = await setupSessions();
      const res = await inProcess(['status'], env);
      const heads = res.stdout.split('\n').filter((line) => line !== '' && !line.startsWith(' '));
      expect(heads.sort()).toEqual(
        [
          issuer,
          `${issuer} (client app-a)`,
          `${issuer} (client app-a, DPoP)`,
          `${issuer} (client app-b)`,
          `${issuer} (client svc, service account, scope api:read)`,
          server.url,
        ].sort(),
      );
      // Said once: "not checked (an OpenID Provider)", not "…: not checked)" twice over.
      expect(res.stdout).toContain('not checked (an OpenID Provider)');
      expect(res.stdout).not.toContain('not checked (an OpenID Provider: not checked)');
      const json = rows((await inProcess(['status', '--json'], env)).stdout);
      expect(json.find((row) => row.host === sessionKeys.b)).toMatchObject({
        server: issuer,
        client_id: 'app-b',
      });
    },
  );
});
