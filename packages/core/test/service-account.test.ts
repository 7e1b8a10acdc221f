import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { serviceClients, startProvider } from '../../contract/src/oidc-provider.js';
import { type AuthError, ErrorCode, MemoryTokenStore, TokenManager } from '../src/index.js';
import { defer, rejection } from './helpers.js';

async function provider() {
  const p = await startProvider();
  defer(() => p.close());
  return p;
}

function service(
  issuer: string,
  method: keyof typeof serviceClients,
  extra: Partial<ConstructorParameters<typeof TokenManager>[0] & object> = {},
): TokenManager {
  const { clientId, clientSecret } = serviceClients[method];
  const manager = new TokenManager({
    issuer,
    clientId,
    clientSecret,
    tokenEndpointAuthMethod: `client_secret_${method}`,
    grant: 'client_credentials',
    scopes: 'api:read',
    ...extra,
  } as ConstructorParameters<typeof TokenManager>[0]);
  defer(() => manager.close());
  return manager;
}

describe('service accounts (client_credentials) against oidc-provider', () => {
  for (const method of ['basic', 'post'] as const) {
    it(`gets a token with client_secret_${method}, keeps it, and gets a new one after a 401 — never a refresh token`, async () => {
      const op = await provider();
      const manager = service(op.issuer, method);
      const first = await manager.getToken();
      expect(first.refresh_token).toBe('');
      expect(first.scope).toBe('api:read');
      expect(await manager.authorization()).toBe(`Bearer ${first.access_token}`);
      expect(op.grants.client_credentials).toBe(1);

      const second = await manager.recover(first.access_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect(op.grants.client_credentials).toBe(2);
      expect(op.grants.refresh_token).toBeUndefined();
    });
  }

  it('100 concurrent 401s for the same token: one new token', async () => {
    const op = await provider();
    const manager = service(op.issuer, 'basic');
    const first = await manager.getToken();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => manager.recover(first.access_token)),
    );
    expect(new Set(results.map((t) => t.access_token)).size).toBe(1);
    expect(op.grants.client_credentials).toBe(2);
  });

  it('never writes the shared user token file unless a store is given', async () => {
    const op = await provider();
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-service-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const env = { OIDC_TOKEN_FILE: join(dir, 'token-store.json'), HOME: dir };
    const manager = service(op.issuer, 'basic', { env });
    await manager.getToken();
    expect(await readdir(dir)).toEqual([]);
    expect(manager.store).toBeInstanceOf(MemoryTokenStore);

    const store = new MemoryTokenStore();
    const stored = service(op.issuer, 'post', { store });
    const token = await stored.getToken();
    expect((await store.get(op.issuer))?.token.access_token).toBe(token.access_token);
  });

  it('works in a batch job: no person is asked, whatever the terminal', async () => {
    const op = await provider();
    const manager = service(op.issuer, 'basic', { interactive: false });
    await expect(manager.getToken()).resolves.toMatchObject({ token_type: 'Bearer' });
  });

  it('a wrong secret: a clear error naming what to check, and the secret nowhere in it', async () => {
    const op = await provider();
    const secret = 'canary-secret-4711-never-shown';
    const manager = service(op.issuer, 'basic', { clientSecret: secret });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.message).toMatch(/refused the service account's credentials \(invalid_client\)/);
    const basic = Buffer.from(`${serviceClients.basic.clientId}:${secret}`).toString('base64');
    const shown = [
      error.message,
      JSON.stringify(error),
      inspect(error, { depth: 10 }),
      String(error.cause),
      inspect(manager),
      JSON.stringify(manager),
    ].join('\n');
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain(basic);

    const post = service(op.issuer, 'post', { clientSecret: secret });
    const postError = await rejection(post.getToken());
    expect(`${postError.message}${JSON.stringify(postError)}${inspect(postError)}`).not.toContain(
      secret,
    );
  });

  it('refuses options that cannot work, saying what to pass', () => {
    const make = (options: object) => () =>
      new TokenManager({
        issuer: 'https://id.example.org',
        clientId: 'svc',
        ...options,
      } as ConstructorParameters<typeof TokenManager>[0]);
    expect(make({ grant: 'client_credentials' })).toThrow(/needs clientSecret/);
    expect(make({ grant: 'password', clientSecret: 'x' })).toThrow(/grant must be/);
    expect(make({ clientSecret: '' })).toThrow(/clientSecret must be/);
    expect(make({ clientSecret: 'x', tokenEndpointAuthMethod: 'private_key_jwt' })).toThrow(
      /tokenEndpointAuthMethod must be/,
    );
    try {
      make({ grant: 'client_credentials' })();
    } catch (error) {
      expect((error as AuthError).code).toBe(ErrorCode.INVALID_OPTIONS);
    }
  });
});
