export { type WithOidcOptions, withOidc } from './with-oidc.js';
