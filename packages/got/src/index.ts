/**
 * The public API of `@oidc-auth/got`.
 * @module @oidc-auth/got
 */
export { type WithOidcOptions, withOidc } from './with-oidc.js';
