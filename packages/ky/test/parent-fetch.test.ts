import { MemoryTokenStore, parseTokenJson, TokenManager } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';
import ky from 'ky';
import { afterEach, expect, it } from 'vitest';
import { withOidc } from '../src/index.js';
import { prefixed } from './ky-version.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  await store.put(server.url, parseTokenJson(server.issueToken(), Date.now() / 1000));
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  cleanups.push(
    () => server.close(),
    () => manager.close(),
  );
  return { server, manager };
}

it('keeps a fetch set on the parent instance, for the request and for the re-send after a 401', async () => {
  const { server, manager } = await setup();
  const seen: string[] = [];
  const parentFetch: typeof fetch = (input, init) => {
    seen.push(input instanceof Request ? input.url : String(input));
    return fetch(input, init);
  };
  const api = ky.create({ fetch: parentFetch, retry: 0 }).extend(withOidc({ manager }));
  expect(await api.get(`${server.url}/api/one`).json()).toMatchObject({ path: '/api/one' });
  server.revokeAll({ keepRefresh: true });
  expect(await api.get(`${server.url}/api/two`).json()).toMatchObject({ path: '/api/two' });
  // /api/one; /api/two answered 401, then re-sent through the same parent fetch.
  expect(seen).toEqual([`${server.url}/api/one`, `${server.url}/api/two`, `${server.url}/api/two`]);
  expect(server.stats().grants.refresh_token).toBe(1);
});

it('also works spread into ky.create()', async () => {
  const { server, manager } = await setup();
  const api = ky.create({ ...prefixed(`${server.url}/api`), retry: 0, ...withOidc({ manager }) });
  server.revokeAll({ keepRefresh: true });
  expect(await api.get('data').json()).toMatchObject({ path: '/api/data' });
  expect(server.stats().grants.refresh_token).toBe(1);
});
