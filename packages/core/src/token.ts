import { fromBase64, fromUtf8 } from './encoding.js';
import { AuthError, ErrorCode } from './errors.js';

/**
 * An OAuth 2.0 token as py-oidc-auth-client stores it: the same fields, snake_case, absolute
 * expiry times in Unix seconds.
 */
export interface Token {
  /** The bearer access token. */
  access_token: string;
  /** Token type, typically `"Bearer"`. */
  token_type: string;
  /** Access-token expiry as a Unix timestamp (seconds). */
  expires: number;
  /** The refresh token; `""` when the server gave none. */
  refresh_token: string;
  /** Refresh-token expiry as a Unix timestamp (seconds). */
  refresh_expires: number;
  /** Space-separated granted scopes. */
  scope: string;
  /** Ready-made header: `{ Authorization: "<token_type> <access_token>" }`. */
  headers: Record<string, string>;
  /**
   * The OpenID Connect ID token that came with it (standard dialect), kept through refreshes
   * that send none. Verified when it arrives; `TokenManager.claims()` gives its claims.
   */
  id_token?: string;
  /**
   * The `sub` of the login's verified ID token: the user these tokens belong to, kept with the
   * token (memory and store) so that every refresh is checked against it, whatever ID tokens
   * came or were refused in between. A refresh naming another `sub` is not used: log in again.
   */
  sub?: string;
  /**
   * With `dpop: true`: the private key (a P-256 JWK) this token and its refresh token are bound
   * to (RFC 9449). Stored with the token, which is useless without it.
   */
  dpop_key?: JsonWebKey;
  /**
   * The store key of the session these tokens belong to (`SessionIdentity.key`: the issuer,
   * client, grant, scopes, DPoP), recorded with the token by an OpenID Provider's manager. A
   * manager never uses a stored token that names another identity. Left out of py-oidc-auth
   * entries, which stay exactly as py-oidc-auth-client writes them, and of the tokens
   * `getToken()` hands out.
   */
  identity?: string;
}

/**
 * A device authorization (RFC 8628 §3.2) as the user needs it. Pass `device_code` and
 * `interval` to `DeviceFlow.poll()`.
 */
export interface DeviceCode {
  /** Where the user goes: `verification_uri_complete` when the server sent one, else `verification_uri`. */
  uri: string;
  /** The short code the user enters at `uri`, e.g. `"ABCD-EFGH"`. */
  user_code: string;
  /** The opaque code used to poll the token endpoint. Secret. */
  device_code: string;
  /** Minimum polling interval in seconds. */
  interval: number;
  /** Seconds until the device code expires, as the server said. */
  expires_in: number;
  /** The plain `verification_uri`, for showing next to the code. */
  verification_uri: string;
}

/** Default lifetime when a token answer states none (the Python client's choice). */
const defaultLifetime = 180;

/** The last second of year 9999: later expiry times are read as this (dates stay printable). */
const latest = 253_402_300_799;

/** An absolute expiry within what a `Date` can show. */
function clampTime(seconds: number): number {
  return Math.min(Math.max(seconds, 0), latest);
}

/** A relative lifetime: one that is not positive says nothing, so the default applies. */
function lifetime(seconds: number | undefined): number {
  return seconds !== undefined && seconds > 0 ? seconds : defaultLifetime;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return undefined;
}

function firstNumber(raw: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    if (raw[key] === undefined || raw[key] === null) continue;
    const value = num(raw[key]);
    if (value === undefined) {
      throw new AuthError(
        ErrorCode.BAD_RESPONSE,
        `The token answer has a non-numeric "${key}"; the server is misbehaving — report it to its operator.`,
      );
    }
    return value;
  }
  return undefined;
}

function stringField(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      `The token answer has a "${key}" that is not a string; the server is misbehaving — report it to its operator.`,
    );
  }
  return value;
}

/** Builds the `headers` field. */
export function authorizationHeader(token: Pick<Token, 'token_type' | 'access_token'>): string {
  return `${token.token_type} ${token.access_token}`;
}

/**
 * Turns a token answer (either dialect) into a {@link Token}, as the Python client does:
 * `expires` from `expires`, `exp`, `expires_at`, else now + `expires_in` (default 180 s); the
 * same for `refresh_expires`. A refresh answer without `refresh_token` keeps `previous`'s.
 * Throws `OIDC_BAD_RESPONSE` for anything that is not a usable token; never returns a partial one.
 *
 * @param nowSeconds the current time in Unix seconds
 */
export function parseTokenJson(raw: unknown, nowSeconds: number, previous?: Token): Token {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      'The token answer is not a JSON object; the server is misbehaving — report it to its operator.',
    );
  }
  const body = raw as Record<string, unknown>;
  const accessToken = stringField(body, 'access_token');
  if (!accessToken) {
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      'The token answer has no access_token; the server is misbehaving — report it to its operator.',
    );
  }
  const tokenType = stringField(body, 'token_type') || 'Bearer';
  const expiresIn = firstNumber(body, ['expires_in']);
  const expires = clampTime(
    firstNumber(body, ['expires', 'exp', 'expires_at']) ?? nowSeconds + lifetime(expiresIn),
  );

  let refreshToken = stringField(body, 'refresh_token') ?? '';
  let refreshExpires: number;
  if (refreshToken === '' && previous?.refresh_token) {
    refreshToken = previous.refresh_token;
    refreshExpires = previous.refresh_expires;
  } else {
    const refreshExpiresIn = firstNumber(body, ['refresh_expires_in']);
    refreshExpires = clampTime(
      firstNumber(body, ['refresh_expires', 'refresh_exp', 'refresh_expires_at']) ??
        nowSeconds + lifetime(refreshExpiresIn),
    );
  }
  const scope = stringField(body, 'scope') ?? previous?.scope ?? '';
  const token = {
    access_token: accessToken,
    token_type: tokenType,
    expires,
    refresh_token: refreshToken,
    refresh_expires: refreshExpires,
    scope,
  };
  const idToken = stringField(body, 'id_token') || previous?.id_token;
  return {
    ...token,
    headers: { Authorization: authorizationHeader(token) },
    ...(idToken ? { id_token: idToken } : {}),
    ...(previous?.sub ? { sub: previous.sub } : {}),
  };
}

/**
 * A token as a store keeps it (the `token` of an entry), checked: `undefined` when it has no
 * access token or an expiry that is not a number (it is then treated as absent, never partially
 * used); a missing `expires` is 0 (an expired access token: its refresh token, if still valid,
 * is used, as py-oidc-auth-client does); times clamped, missing fields defaulted, `headers`
 * rebuilt. For store authors reading their own.
 */
export function parseStoredToken(raw: unknown): Token | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const t = raw as Record<string, unknown>;
  if (typeof t.access_token !== 'string' || t.access_token === '') return undefined;
  // No `expires` at all: an access token of unknown age, used by py-oidc-auth-client as an
  // expired one (it refreshes). A value that is there but not a number is refused.
  const rawExpires = t.expires === undefined || t.expires === null ? 0 : num(t.expires);
  if (rawExpires === undefined) return undefined;
  const expires = clampTime(rawExpires);
  const refreshExpires = clampTime(num(t.refresh_expires) ?? 0);
  const token = {
    access_token: t.access_token,
    token_type: typeof t.token_type === 'string' && t.token_type ? t.token_type : 'Bearer',
    expires,
    refresh_token: typeof t.refresh_token === 'string' ? t.refresh_token : '',
    refresh_expires: refreshExpires,
    scope: typeof t.scope === 'string' ? t.scope : '',
  };
  return {
    ...token,
    headers: { Authorization: authorizationHeader(token) },
    ...(typeof t.id_token === 'string' && t.id_token ? { id_token: t.id_token } : {}),
    ...(typeof t.sub === 'string' && t.sub ? { sub: t.sub } : {}),
    ...(typeof t.dpop_key === 'object' && t.dpop_key !== null
      ? { dpop_key: t.dpop_key as JsonWebKey }
      : {}),
    ...(typeof t.identity === 'string' && t.identity ? { identity: t.identity } : {}),
  };
}

/** Seconds of margin before an expiry: 60 s, or half the lifetime for short-lived tokens. */
export function expiryMargin(lifetimeSeconds: number): number {
  return Math.min(60, Math.max(0, lifetimeSeconds) / 2);
}

/**
 * True when `expiresAt` is more than the margin away. `issuedAt` (seconds) tells the lifetime,
 * so a 30-second token is not treated as expired the moment it arrives.
 */
export function isFresh(expiresAt: number, issuedAt: number, nowSeconds: number): boolean {
  const remaining = expiresAt - nowSeconds;
  return remaining > 0 && remaining >= expiryMargin(expiresAt - issuedAt);
}

/** The payload of a JWT, unchecked (undefined when it is not one): never trust it without a signature check. */
export function unverifiedClaims(jwt: string): Record<string, unknown> | undefined {
  try {
    const claims = JSON.parse(fromUtf8(fromBase64(jwt.split('.')[1] ?? '')));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
      ? claims
      : undefined;
  } catch {
    return undefined;
  }
}
