// Logs the fleet's identity in once, from a terminal: the device flow, and the token stored in
// Redis (encrypted) for every fleet member. Run it again when the refresh token has expired.
//
//   REDIS_URL=… OIDC_HOST=https://api.example.org OIDC_TOKEN_KEY=… node fleet-login.mjs
import { TokenManager } from '@oidc-auth/core';
import { RedisTokenStore } from '@oidc-auth/redis';
import { Redis } from 'ioredis';

const client = new Redis(process.env.REDIS_URL);
const store = new RedisTokenStore({
  client,
  namespace: process.env.OIDC_NAMESPACE ?? 'default',
  encryptionKey: { id: 'k1', key: process.env.OIDC_TOKEN_KEY },
});
const manager = new TokenManager({ host: process.env.OIDC_HOST, store, interactive: true });
try {
  const token = await manager.login();
  console.log(
    `Logged in; the fleet's token is valid until ${new Date(token.expires * 1000).toISOString()}.`,
  );
} finally {
  manager.close();
  await store.close();
  await client.quit();
}
