/**
 * The public API of `@oidc-auth/core`.
 * @module @oidc-auth/core
 */
export * from './common.js';
export type { Spawn } from './flows/prompt.js';
export {
  openAuthorizationUrl,
  openBrowser,
  writeDeviceCodeToStderr,
} from './flows/prompt.js';
export {
  defaultTokenFile,
  FileTokenStore,
  type FileTokenStoreOptions,
  userCacheDir,
} from './store/file-store.js';
