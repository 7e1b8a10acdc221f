import { join } from 'node:path';
import { startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { clientId } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import {
  FileTokenStore,
  MemoryTokenStore,
  TokenManager,
  type TokenManagerEvents,
  type TokenStore,
} from '../src/index.js';
import {
  approver,
  asToken,
  defer,
  manager,
  mock,
  noWait,
  oidcProvider,
  seededStore,
  tempDir,
} from './helpers.js';

/** Resolves with the next `logout` event of `m`. */
function nextLogout(m: TokenManager): Promise<TokenManagerEvents['logout']> {
  return new Promise((resolve) => {
    const off = m.on('logout', (event) => {
      off();
      resolve(event);
    });
  });
}

describe('logout()', () => {
  it('with an OpenID Provider: the refresh token revoked at its revocation endpoint (refused afterwards), the entry removed, the next call logs in', async () => {
    const op = await oidcProvider();
    const store = new MemoryTokenStore();
    const m = new TokenManager({
      issuer: op.issuer,
      clientId,
      store,
      sleep: noWait,
      onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
    });
    defer(() => m.close());
    const token = await m.getToken();
    const events: unknown[] = [];
    m.on('logout', (event) => events.push(event));

    const result = await m.logout();
    expect(result).toEqual({ removed: true, revocation: 'revoked' });
    expect(events).toEqual([{ host: op.issuer, source: 'this-manager', revocation: 'revoked' }]);
    expect(await store.get(m.host)).toBeUndefined();
    expect(m.health().state).not.toBe('valid');
    // The provider no longer honours the refresh token: a refresh with it is refused.
    const refused = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: token.refresh_token,
        client_id: clientId,
      }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await op.clientOf(token.access_token)).toBeUndefined();
    // The next call is a new login, never the old token.
    const device = 'urn:ietf:params:oauth:grant-type:device_code';
    const logins = op.grants[device];
    const again = await m.getToken();
    expect(again.access_token).not.toBe(token.access_token);
    expect(op.grants[device]).toBe((logins ?? 0) + 1);
  });

  it('a provider without a revocation endpoint, and a py-oidc-auth server: logged out here, and says the server could not revoke', async () => {
    const provider = await startBentProvider();
    defer(() => provider.close());
    const oidc = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      store: new MemoryTokenStore(),
      onDeviceCode: () => undefined,
    });
    defer(() => oidc.close());
    await oidc.getToken();
    expect(await oidc.logout()).toEqual({ removed: true, revocation: 'not-supported' });

    const server = await mock();
    const { store } = await seededStore(server);
    const py = manager(server, { store });
    await py.getToken();
    expect(await py.logout()).toEqual({ removed: true, revocation: 'not-supported' });
    expect(await store.get(py.host)).toBeUndefined();
  });

  it('a failed revocation still logs out here, and says so typed', async () => {
    const provider = await startBentProvider({ revocation: 'failing' });
    defer(() => provider.close());
    const store = new MemoryTokenStore();
    const m = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      store,
      retry: { retries: 0 },
      onDeviceCode: () => undefined,
    });
    defer(() => m.close());
    const token = await m.getToken();
    const result = await m.logout();
    expect(result.removed).toBe(true);
    expect(result.revocation).toBe('failed');
    expect(result.error?.code).toBe('OIDC_SERVER_UNAVAILABLE');
    expect(JSON.stringify(result.error)).not.toContain(token.refresh_token);
    expect(await store.get(m.host)).toBeUndefined();
  });

  it('revokes the refresh token first, then the access token; revoke: false revokes nothing', async () => {
    const provider = await startBentProvider({ revocation: 'on' });
    defer(() => provider.close());
    const options = {
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      onDeviceCode: () => undefined,
    };
    const m = new TokenManager({ ...options, store: new MemoryTokenStore() });
    defer(() => m.close());
    const token = await m.getToken();
    expect(await m.logout()).toEqual({ removed: true, revocation: 'revoked' });
    expect(provider.stats.revoked).toEqual([
      { token: token.refresh_token, hint: 'refresh_token' },
      { token: token.access_token, hint: 'access_token' },
    ]);
    const local = new TokenManager({ ...options, store: new MemoryTokenStore() });
    defer(() => local.close());
    await local.getToken();
    expect(await local.logout({ revoke: false })).toEqual({ removed: true, revocation: 'skipped' });
    expect(provider.stats.revoked).toHaveLength(2);
  });
});

describe('a logout reaches every manager on the store, with no request of theirs', () => {
  async function twoManagers(store: () => TokenStore) {
    const server = await mock();
    const { onDeviceCode } = approver(server);
    const first = manager(server, { store: store(), onDeviceCode });
    const others = Array.from({ length: 3 }, () =>
      manager(server, { store: store(), onDeviceCode }),
    );
    const token = await first.getToken();
    for (const other of others) {
      expect((await other.getToken()).access_token).toBe(token.access_token);
    }
    return { server, first, others, token };
  }

  for (const [name, store] of [
    ['one memory store shared by four managers', () => new MemoryTokenStore()],
    ['four file store objects on one token file', undefined],
  ] as const) {
    it(name, async () => {
      let make: () => TokenStore;
      if (store) {
        const shared = store();
        make = () => shared;
      } else {
        const file = join(await tempDir(), 'token-store.json');
        make = () => new FileTokenStore({ path: file });
      }
      const { server, first, others, token } = await twoManagers(make);
      const dropped = others.map(nextLogout);
      await first.logout();
      // Each drops the token on the store's notice alone: none of them made a call.
      expect(await Promise.all(dropped)).toEqual(
        others.map(() => ({ host: server.url, source: 'other-process' })),
      );
      for (const other of others) expect(other.health().state).not.toBe('valid');
      // The next call logs in again (one of them; the others take its new login).
      for (const other of others) {
        expect((await other.getToken()).access_token).not.toBe(token.access_token);
      }
    });
  }
});

describe('logout({ endSession }): the provider session too (RP-initiated logout)', () => {
  it("sends the browser to the provider's end_session_endpoint with the ID token as hint; the provider accepts it", async () => {
    const op = await oidcProvider();
    const m = new TokenManager({
      issuer: op.issuer,
      clientId,
      store: new MemoryTokenStore(),
      sleep: noWait,
      onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
    });
    defer(() => m.close());
    const token = await m.getToken();
    const sentTo: string[] = [];
    const back = 'http://localhost:53100/';
    const result = await m.logout({
      endSession: { postLogoutRedirectUri: back, navigate: (url) => void sentTo.push(url) },
    });
    expect(result).toMatchObject({ removed: true, revocation: 'revoked' });
    expect(sentTo).toEqual([result.endSessionUrl]);
    const url = new URL(sentTo[0] ?? '');
    expect(url.searchParams.get('id_token_hint')).toBe(token.id_token);
    expect(url.searchParams.get('client_id')).toBe(clientId);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(back);
    // The provider takes it: its logout confirmation page, not an error.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('logout');
  });

  it('a py-oidc-auth server: its /auth/v2/logout; a postLogoutRedirectUri that could lead elsewhere is refused before anything is done', async () => {
    const server = await mock();
    const { store } = await seededStore(server);
    const m = manager(server, { store });
    await m.getToken();
    for (const bad of [
      'javascript:alert(1)',
      'http://evil.example/',
      '//evil.example/',
      'data:,x',
    ]) {
      const refused = await m
        .logout({ endSession: { postLogoutRedirectUri: bad, navigate: () => undefined } })
        .catch((error: { code?: string }) => error.code);
      expect(refused, bad).toBe('OIDC_INVALID_OPTIONS');
    }
    expect(await store.get(m.host)).toBeDefined(); // nothing was done
    const sentTo: string[] = [];
    const result = await m.logout({ endSession: { navigate: (url) => void sentTo.push(url) } });
    expect(sentTo).toEqual([`${server.url}/auth/v2/logout`]);
    expect(result).toEqual({
      removed: true,
      revocation: 'not-supported',
      endSessionUrl: `${server.url}/auth/v2/logout`,
    });
  });
});

it('a logout in one process reaches the others on the token file (its folder watched): each drops the token at once', async () => {
  const { fileURLToPath } = await import('node:url');
  const { startScript } = await import('@oidc-auth/test-support/script-process');
  const server = await mock();
  const path = join(await tempDir(), 'token-store.json');
  await new FileTokenStore({ path }).put(server.url, asToken(server.issueToken()));
  const script = fileURLToPath(new URL('./fixtures/logout-child.ts', import.meta.url));
  const children = Array.from({ length: 3 }, () =>
    startScript(script, [path, server.url], { cleanup: defer }),
  );
  for (const child of children) expect(await child.line()).toBe('ready');
  const m = manager(server, { store: new FileTokenStore({ path }) });
  await m.getToken();
  expect(await m.logout()).toMatchObject({ removed: true });
  for (const child of children) {
    expect(await child.line()).toBe('dropped other-process');
    child.send('state');
    expect(await child.line()).not.toBe('valid');
  }
});
