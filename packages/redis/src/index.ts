/**
 * The public API of `@oidc-auth/redis`.
 * @module @oidc-auth/redis
 */
export type { EncryptionKey } from './crypto.js';
export type { RedisClient, RedisDriver } from './driver.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './redis-store.js';
