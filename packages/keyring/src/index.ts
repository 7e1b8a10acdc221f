/**
 * The public API of `@oidc-auth/keyring`.
 * @module @oidc-auth/keyring
 */
export { KeyringTokenStore, type KeyringTokenStoreOptions } from './keyring-store.js';
