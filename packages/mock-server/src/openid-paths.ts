// The standard OpenID Provider's paths and clients: types and constants only, so that the
// package's published types need nothing of Node's.

/** The standard provider's paths (the issuer is the server's base URL). */
export const openIdPaths = {
  discovery: '/.well-known/openid-configuration',
  jwks: '/oauth/jwks',
  authorize: '/oauth/authorize',
  'oauth-token': '/oauth/token',
  'device-authorization': '/oauth/device',
  'oauth-userinfo': '/oauth/userinfo',
  revocation: '/oauth/revoke',
  'end-session': '/oauth/logout',
} as const;

export type OpenIdRoute = keyof typeof openIdPaths;

export function openIdRouteOf(path: string): OpenIdRoute | undefined {
  const found = Object.entries(openIdPaths).find(([, p]) => p === path);
  return found?.[0] as OpenIdRoute | undefined;
}

export const openIdMethods: Record<OpenIdRoute, string> = {
  discovery: 'GET',
  jwks: 'GET',
  authorize: 'GET',
  'oauth-token': 'POST',
  'device-authorization': 'POST',
  'oauth-userinfo': 'GET',
  revocation: 'POST',
  'end-session': 'GET',
};

/** A client the standard provider knows (see `MockServerOptions.clients`). */
export interface MockClient {
  clientId: string;
  /** A confidential client's secret (client_secret_basic or client_secret_post); none: public. */
  clientSecret?: string;
  /** Exact redirect URIs; none: any http(s) URI. */
  redirectUris?: readonly string[];
}
