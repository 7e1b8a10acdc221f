import { inspect } from 'node:util';
import { MemoryTokenStore, parseTokenJson, TokenManager } from '@oidc-auth/core';
import { headerDigest, startMockServer } from '@oidc-auth/mock-server';
import axios, { AxiosError } from 'axios';
import axiosRetry from 'axios-retry';
import { expect, it } from 'vitest';
import { oidcAuth } from '../src/index.js';

it('axios-retry re-sends the config it got from an error: with the token, and the final error shows none', async () => {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  const bearer = headerDigest(`Bearer ${token.access_token}`);
  const api = axios.create();
  oidcAuth({ manager })(api);
  axiosRetry(api, {
    retries: 1,
    retryDelay: () => 0,
    retryCondition: (e) => e.response?.status === 503,
  });
  // One 503, then 200: the retry re-used the (redacted) config and still carried the token.
  server.fault({ route: 'api', status: 503, count: 1 });
  expect((await api.get(`${server.url}/api/retried`)).status).toBe(200);
  expect(server.stats().paths['/api/retried']?.authorization).toEqual({ [bearer]: 2 });
  // Two 503s: the error that reaches the caller keeps no token anywhere.
  server.fault({ route: 'api', status: 503, count: 2 });
  const error = await api.get(`${server.url}/api/failed`).catch((e: unknown) => e);
  manager.close();
  await server.close();
  expect(error).toBeInstanceOf(AxiosError);
  expect(server.stats().paths['/api/failed']?.authorization).toEqual({ [bearer]: 2 });
  expect(inspect(error, { depth: 12 })).not.toContain(token.access_token);
  expect(JSON.stringify(error)).not.toContain(token.access_token);
});
