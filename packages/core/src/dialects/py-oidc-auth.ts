import { AuthError, ErrorCode } from '../errors.js';
import { baseUrl, normalizeHost } from '../host.js';
import { type HttpAnswer, type PreparedRequest, summarize } from '../http.js';
import type { DeviceCode } from '../token.js';
import { parseUrl } from '../urls.js';
import {
  type AuthorizationRequest,
  badCallback,
  callbackError,
  type Dialect,
  type Discovery,
  type Grant,
  type ProviderMetadata,
  parseDeviceAuthorizationAnswer,
  parsePollAnswer,
  parseRefreshAnswer,
  parseTokenAnswer,
} from './protocol.js';

/** Routes of a py-oidc-auth server, relative to its host. */
export interface PyOidcAuthRoutes {
  /**
   * @default '/auth/v2/device'
   */
  deviceRoute?: string;
  /**
   * @default '/auth/v2/token'
   */
  tokenRoute?: string;
  /**
   * @default '/auth/v2/login'
   */
  loginRoute?: string;
}

function join(base: string, route: string): string {
  if (/^https?:\/\//i.test(route)) return route;
  return `${base}/${route.replace(/^\/+/, '')}`;
}

/** The 502 a py-oidc-auth server sends when its IdP has no device endpoint. */
function isNoDeviceEndpoint(answer: HttpAnswer): boolean {
  const detail = (answer.json as { detail?: unknown } | undefined)?.detail;
  return (
    answer.status === 502 &&
    typeof detail === 'string' &&
    detail.includes('device_authorization_endpoint')
  );
}

/**
 * The py-oidc-auth dialect: `/auth/v2/*` routes under the host (a path prefix is kept), form
 * fields with dashes (`device-code`, `refresh-token`), errors wrapped in `detail`, absolute
 * expiry times. Its endpoints are known without discovery.
 */
export class PyOidcAuthDialect implements Dialect {
  readonly name = 'py-oidc-auth';
  readonly storeKey: string;
  readonly origin: string;
  readonly loginHint: string;
  readonly discovery: Discovery;
  readonly deviceUrl: string;
  readonly tokenUrl: string;
  readonly loginUrl: string;

  constructor(host: string, routes: PyOidcAuthRoutes = {}) {
    this.storeKey = normalizeHost(host);
    this.origin = this.storeKey;
    const base = baseUrl(host);
    this.loginHint = `oidc-auth login ${base}`;
    this.deviceUrl = join(base, routes.deviceRoute ?? '/auth/v2/device');
    this.tokenUrl = join(base, routes.tokenRoute ?? '/auth/v2/token');
    this.loginUrl = join(base, routes.loginRoute ?? '/auth/v2/login');
    this.discovery = {
      metadata: {
        issuer: this.storeKey,
        token_endpoint: this.tokenUrl,
        device_authorization_endpoint: this.deviceUrl,
        authorization_endpoint: this.loginUrl,
      },
    };
  }

  deviceAuthorizationRequest(metadata: ProviderMetadata): PreparedRequest {
    return {
      url: metadata.device_authorization_endpoint ?? this.deviceUrl,
      method: 'POST',
      form: {},
      secrets: [],
      what: 'device authorization',
    };
  }

  isFinalDeviceAnswer(answer: HttpAnswer): boolean {
    return isNoDeviceEndpoint(answer);
  }

  parseDeviceAuthorizationAnswer(answer: HttpAnswer): DeviceCode {
    if (answer.status === 404 || isNoDeviceEndpoint(answer)) {
      throw new AuthError(
        ErrorCode.DEVICE_FLOW_UNSUPPORTED,
        answer.status === 404
          ? `${this.storeKey} has no device-login route at ${this.deviceUrl} (HTTP 404); check the device route, or log in with the browser flow.`
          : `The identity provider behind ${this.storeKey} has no device-login endpoint; log in with the browser flow instead.`,
        { status: answer.status, detail: summarize(answer) },
      );
    }
    if (
      answer.status === 405 ||
      (answer.status >= 400 && answer.status < 500 && answer.json === undefined)
    ) {
      // py-oidc-auth answers its routes in JSON and takes POST there: this is another server.
      throw new AuthError(
        ErrorCode.SERVER_ERROR,
        `${this.storeKey} refused the device-login request (HTTP ${answer.status} at ${this.deviceUrl}): it may not be a py-oidc-auth server. For an OpenID Provider (Keycloak, Entra ID, Auth0, …), give its issuer and a client id (issuer + clientId; the CLI: --client-id).`,
        { status: answer.status, detail: summarize(answer) },
      );
    }
    return parseDeviceAuthorizationAnswer(answer);
  }

  tokenRequest(grant: Grant, metadata: ProviderMetadata): PreparedRequest {
    return { ...this.#tokenRequest(grant, metadata), grant: grant.type };
  }

  #tokenRequest(grant: Grant, metadata: ProviderMetadata): PreparedRequest {
    const url = metadata.token_endpoint;
    switch (grant.type) {
      case 'device_code':
        return {
          url,
          method: 'POST',
          form: { 'device-code': grant.deviceCode },
          secrets: [grant.deviceCode],
          what: 'device login',
        };
      case 'refresh_token':
        return {
          url,
          method: 'POST',
          form: { 'refresh-token': grant.refreshToken },
          secrets: [grant.refreshToken],
          what: 'refresh',
        };
      case 'authorization_code':
        return {
          url,
          method: 'POST',
          form: {
            code: grant.code,
            redirect_uri: grant.redirectUri,
            grant_type: 'authorization_code',
            code_verifier: grant.codeVerifier,
          },
          secrets: [grant.code, grant.codeVerifier],
          what: 'code exchange',
        };
      case 'token_exchange':
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          'py-oidc-auth servers do not exchange tokens (RFC 8693); exchange() needs an OpenID Provider that does (issuer, clientId).',
        );
      case 'client_credentials':
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          'py-oidc-auth servers log people in; a service account needs the standard dialect (issuer, clientId, clientSecret).',
        );
    }
  }

  parsePollAnswer = parsePollAnswer;
  parseRefreshAnswer = parseRefreshAnswer;

  async authorizationRequest(
    redirectUri: string,
    metadata: ProviderMetadata,
  ): Promise<AuthorizationRequest> {
    const url = new URL(metadata.authorization_endpoint ?? this.loginUrl);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('offline_access', 'true');
    url.searchParams.set('prompt', 'consent');
    const login = url.href;
    return {
      url: login,
      pending: {},
      // The server made the PKCE pair; its state is `<random>|<redirect_uri>|<code_verifier>`.
      // Unbound (a browser's redirect login, which cannot read the login route's redirect), all
      // we can check is that it names our redirect URI (see "Browser login" in the core README).
      callback: (params) => codeOf(params, serverState(params.get('state'), redirectUri)),
      bind: (location) => {
        const target = parseUrl(location, login);
        const state = target?.searchParams.get('state') ?? null;
        if (!target || !/^https?:$/.test(target.protocol) || !serverState(state, redirectUri)) {
          throw new AuthError(
            ErrorCode.BAD_RESPONSE,
            `The login route of ${this.storeKey} did not redirect to a login whose state names ${redirectUri}; is ${this.loginUrl} a py-oidc-auth login route?`,
          );
        }
        return {
          url: target.href,
          // Only the state the server made for this login: a forged callback cannot end it.
          callback: (params) => {
            if (params.get('state') !== state)
              throw badCallback("a state that is not this login's");
            return codeOf(params, serverState(state, redirectUri));
          },
        };
      },
    };
  }

  /**
   * py-oidc-auth servers have no revocation route (their `/auth/v2/logout` is a browser redirect
   * to the IdP's end-session page): a logout is local.
   */
  revocationRequest(): undefined {
    return undefined;
  }

  /** Its `/auth/v2/logout`: a redirect to the IdP's end-session page (the server picks the way back). */
  endSessionUrl(): string {
    return this.loginUrl.replace(/\/login$/, '/logout');
  }

  parseCodeExchangeAnswer(answer: HttpAnswer, nowSeconds: number) {
    return parseTokenAnswer(answer, nowSeconds, 'code exchange');
  }
}

/** The PKCE verifier in a py-oidc-auth state that names `redirectUri`, else undefined. */
function serverState(state: string | null, redirectUri: string): string | undefined {
  const parts = (state ?? '').split('|');
  if (parts.length < 3 || parts.slice(1, -1).join('|') !== redirectUri) return undefined;
  return parts[parts.length - 1];
}

/** The code of a callback whose state checked out (`verifier`), or what went wrong. */
function codeOf(
  params: URLSearchParams,
  verifier: string | undefined,
): { code: string; codeVerifier: string } {
  if (verifier === undefined) throw badCallback('a state that does not name this redirect URI');
  const error = callbackError(params);
  if (error) throw error;
  const code = params.get('code');
  if (!code) throw badCallback('no code');
  return { code, codeVerifier: verifier };
}
