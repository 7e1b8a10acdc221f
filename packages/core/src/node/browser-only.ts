import { AuthError, ErrorCode } from '../errors.js';
import type { TokenStore } from '../store/store.js';
import type { IndexedDbTokenStoreOptions, SessionStorageTokenStoreOptions } from '../web/stores.js';

// The browser stores, as the Node build has them: the same names and types, so that code
// written for a page type-checks whichever build TypeScript reads (no `customConditions`
// needed), and a clear answer when one is made where there is no browser storage.

function browserOnly(name: string): AuthError {
  return new AuthError(
    ErrorCode.INVALID_OPTIONS,
    `${name} keeps tokens in a browser's storage, and this is @oidc-auth/core's Node build. In a page or Web Worker, bundlers pick the browser build by the "browser" export condition (Vite, esbuild and webpack do for browser targets). On Node, use FileTokenStore (the token file py-oidc-auth-client shares) or MemoryTokenStore.`,
  );
}

/** A page's IndexedDB store: in the browser build only (see `@oidc-auth/core/browser`). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the browser build's type, never made here.
export class IndexedDbTokenStore {
  constructor(_options: IndexedDbTokenStoreOptions = {}) {
    throw browserOnly('IndexedDbTokenStore');
  }
}
export interface IndexedDbTokenStore extends TokenStore {}

/** A tab's `sessionStorage` store: in the browser build only (see `@oidc-auth/core/browser`). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the browser build's type, never made here.
export class SessionStorageTokenStore {
  constructor(_options: SessionStorageTokenStoreOptions = {}) {
    throw browserOnly('SessionStorageTokenStore');
  }
}
export interface SessionStorageTokenStore extends TokenStore {}
