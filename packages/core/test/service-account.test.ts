import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { type BentProvider, startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { jwtServiceClient, serviceClients } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import { type AuthError, ErrorCode, MemoryTokenStore, TokenManager } from '../src/index.js';
import { defer, oidcProvider, rejection } from './helpers.js';

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
      const op = await oidcProvider();
      const manager = service(op.issuer, method);
      const first = await manager.getToken();
      expect(first.refresh_token).toBe('');
      expect(first.scope).toBe('api:read');
      expect(await manager.authorization()).toBe(`Bearer ${first.access_token}`);
      expect(op.grants.client_credentials).toBe(1);

      const sources: string[] = [];
      let refreshes = 0;
      manager.on('token', (event) => sources.push(event.source));
      manager.on('refresh', () => refreshes++);
      const second = await manager.recover(first.access_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect(op.grants.client_credentials).toBe(2);
      expect(op.grants.refresh_token).toBeUndefined();
      // Announced as the service account's own token, and counted as a refresh — not a login.
      expect(sources).toEqual(['client-credentials']);
      expect(refreshes).toBe(1);
    });
  }

  for (const [kid, alg] of [
    ['ec', 'ES256'],
    ['rsa', 'RS256'],
    ['rsa', 'PS256'],
    ['ed25519', 'EdDSA'],
  ] as const) {
    it(`a new assertion for every attempt (private_key_jwt, ${alg}): the provider's DPoP nonce retry is not a replay`, async () => {
      const op = await oidcProvider();
      op.requireDpopNonce(true);
      const manager = new TokenManager({
        issuer: op.issuer,
        clientId: jwtServiceClient.clientId,
        clientAssertionKey: { key: jwtServiceClient.keys[kid] as never, kid, alg },
        grant: 'client_credentials',
        scopes: 'api:read',
        dpop: true,
      });
      defer(() => manager.close());
      // The first attempt meets use_dpop_nonce; the second, with the nonce, needs a new jti.
      expect((await manager.getToken()).token_type).toBe('DPoP');
      expect(op.grants.client_credentials).toBe(1);
    });

    it(`authenticates with a JWT it signs (private_key_jwt, ${alg}), a new one per request`, async () => {
      const op = await oidcProvider();
      const key = jwtServiceClient.keys[kid];
      const make = (k: object | string) =>
        new TokenManager({
          issuer: op.issuer,
          clientId: jwtServiceClient.clientId,
          clientAssertionKey: { key: k as never, kid, alg },
          grant: 'client_credentials',
          scopes: 'api:read',
        });
      const manager = make(key);
      defer(() => manager.close());
      const first = await manager.getToken();
      // A second request needs a new assertion: the provider refuses a replayed jti.
      const second = await manager.recover(first.access_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect(op.grants.client_credentials).toBe(2);
      // The same key as PEM and as a JWK.
      const pem = make(key.export({ format: 'pem', type: 'pkcs8' }) as string);
      const jwk = make(key.export({ format: 'jwk' }));
      defer(() => {
        pem.close();
        jwk.close();
      });
      await pem.getToken();
      await jwk.getToken();
      expect(op.grants.client_credentials).toBe(4);
    });
  }

  it('a key the provider does not know: a clear error, and no assertion in it', async () => {
    const op = await oidcProvider();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const manager = new TokenManager({
      issuer: op.issuer,
      clientId: jwtServiceClient.clientId,
      clientAssertionKey: { key: privateKey, kid: 'ec' },
      grant: 'client_credentials',
      scopes: 'api:read',
    });
    defer(() => manager.close());
    const error = await rejection(manager.getToken());
    expect(error.message).toMatch(/invalid_client/);
    expect(`${error.message}${JSON.stringify(error)}${inspect(error)}`).not.toMatch(/eyJ/);
  });

  it('100 concurrent 401s for the same token: one new token', async () => {
    const op = await oidcProvider();
    const manager = service(op.issuer, 'basic');
    const first = await manager.getToken();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => manager.recover(first.access_token)),
    );
    expect(new Set(results.map((t) => t.access_token)).size).toBe(1);
    expect(op.grants.client_credentials).toBe(2);
  });

  it('never writes the shared user token file unless a store is given', async () => {
    const op = await oidcProvider();
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
    expect((await store.get(stored.host))?.token.access_token).toBe(token.access_token);
    expect(await store.hosts()).toEqual([stored.host]);
  });

  it('works in a batch job: no person is asked, whatever the terminal', async () => {
    const op = await oidcProvider();
    const manager = service(op.issuer, 'basic', { interactive: false });
    await expect(manager.getToken()).resolves.toMatchObject({ token_type: 'Bearer' });
  });

  it('a wrong secret: a clear error naming what to check, and the secret nowhere in it', async () => {
    const op = await oidcProvider();
    const secret = 'canary-secret-4711-never-shown';
    const manager = service(op.issuer, 'basic', { clientSecret: secret });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.message).toMatch(/refused the service account's credentials \(invalid_client\)/);
    // A program branches on the code, not the text.
    expect(error.detail).toMatchObject({ error: 'invalid_client' });
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
      /private_key_jwt goes with clientAssertionKey/,
    );
    expect(make({ clientSecret: 'x', tokenEndpointAuthMethod: 'client_secret_jwt' })).toThrow(
      /tokenEndpointAuthMethod must be/,
    );
    expect(make({ clientAssertionKey: { key: 'not a key' } })).toThrow(/must be a private key/);
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(make({ clientAssertionKey: { key: privateKey, alg: 'ES256' } })).toThrow(
      /cannot sign ES256/,
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(make({ clientAssertionKey: { key: p384 } })).toThrow(/cannot sign ES256/);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(make({ clientAssertionKey: { key: publicKey } })).toThrow(/must be a private key/);
    try {
      make({ grant: 'client_credentials' })();
    } catch (error) {
      expect((error as AuthError).code).toBe(ErrorCode.INVALID_OPTIONS);
    }
  });
});

describe('client_secret_basic with a secret that form-encoding changes (/ + = %)', () => {
  const secret = 'cs/with+signs=and%25';
  const account = (provider: BentProvider, method?: 'client_secret_post') => {
    const m = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: secret,
      grant: 'client_credentials',
      store: new MemoryTokenStore(),
      retry: { retries: 0 },
      ...(method ? { tokenEndpointAuthMethod: method } : {}),
    });
    defer(() => m.close());
    return m;
  };

  it('a provider that decodes Basic as RFC 6749 says: accepted', async () => {
    const provider = await startBentProvider({ clientSecret: secret, basic: 'rfc' });
    defer(() => provider.close());
    expect((await account(provider).getToken()).access_token).toMatch(/^at-/);
  });

  it('a provider that does not decode it refuses invalid_client: the message says why and names client_secret_post, which works', async () => {
    const provider = await startBentProvider({ clientSecret: secret, basic: 'raw' });
    defer(() => provider.close());
    const refused = await rejection(account(provider).getToken());
    expect(refused.code).toBe(ErrorCode.SERVER_ERROR);
    expect(refused.detail).toMatchObject({ error: 'invalid_client' });
    expect(refused.message).toContain('form-encodes before Base64');
    expect(refused.message).toContain("tokenEndpointAuthMethod: 'client_secret_post'");
    expect(refused.message).not.toContain(secret);
    expect((await account(provider, 'client_secret_post').getToken()).access_token).toMatch(/^at-/);
  });

  it('a wrong secret that encoding does not change: no such hint', async () => {
    const provider = await startBentProvider({ clientSecret: 'the-right-one', basic: 'raw' });
    defer(() => provider.close());
    const m = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: 'a-wrong-one',
      grant: 'client_credentials',
      store: new MemoryTokenStore(),
      retry: { retries: 0 },
    });
    defer(() => m.close());
    const refused = await rejection(m.getToken());
    expect(refused.detail).toMatchObject({ error: 'invalid_client' });
    expect(refused.message).not.toContain('client_secret_post');
  });
});

it('a provider without refresh-token rotation (a refresh answers no refresh token): the one it has is kept and used again', async () => {
  const provider = await startBentProvider({ rotation: false });
  defer(() => provider.close());
  const store = new MemoryTokenStore();
  const m = new TokenManager({
    issuer: provider.issuer,
    clientId: provider.clientId,
    verifyIdToken: false,
    store,
    onDeviceCode: () => undefined,
  });
  defer(() => m.close());
  const first = await m.getToken();
  const second = await m.recover(first.access_token);
  const third = await m.recover(second.access_token);
  expect(new Set([first.access_token, second.access_token, third.access_token]).size).toBe(3);
  expect(third.refresh_token).toBe(first.refresh_token);
  expect((await store.get(m.host))?.token.refresh_token).toBe(first.refresh_token);
  expect(provider.stats.grants.refresh_token).toBe(2);
});

it('a wrong client id: the refusal (invalid_client) says to check clientId, naming it', async () => {
  const provider = await startBentProvider();
  defer(() => provider.close());
  const m = new TokenManager({
    issuer: provider.issuer,
    clientId: 'no-such-client',
    verifyIdToken: false,
    store: new MemoryTokenStore(),
    onDeviceCode: () => undefined,
    retry: { retries: 0 },
  });
  defer(() => m.close());
  const refused = await rejection(m.getToken());
  expect(refused.detail).toMatchObject({ error: 'invalid_client' });
  expect(refused.message).toContain(
    'Check clientId "no-such-client": the provider does not know this client, or does not let it use this grant.',
  );
});
