import { startMockServer } from '@oidc-auth/mock-server';
import { afterEach, expect, it } from 'vitest';
import { MemoryTokenStore, parseTokenJson, TokenManager } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("ownsUrl(): a py-oidc-auth manager's own routes, known at once; not the API beside them", async () => {
  const server = await startMockServer();
  const manager = new TokenManager({ host: server.url, store: new MemoryTokenStore() });
  cleanups.push(
    () => server.close(),
    () => manager.close(),
  );
  expect(manager.ownsUrl(`${server.url}/auth/v2/token`)).toBe(true);
  expect(manager.ownsUrl(`${server.url}/auth/v2/device`)).toBe(true);
  expect(manager.ownsUrl(`${server.url}/api/data`)).toBe(false);
  expect(manager.ownsUrl(`${server.url}/auth/v2/token?x=1`)).toBe(false);
});

it('ownsUrl(): a standard manager owns its discovery URL before discovery, and the endpoints it found after', async () => {
  const server = await startMockServer({ clients: [{ clientId: 'my-app' }] });
  const store = new MemoryTokenStore();
  const manager = new TokenManager({
    issuer: server.url,
    clientId: 'my-app',
    store,
    interactive: false,
  });
  cleanups.push(
    () => server.close(),
    () => manager.close(),
  );
  expect(manager.ownsUrl(`${server.url}/.well-known/openid-configuration`)).toBe(true);
  expect(manager.ownsUrl(`${server.url}/token`)).toBe(false);
  // A refresh needs the endpoints: discovery runs, and what it names is the manager's too.
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  token.expires = Math.floor(Date.now() / 1000) - 10;
  await store.put(manager.host, token);
  await manager.getToken().catch(() => undefined);
  const metadata = (await (
    await fetch(`${server.url}/.well-known/openid-configuration`)
  ).json()) as Record<string, string>;
  expect(manager.ownsUrl(metadata.token_endpoint as string)).toBe(true);
  expect(manager.ownsUrl(metadata.jwks_uri as string)).toBe(true);
  expect(manager.ownsUrl(`${server.url}/api/data`)).toBe(false);
});
