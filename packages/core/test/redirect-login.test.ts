import { clientId, dpopClientId, followAsBrowser } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import { ErrorCode, MemoryTokenStore, TokenManager } from '../src/index.js';
import { defer, mock, oidcProvider, rejection } from './helpers.js';

const callbackUrl = 'http://localhost:53100/callback';

/** A manager, its store, and the provider's page it was sent to. */
function redirecting(options: ConstructorParameters<typeof TokenManager>[0]) {
  const store = new MemoryTokenStore();
  const manager = new TokenManager({ ...options, store, interactive: false });
  defer(() => manager.close());
  const sentTo: string[] = [];
  const navigate = (url: string) => void sentTo.push(url);
  return { manager, store, sentTo, navigate };
}

describe('login by redirect (loginByRedirect, then handleRedirect on the callback page)', () => {
  it('with an OpenID Provider: PKCE, state and nonce kept across the redirect; the token stored; the callback usable once', async () => {
    const op = await oidcProvider();
    const { manager, store, sentTo, navigate } = redirecting({ issuer: op.issuer, clientId });
    const url = await manager.loginByRedirect({
      redirectUri: callbackUrl,
      returnTo: 'http://localhost:53100/reports?page=2',
      navigate,
    });
    expect(sentTo).toEqual([url]);
    const asked = new URL(url).searchParams;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('redirect_uri')).toBe(callbackUrl);
    expect(asked.get('state')).toMatch(/^[\w-]{22}$/);
    expect(asked.get('nonce')).toMatch(/^[\w-]{22}$/);
    // Not the callback of a login: nothing happens.
    expect(await manager.handleRedirect('http://localhost:53100/reports')).toBeUndefined();

    const back = await followAsBrowser(url, (u) => u.origin !== new URL(op.issuer).origin);
    expect(back.searchParams.get('state')).toBe(asked.get('state'));
    const done = await manager.handleRedirect(back.href);
    expect(done?.returnTo).toBe('http://localhost:53100/reports?page=2');
    expect(op.grants.authorization_code).toBe(1);
    expect((await store.get(manager.host))?.token.access_token).toBe(done?.token.access_token);
    expect((await manager.getToken()).access_token).toBe(done?.token.access_token);
    expect(await manager.claims()).toMatchObject({ sub: 'tester', aud: clientId });

    // The same callback again (a reload, or a replay): refused, the stored login untouched.
    const again = await rejection(manager.handleRedirect(back.href));
    expect(again.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(again.message).toMatch(/no login in progress/);
    expect(op.grants.authorization_code).toBe(1);
  });

  it('refuses a callback with another state, or from another issuer, without spending the code', async () => {
    const op = await oidcProvider();
    const { manager, navigate } = redirecting({ issuer: op.issuer, clientId });
    const url = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const back = await followAsBrowser(url, (u) => u.origin !== new URL(op.issuer).origin);
    const forged = new URL(back);
    forged.searchParams.set('state', 'attacker-state');
    expect((await rejection(manager.handleRedirect(forged.href))).message).toMatch(/state/);

    const url2 = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const back2 = await followAsBrowser(url2, (u) => u.origin !== new URL(op.issuer).origin);
    const mixUp = new URL(back2);
    mixUp.searchParams.set('iss', 'https://evil.example');
    expect((await rejection(manager.handleRedirect(mixUp.href))).message).toMatch(/another issuer/);
    expect(op.grants.authorization_code ?? 0).toBe(0);
  });

  it('a denied login ends typed (OIDC_ACCESS_DENIED)', async () => {
    const op = await oidcProvider();
    const { manager, navigate } = redirecting({ issuer: op.issuer, clientId });
    const url = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const state = new URL(url).searchParams.get('state') ?? '';
    const denied = `${callbackUrl}?error=access_denied&state=${state}&iss=${encodeURIComponent(op.issuer)}`;
    expect((await rejection(manager.handleRedirect(denied))).code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('with DPoP: the code is bound to the login key (dpop_jkt) and the token to the same key', async () => {
    const op = await oidcProvider();
    op.requireDpopNonce(true);
    const { manager, navigate } = redirecting({
      issuer: op.issuer,
      clientId: dpopClientId,
      dpop: true,
    });
    const url = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const jkt = new URL(url).searchParams.get('dpop_jkt');
    expect(jkt).toMatch(/^[\w-]{43}$/);
    const back = await followAsBrowser(url, (u) => u.origin !== new URL(op.issuer).origin);
    const done = await manager.handleRedirect(back.href);
    expect(done?.token.token_type).toBe('DPoP');
    const me = `${op.issuer}/me`;
    let answer = await fetch(me, { headers: { ...(await manager.authHeaders('GET', me)) } });
    // The userinfo endpoint demands its nonce first (use_dpop_nonce): a new proof cures it.
    if (manager.dpopAnswer(me, answer.headers)) {
      answer = await fetch(me, { headers: { ...(await manager.authHeaders('GET', me)) } });
    }
    expect(answer.status).toBe(200);
  });

  it("with a py-oidc-auth server: its /auth/v2/login with the app's own redirect URI", async () => {
    const server = await mock();
    const { manager, navigate } = redirecting({ host: server.url, allowInsecureHttp: true });
    const url = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    expect(new URL(url).pathname).toBe('/auth/v2/login');
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(callbackUrl);
    const back = await followAsBrowser(url, (u) => u.origin !== new URL(server.url).origin);
    const done = await manager.handleRedirect(back.href);
    expect(done?.token.access_token).toBeTruthy();
    expect(server.stats().grants.authorization_code).toBe(1);
    // A callback naming another redirect URI in the server's state is not this login's.
    const url2 = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const other = await followAsBrowser(
      url2.replace(
        encodeURIComponent(callbackUrl),
        encodeURIComponent('http://localhost:53101/callback'),
      ),
      (u) => u.origin !== new URL(server.url).origin,
    );
    expect((await rejection(manager.handleRedirect(other.href))).message).toMatch(
      /no login in progress/,
    );
    expect(server.stats().grants.authorization_code).toBe(1);
  });

  it("returnTo: only a path or URL of the callback page's origin; an open redirect is refused typed, before anything starts", async () => {
    const server = await mock();
    const { manager, sentTo, navigate } = redirecting({
      host: server.url,
      allowInsecureHttp: true,
    });
    for (const returnTo of [
      'javascript:alert(document.cookie)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      '//evil.example/phish',
      '/\\evil.example/phish',
      '\\\\evil.example',
      'https://evil.example/',
      'http://localhost:53101/other-port',
      'https://localhost:53100/other-scheme',
    ]) {
      const error = await rejection(
        manager.loginByRedirect({ redirectUri: callbackUrl, returnTo, navigate }),
      );
      expect(error.code, returnTo).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(/returnTo must be a path or URL of http:\/\/localhost:53100/);
    }
    expect(sentTo).toEqual([]);
    expect(server.stats().routes.login).toBe(0);

    const url = await manager.loginByRedirect({
      redirectUri: callbackUrl,
      returnTo: '/reports?page=2#top',
      navigate,
    });
    const back = await followAsBrowser(url, (u) => u.origin !== new URL(server.url).origin);
    const done = await manager.handleRedirect(back.href);
    expect(done?.returnTo).toBe('http://localhost:53100/reports?page=2#top');
  });

  it('refuses a callback more than 30 min after the login started', async () => {
    const op = await oidcProvider();
    let now = Date.now();
    const { manager, navigate } = redirecting({ issuer: op.issuer, clientId, clock: () => now });
    const url = await manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const back = await followAsBrowser(url, (u) => u.origin !== new URL(op.issuer).origin);
    now += 31 * 60 * 1000;
    const error = await rejection(manager.handleRedirect(back.href));
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toMatch(/over 30 min old/);
    expect(op.grants.authorization_code ?? 0).toBe(0);
  });

  it('refuses a redirect URI over plain http to another host', async () => {
    const op = await oidcProvider();
    const { manager, navigate } = redirecting({ issuer: op.issuer, clientId });
    const error = await rejection(
      manager.loginByRedirect({ redirectUri: 'http://app.example.org/callback', navigate }),
    );
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
  });
});
