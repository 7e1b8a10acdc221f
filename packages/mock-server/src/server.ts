import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl } from './controls.js';
import type { TokenAnswer } from './idp.js';
import { MockConfigError, type MockServerConfig, type MockServerOptions } from './options.js';
import { HttpError, json } from './respond.js';
import { handleRoute } from './routes.js';
import { type FaultSpec, MockState } from './state.js';
import type { MockStats } from './stats.js';

export type { FaultSpec } from './state.js';

/** A running mock server and its test controls. */
export interface MockServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`, with no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The current configuration. */
  config(): MockServerConfig;
  /** Changes configuration for the requests that follow; returns the result. */
  configure(patch: Partial<MockServerConfig>): MockServerConfig;
  /** Approves a pending device login by its user code; false when no such code is pending. */
  approve(userCode: string): boolean;
  /** Denies a pending device login by its user code; false when no such code is pending. */
  deny(userCode: string): boolean;
  /** Approves every pending device login; returns how many. */
  approveAll(): number;
  /** The user codes still waiting for a decision. */
  pendingUserCodes(): string[];
  /** Invalidates every access token, and every refresh token unless `keepRefresh`. */
  revokeAll(options?: { keepRefresh?: boolean }): void;
  /** Makes the next calls of a route fail, hang or reset. */
  fault(spec: FaultSpec): void;
  /** Issues a new token family directly, as if a login had just completed. */
  issueToken(options?: { scope?: string; subject?: string }): TokenAnswer;
  /** Counters and the Authorization-header log. */
  stats(): MockStats;
  /** Zeroes the counters and the header log, keeping tokens and config. */
  resetStats(): void;
  /** Back to the start: config, tokens, faults and counters. */
  reset(): void;
  /**
   * Options for an oidc-auth `TokenManager`, adapter or `authenticate()` that logs in to this
   * server with nobody at a terminal: device logins are approved at once, and tokens live in
   * memory — a test never writes the user's real token file.
   * @example const fetch = oidcFetch(server.loginOptions());
   */
  loginOptions(): MockLoginOptions;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * What {@link MockServer.loginOptions} gives: `host`, an approving `onDeviceCode`, a memory
 * `store`, and a `sleep` that polls at once (the login is approved before the first poll).
 */
export interface MockLoginOptions {
  host: string;
  onDeviceCode: (event: { userCode: string }) => void;
  store: ReturnType<typeof memoryStore>;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A token as oidc-auth stores it (the shape of core's `Token`). */
interface StoredTokenShape {
  access_token: string;
  token_type: string;
  expires: number;
  refresh_token: string;
  refresh_expires: number;
  scope: string;
  headers: Record<string, string>;
}

type StoredEntry = { token: StoredTokenShape; stored_at: number };

/**
 * The smallest token store oidc-auth accepts, in memory (this package does not depend on
 * oidc-auth's core; core's `MemoryTokenStore` does the same).
 */
function memoryStore() {
  const entries = new Map<string, StoredEntry>();
  let tail: Promise<unknown> = Promise.resolve();
  const write = (host: string, token: StoredEntry['token']) => {
    entries.set(host, structuredClone({ token, stored_at: Date.now() / 1000 }));
  };
  const get = async (host: string) => structuredClone(entries.get(host));
  return {
    get,
    put: async (host: string, token: StoredEntry['token']) => write(host, token),
    remove: async (host: string) => entries.delete(host),
    hosts: async () => [...entries.keys()],
    clear: async () => entries.clear(),
    withLock<T>(
      host: string,
      fn: (entry: {
        get(): Promise<StoredEntry | undefined>;
        put(token: StoredEntry['token']): Promise<void>;
        signal: AbortSignal;
      }) => Promise<T>,
    ): Promise<T> {
      const run = tail.then(() =>
        fn({
          get: () => get(host),
          put: async (token) => write(host, token),
          signal: new AbortController().signal,
        }),
      );
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * Starts a py-oidc-auth-compatible auth server with a protected API on 127.0.0.1.
 *
 * @example
 * const server = await startMockServer({ accessTtl: 5, autoApprove: 0 });
 * // … point a client at server.url …
 * await server.close();
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const { host = '127.0.0.1', port = 0, clock = Date.now, cors, clients, ...rest } = options;
  const state = new MockState(rest, clock, clients);
  state.listenHost = host;

  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    // Never for the test controls: a web page must not drive them, whatever `cors` allows.
    const control = req.url?.startsWith('/_mock/') === true;
    if (cors && origin && !control && (cors === '*' || cors.includes(origin))) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', 'www-authenticate, dpop-nonce, retry-after');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
          'access-control-allow-headers':
            req.headers['access-control-request-headers'] ?? 'authorization, dpop, content-type',
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
    }
    const url = new URL(req.url ?? '/', state.baseUrl);
    const handled = url.pathname.startsWith('/_mock/')
      ? handleControl(state, req, res, url.pathname)
      : handleRoute(state, req, res, url);
    handled.catch((error: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (error instanceof HttpError) json(res, error.status, { detail: error.detail });
      else if (error instanceof MockConfigError) json(res, 400, { detail: error.message });
      else json(res, 500, { detail: 'Internal Server Error' });
    });
  });
  // Keep-alive sockets must not hold a test process open after close().
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  state.baseUrl = `http://${hostPart}:${address.port}`;
  const { idp } = state;

  return {
    url: state.baseUrl,
    port: address.port,
    config: () => state.settings.current,
    configure: (patch) => state.configure(patch),
    approve: (code) => idp.decide(code, 'approved'),
    deny: (code) => idp.decide(code, 'denied'),
    approveAll: () => idp.approveAll(),
    pendingUserCodes: () => idp.pendingUserCodes(),
    revokeAll: ({ keepRefresh = false } = {}) => idp.revokeAll(keepRefresh),
    fault: (spec) => state.addFault(spec),
    issueToken: (overrides = {}) => idp.issue(undefined, undefined, overrides),
    stats: () => state.snapshot(),
    resetStats: () => state.resetStats(),
    reset: () => state.reset(),
    loginOptions: () => ({
      host: state.baseUrl,
      onDeviceCode: (event) => {
        idp.decide(event.userCode, 'approved');
      },
      store: memoryStore(),
      sleep: (_ms, signal) =>
        new Promise<void>((resolve, reject) => {
          if (signal?.aborted) reject(signal.reason);
          else setImmediate(resolve);
        }),
    }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        state.stopTimers();
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
