export { type OidcAuthOptions, oidcAuth } from './oidc-auth.js';
