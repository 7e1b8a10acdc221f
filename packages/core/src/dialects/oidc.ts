import { randomToken, sha256 } from '../encoding.js';
import { AuthError, ErrorCode } from '../errors.js';
import { normalizeIssuer } from '../host.js';
import type { HttpAnswer, PreparedRequest } from '../http.js';
import { type SessionIdentity, sessionIdentity } from '../store/identity.js';
import { type DeviceCode, type Token, unverifiedClaims } from '../token.js';
import { printable } from '../urls.js';
import {
  type ClientAssertionKey,
  type ClientCredentialsOptions,
  clientAuthentication,
} from './client-auth.js';
import { parseDiscoveryAnswer } from './discovery.js';
import {
  type AuthorizationRequest,
  badCallback,
  callbackError,
  type Dialect,
  type Discovery,
  type Grant,
  type PendingAuthorization,
  type ProviderMetadata,
  parseDeviceAuthorizationAnswer,
  parsePollAnswer,
  parseRefreshAnswer,
  parseTokenAnswer,
} from './protocol.js';

/** Options of the standard OpenID Connect dialect. */
export interface OidcOptions {
  /**
   * The OpenID Provider's issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
   * @example 'https://keycloak.example.org/realms/science'
   */
  issuer: string;
  /**
   * The public client's id, registered with the device grant (and `http://localhost` redirects
   * for the browser flow).
   * @example 'my-cli'
   */
  clientId: string;
  /**
   * Scopes to ask for; `offline_access` is what most providers need to issue a refresh token.
   * @default ['openid', 'offline_access']
   */
  scopes?: string | readonly string[];
  /**
   * Origins besides the issuer's own where the discovery document may place its endpoints
   * (a provider such as Google serves its token endpoint from another origin).
   * @default [] — endpoints must be on the issuer's origin
   * @example endpointOrigins: ['https://oauth2.googleapis.com']
   */
  endpointOrigins?: readonly string[];
  /**
   * A confidential client's secret, sent with every token and device request (RFC 6749
   * §2.3.1). Never shown in messages, errors or logs.
   */
  clientSecret?: string;
  /**
   * How the client authenticates: its secret by HTTP Basic (which every provider must support)
   * or as form fields, or a JWT signed with `clientAssertionKey` (RFC 7523, `private_key_jwt`).
   * @default 'client_secret_basic' with clientSecret, 'private_key_jwt' with clientAssertionKey
   */
  tokenEndpointAuthMethod?: NonNullable<ClientCredentialsOptions['tokenEndpointAuthMethod']>;
  /**
   * The private key for `private_key_jwt`: a `KeyObject`, a PEM string or a private JWK, with the
   * `kid` the provider knows it by, and the algorithm (default RS256 for RSA keys, ES256 for
   * P-256, EdDSA for Ed25519). Each request carries a new assertion (60 s, unique `jti`).
   */
  clientAssertionKey?: ClientAssertionKey;
  /**
   * `'client_credentials'` makes this a service account (RFC 6749 §4.4): tokens come from the
   * client's own credentials, no person logs in, there is no refresh token (a new token is
   * fetched before the old one expires and after a 401), and the token is kept in memory
   * unless a store is given. Needs `clientSecret` or `clientAssertionKey`.
   */
  grant?: 'client_credentials';
  /**
   * Verify every ID token the provider sends (OpenID Connect Core §3.1.3.7): its signature
   * against the keys at the discovery document's `jwks_uri`, `iss`, `aud`/`azp`, `exp`, `iat`,
   * the browser login's `nonce`, and that a refresh keeps the same `sub`. A login whose ID
   * token fails is refused; `TokenManager.claims()` returns the verified claims. Turn it off
   * only for a provider whose ID tokens cannot be verified (signed with the client secret).
   * @default true
   */
  verifyIdToken?: boolean;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449): each login makes a P-256 key, tokens are
   * requested with a proof of it, and every API request through an adapter carries its own
   * proof (`Authorization: DPoP …` plus a `DPoP` header), so a stolen access or refresh token
   * is useless without the key. The key is stored with the token (the token file is 0600;
   * encrypt a Redis store). Server nonces (`DPoP-Nonce`) are followed. The provider must
   * support DPoP for this client.
   * @default false
   */
  dpop?: boolean;
}

/** Scopes as OAuth sends them: one space-separated string. */
function scopeOf(scopes: string | readonly string[] | undefined): string {
  if (scopes === undefined) return 'openid offline_access';
  const list =
    typeof scopes === 'string' ? scopes.split(/\s+/) : Array.isArray(scopes) ? scopes : undefined;
  if (!list || list.some((scope) => typeof scope !== 'string')) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'scopes must be a space-separated string or an array of strings, e.g. "openid offline_access".',
    );
  }
  return list.filter((scope) => scope !== '').join(' ');
}

/** An unknown refresh-token lifetime (no `refresh_expires_in`, or 0 meaning "none"): a year. */
const unknownRefreshLifetime = 365 * 24 * 3600;

/** Fills in a refresh-token lifetime the provider left out, before the shared parser runs. */
function withRefreshLifetime(answer: HttpAnswer): HttpAnswer {
  const body = answer.json as Record<string, unknown> | undefined;
  if (answer.status !== 200 || !body || typeof body !== 'object' || !body.refresh_token) {
    return answer;
  }
  const lifetime = Number(body.refresh_expires_in);
  if (body.refresh_expires_in !== undefined && lifetime > 0) return answer;
  return { ...answer, json: { ...body, refresh_expires_in: unknownRefreshLifetime } };
}

/**
 * The standard dialect: any OpenID Provider found by discovery, a public
 * client (`client_id` in the form body), RFC 8628 and RFC 6749 field names, relative expiry
 * times turned absolute on receipt.
 */
export class OidcDialect implements Dialect {
  readonly name = 'oidc';
  readonly storeKey: string;
  readonly origin: string;
  readonly loginHint: string;
  readonly clientId: string;
  readonly scope: string;
  readonly discovery: Discovery;
  readonly serviceGrant?: Grant;
  readonly idTokenAudience?: string;
  readonly dpop: boolean;
  readonly identity: SessionIdentity;
  readonly #clientAuth: ((request: PreparedRequest) => PreparedRequest) | undefined;

  constructor(options: OidcOptions) {
    if (typeof options.clientId !== 'string' || options.clientId === '') {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'clientId is required with issuer: the public client registered at the provider.',
      );
    }
    this.storeKey = normalizeIssuer(options.issuer);
    this.origin = new URL(this.storeKey).origin;
    this.clientId = options.clientId;
    // A service account asks for no scope unless told: `openid` and `offline_access` are a person's.
    this.scope =
      options.grant === 'client_credentials' && options.scopes === undefined
        ? ''
        : scopeOf(options.scopes);

    this.#clientAuth = clientAuthentication(options);
    if (options.grant !== undefined) {
      if (options.grant !== 'client_credentials') {
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          "grant must be 'client_credentials' (a service account) or left out (a person logs in).",
        );
      }
      if (!this.#clientAuth) {
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          "grant: 'client_credentials' needs clientSecret or clientAssertionKey: a service account authenticates itself.",
        );
      }
      this.serviceGrant = { type: 'client_credentials' };
    }
    if (options.verifyIdToken !== undefined && typeof options.verifyIdToken !== 'boolean') {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'verifyIdToken must be true or false.');
    }
    if (options.verifyIdToken !== false) this.idTokenAudience = this.clientId;
    if (options.dpop !== undefined && typeof options.dpop !== 'boolean') {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'dpop must be true or false.');
    }
    this.dpop = options.dpop === true;
    this.identity = sessionIdentity({
      server: this.storeKey,
      clientId: this.clientId,
      grant: this.serviceGrant ? 'client_credentials' : 'login',
      scope: this.scope,
      dpop: this.dpop,
    });
    // The command that makes this very session: other scopes or DPoP are another session.
    const scope = this.scope === scopeOf(undefined) ? '' : ` --scope "${this.scope}"`;
    this.loginHint = `oidc-auth login ${this.storeKey} --client-id ${this.clientId}${scope}${this.dpop ? ' --dpop' : ''}`;
    const issuer = this.storeKey;
    this.discovery = {
      request: {
        url: `${issuer}/.well-known/openid-configuration`,
        method: 'GET',
        secrets: [],
        what: 'discovery',
      },
      parse: (answer) => parseDiscoveryAnswer(answer, issuer, options.endpointOrigins),
    };
  }

  deviceAuthorizationRequest(metadata: ProviderMetadata): PreparedRequest {
    if (!metadata.device_authorization_endpoint) {
      throw new AuthError(
        ErrorCode.DEVICE_FLOW_UNSUPPORTED,
        `${this.storeKey} announces no device_authorization_endpoint; log in with the browser flow instead.`,
      );
    }
    return this.#authenticate({
      url: metadata.device_authorization_endpoint,
      method: 'POST',
      form: { client_id: this.clientId, scope: this.scope },
      secrets: [],
      what: 'device authorization',
    });
  }

  isFinalDeviceAnswer(): boolean {
    return false;
  }

  parseDeviceAuthorizationAnswer(answer: HttpAnswer): DeviceCode {
    return parseDeviceAuthorizationAnswer(answer);
  }

  tokenRequest(grant: Grant, metadata: ProviderMetadata): PreparedRequest {
    return this.#authenticate(this.#tokenRequest(grant, metadata));
  }

  /**
   * Adds the confidential client's credentials, if it has any, and what a refusal of the client
   * (`invalid_client`, `unauthorized_client`) tells the user to check.
   */
  #authenticate(request: PreparedRequest): PreparedRequest {
    const authed = this.#clientAuth ? this.#clientAuth(request) : request;
    const check = `Check clientId ${JSON.stringify(this.clientId)}${this.#clientAuth ? ' and the client credentials' : ''}: the provider does not know this client, or does not let it use this grant.`;
    const notes = [check, authed.refusedClientNote].filter((note) => note !== undefined);
    return { ...authed, refusedClientNote: notes.join(' ') };
  }

  #tokenRequest(grant: Grant, metadata: ProviderMetadata): PreparedRequest {
    const url = metadata.token_endpoint;
    const client_id = this.clientId;
    switch (grant.type) {
      case 'device_code':
        return {
          url,
          method: 'POST',
          form: {
            grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
            device_code: grant.deviceCode,
            client_id,
          },
          secrets: [grant.deviceCode],
          what: 'device login',
        };
      case 'client_credentials':
        return {
          url,
          method: 'POST',
          form: {
            grant_type: 'client_credentials',
            client_id,
            ...(this.scope ? { scope: this.scope } : {}),
          },
          secrets: [],
          what: 'service-account token',
        };
      case 'token_exchange': {
        const form: Record<string, string> = {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: grant.subjectToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          client_id,
        };
        if (grant.audience) form.audience = grant.audience;
        if (grant.resource) form.resource = grant.resource;
        if (grant.scope) form.scope = grant.scope;
        if (grant.requestedTokenType) form.requested_token_type = grant.requestedTokenType;
        return { url, method: 'POST', form, secrets: [grant.subjectToken], what: 'token exchange' };
      }
      case 'refresh_token':
        return {
          url,
          method: 'POST',
          form: { grant_type: 'refresh_token', refresh_token: grant.refreshToken, client_id },
          secrets: [grant.refreshToken],
          what: 'refresh',
        };
      case 'authorization_code':
        return {
          url,
          method: 'POST',
          form: {
            grant_type: 'authorization_code',
            code: grant.code,
            redirect_uri: grant.redirectUri,
            code_verifier: grant.codeVerifier,
            client_id,
          },
          secrets: [grant.code, grant.codeVerifier],
          what: 'code exchange',
        };
    }
  }

  parsePollAnswer(answer: HttpAnswer, nowSeconds: number) {
    return parsePollAnswer(withRefreshLifetime(answer), nowSeconds);
  }

  parseRefreshAnswer(answer: HttpAnswer, nowSeconds: number, previous: Token): Token {
    return parseRefreshAnswer(withRefreshLifetime(answer), nowSeconds, previous);
  }

  async authorizationRequest(
    redirectUri: string,
    metadata: ProviderMetadata,
    options: { dpopJkt?: string; resume?: PendingAuthorization } = {},
  ): Promise<AuthorizationRequest> {
    if (!metadata.authorization_endpoint) {
      throw new AuthError(
        ErrorCode.SERVER_ERROR,
        `${this.storeKey} announces no authorization_endpoint, so the browser login is not possible.`,
      );
    }
    const { resume } = options;
    const codeVerifier = resume?.codeVerifier ?? randomToken(32);
    const state = resume?.state ?? randomToken(16);
    const nonce = resume?.nonce ?? randomToken(16);
    const url = new URL(metadata.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: redirectUri,
      scope: this.scope,
      state,
      nonce,
      code_challenge: await sha256(codeVerifier),
      code_challenge_method: 'S256',
      // OpenID Connect Core §11: a request for offline_access MUST say prompt=consent, or
      // providers that follow it drop the scope (and the refresh token) silently.
      ...(this.scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
      // The code is bound to the DPoP key that will redeem it: a stolen code is useless.
      ...(options.dpopJkt ? { dpop_jkt: options.dpopJkt } : {}),
    };
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return {
      url: url.href,
      nonce,
      pending: { state, codeVerifier, nonce },
      callback: (query) => {
        if (query.get('state') !== state) throw badCallback('a state that is not this login’s');
        // RFC 9207: when the provider names itself, it must be the one we asked; one that
        // promises to name itself always must do so (§2.4): a callback without is refused.
        const iss = query.get('iss');
        if (iss !== null && normalizeIssuer(iss) !== this.storeKey) {
          throw badCallback(`another issuer (${printable(iss).slice(0, 100)})`);
        }
        if (iss === null && metadata.authorization_response_iss_parameter_supported) {
          throw badCallback('no iss, which this provider promises on every answer (RFC 9207)');
        }
        const error = callbackError(query);
        if (error) throw error;
        const code = query.get('code');
        if (!code) throw badCallback('no code');
        return { code, codeVerifier };
      },
    };
  }

  revocationRequest(
    token: string,
    hint: 'refresh_token' | 'access_token',
    metadata: ProviderMetadata,
  ): PreparedRequest | undefined {
    if (!metadata.revocation_endpoint) return undefined;
    return this.#authenticate({
      url: metadata.revocation_endpoint,
      method: 'POST',
      form: { token, token_type_hint: hint, client_id: this.clientId },
      secrets: [token],
      what: 'revocation',
    });
  }

  endSessionUrl(
    metadata: ProviderMetadata,
    options: { idTokenHint?: string | undefined; postLogoutRedirectUri?: string | undefined },
  ): string | undefined {
    if (!metadata.end_session_endpoint) return undefined;
    const url = new URL(metadata.end_session_endpoint);
    url.searchParams.set('client_id', this.clientId);
    if (options.idTokenHint) url.searchParams.set('id_token_hint', options.idTokenHint);
    if (options.postLogoutRedirectUri) {
      url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    }
    return url.href;
  }

  parseCodeExchangeAnswer(answer: HttpAnswer, nowSeconds: number, nonce?: string): Token {
    const token = parseTokenAnswer(withRefreshLifetime(answer), nowSeconds, 'code exchange');
    const idToken = (answer.json as { id_token?: unknown }).id_token;
    // The signature and the other claims are verified by the manager (IdTokenVerifier).
    if (nonce !== undefined && typeof idToken === 'string') {
      if (unverifiedClaims(idToken)?.nonce !== nonce) {
        throw new AuthError(
          ErrorCode.BAD_RESPONSE,
          'The ID token does not carry this login’s nonce; the answer may be replayed. Run the login again.',
        );
      }
    }
    return token;
  }
}
