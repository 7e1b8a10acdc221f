import { startMockServer } from '@oidc-auth/mock-server';
import { afterEach, expect, it } from 'vitest';
import { oidcFetch } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

it("the mock server's loginOptions log a test client in with nobody at a terminal", async () => {
  const server = await startMockServer();
  cleanups.push(() => server.close());
  const options = server.loginOptions();
  const fetch = oidcFetch(options);
  const res = await fetch(`${server.url}/api/data`);
  expect(res.status).toBe(200);
  expect(server.stats().device.issued).toBe(1);
  expect(await options.store.hosts()).toEqual([server.url]);
});
