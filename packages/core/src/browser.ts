/**
 * `@oidc-auth/core` for browsers, Web Workers and edge runtimes (the `browser`, `worker` and
 * `workerd` export conditions): the same manager and adapter kit as on Node, with the web's
 * stores (memory by default, `sessionStorage`, IndexedDB shared across tabs), login by
 * redirect, and non-extractable DPoP keys. No `node:` module is reached from here.
 * @module @oidc-auth/core/browser
 */
export * from './common.js';
export {
  IndexedDbTokenStore,
  type IndexedDbTokenStoreOptions,
  SessionStorageTokenStore,
  type SessionStorageTokenStoreOptions,
} from './web/stores.js';
