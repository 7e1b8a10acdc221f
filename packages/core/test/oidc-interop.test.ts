import { clientId, dpopClientId, followAsBrowser } from '@oidc-auth/test-support/oidc-provider';
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
import { defer, noWait, oidcManager, oidcProvider, rejection } from './helpers.js';

async function userinfo(issuer: string, token: { headers: Record<string, string> }) {
  return fetch(`${issuer}/me`, { headers: token.headers });
}

describe('interop with oidc-provider (dialect "oidc")', () => {
  it('device flow → API call → refresh (rotated-out token refused) → API call', async () => {
    const op = await oidcProvider();
    const prompts: DeviceCodeEvent[] = [];
    const manager = new TokenManager({
      issuer: op.issuer,
      clientId,
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
    expect((await userinfo(op.issuer, first)).status).toBe(200);
    expect(await (await userinfo(op.issuer, first)).json()).toEqual({ sub: 'tester' });
    // Its ID token, verified against the provider's key set.
    expect(first.id_token).toMatch(/^eyJ/);
    const claims = await manager.claims();
    expect(claims).toMatchObject({ iss: op.issuer, sub: 'tester', aud: clientId });

    manager.invalidate();
    const second = await manager.getToken();
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(op.grants.refresh_token).toBe(1);
    expect((await userinfo(op.issuer, second)).status).toBe(200);
    // The refresh brought a new ID token for the same user, verified as it arrived.
    expect(second.id_token).not.toBe(first.id_token);
    const refreshed = await manager.claims();
    expect(refreshed).not.toBe(claims);
    expect(refreshed?.sub).toBe('tester');

    // The rotated-out refresh token is refused now.
    const reuse = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
        client_id: clientId,
      }),
    });
    expect(reuse.status).toBe(400);
    expect((await reuse.json()).error).toBe('invalid_grant');
    expect(manager.identity.server).toBe(normalizeIssuer(`${op.issuer}/`));
  });

  it('a denied device login stops with OIDC_ACCESS_DENIED', async () => {
    const { manager } = await oidcManager('deny');
    expect((await rejection(manager.getToken())).code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('the code flow with PKCE, state, iss and nonce, driven by following redirects', async () => {
    const op = await oidcProvider();
    const flow = new CodeFlow({
      issuer: op.issuer,
      clientId,
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
    expect(op.grants.authorization_code).toBe(1);
    expect((await userinfo(op.issuer, token)).status).toBe(200);
  });

  it('the code flow with DPoP: the code is bound to the key (dpop_jkt), the token is DPoP-bound', async () => {
    const op = await oidcProvider();
    op.requireDpopNonce(true);
    let jkt: string | null = null;
    const flow = new CodeFlow({
      issuer: op.issuer,
      clientId: dpopClientId,
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
    expect(op.grants.authorization_code).toBe(1);
  });

  it('discovery of a wrong issuer is a clear error', async () => {
    const op = await oidcProvider();
    const manager = new TokenManager({
      issuer: `${op.issuer}/nope`,
      clientId,
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
});
