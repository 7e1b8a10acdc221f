import { randomBytes, randomUUID } from 'node:crypto';
import { AuthError, parseTokenJson, type Token } from '@oidc-auth/core';
import { type MockServer, startMockServer } from '@oidc-auth/mock-server';
import { cleanupsFor } from '@oidc-auth/test-support/cleanup';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster, createSentinel } from 'redis';
import { afterEach, expect } from 'vitest';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../src/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `fn` after the current test (a concurrent test's own cleanups: see concurrentTest). */
export function defer(fn: () => Promise<unknown> | unknown): void {
  cleanupsFor(cleanups).push(fn);
}

export type ClientKind =
  | 'ioredis'
  | 'node-redis'
  | 'ioredis-cluster'
  | 'node-redis-cluster'
  | 'ioredis-sentinel'
  | 'node-redis-sentinel';

/**
 * A connected client of one kind, closed after the test. For the Sentinel kinds, `url` names
 * the Sentinel; the client finds the master `mymaster` through it.
 */
export async function connect(kind: ClientKind, url: string): Promise<object> {
  const { port } = new URL(url);
  const sentinels = [{ host: '127.0.0.1', port: Number(port) }];
  switch (kind) {
    case 'ioredis-sentinel': {
      const client = new Redis({ sentinels, name: 'mymaster', lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.quit().catch(() => client.disconnect()));
      return client;
    }
    case 'node-redis-sentinel': {
      const client = createSentinel({ name: 'mymaster', sentinelRootNodes: sentinels });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.close().catch(() => client.destroy()));
      return client;
    }
    case 'ioredis': {
      const client = new Redis(url, { lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.quit().catch(() => client.disconnect()));
      return client;
    }
    case 'ioredis-cluster': {
      const client = new Cluster([{ host: '127.0.0.1', port: Number(port) }], {
        lazyConnect: true,
      });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.quit().catch(() => client.disconnect()));
      return client;
    }
    case 'node-redis': {
      const client = createClient({ url });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.close().catch(() => client.destroy()));
      return client;
    }
    case 'node-redis-cluster': {
      const client = createCluster({ rootNodes: [{ url }] });
      client.on('error', () => undefined);
      await client.connect();
      defer(() => client.close().catch(() => client.destroy()));
      return client;
    }
  }
}

/** A key for encryption at rest. */
export function newKey(id = 'k1') {
  return { id, key: randomBytes(32) };
}

/** A store on its own namespace (so tests never see each other's keys), closed after the test. */
export function makeStore(
  client: object,
  options: Partial<RedisTokenStoreOptions> & { namespace?: string } = {},
): RedisTokenStore {
  const store = new RedisTokenStore({
    client,
    namespace: options.namespace ?? randomUUID(),
    ...(options.encryptionKey ? {} : { plaintext: true }),
    ...options,
  });
  defer(() => store.close());
  return store;
}

/** A raw ioredis client for looking at what the store wrote. */
export async function raw(url: string): Promise<Redis> {
  return (await connect('ioredis', url)) as Redis;
}

/** Resolves when `condition` holds, checking once per event-loop turn (never a timed sleep). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}

/** Awaits a promise that must reject with an AuthError, and returns the error. */
export async function codeOf(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

/** A mock auth server with strict rotation and reuse detection (a fleet's worst case), closed after the test. */
export async function mock(): Promise<MockServer> {
  const server = await startMockServer({ rotation: true, reuseDetection: true });
  defer(() => server.close());
  return server;
}

/** A fresh token from `server`, as the store keeps it. */
export function issued(server: MockServer): Token {
  return parseTokenJson(server.issueToken(), Date.now() / 1000);
}
