export { type OidcKyOptions, type WithOidcOptions, withOidc } from './with-oidc.js';
