import { parseTokenJson } from '@oidc-auth/core';
import { type MockServer, startMockServer } from '@oidc-auth/mock-server';
import {
  clientId,
  dpopClientId,
  otherClientId,
  startProvider,
} from '@oidc-auth/test-support/oidc-provider';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ClientKind } from '../src/page.js';
import type { EngineContext } from './engines.js';
import {
  type App,
  backOnCallback,
  browser,
  closeBrowser,
  engineTitle,
  inWorker,
  pageScript,
  ready,
  startApp,
  step,
  tab,
} from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => closeBrowser());

async function app(): Promise<App> {
  const started = await startApp();
  cleanups.push(() => started.close());
  return started;
}

async function mockFor(appOrigin: string, options = {}): Promise<MockServer> {
  const server = await startMockServer({ interval: 1, cors: [appOrigin], ...options });
  cleanups.push(() => server.close());
  return server;
}

async function context(): Promise<EngineContext> {
  const made = await (await browser()).newContext();
  cleanups.push(() => made.close());
  return made;
}

function seed(server: MockServer) {
  return parseTokenJson(server.issueToken(), Date.now() / 1000);
}

/** How often the API saw each Authorization value (by digest): none means none was sent. */
function authorizations(server: MockServer, path: string): number {
  const entry = server.stats().paths[path];
  return Object.values(entry?.authorization ?? {}).reduce((a, b) => a + b, 0);
}

describe('the browser build', () => {
  it('bundles with the adapters, axios and ky for platform: browser without warnings or node: modules', async () => {
    const { js, warnings } = await pageScript();
    expect(warnings).toBe(0);
    expect(js).not.toMatch(/\bfrom\s*["']node:|import\(["']node:|require\(["']node:/);
    expect(js).toContain('IndexedDbTokenStore');
  });
});

describe.each(['fetch', 'axios-xhr', 'axios-fetch', 'ky'] as ClientKind[])(
  `the adapter contract in ${engineTitle}: %s`,
  (client) => {
    it('attaches the token, recovers a revoked one with one refresh and re-sends, keeps it off other origins', async () => {
      const site = await app();
      const api = await mockFor(site.origin);
      const elsewhere = await mockFor(site.origin);
      const page = await tab(await context(), `${site.origin}/`);
      await step(page, 'setup', {
        client,
        store: 'memory',
        manager: { host: api.url },
        seed: seed(api),
      });
      expect((await step(page, 'call', `${api.url}/api/data`)).status).toBe(200);
      expect(authorizations(api, '/api/data')).toBe(1);

      // The access token is revoked at the server: 401, one refresh, the request re-sent.
      api.revokeAll({ keepRefresh: true });
      const after = await step(page, 'call', `${api.url}/api/data`, 'POST', '{"n":1}');
      expect(after).toMatchObject({ status: 200 });
      expect(api.stats().grants.refresh_token).toBe(1);
      expect(await step(page, 'events')).toEqual(['store', 'refresh']);

      // Another origin (CORS allows the page) never gets the token.
      const other = await step(page, 'call', `${elsewhere.url}/api/data`);
      expect(other.status).toBe(401);
      expect(authorizations(elsewhere, '/api/data')).toBe(0);
    });
  },
);

describe(`login by redirect in ${engineTitle}`, () => {
  it('py-oidc-auth: /auth/v2/login with the app callback; the token in IndexedDB; back where the user was', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const ctx = await context();
    const page = await tab(ctx, `${site.origin}/reports?page=2`);
    await step(page, 'setup', { client: 'fetch', store: 'idb', manager: { host: api.url } });
    const before = await step(page, 'call', `${api.url}/api/data`);
    expect(before.error?.code).toBe('OIDC_LOGIN_REQUIRED');
    expect(before.error?.message).toMatch(/loginByRedirect/);

    await backOnCallback(page, site.origin, `${site.origin}/reports?page=2`);
    // The same callback opened in another tab: that tab started no login, so it is refused
    // and the code is not spent.
    const intruder = await tab(ctx, await page.url());
    await step(intruder, 'setup', { client: 'fetch', store: 'idb', manager: { host: api.url } });
    expect(await step(intruder, 'finishLogin')).toMatchObject({
      error: { code: 'OIDC_BAD_RESPONSE' },
    });
    expect(api.stats().grants.authorization_code).toBe(0);
    await intruder.close();
    await step(page, 'setup', { client: 'fetch', store: 'idb', manager: { host: api.url } });
    const done = await step(page, 'finishLogin');
    expect(done).toMatchObject({ returnTo: `${site.origin}/reports?page=2` });
    expect(api.stats().grants.authorization_code).toBe(1);
    expect((await step(page, 'call', `${api.url}/api/data`)).status).toBe(200);

    // Another tab of the origin uses the stored login: no second login.
    const second = await tab(ctx, `${site.origin}/`);
    await step(second, 'setup', { client: 'ky', store: 'idb', manager: { host: api.url } });
    expect((await step(second, 'call', `${api.url}/api/data`)).status).toBe(200);
    expect(api.stats().grants.authorization_code).toBe(1);
    // Reloading the callback page cannot replay the code.
    await page.reload();
    await ready(page);
    await step(page, 'setup', { client: 'fetch', store: 'idb', manager: { host: api.url } });
    expect(await step(page, 'finishLogin')).toMatchObject({ error: { code: 'OIDC_BAD_RESPONSE' } });
  });

  it('oidc-provider with DPoP: the key is a non-extractable CryptoKey in IndexedDB; proofs work after a reload', async () => {
    const site = await app();
    const op = await startProvider();
    cleanups.push(() => op.close());
    op.requireDpopNonce(true);
    const options = { issuer: op.issuer, clientId: dpopClientId, dpop: true };
    const ctx = await context();
    const page = await tab(ctx, `${site.origin}/`);
    await step(page, 'setup', {
      client: 'axios-fetch',
      store: 'idb',
      manager: options,
      origins: [op.issuer],
    });
    await backOnCallback(page, site.origin, `${site.origin}/`);
    await step(page, 'setup', {
      client: 'axios-fetch',
      store: 'idb',
      manager: options,
      origins: [op.issuer],
    });
    expect(await step(page, 'finishLogin')).toMatchObject({ returnTo: `${site.origin}/` });

    // The userinfo endpoint demands a DPoP nonce first: the adapter re-sends with it.
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);
    const stored = await step(page, 'stored');
    expect(stored.dpopKey).toMatchObject({ kty: 'EC', crv: 'P-256', kid: expect.any(String) });
    expect(stored.dpopKey).not.toHaveProperty('d');
    const exposure = await step(page, 'keyExposure');
    expect(exposure.extractable).toEqual([false]);
    expect(exposure.exported).toMatch(/^refused: InvalidAccessError/);

    // After a reload the key comes back from IndexedDB: the bound token still works.
    await page.reload();
    await ready(page);
    await step(page, 'setup', {
      client: 'fetch',
      store: 'idb',
      manager: options,
      origins: [op.issuer],
    });
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);

    // A new login replaces the token and its key: the spent key leaves the keyring.
    await backOnCallback(page, site.origin, `${site.origin}/`);
    const setup = { client: 'fetch' as const, store: 'idb' as const, manager: options };
    await step(page, 'setup', { ...setup, origins: [op.issuer] });
    expect(await step(page, 'finishLogin')).toMatchObject({ returnTo: `${site.origin}/` });
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);
    await expect.poll(async () => (await step(page, 'keyExposure')).extractable).toEqual([false]);
  });

  it('two clients of one provider in one tab: a callback finishes only a login of its own session, in sessionStorage', async () => {
    const site = await app();
    const op = await startProvider();
    cleanups.push(() => op.close());
    const page = await tab(await context(), `${site.origin}/`);
    const setupFor = (id: string) =>
      step(page, 'setup', {
        client: 'fetch',
        store: 'session',
        manager: { issuer: op.issuer, clientId: id },
        origins: [op.issuer],
      });
    await setupFor(clientId);
    await backOnCallback(page, site.origin, `${site.origin}/`);
    // On the callback page, a manager of the provider's other client: not its login.
    await setupFor(otherClientId);
    expect(await step(page, 'finishLogin')).toMatchObject({
      error: { code: 'OIDC_BAD_RESPONSE' },
    });
    expect(op.grants.authorization_code ?? 0).toBe(0);
    // The login's own session finishes it.
    await setupFor(clientId);
    expect(await step(page, 'finishLogin')).toMatchObject({ returnTo: `${site.origin}/` });
    expect(op.grants.authorization_code).toBe(1);
  });

  it('oidc-provider without DPoP: state, nonce and the ID token checked; claims available', async () => {
    const site = await app();
    const op = await startProvider();
    cleanups.push(() => op.close());
    const options = { issuer: op.issuer, clientId };
    const page = await tab(await context(), `${site.origin}/`);
    await step(page, 'setup', {
      client: 'ky',
      store: 'session',
      manager: options,
      origins: [op.issuer],
    });
    await backOnCallback(page, site.origin, `${site.origin}/`);
    await step(page, 'setup', {
      client: 'ky',
      store: 'session',
      manager: options,
      origins: [op.issuer],
    });
    expect(await step(page, 'finishLogin')).toMatchObject({ returnTo: `${site.origin}/` });
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);
  });
});

describe('many tabs, one identity (IndexedDB store, Web Locks, BroadcastChannel)', () => {
  it('10 tabs, a revoked access token, a request in each: 1 refresh, 10 successes, no refresh-token reuse', async (ctx) => {
    const site = await app();
    const api = await mockFor(site.origin);
    const browserContext = await context();
    const tabs = await Promise.all(
      Array.from({ length: 10 }, () => tab(browserContext, `${site.origin}/`)),
    );
    const setup = { client: 'fetch' as const, store: 'idb' as const, manager: { host: api.url } };
    await step(tabs[0] as never, 'setup', { ...setup, seed: seed(api) });
    await Promise.all(tabs.slice(1).map((t) => step(t, 'setup', setup)));
    const first = await Promise.all(tabs.map((t) => step(t, 'call', `${api.url}/api/data`)));
    expect(first.map((a) => a.status)).toEqual(Array(10).fill(200));
    // All ten read the one stored token: one Authorization value, no refresh, no login.
    expect(Object.keys(api.stats().paths['/api/data']?.authorization ?? {})).toHaveLength(1);

    api.revokeAll({ keepRefresh: true });
    // A slow token endpoint keeps the refresh in flight while the other tabs meet their 401s:
    // without a lock shared by the tabs, each would spend the refresh token (reuse detected).
    api.fault({ route: 'token', delayMs: 400, count: 1 });
    const started = performance.now();
    const second = await Promise.all(tabs.map((t) => step(t, 'call', `${api.url}/api/data`)));
    const elapsed = performance.now() - started;
    expect(second.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(api.stats().grants.refresh_token).toBe(1);
    expect(api.stats().reuseDetected).toBe(0);
    const sources = await Promise.all(tabs.map((t) => step(t, 'events')));
    // One tab refreshed under the Web Lock; the nine others took its token from IndexedDB.
    expect(sources.filter((s) => s.includes('refresh'))).toHaveLength(1);
    expect(sources.filter((s) => s.includes('other-process'))).toHaveLength(9);
    ctx.annotate(`10 tabs recovered from a revoked token in ${elapsed.toFixed(0)} ms, 1 refresh`);

    // A refresh in one tab reaches the others through the BroadcastChannel: they adopt the new
    // token without any request of their own.
    api.revokeAll({ keepRefresh: true });
    expect((await step(tabs[0] as never, 'call', `${api.url}/api/data`)).status).toBe(200);
    expect(api.stats().grants.refresh_token).toBe(2);
    const fresh = await step(tabs[0] as never, 'accessToken');
    for (const t of tabs.slice(1)) {
      await ctx.expect.poll(() => step(t, 'events').then((e) => e.length)).toBe(3);
      expect(await step(t, 'accessToken')).toBe(fresh);
    }
    expect(api.stats().grants.refresh_token).toBe(2);
    expect(api.stats().reuseDetected).toBe(0);
  });
});

describe('a tab that holds the token lock and never lets go (IndexedDB store, Web Locks)', () => {
  it('another tab waits lockTimeoutMs, then fails typed (OIDC_STORE_ERROR) instead of hanging; once the lock is free it refreshes', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const browserContext = await context();
    const [stuck, waiting] = await Promise.all([
      tab(browserContext, `${site.origin}/`),
      tab(browserContext, `${site.origin}/`),
    ]);
    const { host } = await step(waiting as never, 'setup', {
      client: 'fetch',
      store: 'idb',
      manager: { host: api.url, interactive: false },
      seed: seed(api),
      idbOptions: { lockTimeoutMs: 300 },
    });
    await step(stuck as never, 'holdWebLock', `oidc-auth:oidc-auth:${host}`);
    api.revokeAll({ keepRefresh: true });
    const failed = await step(waiting as never, 'call', `${api.url}/api/data`);
    expect(failed.error?.code).toBe('OIDC_STORE_ERROR');
    expect(failed.error?.message).toContain('over 300 ms');
    expect(api.stats().grants.refresh_token).toBe(0);

    await step(stuck as never, 'releaseWebLock');
    expect((await step(waiting as never, 'call', `${api.url}/api/data`)).status).toBe(200);
    expect(api.stats().grants.refresh_token).toBe(1);
  });
});

describe('logout in one tab of ten (IndexedDB store, BroadcastChannel)', () => {
  it('the nine others drop the token at once, with no request of theirs; nothing is sent with it after logout() resolves', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const browserContext = await context();
    const tabs = await Promise.all(
      Array.from({ length: 10 }, () => tab(browserContext, `${site.origin}/`)),
    );
    const setup = {
      client: 'fetch' as const,
      store: 'idb' as const,
      manager: { host: api.url, interactive: false },
    };
    await step(tabs[0] as never, 'setup', { ...setup, seed: seed(api) });
    await Promise.all(tabs.slice(1).map((t) => step(t, 'setup', setup)));
    const first = await Promise.all(tabs.map((t) => step(t, 'call', `${api.url}/api/data`)));
    expect(first.map((a) => a.status)).toEqual(Array(10).fill(200));
    const calls = api.stats().routes.api;

    expect(await step(tabs[0] as never, 'logout')).toEqual({
      removed: true,
      revocation: 'not-supported',
    });
    for (const t of tabs.slice(1)) {
      await expect.poll(() => step(t, 'events')).toContain('logout:other-process');
      expect(await step(t, 'header')).toBeUndefined();
    }
    // None of the nine asked anything to drop it.
    expect(api.stats().routes.api).toBe(calls);
    // Their next request carries no token: each is told a login is needed.
    const after = await Promise.all(tabs.map((t) => step(t, 'call', `${api.url}/api/data`)));
    expect(after.map((a) => a.error?.code)).toEqual(Array(10).fill('OIDC_LOGIN_REQUIRED'));
    expect(api.stats().routes.api).toBe(calls);
  });
});

describe('in a Web Worker', () => {
  it('the manager and the fetch adapter in a dedicated worker: memory store, 401 recovered with one refresh', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const page = await tab(await context(), `${site.origin}/`);
    const worker = inWorker(page);
    await worker('setup', {
      client: 'fetch',
      store: 'memory',
      manager: { host: api.url },
      seed: seed(api),
    });
    expect(await worker('call', `${api.url}/api/data`)).toMatchObject({ status: 200 });
    api.revokeAll({ keepRefresh: true });
    expect(await worker('call', `${api.url}/api/data`)).toMatchObject({ status: 200 });
    expect(api.stats().grants.refresh_token).toBe(1);
    expect(await worker('events')).toEqual(['store', 'refresh']);
  });

  it("a worker with the IndexedDB store shares the tabs' login: the tab's stored token, no login, no refresh", async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const page = await tab(await context(), `${site.origin}/`);
    await step(page, 'setup', {
      client: 'fetch',
      store: 'idb',
      manager: { host: api.url },
      seed: seed(api),
    });
    const worker = inWorker(page);
    await worker('setup', { client: 'ky', store: 'idb', manager: { host: api.url } });
    expect(await worker('call', `${api.url}/api/data`)).toMatchObject({ status: 200 });
    expect(await worker('accessToken')).toBe(await step(page, 'accessToken'));
    expect(api.stats().grants).toMatchObject({
      refresh_token: 0,
      device_code: 0,
      authorization_code: 0,
    });
  });
});

describe('the device flow in a page (kiosks, TVs)', () => {
  it('onDeviceCode shows the code in the page; the login completes when it is approved elsewhere', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const page = await tab(await context(), `${site.origin}/`);
    await step(page, 'setup', {
      client: 'ky',
      store: 'session',
      manager: { host: api.url },
      deviceCodes: true,
    });
    const call = step(page, 'call', `${api.url}/api/data`);
    await page.waitForFunction(() => document.querySelector('#device-code'));
    const shown = await page.evaluate(() => {
      const element = document.querySelector('#device-code');
      return { code: element?.getAttribute('data-user-code') ?? '', text: element?.textContent };
    }, undefined);
    const userCode = shown.code;
    expect(shown.text).toContain(userCode);
    expect(api.approve(userCode)).toBe(true);
    expect(await call).toMatchObject({ status: 200 });
    expect(api.stats().grants.device_code).toBe(1);
  });
});

describe('an engine at the supported floor (AbortSignal.any and URL.canParse removed)', () => {
  it.each(['fetch', 'ky', 'axios-fetch'] as const)(
    '%s: three 401s recovered with one refresh; a redirect login started, its returnTo checked',
    async (client) => {
      const site = await app();
      const api = await mockFor(site.origin);
      const page = await tab(await context(), `${site.origin}/`);
      await step(page, 'setup', {
        client,
        store: 'idb',
        manager: { host: api.url },
        seed: seed(api),
        olderEngine: true,
      });
      api.revokeAll({ keepRefresh: true });
      const answers = await Promise.all(
        Array.from({ length: 3 }, () => step(page, 'call', `${api.url}/api/data`)),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(api.stats().grants.refresh_token).toBe(1);
      const login = await step(page, 'startLogin', `${site.origin}/callback`, '/reports');
      expect(new URL(login).searchParams.get('redirect_uri')).toBe(`${site.origin}/callback`);
    },
  );
});

describe('a browser without Web Locks or BroadcastChannel', () => {
  it('each tab locks and refreshes on its own: still one refresh for one tab, and no error', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const page = await tab(await context(), `${site.origin}/`);
    await step(page, 'setup', {
      client: 'axios-xhr',
      store: 'idb',
      manager: { host: api.url },
      seed: seed(api),
      withoutTabApis: true,
    });
    api.revokeAll({ keepRefresh: true });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => step(page, 'call', `${api.url}/api/data`)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(api.stats().grants.refresh_token).toBe(1);
  });
});

describe('an abandoned login by redirect', () => {
  it('leaves nothing behind once it is over 30 min old: its pending entry and its DPoP key are forgotten at the next page load', async () => {
    const site = await app();
    const op = await startProvider();
    cleanups.push(() => op.close());
    const page = await tab(await context(), `${site.origin}/`);
    const options = { issuer: op.issuer, clientId: dpopClientId, dpop: true };
    const recent = await step(page, 'abandonedLogin', options, 10);
    // Ten minutes later the login may still come back: kept.
    expect(recent.before).toEqual({ logins: 1, keys: 1 });
    expect(recent.after).toEqual({ logins: 1, keys: 1 });
    const old = await step(page, 'abandonedLogin', options, 31);
    expect(old.before).toEqual({ logins: 2, keys: 2 });
    expect(old.after).toEqual({ logins: 0, keys: 0 });
  });
});

describe('a page given no server', () => {
  it('says what works in a page: the host in code, with Vite from VITE_OIDC_HOST (a page has no OIDC_HOST)', async () => {
    const site = await app();
    const page = await tab(await context(), `${site.origin}/`);
    const said = await step(page, 'configError', {});
    expect(said).toMatch(/a page or Worker has no environment variables/);
    expect(said).toContain('import.meta.env.VITE_OIDC_HOST');
    // What a Vite app passes when .env is missing: the same answer.
    expect(await step(page, 'configError', { host: undefined })).toBe(said);
  });
});

describe('the browser stores pass the TokenStore conformance suite', () => {
  it.each(['idb', 'session'] as const)('%s', async (kind) => {
    const site = await app();
    const page = await tab(await context(), `${site.origin}/`);
    const result = await step(page, 'conformance', kind);
    expect(result.failed).toEqual([]);
    // The IndexedDB store is shared by the origin's tabs: the cross-object and changed cases too.
    expect(result.ran).toBeGreaterThanOrEqual(kind === 'idb' ? 12 : 8);
  });
});
