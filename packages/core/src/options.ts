import { base } from '#platform/base';
import type { Dialect, ProviderMetadata } from './dialects/protocol.js';
import type { Environment } from './env.js';
import { AuthError, ErrorCode } from './errors.js';
import { defaultRetry, type HttpContext, type RetryOptions, send } from './http.js';
import { refuseUnknownOptions } from './option-names.js';
import { dialectOf, issuerOptionNames, noServer, type ServerOptions } from './server-options.js';
import { sleep as realSleep, type Sleep } from './sleep.js';
import { printable, requireSecure } from './urls.js';

export type {
  DialectServer,
  EnvironmentServer,
  HostServer,
  IssuerServer,
  ServerOptions,
} from './server-options.js';

/** The ports py-oidc-auth servers register for the browser flow (53100–53105). */
export const defaultLoopbackPorts = [53100, 53101, 53102, 53103, 53104, 53105] as const;

/** What a device login shows the user. Passed to `onDeviceCode`. */
export interface DeviceCodeEvent {
  /** The server or issuer being logged in to. */
  host: string;
  /** Where to go: the complete URI (code filled in) when the server sent one. */
  uri: string;
  /** The plain verification URI, to show next to `userCode`. */
  verificationUri: string;
  /** The code to enter. */
  userCode: string;
  /** When the code stops working. */
  expiresAt: Date;
  /** Aborted when the login ends (approved, denied, expired, cancelled): stop spinners here. */
  signal: AbortSignal;
}

/** What a browser login shows the user. Passed to `onAuthorizationUrl`. */
export interface AuthorizationUrlEvent {
  /** The server or issuer being logged in to. */
  host: string;
  /** The URL to open in a browser. */
  url: string;
  /** Where the browser comes back: `http://localhost:<port>/callback`. */
  redirectUri: string;
  /** Aborted when the login ends. */
  signal: AbortSignal;
}

/** Options shared by {@link TokenManager}, {@link DeviceFlow} and {@link authenticate}. */
export type ClientOptions = CommonOptions & ServerOptions;

/** The options every entry takes besides the server. */
export interface CommonOptions {
  /**
   * Environment to read `OIDC_HOST`, `OIDC_ISSUER`, `OIDC_CLIENT_ID` and `OIDC_SCOPES` from when
   * no server is named, and the batch-job variables and `INTERACTIVE_SESSION` from when a login
   * is needed.
   * @default process.env
   */
  env?: Environment;
  /**
   * The `fetch` used for calls to the auth server.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * Milliseconds one call to the auth server may take before it counts as failed (and retried).
   * @default 30000
   */
  requestTimeout?: number;
  /** Retries of transient auth-server failures. */
  retry?: RetryOptions;
  /**
   * Shows the device-login prompt. Passing it also allows device logins in sessions that do
   * not look interactive (the app takes responsibility for reaching a person).
   * @default writes URI, code and expiry to stderr
   * @example onDeviceCode: ({ uri, userCode }) => notify(`Open ${uri}, code ${userCode}`)
   */
  onDeviceCode?: (event: DeviceCodeEvent) => void | Promise<void>;
  /**
   * Shows the browser login's URL (the fallback when the server cannot do the device flow).
   * Passing it also allows that fallback in sessions that do not look interactive.
   * @default prints the URL to stderr and opens the browser
   */
  onAuthorizationUrl?: (event: AuthorizationUrlEvent) => void | Promise<void>;
  /**
   * Whether a device login may start. `false` never prompts: a missing login fails fast with
   * `OIDC_LOGIN_REQUIRED`.
   * @default true when `onDeviceCode` is given, else `loginSituation()`: no batch-job variable set, and `INTERACTIVE_SESSION=1` or stdin or stderr a terminal
   */
  interactive?: boolean;
  /**
   * Seconds a device login may wait for approval (also bounded by the code's own expiry).
   * @default 600
   */
  loginTimeout?: number;
  /**
   * Allow plain `http://` to hosts that are not loopback (`localhost`, 127.0.0.0/8, ::1). Tokens
   * then travel in clear text: only for a server you trust on a private network.
   * @default false
   */
  allowInsecureHttp?: boolean;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Waits between device-flow polls and before honouring `Retry-After`. Tests pass a fake
   * (together with `clock`) so a 5-second interval costs no real time.
   * @default a `setTimeout` that rejects with the signal's reason on abort
   * @example sleep: (ms, signal) => scheduler.wait(ms, { signal })
   */
  sleep?: Sleep;
  /**
   * Ports to try, in order, for the browser login's loopback callback
   * `http://localhost:<port>/callback` (py-oidc-auth-client's `redirect_ports`).
   * @default [53100, 53101, 53102, 53103, 53104, 53105] — what py-oidc-auth servers register
   */
  redirectPorts?: readonly number[];
}

/**
 * Who may start a login, and how it is shown: the interaction part of {@link ClientOptions},
 * checked once.
 */
export interface Interaction {
  interactive: boolean | undefined;
  onDeviceCode: ((event: DeviceCodeEvent) => void | Promise<void>) | undefined;
  onAuthorizationUrl: ((event: AuthorizationUrlEvent) => void | Promise<void>) | undefined;
  /** Where batch-job variables and `INTERACTIVE_SESSION` are read. */
  env: Environment;
}

/**
 * The options, resolved once: what every flow and the manager read. Nothing below the manager
 * sees the raw options.
 */
export interface Client {
  readonly dialect: Dialect;
  readonly http: HttpContext;
  readonly clock: () => number;
  readonly sleep: Sleep;
  /** Seconds a login may wait for the user. */
  readonly loginTimeout: number;
  readonly interaction: Interaction;
  /** Ports for the browser login's loopback callback, in order. */
  readonly redirectPorts: readonly number[];
  /** The server's endpoints, discovered on first use (a failed discovery is tried again). */
  metadata(signal?: AbortSignal): Promise<ProviderMetadata>;
  /** Is `url` one the manager itself sends requests to (discovery, the endpoints it knows)? */
  ownsUrl(url: string): boolean;
}

export const maxBodyBytes = 1024 * 1024;

function invalid(message: string): AuthError {
  return new AuthError(ErrorCode.INVALID_OPTIONS, message);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${name} must be a positive number, got ${String(value)}.`);
  }
  return value;
}

function optionalFunction<T>(name: string, value: T): T {
  if (value !== undefined && typeof value !== 'function')
    throw invalid(`${name} must be a function.`);
  return value;
}

/** The endpoint URLs of `metadata`, as `URL#href` gives them. */
function endpointsOf(metadata: ProviderMetadata, into: Set<string>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (typeof value !== 'string' || !(name.endsWith('_endpoint') || name === 'jwks_uri')) continue;
    try {
      into.add(new URL(value).href);
    } catch {
      // Not a URL: the manager cannot send to it either.
    }
  }
}

/**
 * Sends the dialect's discovery request once; a failure is forgotten so the next call retries.
 * Keeps the URLs the manager sends to (`owns`): a dispatcher-wide interceptor must let them pass
 * untouched, or a refresh would wait on itself.
 */
function metadataSource(dialect: Dialect, http: HttpContext) {
  const { discovery } = dialect;
  const own = new Set<string>();
  const owns = (url: string) => own.has(url);
  if ('metadata' in discovery) {
    endpointsOf(discovery.metadata, own);
    const known = Promise.resolve(discovery.metadata);
    return { metadata: () => known, ownsUrl: owns };
  }
  own.add(new URL(discovery.request.url).href);
  let pending: Promise<ProviderMetadata> | undefined;
  const metadata = (signal?: AbortSignal) => {
    pending ??= send(http, discovery.request, discovery.parse, { signal }).then(
      (found) => {
        endpointsOf(found, own);
        return found;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
  return { metadata, ownsUrl: owns };
}

/** Every option name of {@link ClientOptions}, whatever the server form. */
const clientOptionNames: readonly string[] = [
  'env',
  'fetch',
  'requestTimeout',
  'retry',
  'onDeviceCode',
  'onAuthorizationUrl',
  'interactive',
  'loginTimeout',
  'allowInsecureHttp',
  'clock',
  'sleep',
  'redirectPorts',
  'host',
  'deviceRoute',
  'tokenRoute',
  'loginRoute',
  'issuer',
  ...issuerOptionNames,
  'dpop',
  'dialect',
];

/** What a py-oidc-auth-client user types, and what it is here. */
const pythonNames: Record<string, string> = {
  timeout: 'loginTimeout (seconds a login may wait)',
  app_name: 'store: new FileTokenStore({ appName })',
  appName: 'store: new FileTokenStore({ appName })',
  token_file: 'store: new FileTokenStore({ path }), or the OIDC_TOKEN_FILE variable',
  tokenFile: 'store: new FileTokenStore({ path }), or the OIDC_TOKEN_FILE variable',
  token_env_var: 'store: new FileTokenStore({ path: process.env.YOUR_VARIABLE })',
  redirect_ports: 'redirectPorts',
  ports: 'redirectPorts',
  origin: 'origins',
  scope: 'scopes',
  hostname: "host (the server's URL, with its scheme)",
  url: "host (a py-oidc-auth server's URL) or issuer (an OpenID Provider's)",
  baseUrl: "host (a py-oidc-auth server's URL) or issuer (an OpenID Provider's)",
  server: "host (a py-oidc-auth server's URL) or issuer (an OpenID Provider's)",
  issuerUrl: 'issuer',
};

/** Refuses an option this entry does not take (see {@link refuseUnknownOptions}). */
export function checkOptionNames(
  options: object,
  more: readonly string[] = [],
  where = 'the options',
): void {
  refuseUnknownOptions(options, [...clientOptionNames, ...more], where, pythonNames);
}

function portsOf(value: unknown): readonly number[] {
  if (value === undefined) return defaultLoopbackPorts;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((port) => Number.isInteger(port) && port > 0 && port < 65536)
  ) {
    throw invalid(
      `redirectPorts must be a non-empty list of port numbers (1–65535), such as [53100, 53101]; got ${printable(JSON.stringify(value) ?? String(value))}.`,
    );
  }
  return value;
}

/**
 * Checks the options once and builds the {@link Client} every flow uses.
 * @param more option names the calling entry takes besides the client's (`store`, `ports`)
 */
export function resolveClient(options: ClientOptions, more: readonly string[] = []): Client {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`Pass an options object. ${noServer}`);
  }
  checkOptionNames(options, more);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw invalid('fetch must be a function.');
  if (options.allowInsecureHttp !== undefined && typeof options.allowInsecureHttp !== 'boolean') {
    throw invalid('allowInsecureHttp must be true or false.');
  }
  const interaction: Interaction = {
    interactive: options.interactive,
    onDeviceCode: optionalFunction('onDeviceCode', options.onDeviceCode),
    onAuthorizationUrl: optionalFunction('onAuthorizationUrl', options.onAuthorizationUrl),
    env: options.env ?? base.env(),
  };
  if (interaction.interactive !== undefined && typeof interaction.interactive !== 'boolean') {
    throw invalid('interactive must be true or false.');
  }
  if (
    options.retry !== undefined &&
    (typeof options.retry !== 'object' || options.retry === null)
  ) {
    throw invalid('retry must be an object such as { retries: 3 }.');
  }
  const retry = { ...defaultRetry, ...options.retry };
  if (!Number.isInteger(retry.retries) || retry.retries < 0) {
    throw invalid('retry.retries must be a whole number ≥ 0.');
  }
  for (const key of ['minTimeout', 'maxTimeout', 'maxRetryAfter'] as const) {
    if (typeof retry[key] !== 'number' || !(retry[key] >= 0)) {
      throw invalid(`retry.${key} must be a number ≥ 0.`);
    }
  }
  const http: HttpContext = {
    fetch: fetchImpl,
    timeout: positive('requestTimeout', options.requestTimeout, 30_000),
    retry,
    maxBodyBytes,
    sleep: optionalFunction('sleep', options.sleep) ?? realSleep,
    allowInsecureHttp: options.allowInsecureHttp === true,
    nonces: new Map(),
  };
  const dialect = dialectOf(options);
  requireSecure(dialect.storeKey, 'The server', http.allowInsecureHttp);
  return {
    dialect,
    http,
    loginTimeout: positive('loginTimeout', options.loginTimeout, 600),
    clock: optionalFunction('clock', options.clock) ?? Date.now,
    sleep: http.sleep,
    interaction,
    redirectPorts: portsOf(options.redirectPorts),
    ...metadataSource(dialect, http),
  };
}
