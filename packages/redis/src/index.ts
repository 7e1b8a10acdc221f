export type { EncryptionKey } from './crypto.js';
export type { RedisClient, RedisDriver } from './driver.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './redis-store.js';
