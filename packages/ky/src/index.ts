/**
 * The public API of `@oidc-auth/ky`.
 * @module @oidc-auth/ky
 */
export { type OidcKyOptions, type WithOidcOptions, withOidc } from './with-oidc.js';
