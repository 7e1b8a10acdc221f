/**
 * The public API of `@oidc-auth/axios`.
 * @module @oidc-auth/axios
 */
export { type OidcAuthOptions, oidcAuth } from './oidc-auth.js';
