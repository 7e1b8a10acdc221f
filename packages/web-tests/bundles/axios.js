// A browser app's use of @oidc-auth/axios (see fetch.js).
import { oidcAuth } from '@oidc-auth/axios';
import { IndexedDbTokenStore, TokenManager } from '@oidc-auth/core';
import axios from 'axios';

const manager = new TokenManager({
  issuer: 'https://id.example.org/realms/lab',
  clientId: 'lab-spa',
  store: new IndexedDbTokenStore(),
});
export const api = axios.create({ baseURL: 'https://api.example.org' });
oidcAuth({ manager, origins: ['https://api.example.org'] })(api);
export const login = () => manager.loginByRedirect({ redirectUri: `${location.origin}/callback` });
export const callback = () => manager.handleRedirect();
