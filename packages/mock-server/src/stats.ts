import { createHash } from 'node:crypto';

/**
 * How the stats name an `Authorization` value: a digest, never the bearer itself, so a stats
 * dump or a log of it leaks no token. Tests compare with `headerDigest('Bearer …')`.
 */
export function headerDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** The routes the mock server counts and can inject faults into. */
export type RouteName =
  | 'device'
  | 'token'
  | 'login'
  | 'callback'
  | 'userinfo'
  | 'api'
  | 'redirect'
  | 'approval'
  // The standard OpenID Provider's routes (see `openIdPaths`).
  | 'discovery'
  | 'jwks'
  | 'authorize'
  | 'oauth-token'
  | 'device-authorization'
  | 'oauth-userinfo'
  | 'revocation'
  | 'end-session';

/** What a mock server has seen since it started or since the last reset. */
export interface MockStats {
  /** Calls per route, faulty answers included. */
  routes: Record<RouteName, number>;
  /** Token-endpoint calls per grant, failed ones included. */
  grants: {
    device_code: number;
    refresh_token: number;
    authorization_code: number;
    client_credentials: number;
  };
  /** Tokens revoked at the standard provider's revocation endpoint. */
  revoked: number;
  /** Device flow: codes issued, polls, and polls that found the login already approved. */
  device: { issued: number; polls: number; pollsAfterApproval: number };
  /** How often an already-rotated refresh token was presented (each revoked its family). */
  reuseDetected: number;
  /**
   * Per request path (control routes excluded): how many calls, and how often each
   * `Authorization` header value arrived, keyed by {@link headerDigest} of the value. A path
   * with an empty `authorization` never saw one.
   */
  paths: Record<string, { calls: number; authorization: Record<string, number> }>;
}

export function createStats(): MockStats {
  return {
    routes: {
      device: 0,
      token: 0,
      login: 0,
      callback: 0,
      userinfo: 0,
      api: 0,
      redirect: 0,
      approval: 0,
      discovery: 0,
      jwks: 0,
      authorize: 0,
      'oauth-token': 0,
      'device-authorization': 0,
      'oauth-userinfo': 0,
      revocation: 0,
      'end-session': 0,
    },
    grants: { device_code: 0, refresh_token: 0, authorization_code: 0, client_credentials: 0 },
    revoked: 0,
    device: { issued: 0, polls: 0, pollsAfterApproval: 0 },
    reuseDetected: 0,
    paths: {},
  };
}

export function recordRequest(stats: MockStats, path: string, authorization?: string): void {
  let entry = stats.paths[path];
  if (!entry) {
    entry = { calls: 0, authorization: {} };
    stats.paths[path] = entry;
  }
  entry.calls++;
  if (authorization !== undefined) {
    const key = headerDigest(authorization);
    entry.authorization[key] = (entry.authorization[key] ?? 0) + 1;
  }
}
