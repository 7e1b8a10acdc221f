// A browser app's use of @oidc-auth/fetch, as the browser guide writes it: the size and
// warning checks bundle this (scripts/check-browser-bundles.mjs, size-limit).
import { IndexedDbTokenStore, TokenManager } from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';

const manager = new TokenManager({
  issuer: 'https://id.example.org/realms/lab',
  clientId: 'lab-spa',
  store: new IndexedDbTokenStore(),
});
export const api = oidcFetch({ manager, origins: ['https://api.example.org'] });
export const login = () => manager.loginByRedirect({ redirectUri: `${location.origin}/callback` });
export const callback = () => manager.handleRedirect();
