// A browser app's use of @oidc-auth/ky (see fetch.js).
import { IndexedDbTokenStore, TokenManager } from '@oidc-auth/core';
import { withOidc } from '@oidc-auth/ky';
import ky from 'ky';

const manager = new TokenManager({
  issuer: 'https://id.example.org/realms/lab',
  clientId: 'lab-spa',
  store: new IndexedDbTokenStore(),
});
export const api = ky.extend(withOidc({ manager, origins: ['https://api.example.org'] }));
export const login = () => manager.loginByRedirect({ redirectUri: `${location.origin}/callback` });
export const callback = () => manager.handleRedirect();
