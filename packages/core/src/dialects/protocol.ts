import { AuthError, ErrorCode, redact } from '../errors.js';
import { type HttpAnswer, type PreparedRequest, summarize } from '../http.js';
import { oauthErrorLabel, parseOAuthErrorJson, upstreamPrefix } from '../oauth-error.js';
import type { SessionIdentity } from '../store/identity.js';
import { type DeviceCode, parseTokenJson, type Token } from '../token.js';
import { isSecureUrl, printable } from '../urls.js';

export { parseOAuthErrorJson };

/** The grants a dialect turns into token-endpoint requests. */
export type Grant =
  | { type: 'device_code'; deviceCode: string }
  | { type: 'refresh_token'; refreshToken: string }
  | { type: 'client_credentials' }
  | ({ type: 'token_exchange'; subjectToken: string } & TokenExchangeOptions)
  | { type: 'authorization_code'; code: string; redirectUri: string; codeVerifier: string };

/** What an RFC 8693 token exchange asks for: a token for another audience or resource. */
export interface TokenExchangeOptions {
  /** The logical name of the target service (`audience`), e.g. `'https://archive.example.org'`. */
  audience?: string;
  /** The URL of the target resource (`resource`, RFC 8707). */
  resource?: string;
  /** Scopes for the new token (space-separated); the provider's default when left out. */
  scope?: string;
  /**
   * The kind of token wanted (`requested_token_type`).
   * @default the provider's choice, usually an access token
   */
  requestedTokenType?: string;
}

/** One poll of the device flow. */
export type PollResult =
  | { status: 'pending' }
  | { status: 'slow_down' }
  | { status: 'done'; token: Token };

/**
 * Where a server's endpoints are: what the request builders need. py-oidc-auth servers have
 * fixed routes; an OpenID Provider announces them in its discovery document.
 */
export interface ProviderMetadata {
  issuer: string;
  token_endpoint: string;
  authorization_endpoint?: string;
  device_authorization_endpoint?: string;
  /** Where the provider publishes its signing keys, for verifying ID tokens. */
  jwks_uri?: string;
  /** RFC 9207: every authorization response names the issuer (`iss`); one without is refused. */
  authorization_response_iss_parameter_supported?: boolean;
  /** RFC 7009: where tokens are revoked (`logout()`). */
  revocation_endpoint?: string;
  /** OpenID Connect RP-Initiated Logout: where the browser ends the user's provider session. */
  end_session_endpoint?: string;
}

/**
 * How a dialect learns its {@link ProviderMetadata}: known without I/O, or one discovery request
 * whose answer `parse` turns into metadata. Sending it is the caller's explicit step.
 */
export type Discovery =
  | { metadata: ProviderMetadata }
  | { request: PreparedRequest; parse(answer: HttpAnswer): ProviderMetadata };

/**
 * A protocol dialect: turns "start device flow", "poll", "refresh", "exchange code" into
 * requests, and answers into tokens or typed errors. Everything here is synchronous and pure:
 * request builders take the discovered metadata, parsers take the raw answer (`…Answer`).
 */
export interface Dialect {
  /** `'py-oidc-auth'` or `'oidc'`. */
  readonly name: string;
  /**
   * The server's normalised host or issuer, for messages and events; the key of its entry in a
   * token store when the dialect names no `identity`.
   */
  readonly storeKey: string;
  /**
   * Whose tokens a manager of this dialect keeps (server, client, grant, scopes, DPoP): its
   * `key` is the manager's entry in the store.
   * @default the server alone: `{ key: storeKey, server: storeKey }`
   */
  readonly identity?: SessionIdentity;
  /** The origin a token may be sent to by default. */
  readonly origin: string;
  /** Where to log in again, for error messages. */
  readonly loginHint: string;
  /** How to learn the endpoints. */
  readonly discovery: Discovery;
  /**
   * Set for a service account: the grant that gets a token with no person involved
   * (`client_credentials`). The manager then never runs a device or browser login.
   */
  readonly serviceGrant?: Grant;
  /**
   * Set when ID tokens in token answers are verified (signature against `jwks_uri`, `iss`,
   * `exp`, `iat`): the audience they must name, the client id.
   */
  readonly idTokenAudience?: string;
  /**
   * Tokens are DPoP-bound (RFC 9449): token requests carry a proof of a key made for each
   * login, and API requests a proof each.
   */
  readonly dpop?: boolean;
  /** The device authorization request; `OIDC_DEVICE_FLOW_UNSUPPORTED` when there is no endpoint. */
  deviceAuthorizationRequest(metadata: ProviderMetadata): PreparedRequest;
  /** Answers that end the device-authorization call for good, even with a 5xx status. */
  isFinalDeviceAnswer(answer: HttpAnswer): boolean;
  parseDeviceAuthorizationAnswer(answer: HttpAnswer): DeviceCode;
  tokenRequest(grant: Grant, metadata: ProviderMetadata): PreparedRequest;
  parsePollAnswer(answer: HttpAnswer, nowSeconds: number): PollResult;
  parseRefreshAnswer(answer: HttpAnswer, nowSeconds: number, previous: Token): Token;
  /**
   * Starts an authorization-code login (PKCE S256) returning to `redirectUri`; `dpopJkt` binds
   * the code to a DPoP key (RFC 9449 §10) where the dialect supports it.
   */
  authorizationRequest(
    redirectUri: string,
    metadata: ProviderMetadata,
    options?: { dpopJkt?: string; resume?: PendingAuthorization },
  ): Promise<AuthorizationRequest>;
  /** Parses the code exchange; `nonce`, when given, must match the ID token's. */
  parseCodeExchangeAnswer(answer: HttpAnswer, nowSeconds: number, nonce?: string): Token;
  /**
   * The revocation of one token (RFC 7009), or undefined where the server has no way to revoke
   * (py-oidc-auth servers; providers without a `revocation_endpoint`).
   */
  revocationRequest(
    token: string,
    hint: 'refresh_token' | 'access_token',
    metadata: ProviderMetadata,
  ): PreparedRequest | undefined;
  /**
   * Where a browser ends the user's session at the provider (RP-initiated logout), or undefined
   * where there is no such page.
   */
  endSessionUrl(
    metadata: ProviderMetadata,
    options: { idTokenHint?: string | undefined; postLogoutRedirectUri?: string | undefined },
  ): string | undefined;
}

/** An authorization-code login in progress. */
export interface AuthorizationRequest {
  /** Where the user's browser goes. */
  url: string;
  /** Checks the callback's query and returns the code and the PKCE verifier, or throws. */
  callback(params: URLSearchParams): { code: string; codeVerifier: string };
  /**
   * Where the server, not the client, makes the state (py-oidc-auth): `url` is the server's
   * login route, whose redirect carries the state. A client that can read that redirect (Node;
   * a browser cannot) binds the login to it: the browser goes where the redirect points, and
   * only a callback with exactly that state is this login's.
   */
  bind?(location: string): Pick<AuthorizationRequest, 'url' | 'callback'>;
  /** The nonce the ID token must carry (standard dialect). */
  nonce?: string;
  /**
   * What a redirect login keeps across the page load to check the callback: passed back as
   * `resume`, it rebuilds the same request (empty where the server keeps the state).
   */
  pending: PendingAuthorization;
}

/** The secrets of an authorization request in progress (see `AuthorizationRequest.pending`). */
export interface PendingAuthorization {
  state?: string;
  codeVerifier?: string;
  nonce?: string;
}

/** A callback that carries `error=…` instead of a code. */
export function callbackError(params: URLSearchParams): AuthError | undefined {
  // Whoever sent the browser here wrote these: printable, and short.
  const given = params.get('error');
  if (!given) return undefined;
  const error = printable(given).slice(0, 64);
  const text = params.get('error_description');
  const description = text === null ? null : printable(text).slice(0, 300);
  if (error === 'access_denied') {
    return new AuthError(
      ErrorCode.ACCESS_DENIED,
      'The login was denied in the browser. Run the login again and approve it.',
      { detail: { error, error_description: description } },
    );
  }
  return new AuthError(
    ErrorCode.SERVER_ERROR,
    `The browser login failed: ${error}${description ? ` (${description})` : ''}.`,
    { detail: { error, error_description: description } },
  );
}

/** A callback whose state or parameters do not belong to this login. */
export function badCallback(problem: string): AuthError {
  return new AuthError(
    ErrorCode.BAD_RESPONSE,
    `The browser login came back with ${problem}; it may not be yours. Run the login again.`,
  );
}

/** A malformed success answer; its body is never shown, as it may hold new tokens or codes. */
function badAnswer(what: string, problem: string, answer: HttpAnswer): AuthError {
  return new AuthError(
    ErrorCode.BAD_RESPONSE,
    `The ${what} answer ${problem}; the server is misbehaving — report it to its operator.`,
    { status: answer.status },
  );
}

function json(answer: HttpAnswer, what: string): Record<string, unknown> {
  const body = answer.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badAnswer(what, 'is not a JSON object', answer);
  }
  return body as Record<string, unknown>;
}

/**
 * What an error answer says, for programs: `{ error, error_description }` when it names an
 * RFC 6749 error in either shape (plain, or py-oidc-auth's `detail` text with the IdP's JSON in
 * it, whose text is kept as `detail`), so a program can branch on `invalid_client` without
 * parsing messages; else the answer's summary. Secrets redacted, control characters removed.
 */
export function errorDetail(answer: HttpAnswer): unknown {
  const summary = summarize(answer);
  const error = parseOAuthErrorJson(answer.json);
  if (error === undefined || typeof summary !== 'string') return summary;
  let description: unknown;
  try {
    const inner = (answer.json as { detail: string }).detail.trim().slice(upstreamPrefix.length);
    description = (JSON.parse(inner) as { error_description?: unknown }).error_description;
  } catch {
    description = undefined;
  }
  return {
    error: printable(redact(error, answer.secrets ?? [])).slice(0, 100),
    ...(typeof description === 'string' && description
      ? { error_description: printable(redact(description, answer.secrets ?? [])).slice(0, 300) }
      : {}),
    detail: summary,
  };
}

/** An error answer that fits no specific case. */
export function serverError(what: string, answer: HttpAnswer): AuthError {
  const summary = summarize(answer);
  const detail = errorDetail(answer);
  const text = typeof summary === 'string' && summary ? `: ${summary}` : oauthError(summary);
  return new AuthError(
    ErrorCode.SERVER_ERROR,
    `The ${what} request was refused with HTTP ${answer.status}${text}.`,
    { status: answer.status, detail },
  );
}

/** `: code (description)` of an RFC 6749 error body as `summarize` gives it, else nothing. */
function oauthError(detail: unknown): string {
  const { error, error_description: description } = (detail ?? {}) as Record<string, unknown>;
  if (typeof error !== 'string' || error === '') return '';
  const said = typeof description === 'string' && description ? ` (${description})` : '';
  return `: ${error}${said}`.slice(0, 300);
}

/** Parses a device authorization answer (RFC 8628 §3.2) into a {@link DeviceCode}. */
export function parseDeviceAuthorizationAnswer(answer: HttpAnswer): DeviceCode {
  const what = 'device authorization';
  if (answer.status !== 200) throw serverError(what, answer);
  const body = { ...json(answer, what) };
  // Google names it `verification_url` (developers.google.com/identity/protocols/oauth2/limited-input-device).
  if (body.verification_uri === undefined && typeof body.verification_url === 'string') {
    body.verification_uri = body.verification_url;
  }
  for (const key of ['device_code', 'user_code', 'verification_uri'] as const) {
    if (typeof body[key] !== 'string' || body[key] === '') {
      throw badAnswer(what, `has no ${key}`, answer);
    }
  }
  const interval =
    body.interval === undefined || body.interval === null ? 5 : Number(body.interval);
  const expiresIn = body.expires_in === undefined ? 600 : Number(body.expires_in);
  if (!Number.isFinite(interval) || interval < 0) {
    throw badAnswer(what, 'has a bad interval', answer);
  }
  if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw badAnswer(what, 'has a bad expires_in', answer);
  }
  const complete =
    typeof body.verification_uri_complete === 'string' && body.verification_uri_complete
      ? body.verification_uri_complete
      : undefined;
  // The user is sent there: only https (http on loopback, or on the server's own origin).
  for (const uri of [body.verification_uri as string, complete]) {
    if (uri !== undefined && !isShowableUri(uri, answer.url)) {
      throw badAnswer(what, 'has a verification URI that is not https', answer);
    }
  }
  return {
    uri: complete ?? (body.verification_uri as string),
    user_code: body.user_code as string,
    device_code: body.device_code as string,
    interval,
    expires_in: expiresIn,
    verification_uri: body.verification_uri as string,
  };
}

function isShowableUri(uri: string, serverUrl: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (isSecureUrl(url)) return true;
  return (
    url.protocol === 'http:' && serverUrl !== undefined && new URL(serverUrl).origin === url.origin
  );
}

/** Parses a device-flow poll answer: pending, slow down, a token, or a typed error. */
export function parsePollAnswer(answer: HttpAnswer, nowSeconds: number): PollResult {
  if (answer.status === 200) {
    return { status: 'done', token: parseTokenAnswer(answer, nowSeconds, 'device login') };
  }
  switch (parseOAuthErrorJson(answer.json)) {
    case 'authorization_pending':
      return { status: 'pending' };
    case 'slow_down':
      return { status: 'slow_down' };
    case 'access_denied':
    // Microsoft Entra ID's name for it (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code).
    case 'authorization_declined':
      throw new AuthError(
        ErrorCode.ACCESS_DENIED,
        'The login was denied at the verification page. Run the login again and approve it.',
        { status: answer.status, detail: summarize(answer) },
      );
    case 'expired_token':
    case 'invalid_grant':
      throw new AuthError(
        ErrorCode.DEVICE_CODE_EXPIRED,
        'The device code expired before the login was approved. Run the login again and approve it in time.',
        { status: answer.status, detail: summarize(answer) },
      );
    default:
      throw serverError('device login', answer);
  }
}

/** Parses a successful token answer; any other status is a server error. */
export function parseTokenAnswer(
  answer: HttpAnswer,
  nowSeconds: number,
  what: string,
  previous?: Token,
): Token {
  if (answer.status !== 200) throw serverError(what, answer);
  const body = json(answer, what);
  try {
    return parseTokenJson(body, nowSeconds, previous);
  } catch (error) {
    // The body may hold a new access or refresh token: never show it.
    if (error instanceof AuthError) {
      throw new AuthError(error.code, error.message, { status: answer.status });
    }
    throw error;
  }
}

/**
 * Refusals of the refresh grant that a new login would not fix, so the session is kept: the
 * proof or its nonce (RFC 9449), the client's own credentials or rights, and the server's own
 * trouble. Every other refusal ends the session (see {@link parseRefreshAnswer}).
 */
export const refreshErrorsThatKeepTheSession: ReadonlySet<string> = new Set([
  'use_dpop_nonce',
  'invalid_dpop_proof',
  'invalid_client',
  'unauthorized_client',
  'temporarily_unavailable',
  'server_error',
]);

/**
 * Parses a refresh answer. A refusal (400, 401, 403) ends the session — `OIDC_REFRESH_REJECTED`:
 * the refresh token is gone, log in again — unless a new login could not fix it: the errors of
 * `refreshErrorsThatKeepTheSession` (in protocol.ts) are `OIDC_SERVER_ERROR` with the server's
 * `{ error, error_description }` in `detail`, and the refresh token is kept. Real providers
 * answer an unknown, expired or deleted refresh token with `invalid_grant`, but also with
 * `invalid_request`, or an empty 400 or 401: all end it. (429 and 5xx are retried as transient
 * before they get here.)
 */
export function parseRefreshAnswer(answer: HttpAnswer, nowSeconds: number, previous: Token): Token {
  if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
    const code = parseOAuthErrorJson(answer.json);
    if (code !== undefined && refreshErrorsThatKeepTheSession.has(code)) {
      const refused = serverError('refresh', answer);
      throw new AuthError(
        ErrorCode.SERVER_ERROR,
        `${refused.message.replace(/\.$/, '')}; the session is kept (a new login would not fix ${code}): fix what the server names, then try again.`,
        { status: answer.status, detail: refused.detail },
      );
    }
    const named =
      code === undefined ? '' : ` (${oauthErrorLabel(redact(code, answer.secrets ?? []))})`;
    throw new AuthError(
      ErrorCode.REFRESH_REJECTED,
      `The server refused the refresh token${named}.`,
      { status: answer.status, detail: summarize(answer) },
    );
  }
  return parseTokenAnswer(answer, nowSeconds, 'refresh', previous);
}
