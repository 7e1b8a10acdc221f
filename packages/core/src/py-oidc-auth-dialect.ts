import { AuthError, ErrorCode } from './errors.js';
import { baseUrl, normalizeHost } from './host.js';
import { type HttpAnswer, type PreparedRequest, summarize } from './http.js';
import {
  type AuthorizationRequest,
  badCallback,
  callbackError,
  type Dialect,
  type Grant,
  parseDeviceAuthorizationResponse,
  parsePollResponse,
  parseRefreshResponse,
  parseTokenAnswer,
} from './protocol.js';
import type { DeviceCode } from './token.js';

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
 * The py-oidc-auth dialect (PROTOCOL.md §1): `/auth/v2/*` routes, form fields with dashes,
 * errors wrapped in `detail`, absolute expiry times.
 */
export class PyOidcAuthDialect implements Dialect {
  readonly name = 'py-oidc-auth';
  readonly storeKey: string;
  readonly origin: string;
  readonly loginHint: string;
  readonly deviceUrl: string;
  readonly tokenUrl: string;
  readonly loginUrl: string;

  constructor(host: string, routes: PyOidcAuthRoutes = {}) {
    this.storeKey = normalizeHost(host);
    this.origin = this.storeKey;
    this.loginHint = `oidc-auth login ${this.storeKey}`;
    const base = baseUrl(host);
    this.deviceUrl = join(base, routes.deviceRoute ?? '/auth/v2/device');
    this.tokenUrl = join(base, routes.tokenRoute ?? '/auth/v2/token');
    this.loginUrl = join(base, routes.loginRoute ?? '/auth/v2/login');
  }

  async deviceAuthorizationRequest(): Promise<PreparedRequest> {
    return {
      url: this.deviceUrl,
      method: 'POST',
      form: {},
      secrets: [],
      what: 'device authorization',
    };
  }

  isFinalDeviceAnswer(answer: HttpAnswer): boolean {
    return isNoDeviceEndpoint(answer);
  }

  parseDeviceAuthorization(answer: HttpAnswer): DeviceCode {
    if (answer.status === 404 || isNoDeviceEndpoint(answer)) {
      throw new AuthError(
        ErrorCode.DEVICE_FLOW_UNSUPPORTED,
        answer.status === 404
          ? `${this.storeKey} has no device-login route at ${this.deviceUrl} (HTTP 404); check the device route, or log in with the browser flow.`
          : `The identity provider behind ${this.storeKey} has no device-login endpoint; log in with the browser flow instead.`,
        { status: answer.status, detail: summarize(answer) },
      );
    }
    return parseDeviceAuthorizationResponse(answer);
  }

  async tokenRequest(grant: Grant): Promise<PreparedRequest> {
    switch (grant.type) {
      case 'device_code':
        return {
          url: this.tokenUrl,
          method: 'POST',
          form: { 'device-code': grant.deviceCode },
          secrets: [grant.deviceCode],
          what: 'device login',
        };
      case 'refresh_token':
        return {
          url: this.tokenUrl,
          method: 'POST',
          form: { 'refresh-token': grant.refreshToken },
          secrets: [grant.refreshToken],
          what: 'refresh',
        };
      case 'authorization_code':
        return {
          url: this.tokenUrl,
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
    }
  }

  parsePoll = parsePollResponse;
  parseRefresh = parseRefreshResponse;

  async authorizationRequest(redirectUri: string): Promise<AuthorizationRequest> {
    const url = new URL(this.loginUrl);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('offline_access', 'true');
    url.searchParams.set('prompt', 'consent');
    return {
      url: url.href,
      // The server made the PKCE pair; its state is `<random>|<redirect_uri>|<code_verifier>`.
      callback: (params) => {
        const error = callbackError(params);
        if (error) throw error;
        const code = params.get('code');
        const parts = (params.get('state') ?? '').split('|');
        if (!code) throw badCallback('no code');
        if (parts.length < 3 || parts.slice(1, -1).join('|') !== redirectUri) {
          throw badCallback('a state that does not name this redirect URI');
        }
        return { code, codeVerifier: parts[parts.length - 1] ?? '' };
      },
    };
  }

  parseCodeExchange(answer: HttpAnswer, nowSeconds: number) {
    return parseTokenAnswer(answer, nowSeconds, 'code exchange');
  }
}
