import type { MockClient } from './openid-paths.js';

/** How the device route behaves: working, or failing like one of the real py-oidc-auth cases (503, 404, 502). */
export type DeviceRouteMode = 'on' | 'unavailable' | 'not-mounted' | 'no-device-endpoint';

/** How the token route reports an IdP error such as `authorization_pending`. */
export type ErrorShape = 'py-oidc-auth' | 'rfc6749';

/**
 * Options of {@link startMockServer}. Every field except `host`, `port` and `clock` can also be
 * changed while the server runs, with `configure()` or `POST /_mock/config`.
 */
export interface MockServerOptions {
  /**
   * Address to listen on. Loopback only, unless you know what you are doing.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Access-token lifetime in seconds (≥ 1).
   * @default 300
   */
  accessTtl?: number;
  /**
   * Refresh-token lifetime in seconds (≥ 1).
   * @default 3600
   */
  refreshTtl?: number;
  /**
   * Device-flow polling interval in seconds that the device route announces.
   * @default 5
   */
  interval?: number;
  /**
   * Lifetime of a device code in seconds.
   * @default 600
   */
  deviceExpiresIn?: number;
  /**
   * Approve a pending device code by itself when it is polled for the (N+1)-th time:
   * `0` approves at the first poll. `false` waits for an approval (page or control).
   * @default false
   */
  autoApprove?: number | false;
  /**
   * Answer the next N device polls with `slow_down`.
   * @default 0
   */
  slowDown?: number;
  /**
   * Include `verification_uri_complete` in device answers (else it is `null`).
   * @default true
   */
  verificationUriComplete?: boolean;
  /**
   * How IdP errors on the token route are shaped: wrapped in `detail` like py-oidc-auth, or
   * plain RFC 6749 `{"error": …}`.
   * @default 'py-oidc-auth'
   */
  errorShape?: ErrorShape;
  /**
   * Whether the device route works, or answers like a server that cannot do the device flow:
   * `unavailable` (503), `not-mounted` (404), `no-device-endpoint` (502).
   * @default 'on'
   */
  deviceRoute?: DeviceRouteMode;
  /**
   * Issue a new refresh token on every refresh and retire the old one.
   * @default true
   */
  rotation?: boolean;
  /**
   * Presenting an already-rotated refresh token revokes its whole token family.
   * @default true
   */
  reuseDetection?: boolean;
  /**
   * Leave `refresh_token` out of refresh answers (some IdPs do; clients keep the old one).
   * @default false
   */
  omitRefreshTokenOnRefresh?: boolean;
  /**
   * Scopes granted to new tokens. `/api/admin` needs `admin` among them.
   * @default 'openid profile email offline_access'
   */
  scope?: string;
  /**
   * Subject (`sub`) of the tokens this server issues.
   * @default 'mock-user'
   */
  subject?: string;
  /**
   * The server's clock in milliseconds since the epoch. Tests pass a controllable one.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Serve the standard OpenID Provider (discovery and `/oauth/…`) beside the py-oidc-auth
   * routes. `false` answers them 404, as a py-oidc-auth server (which has no discovery document
   * of its own) does.
   * @default true
   */
  openIdProvider?: boolean;
  /**
   * At the standard OpenID Provider's token endpoint, demand a DPoP nonce (`use_dpop_nonce`
   * with a `DPoP-Nonce` header) in every DPoP proof.
   * @default false
   */
  dpopNonce?: boolean;
  /**
   * The clients the standard OpenID Provider knows: others are refused (`invalid_client`), a
   * client with a secret must prove it, and only such a client may use `client_credentials`.
   * Without it any client id is taken, as a public client, or as a confidential one when it
   * sends a secret (any secret).
   * @default any client
   */
  clients?: readonly MockClient[];
  /**
   * Origins of web pages allowed to call it (CORS): their preflights are answered, and
   * `WWW-Authenticate`, `DPoP-Nonce` and `Retry-After` are exposed to their scripts. `'*'` allows
   * any origin (echoed back, never a literal `*`).
   * @default none: no CORS headers
   */
  cors?: readonly string[] | '*';
}

/** The options that can change at run time. */
export type MockServerConfig = Required<
  Omit<MockServerOptions, 'host' | 'port' | 'clock' | 'cors' | 'clients'>
>;

export const defaultConfig: MockServerConfig = {
  accessTtl: 300,
  refreshTtl: 3600,
  interval: 5,
  deviceExpiresIn: 600,
  autoApprove: false,
  slowDown: 0,
  verificationUriComplete: true,
  errorShape: 'py-oidc-auth',
  deviceRoute: 'on',
  rotation: true,
  reuseDetection: true,
  omitRefreshTokenOnRefresh: false,
  scope: 'openid profile email offline_access',
  subject: 'mock-user',
  dpopNonce: false,
  openIdProvider: true,
};

const deviceRouteModes: readonly DeviceRouteMode[] = [
  'on',
  'unavailable',
  'not-mounted',
  'no-device-endpoint',
];
const errorShapes: readonly ErrorShape[] = ['py-oidc-auth', 'rfc6749'];

/** Thrown for a bad option; the HTTP control API turns it into a 400. */
export class MockConfigError extends Error {
  override name = 'MockConfigError';
}

function positive(key: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new MockConfigError(`${key} must be a number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function boolean(key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new MockConfigError(`${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

function text(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new MockConfigError(`${key} must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a partial config (from code or JSON) and returns the merged result. */
export function mergeConfig(
  base: MockServerConfig,
  patch: Record<string, unknown>,
): MockServerConfig {
  const next: MockServerConfig = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    switch (key) {
      case 'accessTtl':
      case 'refreshTtl':
        next[key] = positive(key, value, 1);
        break;
      case 'interval':
      case 'deviceExpiresIn':
      case 'slowDown':
        next[key] = positive(key, value, 0);
        break;
      case 'autoApprove':
        next.autoApprove = value === false ? false : positive(key, value, 0);
        break;
      case 'verificationUriComplete':
      case 'rotation':
      case 'reuseDetection':
      case 'omitRefreshTokenOnRefresh':
      case 'dpopNonce':
      case 'openIdProvider':
        next[key] = boolean(key, value);
        break;
      case 'scope':
      case 'subject':
        next[key] = text(key, value);
        break;
      case 'errorShape':
        if (!errorShapes.includes(value as ErrorShape)) {
          throw new MockConfigError(`errorShape must be one of ${errorShapes.join(', ')}`);
        }
        next.errorShape = value as ErrorShape;
        break;
      case 'deviceRoute':
        if (!deviceRouteModes.includes(value as DeviceRouteMode)) {
          throw new MockConfigError(`deviceRoute must be one of ${deviceRouteModes.join(', ')}`);
        }
        next.deviceRoute = value as DeviceRouteMode;
        break;
      default:
        throw new MockConfigError(`unknown option ${JSON.stringify(key)}`);
    }
  }
  return next;
}
