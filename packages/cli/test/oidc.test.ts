import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Token } from '@oidc-auth/core';
import { cleanupsFor, concurrentTest } from '@oidc-auth/test-support/cleanup';
import { clientId, dpopClientId, startProvider } from '@oidc-auth/test-support/oidc-provider';
import { afterEach } from 'vitest';
import { oidcAuth } from './run.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The one login stored in `path`, under its session key: the issuer, then `client`'s identity. */
async function storedLogin(path: string, issuer: string, client: string) {
  const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, { token: Token }>;
  const keys = Object.keys(file);
  const [key] = keys;
  if (keys.length !== 1 || !key?.startsWith(`${issuer}#client_id=${client}&`)) {
    throw new Error(`expected one login of ${client} at ${issuer}, found ${keys.join(', ')}`);
  }
  return file[key]?.token as Token;
}

concurrentTest(
  'logs in to an OpenID Provider with --client-id and stores the token under its session (issuer and client)',
  async ({ expect }) => {
    const op = await startProvider();
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-oidc-'));
    cleanupsFor(cleanups).push(
      () => op.close(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const file = join(dir, 'tokens.json');
    const login = oidcAuth(['login', `${op.issuer}/`, '--client-id', clientId, '--json'], {
      OIDC_TOKEN_FILE: file,
    });
    await expect.poll(() => op.pendingUserCodes().length, { timeout: 15_000 }).toBe(1);
    await op.decide(op.pendingUserCodes()[0] ?? '', 'approve');
    const res = await login;
    expect(res.code).toBe(0);
    const token = JSON.parse(res.stdout);
    expect((await storedLogin(file, op.issuer, clientId)).access_token).toBe(token.access_token);
  },
);

concurrentTest(
  '--dpop: logs in with a DPoP-bound token, says who, never prints the key, and refuses to print a bare header',
  async ({ expect }) => {
    const op = await startProvider();
    op.requireDpopNonce(true);
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-dpop-'));
    cleanupsFor(cleanups).push(
      () => op.close(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const env = { OIDC_TOKEN_FILE: join(dir, 'tokens.json') };
    const login = oidcAuth(['login', op.issuer, '--client-id', dpopClientId, '--dpop'], env);
    await expect.poll(() => op.pendingUserCodes().length, { timeout: 15_000 }).toBe(1);
    await op.decide(op.pendingUserCodes()[0] ?? '', 'approve');
    const res = await login;
    expect(res.code).toBe(0);
    // The user comes from the verified ID token.
    expect(res.stderr).toContain(`Logged in to ${op.issuer} as tester`);
    const stored = await storedLogin(env.OIDC_TOKEN_FILE, op.issuer, dpopClientId);
    expect(stored).toMatchObject({ token_type: 'DPoP', dpop_key: { kty: 'EC' } });

    const json = await oidcAuth(
      ['token', op.issuer, '--client-id', dpopClientId, '--dpop', '--json', '--with-refresh'],
      env,
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      token_type: 'DPoP',
      refresh_token: stored.refresh_token,
    });
    expect(json.stdout).not.toContain('dpop_key');
    expect(json.stdout).not.toContain(stored.dpop_key?.d);

    const bare = await oidcAuth(['token', op.issuer, '--client-id', dpopClientId, '--dpop'], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('DPoP-bound');
    expect(bare.stdout).toBe('');

    const misuse = await oidcAuth(['login', 'https://app.example.org', '--dpop'], env);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toContain('--dpop goes with --client-id');
  },
);

concurrentTest(
  '--client-id: a stored token the provider already revoked is never printed or called a login (userinfo says so)',
  async ({ expect }) => {
    const op = await startProvider();
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-oidc-revoked-'));
    cleanupsFor(cleanups).push(
      () => op.close(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const env = { OIDC_TOKEN_FILE: join(dir, 'tokens.json') };
    const login = oidcAuth(['login', op.issuer, '--client-id', clientId], env);
    await expect.poll(() => op.pendingUserCodes().length, { timeout: 15_000 }).toBe(1);
    await op.decide(op.pendingUserCodes()[0] ?? '', 'approve');
    expect((await login).code).toBe(0);
    const revoked = (await storedLogin(env.OIDC_TOKEN_FILE, op.issuer, clientId)).access_token;
    await (await op.provider.AccessToken.find(revoked))?.destroy();

    const header = await oidcAuth(['token', op.issuer, '--client-id', clientId, '--header'], env);
    expect(header.code).toBe(0);
    expect(header.stdout).toMatch(/^Authorization: Bearer \S+\n$/);
    expect(header.stdout).not.toContain(revoked);
    const renewed = await storedLogin(env.OIDC_TOKEN_FILE, op.issuer, clientId);
    expect(renewed.access_token).not.toBe(revoked);
    expect(header.stdout).toContain(renewed.access_token);
    // The new token is one the provider accepts.
    expect(await op.provider.AccessToken.find(renewed.access_token)).toBeDefined();
  },
);

concurrentTest(
  "the issuer form pointed at a py-oidc-auth host never takes its login for an OpenID Provider's, whatever client its JWT names",
  async ({ expect }) => {
    const { setup } = await import('./run.js');
    const { writeFile } = await import('node:fs/promises');
    // A py-oidc-auth server as deployed: its routes, no OpenID Provider at its root.
    const { server, file, env } = await setup({ openIdProvider: false });
    const now = Math.floor(Date.now() / 1000);
    const claims = Buffer.from(JSON.stringify({ azp: 'app', sub: 'u' })).toString('base64url');
    // What py-oidc-auth-client stores for a server whose IdP issues JWT access tokens.
    const token = {
      access_token: `e30.${claims}.sig`,
      token_type: 'Bearer',
      expires: now + 3600,
      refresh_token: 'rt',
      refresh_expires: now + 7200,
      scope: 'openid offline_access',
    };
    await writeFile(file, JSON.stringify({ [server.url]: { token, stored_at: now } }), {
      mode: 0o600,
    });
    const res = await oidcAuth(['login', server.url, '--client-id', 'app'], {
      ...env,
      OIDC_ALLOW_INSECURE_HTTP: '1',
    });
    expect(res.stdout).not.toContain('Logged in');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/discovery/);
    // The py-oidc-auth login stays where it was, for the py-oidc-auth form.
    expect(JSON.parse(await readFile(file, 'utf8'))[server.url].token.access_token).toBe(
      token.access_token,
    );
  },
);
