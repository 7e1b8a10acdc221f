/**
 * The public API of `@oidc-auth/core`.
 * @module @oidc-auth/core
 */
export * from './common.js';
export {
  defaultTokenFile,
  FileTokenStore,
  type FileTokenStoreOptions,
  userCacheDir,
} from './node/file-store.js';
export type { Spawn } from './node/prompt.js';
export {
  openAuthorizationUrl,
  openBrowser,
  writeDeviceCodeToStderr,
} from './node/prompt.js';
