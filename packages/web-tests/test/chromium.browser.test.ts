import { parseTokenJson } from '@oidc-auth/core';
import { type MockServer, startMockServer } from '@oidc-auth/mock-server';
import type { BrowserContext } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clientId, dpopClientId, startProvider } from '../../contract/src/oidc-provider.js';
import type { ClientKind } from '../src/page.js';
import { type App, browser, closeBrowser, pageScript, startApp, step, tab } from './harness.js';

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

async function context(): Promise<BrowserContext> {
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

describe.each([
  'fetch',
  'axios-xhr',
  'axios-fetch',
  'ky',
] as ClientKind[])('the adapter contract in Chromium: %s', (client) => {
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
});

describe('login by redirect in Chromium', () => {
  it('py-oidc-auth: /auth/v2/login with the app callback; the token in IndexedDB; back where the user was', async () => {
    const site = await app();
    const api = await mockFor(site.origin);
    const ctx = await context();
    const page = await tab(ctx, `${site.origin}/reports?page=2`);
    await step(page, 'setup', { client: 'fetch', store: 'idb', manager: { host: api.url } });
    const before = await step(page, 'call', `${api.url}/api/data`);
    expect(before.error?.code).toBe('OIDC_LOGIN_REQUIRED');
    expect(before.error?.message).toMatch(/loginByRedirect/);

    const arrived = page.waitForURL(`${site.origin}/callback?**`);
    await step(page, 'startLogin', `${site.origin}/callback`, `${site.origin}/reports?page=2`);
    await arrived;
    await page.waitForFunction(() => 'oidcTest' in globalThis);
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
    await page.waitForFunction(() => 'oidcTest' in globalThis);
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
    await step(page, 'setup', { client: 'axios-fetch', store: 'idb', manager: options, origins: [op.issuer] });
    const arrived = page.waitForURL(`${site.origin}/callback?**`);
    await step(page, 'startLogin', `${site.origin}/callback`, `${site.origin}/`);
    await arrived;
    await page.waitForFunction(() => 'oidcTest' in globalThis);
    await step(page, 'setup', { client: 'axios-fetch', store: 'idb', manager: options, origins: [op.issuer] });
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
    await page.waitForFunction(() => 'oidcTest' in globalThis);
    await step(page, 'setup', { client: 'fetch', store: 'idb', manager: options, origins: [op.issuer] });
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);
  });

  it('oidc-provider without DPoP: state, nonce and the ID token checked; claims available', async () => {
    const site = await app();
    const op = await startProvider();
    cleanups.push(() => op.close());
    const options = { issuer: op.issuer, clientId };
    const page = await tab(await context(), `${site.origin}/`);
    await step(page, 'setup', { client: 'ky', store: 'session', manager: options, origins: [op.issuer] });
    const arrived = page.waitForURL(`${site.origin}/callback?**`);
    await step(page, 'startLogin', `${site.origin}/callback`, `${site.origin}/`);
    await arrived;
    await page.waitForFunction(() => 'oidcTest' in globalThis);
    await step(page, 'setup', { client: 'ky', store: 'session', manager: options, origins: [op.issuer] });
    expect(await step(page, 'finishLogin')).toMatchObject({ returnTo: `${site.origin}/` });
    expect((await step(page, 'call', `${op.issuer}/me`)).status).toBe(200);
  });
});
