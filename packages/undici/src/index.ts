/**
 * The public API of `@oidc-auth/undici`.
 * @module @oidc-auth/undici
 */
export { type InstallOidcDispatcherOptions, installOidcDispatcher } from './global.js';
export {
  type OidcInterceptor,
  type OidcInterceptorOptions,
  oidcInterceptor,
} from './interceptor.js';
