import type { LookupFunction } from 'node:net';
import { MemoryTokenStore, TokenManager } from '@oidc-auth/core';
import { headerDigest, startMockServer } from '@oidc-auth/mock-server';
import axios from 'axios';
import { afterEach, expect, it } from 'vitest';
import { oidcAuth } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

// localhost is 127.0.0.1 and api.localhost is 127.0.0.2: loopback only, never an outside address.
const lookup = ((
  host: string,
  options: { all?: boolean },
  callback: (...args: unknown[]) => void,
) => {
  const address = host === 'api.localhost' ? '127.0.0.2' : '127.0.0.1';
  if (options?.all) callback(null, [{ address, family: 4 }]);
  else callback(null, address, 4);
}) as unknown as LookupFunction;

/**
 * The auth server on localhost and a foreign one on api.localhost, both on one port
 * (follow-redirects compares host:port, and keeps Authorization for a subdomain on the same
 * port), and an axios instance with a stored token for the first.
 */
async function setup() {
  const auth = await startMockServer();
  const foreign = await startMockServer({ host: '127.0.0.2', port: auth.port });
  cleanups.push(
    () => auth.close(),
    () => foreign.close(),
  );
  const host = `http://localhost:${auth.port}`;
  const store = new MemoryTokenStore();
  const issued = auth.issueToken();
  await store.put(host, {
    ...issued,
    refresh_token: issued.refresh_token ?? '',
    headers: { Authorization: `Bearer ${issued.access_token}` },
  });
  const manager = new TokenManager({ host, store, interactive: false });
  cleanups.push(() => manager.close());
  const api = axios.create({ lookup } as never);
  oidcAuth({ manager })(api);
  return { auth, foreign, host, issued, api };
}

it('a redirect to a subdomain does not carry the token (follow-redirects would keep it)', async () => {
  const { auth, foreign, host, issued, api } = await setup();
  const to = encodeURIComponent(`http://api.localhost:${auth.port}/leak`);
  const res = await api.get(`${host}/redirect?to=${to}&status=302`, { validateStatus: () => true });

  expect(res.status).toBe(404);
  expect(auth.stats().paths['/redirect']?.authorization).toEqual({
    [headerDigest(`Bearer ${issued.access_token}`)]: 1,
  });
  expect(foreign.stats().paths['/leak']?.calls).toBe(1);
  expect(foreign.stats().paths['/leak']?.authorization).toEqual({});
});

it("the caller's own beforeRedirect hook runs once per hop, on every send of a config, and the token still stays home", async () => {
  const { auth, foreign, host, api } = await setup();
  const hops: string[] = [];
  const to = encodeURIComponent(`http://api.localhost:${auth.port}/leak`);
  const config = {
    url: `${host}/redirect?to=${to}&status=302`,
    validateStatus: () => true,
    beforeRedirect: (options: { href?: string }) => void hops.push(options.href ?? ''),
  };
  // The same config object twice (as a retry library re-sends it).
  await api.request(config);
  await api.request(config);

  expect(hops).toEqual([
    `http://api.localhost:${auth.port}/leak`,
    `http://api.localhost:${auth.port}/leak`,
  ]);
  expect(foreign.stats().paths['/leak']?.calls).toBe(2);
  expect(foreign.stats().paths['/leak']?.authorization).toEqual({});
});
