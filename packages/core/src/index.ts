/**
 * The public API of `@oidc-auth/core`.
 * @module @oidc-auth/core
 */
export * from './common.js';
export { IndexedDbTokenStore, SessionStorageTokenStore } from './node/browser-only.js';
export { FileTokenStore, type FileTokenStoreOptions } from './node/file-store.js';
export type { Spawn } from './node/prompt.js';
export {
  openAuthorizationUrl,
  openBrowser,
  writeDeviceCodeToStderr,
} from './node/prompt.js';
export { defaultTokenFile, userCacheDir } from './node/token-file-path.js';
export type {
  IndexedDbTokenStoreOptions,
  SessionStorageTokenStoreOptions,
} from './web/stores.js';
