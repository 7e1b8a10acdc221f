import { randomUUID } from 'node:crypto';
import { TokenManager } from '@oidc-auth/core';
import {
  clientId,
  otherClientId,
  serviceClients,
  startProvider,
} from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, inject, it } from 'vitest';
import { connect, defer, makeStore } from './helpers.js';

const url = () => inject('redisUrl');

describe('one Redis namespace, many identities', () => {
  it('two clients of one issuer, and two service accounts of it, each get and refresh their own tokens', async () => {
    const op = await startProvider();
    defer(() => op.close());
    const namespace = randomUUID();
    // Each manager its own connection, as separate processes would have: one namespace for all.
    const storeFor = async () => makeStore(await connect('ioredis', url()), { namespace });
    const person = async (client: string) =>
      new TokenManager({
        issuer: op.issuer,
        clientId: client,
        store: await storeFor(),
        onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
      });
    const service = async (method: 'basic' | 'post') =>
      new TokenManager({
        issuer: op.issuer,
        ...serviceClients[method],
        tokenEndpointAuthMethod: `client_secret_${method}`,
        grant: 'client_credentials',
        scopes: 'api:read',
        store: await storeFor(),
      });
    const managers = [
      await person(clientId),
      await person(otherClientId),
      await service('basic'),
      await service('post'),
    ];
    defer(() => {
      for (const manager of managers) manager.close();
    });
    const [a, b, tenantA, tenantB] = managers as [
      TokenManager,
      TokenManager,
      TokenManager,
      TokenManager,
    ];
    const tokens = [];
    for (const manager of managers) tokens.push(await manager.getToken());
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(4);
    expect(await op.clientOf(tokens[1]?.access_token ?? '')).toBe(otherClientId);
    expect(await op.clientOf(tokens[3]?.access_token ?? '')).toBe(serviceClients.post.clientId);
    expect(op.clientGrants[`${serviceClients.post.clientId} client_credentials`]).toBe(1);
    expect(
      (await a.store.hosts()).sort(),
      'four entries in one namespace, one per session',
    ).toEqual([a.host, b.host, tenantA.host, tenantB.host].sort());

    // A refresh spends the session's own refresh token, under its own client.
    b.invalidate();
    const renewed = await b.getToken();
    expect(await op.clientOf(renewed.access_token)).toBe(otherClientId);
    expect(op.clientGrants[`${otherClientId} refresh_token`]).toBe(1);
    expect(op.clientGrants[`${clientId} refresh_token`]).toBeUndefined();
    expect(op.grants['refresh_token:error']).toBeUndefined();
    expect((await a.getToken()).access_token).toBe(tokens[0]?.access_token);
  });
});
