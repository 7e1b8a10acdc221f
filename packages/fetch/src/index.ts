export { type OidcFetchOptions, oidcFetch } from './oidc-fetch.js';
