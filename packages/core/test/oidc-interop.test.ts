import {
  clientId,
  dpopClientId,
  followAsBrowser,
  serviceClients,
} from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import {
  CodeFlow,
  type DeviceCodeEvent,
  DpopKey,
  ErrorCode,
  MemoryTokenStore,
  normalizeIssuer,
  TokenManager,
} from '../src/index.js';
import { defer, mock, noWait, oidcProvider, rejection } from './helpers.js';

/**
 * What these tests need of an OpenID Provider: oidc-provider (the certified implementation), and
 * the mock server's standard provider, which must pass the same tests.
 */
interface Provider {
  issuer: string;
  clientId: string;
  dpopClientId: string;
  subject: string;
  userinfo: string;
  token: string;
  grants(): Record<string, number>;
  decide(userCode: string, decision: 'approve' | 'deny'): unknown;
  requireDpopNonce(on: boolean): void;
  /** A confidential client, for client_secret_basic and client_secret_post. */
  service: Record<'basic' | 'post', { clientId: string; clientSecret: string }>;
}

/** The mock's clients: listed, so that it checks client ids and secrets as a real provider does. */
const mockService = { clientId: 'my-service', clientSecret: 'a secret: with spaces & %+' };

const providers: Record<string, () => Promise<Provider>> = {
  'oidc-provider': async () => {
    const op = await oidcProvider();
    return {
      issuer: op.issuer,
      clientId,
      dpopClientId,
      subject: 'tester',
      userinfo: `${op.issuer}/me`,
      token: `${op.issuer}/token`,
      grants: () => op.grants,
      decide: (code, decision) => op.decide(code, decision),
      requireDpopNonce: (on) => op.requireDpopNonce(on),
      service: serviceClients,
    };
  },
  'the mock server (standard mode)': async () => {
    const server = await mock({
      interval: 1,
      clients: [{ clientId: 'my-app' }, { clientId: 'my-dpop-app' }, mockService],
    });
    return {
      issuer: server.url,
      clientId: 'my-app',
      dpopClientId: 'my-dpop-app',
      subject: 'mock-user',
      userinfo: `${server.url}/oauth/userinfo`,
      token: `${server.url}/oauth/token`,
      grants: () => server.stats().grants,
      decide: (code, decision) =>
        decision === 'approve' ? server.approve(code) : server.deny(code),
      requireDpopNonce: (on) => server.configure({ dpopNonce: on }),
      service: { basic: mockService, post: mockService },
    };
  },
};

/** A person's manager of the provider's public client; its device logins decided at once. */
function person(op: Provider, decision: 'approve' | 'deny' = 'approve'): TokenManager {
  const manager = new TokenManager({
    issuer: op.issuer,
    clientId: op.clientId,
    store: new MemoryTokenStore(),
    sleep: noWait,
    onDeviceCode: (event) => void op.decide(event.userCode, decision),
  });
  defer(() => manager.close());
  return manager;
}

function userinfo(op: Provider, token: { headers: Record<string, string> }) {
  return fetch(op.userinfo, { headers: token.headers });
}

describe.each(Object.keys(providers))('interop with %s (dialect "oidc")', (name) => {
  const start = providers[name] as () => Promise<Provider>;

  it('device flow → API call → refresh (rotated-out token refused) → API call', async () => {
    const op = await start();
    const prompts: DeviceCodeEvent[] = [];
    const manager = new TokenManager({
      issuer: op.issuer,
      clientId: op.clientId,
      store: new MemoryTokenStore(),
      sleep: noWait,
      onDeviceCode: (event) => {
        prompts.push(event);
        void op.decide(event.userCode, 'approve');
      },
    });
    defer(() => manager.close());

    const first = await manager.getToken();
    expect(prompts).toHaveLength(1);
    expect(prompts[0]?.uri).toContain(`${op.issuer}/device`);
    expect(first.refresh_token).not.toBe('');
    expect(first.expires).toBeGreaterThan(Date.now() / 1000 + 200);
    expect(first.refresh_expires).toBeGreaterThan(Date.now() / 1000 + 3600);
    expect((await userinfo(op, first)).status).toBe(200);
    expect(await (await userinfo(op, first)).json()).toMatchObject({ sub: op.subject });
    // Its ID token, verified against the provider's key set.
    expect(first.id_token).toMatch(/^eyJ/);
    const claims = await manager.claims();
    expect(claims).toMatchObject({ iss: op.issuer, sub: op.subject, aud: op.clientId });

    manager.invalidate();
    const second = await manager.getToken();
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(op.grants().refresh_token).toBe(1);
    expect((await userinfo(op, second)).status).toBe(200);
    // The refresh brought a new ID token for the same user, verified as it arrived.
    expect(second.id_token).not.toBe(first.id_token);
    const refreshed = await manager.claims();
    expect(refreshed).not.toBe(claims);
    expect(refreshed?.sub).toBe(op.subject);

    // The rotated-out refresh token is refused now.
    const reuse = await fetch(op.token, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
        client_id: op.clientId,
      }),
    });
    expect(reuse.status).toBe(400);
    expect((await reuse.json()).error).toBe('invalid_grant');
    expect(manager.identity.server).toBe(normalizeIssuer(`${op.issuer}/`));
  });

  it('a denied device login stops with OIDC_ACCESS_DENIED', async () => {
    const op = await start();
    const manager = person(op, 'deny');
    expect((await rejection(manager.getToken())).code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('the code flow with PKCE, state, iss and nonce, driven by following redirects', async () => {
    const op = await start();
    const flow = new CodeFlow({
      issuer: op.issuer,
      clientId: op.clientId,
      onAuthorizationUrl: async (event) => {
        const authorize = new URL(event.url);
        expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
        expect(authorize.searchParams.get('nonce')).toBeTruthy();
        const back = await followAsBrowser(
          event.url,
          (url) => url.origin !== new URL(op.issuer).origin,
        );
        expect(back.searchParams.get('iss')).toBe(op.issuer);
        await fetch(back.href.replace('//localhost:', '//127.0.0.1:'));
      },
    });
    const token = await flow.login();
    expect(op.grants().authorization_code).toBe(1);
    expect((await userinfo(op, token)).status).toBe(200);
  });

  it('the code flow with DPoP: the code is bound to the key (dpop_jkt), the token is DPoP-bound', async () => {
    const op = await start();
    op.requireDpopNonce(true);
    let jkt: string | null = null;
    const flow = new CodeFlow({
      issuer: op.issuer,
      clientId: op.dpopClientId,
      dpop: true,
      onAuthorizationUrl: async (event) => {
        jkt = new URL(event.url).searchParams.get('dpop_jkt');
        const back = await followAsBrowser(
          event.url,
          (url) => url.origin !== new URL(op.issuer).origin,
        );
        await fetch(back.href.replace('//localhost:', '//127.0.0.1:'));
      },
    });
    const token = await flow.login();
    expect(token.token_type).toBe('DPoP');
    expect(jkt).toBe((await DpopKey.fromJwk(token.dpop_key))?.thumbprint);
    expect(op.grants().authorization_code).toBe(1);
  });

  it('discovery of a wrong issuer is a clear error', async () => {
    const op = await start();
    const manager = new TokenManager({
      issuer: `${op.issuer}/nope`,
      clientId: op.clientId,
      store: new MemoryTokenStore(),
      sleep: noWait,
      onDeviceCode: () => {},
      retry: { retries: 0 },
    });
    defer(() => manager.close());
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toMatch(/discovery document/);
  });

  it.each(['basic', 'post'] as const)(
    'a service account with client_secret_%s: a token and no refresh token; a wrong secret is refused',
    async (method) => {
      const op = await start();
      const { clientId: id, clientSecret } = op.service[method];
      const options = {
        issuer: op.issuer,
        clientId: id,
        tokenEndpointAuthMethod: `client_secret_${method}` as const,
        grant: 'client_credentials' as const,
        scopes: 'api:read',
        retry: { retries: 0 },
      };
      const manager = new TokenManager({ ...options, clientSecret, store: new MemoryTokenStore() });
      defer(() => manager.close());
      const token = await manager.getToken();
      expect(token.refresh_token).toBe('');
      expect(token.scope).toBe('api:read');
      expect(op.grants().client_credentials).toBe(1);

      const wrong = new TokenManager({
        ...options,
        clientSecret: 'not-the-secret',
        store: new MemoryTokenStore(),
      });
      defer(() => wrong.close());
      const error = await rejection(wrong.getToken());
      expect(error.message).toMatch(/invalid_client/);
      expect(JSON.stringify(error)).not.toContain('not-the-secret');
    },
  );

  it('logout revokes the refresh token at the revocation endpoint: refused afterwards', async () => {
    const op = await start();
    const manager = person(op);
    const token = await manager.getToken();
    expect(await manager.logout()).toEqual({ removed: true, revocation: 'revoked' });
    const refused = await fetch(op.token, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: token.refresh_token,
        client_id: op.clientId,
      }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await userinfo(op, token)).status).toBe(401);
  });
});
