import { inspect } from 'node:util';
import {
  ErrorCode,
  isAuthError,
  MemoryTokenStore,
  parseTokenJson,
  TokenManager,
} from '@oidc-auth/core';
import { headerDigest, startMockServer } from '@oidc-auth/mock-server';
import got, { HTTPError, RequestError } from 'got';
import { expect, it } from 'vitest';
import { withOidc } from '../src/index.js';

it('auth failures surface as got RequestError with the AuthError as cause', async () => {
  const server = await startMockServer();
  const manager = new TokenManager({
    host: server.url,
    store: new MemoryTokenStore(),
    interactive: false,
  });
  const api = got.extend(withOidc({ manager }));
  const error = await api(`${server.url}/api/x`).catch((e: unknown) => e);
  manager.close();
  await server.close();
  expect(error).toBeInstanceOf(RequestError);
  expect(isAuthError((error as RequestError).cause)).toBe(true);
  expect(((error as RequestError).cause as { code: string }).code).toBe(ErrorCode.LOGIN_REQUIRED);
});

it('never writes the token into defaults', async () => {
  const api = got.extend(
    withOidc({ host: 'https://auth.example.org', store: new MemoryTokenStore() }),
  );
  expect(api.defaults.options.headers.authorization).toBeUndefined();
});

it("got's own retry re-sends with the token, and the final error shows none", async () => {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  const bearer = headerDigest(`Bearer ${token.access_token}`);
  // One 503, retried by got, then 200: both attempts carried the token.
  server.fault({ route: 'api', status: 503, count: 1 });
  const api = got.extend(
    { retry: { limit: 1, calculateDelay: ({ computedValue }) => (computedValue ? 1 : 0) } },
    withOidc({ manager }),
  );
  expect((await api(`${server.url}/api/retried`)).statusCode).toBe(200);
  expect(server.stats().paths['/api/retried']?.authorization).toEqual({ [bearer]: 2 });
  // Two 503s: the retry fails too; the error got throws keeps no token in its options.
  server.fault({ route: 'api', status: 503, count: 2 });
  const error = await api(`${server.url}/api/failed`).catch((e: unknown) => e);
  manager.close();
  await server.close();
  expect(error).toBeInstanceOf(HTTPError);
  expect(server.stats().paths['/api/failed']?.authorization).toEqual({ [bearer]: 2 });
  expect(inspect(error, { depth: 12 })).not.toContain(token.access_token);
});
