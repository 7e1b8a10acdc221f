// One member of a fleet: run it in every process (array-job task, pod, CI job). All of them
// share one identity in Redis, refresh it once between them, and adopt a new token the moment
// one of them stores it. Needs: npm install @oidc-auth/core @oidc-auth/fetch @oidc-auth/redis ioredis
//
//   REDIS_URL=redis://redis.internal:6379 OIDC_HOST=https://api.example.org \
//   OIDC_TOKEN_KEY="$(cat /run/secrets/oidc-token-key)" node fleet-worker.mjs
import { TokenManager } from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { RedisTokenStore } from '@oidc-auth/redis';
import { Redis } from 'ioredis';

const host = process.env.OIDC_HOST;
const client = new Redis(process.env.REDIS_URL);
// Without a listener ioredis prints every failed reconnect; the store's own errors say enough.
client.on('error', () => {});
const store = new RedisTokenStore({
  client,
  namespace: process.env.OIDC_NAMESPACE ?? 'default', // a team's or tenant's keys; sessions are apart anyway
  encryptionKey: { id: 'k1', key: process.env.OIDC_TOKEN_KEY }, // `openssl rand -base64 32`
});
// A batch job never waits for a human: without a usable token it fails with OIDC_LOGIN_REQUIRED.
const manager = new TokenManager({ host, store, interactive: false });
const api = oidcFetch({ manager });

try {
  for (let item = 0; item < Number(process.env.ITEMS ?? 10); item++) {
    const res = await api(`${host}/api/items/${item}`);
    if (!res.ok) throw new Error(`item ${item}: HTTP ${res.status}`);
    await res.arrayBuffer();
  }
} catch (error) {
  // Redis down, no login, the API refusing: one line, and a failed exit for the scheduler.
  console.error(`fleet worker: ${error.message}`);
  process.exitCode = 1;
} finally {
  // Close what holds the process open: the manager, the store's pub/sub connection, your
  // client. quit() waits for Redis to answer, which it may never do: give it a second.
  manager.close();
  const closed = Promise.all([store.close(), client.quit()]).catch(() => {});
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  client.disconnect();
}
