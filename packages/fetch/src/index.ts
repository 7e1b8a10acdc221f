/**
 * The public API of `@oidc-auth/fetch`.
 * @module @oidc-auth/fetch
 */
export { type OidcFetchOptions, oidcFetch } from './oidc-fetch.js';
