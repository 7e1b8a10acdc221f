import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  clientId,
  followAsBrowser,
  otherClientId,
  serviceClients,
  type TestProvider,
} from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import {
  DeviceFlow,
  ErrorCode,
  FileTokenStore,
  MemoryTokenStore,
  OidcDialect,
  parseTokenJson,
  type Token,
  TokenManager,
  type TokenStore,
} from '../src/index.js';
import { defer, noWait, oidcProvider, rejection, tempDir } from './helpers.js';

const callbackUrl = 'http://localhost:53100/callback';

/** A person's manager of `client` on `store`, whose device logins the provider approves. */
function person(op: TestProvider, client: string, store: TokenStore): TokenManager {
  const manager = new TokenManager({
    issuer: op.issuer,
    clientId: client,
    store,
    sleep: noWait,
    onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
  });
  defer(() => manager.close());
  return manager;
}

/** A service account of the fixture's `method` client on `store`. */
function service(op: TestProvider, method: 'basic' | 'post', store: TokenStore): TokenManager {
  const { clientId: id, clientSecret } = serviceClients[method];
  const manager = new TokenManager({
    issuer: op.issuer,
    clientId: id,
    clientSecret,
    tokenEndpointAuthMethod: `client_secret_${method}`,
    grant: 'client_credentials',
    scopes: 'api:read',
    store,
  });
  defer(() => manager.close());
  return manager;
}

const stores = {
  memory: async () => new MemoryTokenStore(),
  file: async () => new FileTokenStore(join(await tempDir(), 'tokens.json')),
} as const;

describe('one store, many identities: a manager uses only the entries of its own identity', () => {
  for (const [kind, makeStore] of Object.entries(stores)) {
    it(`two clients of one issuer on one ${kind} store each log in, and never get or spend the other's tokens`, async () => {
      const op = await oidcProvider();
      const store = await makeStore();
      const a = person(op, clientId, store);
      const b = person(op, otherClientId, store);
      const tokenA = await a.getToken();
      const tokenB = await b.getToken();
      // B asked the provider itself: its token is its own client's, not A's.
      expect(tokenB.access_token).not.toBe(tokenA.access_token);
      expect(await op.clientOf(tokenB.access_token)).toBe(otherClientId);
      expect(op.clientGrants[`${otherClientId} urn:ietf:params:oauth:grant-type:device_code`]).toBe(
        1,
      );
      // Both stay stored side by side, and each manager refreshes with its own refresh token.
      expect(await store.hosts()).toHaveLength(2);
      b.invalidate();
      const renewedB = await b.getToken();
      expect(await op.clientOf(renewedB.access_token)).toBe(otherClientId);
      expect(op.clientGrants[`${otherClientId} refresh_token`]).toBe(1);
      expect(op.clientGrants[`${clientId} refresh_token`]).toBeUndefined();
      expect(op.grants['refresh_token:error']).toBeUndefined();
      expect((await a.getToken()).access_token).toBe(tokenA.access_token);
    });
  }

  it('two service accounts of one issuer on one store: each asks for its own token', async () => {
    const op = await oidcProvider();
    const store = new MemoryTokenStore();
    const tenantA = service(op, 'basic', store);
    const tenantB = service(op, 'post', store);
    const a = await tenantA.getToken();
    const b = await tenantB.getToken();
    expect(b.access_token).not.toBe(a.access_token);
    expect(await op.clientOf(b.access_token)).toBe(serviceClients.post.clientId);
    expect(op.clientGrants[`${serviceClients.post.clientId} client_credentials`]).toBe(1);
  });

  it('a person and a service account of one client id, or a bearer and a DPoP manager, are separate entries', async () => {
    const store = new MemoryTokenStore();
    const issuer = 'https://id.example.org/realms/x';
    const keys = [
      new TokenManager({ issuer, clientId: 'app', store }),
      new TokenManager({ issuer, clientId: 'app', store, dpop: true }),
      new TokenManager({ issuer, clientId: 'app', store, scopes: 'openid offline_access email' }),
      new TokenManager({
        issuer,
        clientId: 'app',
        clientSecret: 's',
        grant: 'client_credentials',
        store,
      }),
      new TokenManager({ issuer, clientId: 'App', store }),
    ].map((manager) => {
      manager.close();
      return manager.host;
    });
    expect(new Set(keys).size).toBe(keys.length);
    // Scopes in another order ask for the same thing: the same entry.
    const reordered = new TokenManager({
      issuer: `${issuer}/`,
      clientId: 'app',
      store,
      scopes: ['email', 'offline_access', 'openid'],
    });
    reordered.close();
    expect(reordered.host).toBe(keys[2]);
  });

  it("DeviceFlow.poll() stores an OpenID Provider's login under its session, which a manager of that identity uses", async () => {
    const op = await oidcProvider();
    const store = new MemoryTokenStore();
    const flow = new DeviceFlow({
      issuer: op.issuer,
      clientId: otherClientId,
      store,
      sleep: noWait,
    });
    const code = await flow.getDeviceCode();
    await op.decide(code.user_code, 'approve');
    const token = await flow.poll(code.device_code, code.interval);
    const manager = person(op, otherClientId, store);
    expect(await store.hosts()).toEqual([manager.host]);
    expect((await store.get(manager.host))?.token.identity).toBe(manager.host);
    expect((await manager.getToken()).access_token).toBe(token.access_token);
    expect(op.grants['urn:ietf:params:oauth:grant-type:device_code']).toBe(1);
  });

  it('constructing an OpenID dialect does not change how a token file keys entries (no process-wide state)', async () => {
    const path = join(await tempDir(), 'tokens.json');
    const store = new FileTokenStore(path);
    const answer = { access_token: 'at', refresh_token: 'rt', refresh_expires_in: 7200 };
    const token = parseTokenJson(answer, Date.now() / 1000);
    await store.put('https://server.example.org/realms/one', token);
    const before = Object.keys(JSON.parse(await readFile(path, 'utf8')));
    await store.clear();
    new OidcDialect({ issuer: 'https://server.example.org/realms/one', clientId: 'x' });
    await store.put('https://server.example.org/realms/one', token);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual(before);
  });
});

describe('a pending redirect login belongs to the manager that started it', () => {
  /** Two users' managers of one client on one server, each with its own store. */
  function users(op: TestProvider) {
    const make = () => {
      const store = new MemoryTokenStore();
      const manager = new TokenManager({ issuer: op.issuer, clientId, store, interactive: false });
      defer(() => manager.close());
      return { manager, store };
    };
    return [make(), make()] as const;
  }
  const navigate = () => undefined;
  const atProvider = (op: TestProvider) => (u: URL) => u.origin !== new URL(op.issuer).origin;

  it("a manager that started no login refuses another manager's callback, which stays usable by its own", async () => {
    const op = await oidcProvider();
    const [victim, attacker] = users(op);
    // The attacker starts a login and gets a callback for their own account...
    const url = await attacker.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const back = await followAsBrowser(url, atProvider(op));
    // ...and makes the victim's session open it (login CSRF): refused, nothing stored.
    const refused = await rejection(victim.manager.handleRedirect(back.href));
    expect(refused.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(await victim.store.hosts()).toEqual([]);
    expect(op.grants.authorization_code).toBeUndefined();
    // The login it belongs to still completes.
    const done = await attacker.manager.handleRedirect(back.href);
    expect(done?.token.access_token).toBeTruthy();
  });

  it('two users logging in at the same time on one server both succeed', async () => {
    const op = await oidcProvider();
    const [first, second] = users(op);
    const urlFirst = await first.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const urlSecond = await second.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const backFirst = await followAsBrowser(urlFirst, atProvider(op));
    const backSecond = await followAsBrowser(urlSecond, atProvider(op));
    const [doneFirst, doneSecond] = await Promise.all([
      first.manager.handleRedirect(backFirst.href),
      second.manager.handleRedirect(backSecond.href),
    ]);
    expect(doneFirst?.token.access_token).toBeTruthy();
    expect(doneSecond?.token.access_token).toBeTruthy();
    expect(doneFirst?.token.access_token).not.toBe(doneSecond?.token.access_token);
    expect(op.grants.authorization_code).toBe(2);
  });

  it('one manager with two logins in flight (two tabs of one user) finishes each by its own state', async () => {
    const op = await oidcProvider();
    const [user] = users(op);
    const one = await user.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const two = await user.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const backOne = await followAsBrowser(one, atProvider(op));
    const backTwo = await followAsBrowser(two, atProvider(op));
    expect((await user.manager.handleRedirect(backTwo.href))?.token).toBeTruthy();
    expect((await user.manager.handleRedirect(backOne.href))?.token).toBeTruthy();
    expect(op.grants.authorization_code).toBe(2);
  });

  it('a callback with a wrong state leaves the pending login in place', async () => {
    const op = await oidcProvider();
    const [user] = users(op);
    const url = await user.manager.loginByRedirect({ redirectUri: callbackUrl, navigate });
    const back = await followAsBrowser(url, atProvider(op));
    const forged = new URL(back);
    forged.searchParams.set('state', 'attacker-state');
    expect((await rejection(user.manager.handleRedirect(forged.href))).code).toBe(
      ErrorCode.BAD_RESPONSE,
    );
    expect((await user.manager.handleRedirect(back.href))?.token).toBeTruthy();
  });
});

describe('entries an earlier version stored under the plain issuer', () => {
  /** A token file holding one login the way versions before sessions wrote it. */
  async function legacyFile(op: TestProvider, client: string) {
    const path = join(await tempDir(), 'tokens.json');
    const first = person(op, client, new FileTokenStore(path));
    const token = await first.getToken();
    first.close();
    // Rewritten under the issuer alone, without the identity this version records.
    const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, { token: Token }>;
    const [entry] = Object.values(raw);
    if (!entry) throw new Error('the login was not stored');
    const { identity: _identity, ...old } = entry.token;
    await writeFile(
      path,
      JSON.stringify({ [op.issuer]: { token: old, stored_at: Date.now() / 1000 } }),
    );
    return { path, token };
  }

  it('is adopted by the client it shows it belongs to, moved under that identity, and not by another client', async () => {
    const op = await oidcProvider();
    const { path, token } = await legacyFile(op, clientId);
    const logins = op.grants['urn:ietf:params:oauth:grant-type:device_code'];

    const other = new TokenManager({
      issuer: op.issuer,
      clientId: otherClientId,
      store: new FileTokenStore(path),
      interactive: false,
    });
    defer(() => other.close());
    const refused = await rejection(other.getToken());
    expect(refused.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(refused.message).toContain('earlier version');
    expect(refused.message).toContain(otherClientId);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual([op.issuer]);

    const mine = person(op, clientId, new FileTokenStore(path));
    expect((await mine.getToken()).access_token).toBe(token.access_token);
    expect(op.grants['urn:ietf:params:oauth:grant-type:device_code']).toBe(logins);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual([mine.host]);
  });
});
