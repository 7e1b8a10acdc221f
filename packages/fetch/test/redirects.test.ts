import { MemoryTokenStore, parseTokenJson, TokenManager } from '@oidc-auth/core';
import { headerDigest, startMockServer } from '@oidc-auth/mock-server';
import { expect, it } from 'vitest';
import { oidcFetch } from '../src/index.js';

it('a redirect within the allowed origin: followed here, Response.url is the last hop, redirected is false', async () => {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  try {
    const fetch = oidcFetch({ manager });
    const to = encodeURIComponent(`${server.url}/api/target`);
    const res = await fetch(`${server.url}/redirect?to=${to}&status=307`);
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${server.url}/api/target`);
    expect(res.redirected).toBe(false);
    expect(server.stats().paths['/api/target']?.authorization).toEqual({
      [headerDigest(`Bearer ${token.access_token}`)]: 1,
    });
    // A caller's redirect: 'manual' is left as it is: the 3xx comes back.
    const manual = await fetch(`${server.url}/redirect?to=${to}&status=302`, {
      redirect: 'manual',
    });
    expect(manual.status).toBe(302);
  } finally {
    manager.close();
    await server.close();
  }
});
