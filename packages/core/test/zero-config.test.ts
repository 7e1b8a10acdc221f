import { describe, expect, it } from 'vitest';
import {
  authenticate,
  createAdapterKit,
  ErrorCode,
  MemoryTokenStore,
  OidcDialect,
  TokenManager,
  type TokenManagerOptions,
} from '../src/index.js';
import { asToken, manager, mock, rejection, seededStore } from './helpers.js';

describe('zero configuration: the server from the environment', () => {
  it('OIDC_HOST names a py-oidc-auth server; explicit options win', async () => {
    const server = await mock();
    const store = new MemoryTokenStore();
    await store.put(server.url, asToken(server.issueToken()));
    const env = { OIDC_HOST: server.url };
    const fromEnv = new TokenManager({ env, store, interactive: false });
    expect(fromEnv.host).toBe(server.url);
    expect(await fromEnv.authorization()).toMatch(/^Bearer at_/);
    expect(new TokenManager({ env, store, host: 'https://other.example' }).host).toBe(
      'https://other.example',
    );
    const kit = createAdapterKit({ env, store });
    expect(kit.allows(`${server.url}/api/x`)).toBe(true);
    expect((await authenticate({ env, store, interactive: false })).access_token).toMatch(/^at_/);
  });

  it('OIDC_ISSUER + OIDC_CLIENT_ID (+ OIDC_SCOPES) name an OpenID Provider', () => {
    const env = {
      OIDC_ISSUER: 'https://id.example.org/realms/x/',
      OIDC_CLIENT_ID: 'cli',
      OIDC_SCOPES: 'openid offline_access email',
    };
    const m = new TokenManager({ env, store: new MemoryTokenStore() });
    expect(m.identity).toMatchObject({
      server: 'https://id.example.org/realms/x',
      clientId: 'cli',
      scope: 'email offline_access openid',
    });
    expect(m.host).toBe(
      'https://id.example.org/realms/x#client_id=cli&scope=email+offline_access+openid',
    );
    expect(
      new OidcDialect({ issuer: env.OIDC_ISSUER, clientId: 'cli', scopes: env.OIDC_SCOPES }).scope,
    ).toBe('openid offline_access email');
    expect(
      () =>
        new TokenManager({ env: { OIDC_ISSUER: env.OIDC_ISSUER }, store: new MemoryTokenStore() }),
    ).toThrow(/OIDC_CLIENT_ID is not/);
  });

  it('with neither, the error names both ways: the options and the variables', () => {
    expect(() => new TokenManager({ env: {}, store: new MemoryTokenStore() })).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_OPTIONS,
        message: expect.stringMatching(
          /host.*issuer, clientId.*OIDC_HOST.*OIDC_ISSUER and OIDC_CLIENT_ID/,
        ),
      }),
    );
  });

  it('bad option values are OIDC_INVALID_OPTIONS naming the option, never a TypeError', () => {
    const store = new MemoryTokenStore();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ host: 42 }, /host must be a non-empty string/],
      [{ issuer: 'https://id.example.org', clientId: 'c', scopes: 7 }, /scopes must be/],
      [{ issuer: 'https://id.example.org', clientId: 'c', scopes: [1] }, /scopes must be/],
      [{ host: 'https://a.example', retry: 'lots' }, /retry must be an object/],
      [{ host: 'https://a.example', retry: { minTimeout: 'x' } }, /retry.minTimeout/],
      [{ host: 'https://a.example', interactive: 'yes' }, /interactive must be true or false/],
      [{ host: 'https://a.example', store: 'file' }, /store must be a TokenStore/],
      [{ clientId: 'c' }, /clientId needs issuer/],
      [{ host: 'https://a.example', issuer: 'https://b.example' }, /not both/],
    ];
    for (const [options, message] of cases) {
      expect(() => new TokenManager({ store, ...options } as never)).toThrow(
        expect.objectContaining({
          code: ErrorCode.INVALID_OPTIONS,
          message: expect.stringMatching(message),
        }),
      );
    }
    expect(() => createAdapterKit({ manager: {} as never })).toThrow(
      /manager must be a TokenManager/,
    );
  });
});

describe('the option types say what the runtime accepts', () => {
  it('host with issuer, or routes with issuer, do not compile; scopes may be a string', () => {
    // @ts-expect-error: a py-oidc-auth host and an OpenID Provider at once
    const both: TokenManagerOptions = {
      host: 'https://a.example',
      issuer: 'https://b.example',
      clientId: 'c',
    };
    const routes: TokenManagerOptions = {
      issuer: 'https://b.example',
      clientId: 'c',
      // @ts-expect-error: py-oidc-auth routes mean nothing to an OpenID Provider
      tokenRoute: '/t',
    };
    const scopes: TokenManagerOptions = {
      issuer: 'https://b.example',
      clientId: 'c',
      scopes: 'openid email',
    };
    const none: TokenManagerOptions = {};
    expect([both, routes, scopes, none]).toHaveLength(4);
  });
});

describe('a refused refresh, off a terminal', () => {
  it('says the session ended and to log in again, with details for programs', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.revokeAll();
    const error = await rejection(manager(server, { store }).getToken());
    expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(error.message).toMatch(/session for .* ended: the server refused the refresh token/);
    expect(error.detail).toMatchObject({
      sessionEnded: true,
      command: `oidc-auth login ${server.url}`,
    });
  });
});
