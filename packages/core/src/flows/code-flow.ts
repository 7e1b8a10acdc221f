import { services } from '#platform/services';
import { type ProviderMetadata, serverError } from '../dialects/protocol.js';
import { bindToken, type DpopKey, loginKey } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import { send } from '../http.js';
import { type IdTokenVerifier, verifierFor } from '../id-token.js';
import { type Client, type ClientOptions, resolveClient } from '../options.js';
import type { Token } from '../token.js';

/** What {@link CodeFlow} takes besides the client options. */
export interface PortsOption {
  /**
   * Ports to try, in order, for the loopback callback `http://localhost:<port>/callback`; the
   * same as `redirectPorts`, which every entry takes.
   * @default redirectPorts, else [53100, 53101, 53102, 53103, 53104, 53105]
   */
  ports?: readonly number[];
}

/** Options of {@link CodeFlow}. */
export type CodeFlowOptions = ClientOptions & PortsOption;

/**
 * The browser login on resolved options: a one-shot loopback listener takes the callback, and
 * the code is exchanged for tokens. Stores nothing.
 */
export async function runCodeFlow(
  client: Client,
  options: { signal?: AbortSignal; timeout?: number; ports?: readonly number[] } = {},
): Promise<Token> {
  const { dialect } = client;
  const show = client.interaction.onAuthorizationUrl ?? services.openAuthorizationUrl;
  const metadata = await client.metadata(options.signal);
  const listener = await services.listen(options.ports ?? client.redirectPorts);
  const ended = new AbortController();
  // A DPoP login's key exists before the browser is sent: the code is bound to it.
  const key = dialect.dpop ? await loginKey() : undefined;
  try {
    const made = await dialect.authorizationRequest(
      listener.redirectUri,
      metadata,
      key ? { dpopJkt: key.thumbprint } : {},
    );
    // A server that makes the state (py-oidc-auth): read it from its login route's redirect.
    const request = made.bind
      ? made.bind(await loginRedirect(client, made.url, options.signal))
      : made;
    // Listen for the callback before anyone can see the URL.
    const callback = listener.wait(request.callback, {
      ...(options.signal ? { signal: options.signal } : {}),
      timeoutMs: (options.timeout ?? client.loginTimeout) * 1000,
    });
    callback.catch(() => undefined);
    await show({
      host: dialect.storeKey,
      url: request.url,
      redirectUri: listener.redirectUri,
      signal: ended.signal,
    });
    const { code, codeVerifier } = await callback;
    return await exchangeCode(client, metadata, {
      code,
      codeVerifier,
      redirectUri: listener.redirectUri,
      nonce: made.nonce,
      key,
      signal: options.signal,
    });
  } finally {
    ended.abort();
    listener.close();
  }
}

/** Where a login route redirects the browser (its `Location`), read without following it. */
async function loginRedirect(
  client: Client,
  url: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const what = 'login route';
  return send(
    client.http,
    { url, method: 'GET', secrets: [], what, redirectIsAnswer: true },
    (answer) => {
      const location = answer.headers.get('location');
      if (answer.status >= 300 && answer.status < 400 && location) return location;
      throw serverError(what, answer);
    },
    { signal },
  );
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
  readonly #client: Client;
  readonly #ports: readonly number[];
  readonly #verifier: IdTokenVerifier | undefined;

  constructor(hostOrOptions: string | CodeFlowOptions = {}) {
    const options: CodeFlowOptions =
      typeof hostOrOptions === 'string' ? { host: hostOrOptions } : hostOrOptions;
    this.#client = resolveClient(options, ['ports']);
    this.#ports = options.ports ?? this.#client.redirectPorts;
    this.#verifier = verifierFor(this.#client);
  }

  /**
   * Runs the browser login and returns the token (nothing is stored); with an OpenID Provider
   * its ID token is verified as the manager verifies it.
   */
  async login(options: { signal?: AbortSignal; timeout?: number } = {}): Promise<Token> {
    const token = await runCodeFlow(this.#client, { ...options, ports: this.#ports });
    await this.#verifier?.atLogin(token, options.signal);
    return token;
  }
}

/**
 * Redeems an authorization code (with its PKCE verifier, and a proof of the DPoP key it is
 * bound to) and checks the ID token's `nonce`: the end of the loopback and the redirect logins.
 */
export async function exchangeCode(
  client: Client,
  metadata: ProviderMetadata,
  grant: {
    code: string;
    codeVerifier: string;
    redirectUri: string;
    nonce: string | undefined;
    key: DpopKey | undefined;
    signal: AbortSignal | undefined;
  },
): Promise<Token> {
  const { dialect, http, clock } = client;
  const { code, codeVerifier, redirectUri, nonce, key, signal } = grant;
  const token = await send(
    http,
    {
      ...dialect.tokenRequest(
        { type: 'authorization_code', code, redirectUri, codeVerifier },
        metadata,
      ),
      dpop: key,
    },
    (answer) => dialect.parseCodeExchangeAnswer(answer, clock() / 1000, nonce),
    { signal },
  );
  return bindToken(token, key, dialect.storeKey, true);
}

/** True when a failed device-flow start means "this server cannot do the device flow". */
export function cannotDoDeviceFlow(error: unknown): boolean {
  return (
    error instanceof AuthError &&
    (error.code === ErrorCode.DEVICE_FLOW_UNSUPPORTED ||
      (error.code === ErrorCode.SERVER_UNAVAILABLE && error.status === 503))
  );
}
