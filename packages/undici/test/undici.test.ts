import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  AuthError,
  ErrorCode,
  MemoryTokenStore,
  parseTokenJson,
  type Token,
  TokenManager,
} from '@oidc-auth/core';
import { headerDigest, type MockServer, startMockServer } from '@oidc-auth/mock-server';
import { Agent, interceptors, request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { Hops } from '../src/hops.js';
import { installOidcDispatcher, oidcInterceptor } from '../src/index.js';

const run = promisify(execFile);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A mock server and a manager logged in to it (a token in memory, no login possible). */
async function loggedIn(): Promise<{ server: MockServer; manager: TokenManager; token: Token }> {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  cleanups.push(
    () => server.close(),
    () => manager.close(),
  );
  return { server, manager, token };
}

/** What a third-party SDK does: it knows nothing of tokens, and calls the global fetch. */
async function thirdPartySdk(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

it("installOidcDispatcher(): a third party's plain global fetch, and undici.request, carry the token; uninstalling puts the dispatcher back", async () => {
  const { server, manager, token } = await loggedIn();
  const bearer = headerDigest(`Bearer ${token.access_token}`);
  const uninstall = installOidcDispatcher({ manager });
  cleanups.push(uninstall);

  expect((await thirdPartySdk(`${server.url}/api/sdk`)).status).toBe(200);
  const viaRequest = await request(`${server.url}/api/request`);
  await viaRequest.body.dump();
  expect(viaRequest.statusCode).toBe(200);
  expect(server.stats().paths['/api/sdk']?.authorization).toEqual({ [bearer]: 1 });
  expect(server.stats().paths['/api/request']?.authorization).toEqual({ [bearer]: 1 });

  uninstall();
  expect((await thirdPartySdk(`${server.url}/api/after`)).status).toBe(401);
});

it('installOidcDispatcher(): a 401 is recovered through the global fetch, and the refresh itself (same origin) passes untouched', async () => {
  const { server, manager, token } = await loggedIn();
  cleanups.push(installOidcDispatcher({ manager }));
  server.revokeAll({ keepRefresh: true });

  const { status } = await thirdPartySdk(`${server.url}/api/after-revoke`);
  expect(status).toBe(200);
  expect(server.stats().grants.refresh_token).toBe(1);
  const refreshed = await manager.getToken();
  expect(refreshed.access_token).not.toBe(token.access_token);
  // The token request went out with the manager's own headers: no bearer token of ours.
  expect(server.stats().paths['/auth/v2/token']).toEqual({ calls: 1, authorization: {} });
});

it("a request with the caller's own Authorization is sent as it is, and not recovered", async () => {
  const { server, manager } = await loggedIn();
  const dispatcher = new Agent().compose(oidcInterceptor({ manager }));
  const res = await request(`${server.url}/api/own`, {
    dispatcher,
    headers: { Authorization: 'Bearer mine' },
  });
  await res.body.dump();
  expect(res.statusCode).toBe(401);
  expect(server.stats().paths['/api/own']?.authorization).toEqual({
    [headerDigest('Bearer mine')]: 1,
  });
  expect(server.stats().grants.refresh_token ?? 0).toBe(0);
});

it('composed after the redirect interceptor (it would follow hops unseen): a typed error, and no request carries the token', async () => {
  const { server, manager } = await loggedIn();
  const wrongOrder = new Agent().compose(
    interceptors.redirect({ maxRedirections: 3 }),
    oidcInterceptor({ manager }),
  );
  const to = encodeURIComponent(`${server.url}/api/target`);
  const error = await request(`${server.url}/redirect?to=${to}&status=302`, {
    dispatcher: wrongOrder,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  expect((error as AuthError).code).toBe(ErrorCode.INVALID_OPTIONS);
  expect((error as AuthError).message).toMatch(/compose it before the redirect interceptor/);
  expect(server.stats().paths['/redirect']).toBeUndefined();
  expect(server.stats().paths['/api/target']).toBeUndefined();
});

it('a body over 1 MiB that is a stream is not kept: its 401 reaches the caller after the recovery, and the next request carries the new token', async () => {
  const { server, manager } = await loggedIn();
  const dispatcher = new Agent().compose(oidcInterceptor({ manager }));
  server.revokeAll({ keepRefresh: true });
  const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
  const first = await request(`${server.url}/api/upload`, {
    dispatcher,
    method: 'POST',
    body: Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]),
  });
  await first.body.dump();
  expect(first.statusCode).toBe(401);
  expect(server.stats().grants.refresh_token).toBe(1);

  const next = await request(`${server.url}/api/upload`, { dispatcher, method: 'POST', body: 'x' });
  await next.body.dump();
  expect(next.statusCode).toBe(200);
  expect(server.stats().grants.refresh_token).toBe(1);
});

it('the marks of foreign redirects: one hop each, to that URL only, for a while', () => {
  let now = 0;
  const allowed = 'https://api.example.org';
  const hops = new Hops(
    (url) => url.startsWith(`${allowed}/`),
    () => now,
  );
  const handler = () => ({});
  // Two requests redirected by a foreign host to the same URL: two hops without a token.
  hops.foreignRedirect('https://evil.example/a', `${allowed}/x#frag`);
  hops.foreignRedirect('https://evil.example/b', `${allowed}/x`);
  hops.foreignRedirect('https://evil.example/c', 'https://elsewhere.example/y');
  expect(hops.mayCarry(handler(), `${allowed}/y`, true)).toBe(true);
  expect(hops.mayCarry(handler(), `${allowed}/x`, true)).toBe(false);
  expect(hops.mayCarry(handler(), `${allowed}/x`, true)).toBe(false);
  expect(hops.mayCarry(handler(), `${allowed}/x`, true)).toBe(true);
  // A redirect fetch did not follow (redirect: 'manual') is forgotten after ten seconds.
  hops.foreignRedirect('https://evil.example/d', `${allowed}/z`);
  now += 10_001;
  expect(hops.mayCarry(handler(), `${allowed}/z`, true)).toBe(true);
  // At most 256 marks: the oldest is forgotten first.
  for (let i = 0; i <= 256; i++) hops.foreignRedirect('https://evil.example/', `${allowed}/m${i}`);
  expect(hops.mayCarry(handler(), `${allowed}/m0`, true)).toBe(true);
  expect(hops.mayCarry(handler(), `${allowed}/m1`, true)).toBe(false);
  expect(hops.mayCarry(handler(), `${allowed}/m256`, true)).toBe(false);
  // A request's later hops: once one was foreign, none carries ours.
  const chain = handler();
  expect(hops.mayCarry(chain, 'https://evil.example/', true)).toBe(false);
  expect(hops.mayCarry(chain, `${allowed}/back`, true)).toBe(false);
});

it("Node's own fetch used first (its bundled undici's Agent is the global dispatcher): installOidcDispatcher() puts one of its own in its place, and uninstalling puts Node's back", async () => {
  const server = await startMockServer();
  cleanups.push(() => server.close());
  const script = new URL('./fixtures/node-fetch-first.ts', import.meta.url).pathname;
  const { stdout } = await run(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', script, server.url],
    { timeout: 60_000 },
  );
  expect(JSON.parse(stdout)).toEqual({ before: 401, after: 200, uninstalled: 401 });
});

it('composed by an older undici (its compose hands the old handler API): a typed error at once, not a request that hangs', async () => {
  const { manager } = await loggedIn();
  const dispatch = oidcInterceptor({ manager })(() => true);
  let error: unknown;
  dispatch({ origin: 'http://127.0.0.1:1', path: '/', method: 'GET' }, {
    onError: (e: Error) => {
      error = e;
    },
  } as never);
  expect(error).toBeInstanceOf(AuthError);
  expect((error as AuthError).message).toMatch(/undici 7 or later/);
});
