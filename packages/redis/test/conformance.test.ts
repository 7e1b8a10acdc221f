import { randomUUID } from 'node:crypto';
import { storeConformanceCases } from '@oidc-auth/store-conformance';
import { describe, inject, it } from 'vitest';
import { RedisTokenStore } from '../src/index.js';
import { type ClientKind, connect, newKey } from './helpers.js';

// The published conformance suite, against a real redis-server: every client kind, with and
// without encryption, as a shared store that pushes changes.
const kinds: ClientKind[] = [
  'ioredis',
  'node-redis',
  'ioredis-cluster',
  'node-redis-cluster',
  'ioredis-sentinel',
  'node-redis-sentinel',
];

function urlFor(kind: ClientKind): string {
  if (kind.endsWith('cluster')) return inject('redisClusterUrl');
  if (kind.endsWith('sentinel')) return `redis://127.0.0.1:${inject('redisSentinelPort')}`;
  return inject('redisUrl');
}

for (const kind of kinds) {
  for (const encrypted of [false, true]) {
    describe(`RedisTokenStore (${kind}${encrypted ? ', encrypted' : ''}): TokenStore conformance`, () => {
      const cases = storeConformanceCases(
        async () => {
          const namespace = randomUUID();
          const key = newKey();
          const open = async () =>
            new RedisTokenStore({
              client: await connect(kind, urlFor(kind)),
              namespace,
              ...(encrypted ? { encryptionKey: key } : { plaintext: true }),
            });
          const store = await open();
          const peers: RedisTokenStore[] = [];
          return {
            store,
            peer: async () => {
              const peer = await open();
              peers.push(peer);
              return peer;
            },
            close: async () => {
              await Promise.all([store, ...peers].map((s) => s.close()));
            },
          };
        },
        { shared: true, pushesChanges: true },
      );
      for (const { name, run } of cases) it(name, run);
    });
  }
}
