import { ErrorCode, isAuthError, MemoryTokenStore, TokenManager } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';
import got, { RequestError } from 'got';
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
