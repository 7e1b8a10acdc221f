// Logs the fleet's identity in once, from a terminal: the device flow, and the token stored in
// Redis (encrypted) for every fleet member. Run it again when the refresh token has expired.
//
//   REDIS_URL=… OIDC_HOST=https://api.example.org OIDC_TOKEN_KEY=… node fleet-login.mjs
import { TokenManager } from '@oidc-auth/core';
import { RedisTokenStore } from '@oidc-auth/redis';
import { Redis } from 'ioredis';

const client = new Redis(process.env.REDIS_URL);
client.on('error', () => {}); // reported once, below, when it matters
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
} catch (error) {
  console.error(`fleet login: ${error.message}`);
  process.exitCode = 1;
} finally {
  manager.close();
  // quit() waits for Redis to answer, which it may never do: give it a second.
  const closed = Promise.all([store.close(), client.quit()]).catch(() => {});
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  client.disconnect();
}
