import { AuthError, ErrorCode } from './errors.js';
import { type HttpContext, send } from './http.js';
import { defaultLoopbackPorts, listenOnLoopback } from './loopback.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { type AuthorizationUrlEvent, openAuthorizationUrl } from './prompt.js';
import type { Dialect } from './protocol.js';
import type { Token } from './token.js';

/** Options of {@link CodeFlow}. */
export interface CodeFlowOptions extends ClientOptions {
  /**
   * Ports to try, in order, for the loopback callback `http://localhost:<port>/callback`.
   * @default [53100, 53101, 53102, 53103, 53104, 53105] — what py-oidc-auth servers register
   */
  ports?: readonly number[];
}

/**
 * The authorization-code flow with PKCE S256 for a person at a browser: a one-shot loopback
 * listener takes the callback, and the code is exchanged for tokens. With py-oidc-auth servers
 * it goes through `/auth/v2/login`; with an OpenID Provider through its authorize endpoint,
 * checking `state`, the RFC 9207 `iss` and the ID token's `nonce`.
 *
 * @example
 * const token = await new CodeFlow({ host: 'https://myapp.example.com' }).login();
 * @see https://www.rfc-editor.org/rfc/rfc7636
 */
export class CodeFlow {
  private readonly dialect: Dialect;
  private readonly http: HttpContext;
  private readonly loginTimeout: number;
  private readonly clock: () => number;
  private readonly ports: readonly number[];
  private readonly onAuthorizationUrl: (event: AuthorizationUrlEvent) => void | Promise<void>;

  constructor(hostOrOptions: string | CodeFlowOptions) {
    const options = typeof hostOrOptions === 'string' ? { host: hostOrOptions } : hostOrOptions;
    const resolved = resolveClientOptions(options);
    this.dialect = resolved.dialect;
    this.http = resolved.http;
    this.loginTimeout = resolved.loginTimeout;
    this.clock = resolved.clock;
    this.ports = options.ports ?? defaultLoopbackPorts;
    this.onAuthorizationUrl = options.onAuthorizationUrl ?? openAuthorizationUrl;
  }

  /** Runs the browser login and returns the token (nothing is stored). */
  async login(options: { signal?: AbortSignal; timeout?: number } = {}): Promise<Token> {
    const listener = await listenOnLoopback(this.ports);
    const ended = new AbortController();
    try {
      const request = await this.dialect.authorizationRequest(listener.redirectUri, options.signal);
      await this.onAuthorizationUrl({
        host: this.dialect.storeKey,
        url: request.url,
        redirectUri: listener.redirectUri,
        signal: ended.signal,
      });
      const params = await listener.wait({
        ...(options.signal ? { signal: options.signal } : {}),
        timeoutMs: (options.timeout ?? this.loginTimeout) * 1000,
      });
      const { code, codeVerifier } = request.callback(params);
      const exchange = await this.dialect.tokenRequest(
        { type: 'authorization_code', code, redirectUri: listener.redirectUri, codeVerifier },
        options.signal,
      );
      return await send(
        this.http,
        exchange,
        (answer) => this.dialect.parseCodeExchange(answer, this.clock() / 1000, request.nonce),
        { signal: options.signal },
      );
    } finally {
      ended.abort();
      listener.close();
    }
  }
}

/** True when a failed device-flow start means "this server cannot do the device flow". */
export function cannotDoDeviceFlow(error: unknown): boolean {
  return (
    error instanceof AuthError &&
    (error.code === ErrorCode.DEVICE_FLOW_UNSUPPORTED ||
      (error.code === ErrorCode.SERVER_UNAVAILABLE && error.status === 503))
  );
}
