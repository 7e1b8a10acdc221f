import { services } from '#platform/services';
import { AuthError, ErrorCode } from './errors.js';
import { DeviceLogin, type PollOptions } from './flows/device-flow.js';
import { type IdTokenVerifier, verifierFor } from './id-token.js';
import { TokenManager, type TokenManagerOptions } from './manager/token-manager.js';
import { resolveClient } from './options.js';
import { identityOf, recordIdentity, type SessionIdentity } from './store/identity.js';
import type { TokenStore } from './store/store.js';
import type { DeviceCode, Token } from './token.js';

/** What {@link authenticate} takes besides the manager's options. */
export interface AuthenticateCall {
  /** Run a new device login even when a stored token would do. */
  force?: boolean;
  signal?: AbortSignal;
}

/** Options of {@link authenticate}. */
export type AuthenticateOptions = TokenManagerOptions & AuthenticateCall;

/**
 * The whole strategy in one call: a stored token that is still valid, else a refresh, else a
 * device login (when someone can answer it), else `OIDC_LOGIN_REQUIRED`. The token is stored
 * in the token file shared with py-oidc-auth-client.
 *
 * @example
 * const token = await authenticate({ host: 'https://myapp.example.com' });
 * const res = await fetch('https://myapp.example.com/api/data', { headers: token.headers });
 */
export async function authenticate(options: AuthenticateOptions = {}): Promise<Token> {
  const { force, signal, ...rest } = options;
  const manager = new TokenManager(rest as TokenManagerOptions);
  try {
    const call = signal ? { signal } : {};
    return await (force ? manager.login(call) : manager.getToken(call));
  } finally {
    manager.close();
  }
}

/**
 * Options of {@link DeviceFlow}: the client options, and the `store` where its tokens are kept.
 */
export type DeviceFlowOptions = TokenManagerOptions & {
  /**
   * Whether `poll()`, `complete()` and `login()` store the token they get, as
   * py-oidc-auth-client's `poll()` does, so that the next `authenticate()` (here or in Python)
   * uses it. `false`: the step-by-step methods store nothing.
   * @default true
   */
  storeToken?: boolean;
};

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against one server, step by step — the
 * Python client's `DeviceFlow`: `getDeviceCode()`, `poll()`, `login()`, `complete()`, and
 * `authenticate()` for the whole stored-token strategy.
 *
 * @example
 * const flow = new DeviceFlow('https://myapp.example.com');
 * const code = await flow.getDeviceCode();
 * process.stderr.write(`Open ${code.uri} and enter: ${code.user_code}\n`);
 * const token = await flow.poll(code.device_code, code.interval);
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
export class DeviceFlow extends DeviceLogin {
  readonly #options: TokenManagerOptions;
  readonly #verifier: IdTokenVerifier | undefined;
  /** Whose login `poll()` stores: the session a manager of these options keeps. */
  readonly #identity: SessionIdentity;
  /** Where `poll()` keeps the token; undefined when `storeToken: false`. */
  readonly #store: TokenStore | undefined;

  constructor(hostOrOptions: string | DeviceFlowOptions = {}) {
    const given: DeviceFlowOptions =
      typeof hostOrOptions === 'string' ? { host: hostOrOptions } : hostOrOptions;
    const { storeToken, ...options } = given;
    const client = resolveClient(options, ['store']);
    if (storeToken !== undefined && typeof storeToken !== 'boolean') {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'storeToken must be true or false.');
    }
    super(client);
    this.#options = options;
    this.#verifier = verifierFor(client);
    this.#identity = identityOf(client.dialect);
    this.#store =
      storeToken === false ? undefined : (options.store ?? services.defaultStore(options.env));
  }

  /**
   * Polls until the user approves, at `interval` seconds (at least 1; `slow_down` adds 5 s),
   * ending with the token or a typed error; with an OpenID Provider its ID token is verified
   * too. The token is stored (unless `storeToken: false`), as py-oidc-auth-client's `poll()`
   * stores it, so the next `authenticate()` uses it.
   */
  override async poll(
    deviceCode: string | DeviceCode,
    interval?: number,
    options: PollOptions = {},
  ): Promise<Token> {
    const token = await super.poll(deviceCode, interval, options);
    await this.#verifier?.atLogin(token, options.signal);
    await this.#store?.put(this.#identity.key, recordIdentity(token, this.#identity));
    return token;
  }

  /**
   * A token the way {@link authenticate} gets one (stored, refreshed, or a new login), with
   * `force` always running a new device login.
   */
  authenticate(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<Token> {
    return authenticate({ ...this.#options, ...options } as AuthenticateOptions);
  }
}

export type { PollOptions };
