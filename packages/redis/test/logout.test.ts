import { randomUUID } from 'node:crypto';
import { TokenManager, type TokenManagerEvents } from '@oidc-auth/core';
import { clientId, startProvider } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, inject, it } from 'vitest';
import { connect, defer, makeStore } from './helpers.js';

const url = () => inject('redisUrl');

describe('logout on a Redis store shared by a fleet', () => {
  it('one process logs out: its tokens are revoked at the provider, and every other process (ioredis and node-redis) drops the token on the notice alone', async () => {
    const op = await startProvider();
    defer(() => op.close());
    const namespace = randomUUID();
    // Each manager its own connection, as separate processes (or machines) would have.
    const managers = await Promise.all(
      (['ioredis', 'node-redis', 'ioredis', 'node-redis'] as const).map(async (kind) => {
        const m = new TokenManager({
          issuer: op.issuer,
          clientId,
          store: makeStore(await connect(kind, url()), { namespace }),
          onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
        });
        defer(() => m.close());
        return m;
      }),
    );
    const [first, ...others] = managers as [TokenManager, ...TokenManager[]];
    const token = await first.getToken();
    for (const other of others)
      expect((await other.getToken()).access_token).toBe(token.access_token);

    const dropped = others.map(
      (m) =>
        new Promise<TokenManagerEvents['logout']>((resolve) => {
          const off = m.on('logout', (event) => {
            off();
            resolve(event);
          });
        }),
    );
    expect(await first.logout()).toEqual({ removed: true, revocation: 'revoked' });
    expect(await Promise.all(dropped)).toEqual(
      others.map(() => ({ host: op.issuer, source: 'other-process' })),
    );
    for (const other of others) expect(other.health().state).not.toBe('valid');
    expect(await op.clientOf(token.access_token)).toBeUndefined();
  });
});
